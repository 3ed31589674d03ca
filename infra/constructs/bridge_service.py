"""The ECS cluster and Fargate service that run the bridge task behind the load balancer, and its autoscaling."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.bridge_task import BridgeTask
from infra.constructs.load_balancer import LoadBalancer
from infra.constructs.network import Network
from infra.logical_ids import Grouping


class BridgeService(Grouping):
    """``service``: rolling deploys with rollback, reachable from the load balancer only, scaled on CPU and requests."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        network: Network,
        task: BridgeTask,
        load_balancer: LoadBalancer,
    ) -> None:
        super().__init__(scope, construct_id)
        cluster = ecs.Cluster(self, "Cluster", vpc=network.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.security_group = self._security_group(config, network.vpc, load_balancer.security_group)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task.definition,
            desired_count=config.bridge_min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            security_groups=[self.security_group],
            vpc_subnets=network.task_subnets,
            assign_public_ip=not network.private_tasks,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(30),
            enable_execute_command=False,
        )
        self.service.attach_to_application_target_group(load_balancer.target_group)
        self._autoscale(config, load_balancer.target_group)

    def _security_group(
        self, config: DeployConfig, vpc: ec2.IVpc, load_balancer: ec2.SecurityGroup
    ) -> ec2.SecurityGroup:
        """gRPC in from the load balancer only (and the load balancer may reach nothing else); HTTPS out."""
        group = ec2.SecurityGroup(
            self,
            "ServiceSg",
            vpc=vpc,
            description="bridge tasks: gRPC from the load balancer only; HTTPS out to AWS APIs",
            allow_all_outbound=False,
        )
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to EventBridge, SQS, ECR, CloudWatch Logs")
        group.add_ingress_rule(load_balancer, ec2.Port.tcp(config.bridge_port), "gRPC from the load balancer")
        load_balancer.add_egress_rule(group, ec2.Port.tcp(config.bridge_port), "to the bridge tasks")
        return group

    def _autoscale(self, config: DeployConfig, target_group: elbv2.ApplicationTargetGroup) -> None:
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.bridge_min_tasks, max_capacity=config.bridge_max_tasks
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=config.bridge_target_cpu_percent)
        # Pushed events are ALB requests: scale out before the CPU target is passed, at the rate a task was
        # measured to acknowledge there (DeployConfig.bridge_scale_requests, docs/DEPLOY.md).
        scaling.scale_on_request_count(
            "Requests", requests_per_target=config.bridge_scale_requests, target_group=target_group
        )
