"""The bridge's VPC: public subnets for the load balancer, private ones for the tasks when there is a NAT gateway."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.log_groups import log_group
from infra.logical_ids import Grouping


class Network(Grouping):
    """VPC over ``max_azs`` zones with flow logs; ``task_subnets`` is where the bridge tasks run."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        #: With NAT gateways the tasks run in private subnets; without (cheaper), in public ones with public IPs.
        self.private_tasks = config.nat_gateways > 0
        task_subnets = [
            ec2.SubnetConfiguration(name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22)
        ]
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                *(task_subnets if self.private_tasks else []),
            ],
        )
        flow_logs = log_group(self, "FlowLogs", config.log_retention_days)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))

    @property
    def task_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if self.private_tasks else ec2.SubnetType.PUBLIC
        )
