"""The bridge stack (``<prefix>Bridge``, stateless): the gRPC endpoint Exotel pushes leg events to.

Composed of :class:`~infra.constructs.Network` (VPC, flow logs), :class:`~infra.constructs.BridgeTask`
(ARM64 Fargate task definition with the bridge container), :class:`~infra.constructs.LoadBalancer`
(ALB, gRPC/TLS listener, gRPC target group and health check, source CIDRs) and
:class:`~infra.constructs.BridgeService` (cluster, Fargate service, autoscaling).
"""

from __future__ import annotations

from aws_cdk import CfnOutput
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs import BridgeService, BridgeTask, LoadBalancer, Network
from infra.logical_ids import GroupedStack
from infra.stateful import StatefulStack


class BridgeServiceStack(GroupedStack):
    """Fargate tasks behind an Application Load Balancer speaking gRPC over TLS; ``endpoint_url`` is for Exotel."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, data: StatefulStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        network = Network(self, "Network", config=config)
        task = BridgeTask(self, "BridgeTask", config=config, data=data)
        load_balancer = LoadBalancer(self, "LoadBalancer", config=config, vpc=network.vpc)
        bridge = BridgeService(
            self, "BridgeService", config=config, network=network, task=task, load_balancer=load_balancer
        )
        self.vpc = network.vpc
        self.load_balancer = load_balancer.load_balancer
        self.target_group = load_balancer.target_group
        self.listener = load_balancer.listener
        self.service = bridge.service

        host = config.domain_name or self.load_balancer.load_balancer_dns_name
        self.endpoint_url = f"grpc://{host}:{config.listener_port}"
        CfnOutput(
            self,
            "BridgeEndpoint",
            value=self.endpoint_url,
            description="leg_event_endpoint for Exotel (grpc://host:port); CNAME domain_name to the load balancer",
        )
        CfnOutput(self, "LoadBalancerDnsName", value=self.load_balancer.load_balancer_dns_name)
