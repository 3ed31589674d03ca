"""The bridge's Fargate task definition: ARM64, one read-only container built from ``bridge/Dockerfile``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_cdk import Duration, IgnoreMode, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv
from contract.resources import DEAD_LETTER_QUEUE, FALLBACK_QUEUE
from infra.bundling import REPO_ROOT
from infra.config import DeployConfig
from infra.constructs.log_groups import log_group
from infra.logical_ids import Grouping
from infra.nag import acknowledge

if TYPE_CHECKING:
    from infra.stateful import StatefulStack

#: What the image build needs from the repository; everything else stays out of the Docker context.
IMAGE_CONTEXT_EXCLUDE = [
    "*",
    "!bridge",
    "!legs",
    "!contract",
    "**/__pycache__",
    "**/*.pyc",
]  # = bridge/Dockerfile.dockerignore
#: The bridge image's Dockerfile, relative to the repository root (the build context).
BRIDGE_DOCKERFILE = "bridge/Dockerfile"


def proto_environment(config: DeployConfig) -> dict[str, str]:
    """Exotel's own .proto, when the deployment names one (docs/BRIDGE.md): the bridge serves it instead of
    protos/exotel_legs.proto. The file travels in the image (a path under bridge/)."""
    env: dict[str, str] = {}
    if config.bridge_proto_in_image:
        env[BridgeEnv.PROTO] = config.bridge_proto_in_image
        if config.bridge_rpc:
            env[BridgeEnv.RPC] = config.bridge_rpc
    return env


def auth_environment(config: DeployConfig) -> dict[str, str]:
    """Mutual TLS at the load balancer (``client_ca_bundle``): the bridge trusts the subject header the ALB sets,
    refuses a call without it, and accepts only the pinned ``client_subjects`` when there are any."""
    env: dict[str, str] = {}
    if config.mutual_tls:
        env[BridgeEnv.LB_MUTUAL_TLS] = "true"
        if config.client_subjects:
            env[BridgeEnv.CLIENT_SUBJECTS] = json.dumps(list(config.client_subjects))
    return env


class BridgeTask(Grouping):
    """``definition`` with ``container``; the task role may put events on the bus and send to two queues."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, data: StatefulStack) -> None:
        super().__init__(scope, construct_id)
        if not (REPO_ROOT / BRIDGE_DOCKERFILE).is_file():
            raise FileNotFoundError(f"the bridge image needs {BRIDGE_DOCKERFILE} (built at deploy time); it is missing")
        self.definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.bridge_cpu,
            memory_limit_mib=config.bridge_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self._grant(data)
        self.log_group = log_group(self, "BridgeLogs", config.log_retention_days)
        self.container = self._container(config, data)
        if data.ordered is not None:  # ordered mode: publish to the EventsV2 bus (infra/ordered_bus.py)
            data.ordered.wire_bridge(self.definition.task_role, self.container)
        self._acknowledge()

    def _grant(self, data: StatefulStack) -> None:
        """Least privilege, written out: put events on this bus, send to the bridge's own two queues."""
        role = self.definition.task_role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PutEventsOnTheBus", actions=["events:PutEvents"], resources=[data.bus.event_bus_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SpillAndDeadLetter",
                actions=["sqs:SendMessage"],
                resources=[data.queues[FALLBACK_QUEUE.id].queue_arn, data.queues[DEAD_LETTER_QUEUE.id].queue_arn],
            )
        )

    def _container(self, config: DeployConfig, data: StatefulStack) -> ecs.ContainerDefinition:
        secrets: dict[str, ecs.Secret] = {}
        if data.bridge_token_secret is not None:
            secrets[BridgeEnv.AUTH_TOKEN] = ecs.Secret.from_secrets_manager(data.bridge_token_secret)
        return self.definition.add_container(
            "bridge",
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file=BRIDGE_DOCKERFILE,
                platform=ecr_assets.Platform.LINUX_ARM64,
                exclude=IMAGE_CONTEXT_EXCLUDE,
                ignore_mode=IgnoreMode.DOCKER,
            ),
            environment={
                BridgeEnv.PORT: str(config.bridge_port),
                BridgeEnv.HOST: "0.0.0.0",
                BridgeEnv.WORKERS: str(config.bridge_workers),  # one process per vCPU of the task
                Env.EVENT_BUS_NAME: data.bus.event_bus_name,
                Env.EVENT_SOURCE: config.event_source,
                Env.FALLBACK_QUEUE_URL: data.queues[FALLBACK_QUEUE.id].queue_url,
                Env.DEAD_LETTER_QUEUE_URL: data.queues[DEAD_LETTER_QUEUE.id].queue_url,
                AwsEnv.REGION: Stack.of(self).region,
                PowertoolsEnv.SERVICE_NAME: config.bridge_service_name,
                PowertoolsEnv.METRICS_NAMESPACE: config.bridge_metrics_namespace,
                PowertoolsEnv.LOG_LEVEL: config.powertools_log_level,
                **proto_environment(config),
                **auth_environment(config),
            },
            secrets=secrets or None,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="bridge", log_group=self.log_group),
            port_mappings=[ecs.PortMapping(container_port=config.bridge_port, protocol=ecs.Protocol.TCP)],
            stop_timeout=Duration.seconds(30),  # above the bridge's 20 s drain (BRIDGE_SHUTDOWN_GRACE_S)
            # The image's own HEALTHCHECK, which ECS ignores unless the task definition repeats it.
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-m", "bridge.healthcheck"],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(10),
            ),
            readonly_root_filesystem=True,
        )

    def _acknowledge(self) -> None:
        acknowledge(
            self.definition.obtain_execution_role().node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions (added by CDK for pulling the image); "
            "image pulls, logs and the token secret are scoped to their ARNs.",
        )
        acknowledge(
            self.definition,
            "AwsSolutions-ECS2",
            "The environment holds only non-secret settings (bus name, queue URLs, port); the shared token "
            "comes from Secrets Manager through the task's 'secrets'.",
        )
