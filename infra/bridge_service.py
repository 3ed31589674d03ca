"""The bridge service: Fargate (ARM64) tasks behind an Application Load Balancer speaking gRPC over TLS.

Why an ALB (docs/DEPLOY.md): it balances each gRPC call (HTTP/2 stream) across tasks, where an
NLB would pin a long-lived Exotel connection to one task; it health-checks with the standard gRPC
health service (``grpc.health.v1.Health/Check`` must answer status code 0); and its
``RequestCountPerTarget`` drives autoscaling. TLS ends at the listener (ACM certificate); the
tasks speak h2c inside the VPC, reachable only from the load balancer's security group.
"""

from __future__ import annotations

from aws_cdk import Annotations, CfnOutput, CfnParameter, Duration, IgnoreMode, RemovalPolicy, Stack, Token
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv
from contract.resources import DEAD_LETTER_QUEUE, FALLBACK_QUEUE
from infra.bundling import REPO_ROOT
from infra.config import DeployConfig
from infra.nag import acknowledge
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
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
CERTIFICATE_PARAMETER = "CertificateArn"


class BridgeServiceStack(Stack):
    """Stateless: the gRPC endpoint Exotel pushes leg events to."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, data: StatefulStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        retention = log_retention(config.log_retention_days)

        # ---- network --------------------------------------------------------------------------
        private = config.nat_gateways > 0
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                *(
                    [
                        ec2.SubnetConfiguration(
                            name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                        )
                    ]
                    if private
                    else []
                ),
            ],
        )
        flow_log_group = logs.LogGroup(self, "FlowLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group))

        # ---- the task ---------------------------------------------------------------------------
        cluster = ecs.Cluster(self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.bridge_cpu,
            memory_limit_mib=config.bridge_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        fallback = data.queues[FALLBACK_QUEUE.id]
        dead_letter = data.queues[DEAD_LETTER_QUEUE.id]
        # Least privilege, written out: put events on this bus, send to the bridge's own two queues.
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PutEventsOnTheBus", actions=["events:PutEvents"], resources=[data.bus.event_bus_arn]
            )
        )
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SpillAndDeadLetter",
                actions=["sqs:SendMessage"],
                resources=[fallback.queue_arn, dead_letter.queue_arn],
            )
        )
        self.log_group = logs.LogGroup(self, "BridgeLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY)
        secrets: dict[str, ecs.Secret] = {}
        if data.bridge_token_secret is not None:
            secrets[BridgeEnv.AUTH_TOKEN] = ecs.Secret.from_secrets_manager(data.bridge_token_secret)
        if not (REPO_ROOT / BRIDGE_DOCKERFILE).is_file():
            raise FileNotFoundError(f"the bridge image needs {BRIDGE_DOCKERFILE} (built at deploy time); it is missing")
        self.container = task.add_container(
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
                Env.EVENT_BUS_NAME: data.bus.event_bus_name,
                Env.EVENT_SOURCE: config.event_source,
                Env.FALLBACK_QUEUE_URL: fallback.queue_url,
                Env.DEAD_LETTER_QUEUE_URL: dead_letter.queue_url,
                AwsEnv.REGION: self.region,
                PowertoolsEnv.SERVICE_NAME: config.bridge_service_name,
                PowertoolsEnv.METRICS_NAMESPACE: config.bridge_metrics_namespace,
                PowertoolsEnv.LOG_LEVEL: config.powertools_log_level,
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
        if data.ordered is not None:  # ordered mode: publish to the EventsV2 bus (infra/ordered_bus.py)
            data.ordered.wire_bridge(task.task_role, self.container)
        execution_policy = task.obtain_execution_role().node.find_child("DefaultPolicy")
        acknowledge(
            execution_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions (added by CDK for pulling the image); "
            "image pulls, logs and the token secret are scoped to their ARNs.",
        )
        acknowledge(
            task,
            "AwsSolutions-ECS2",
            "The environment holds only non-secret settings (bus name, queue URLs, port); the shared token "
            "comes from Secrets Manager through the task's 'secrets'.",
        )

        # ---- the load balancer ----------------------------------------------------------------------
        self.lb_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSg",
            vpc=self.vpc,
            description="gRPC over TLS from the configured source CIDRs (Exotel egress ranges) only",
            allow_all_outbound=False,
        )
        for cidr in config.source_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            self.lb_security_group.add_ingress_rule(peer, ec2.Port.tcp(config.listener_port), f"Exotel {cidr}")
        self.service_security_group = ec2.SecurityGroup(
            self,
            "ServiceSg",
            vpc=self.vpc,
            description="bridge tasks: gRPC from the load balancer only; HTTPS out to AWS APIs",
            allow_all_outbound=False,
        )
        self.service_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to EventBridge, SQS, ECR, CloudWatch Logs"
        )
        self.service_security_group.add_ingress_rule(
            self.lb_security_group, ec2.Port.tcp(config.bridge_port), "gRPC from the load balancer"
        )
        self.lb_security_group.add_egress_rule(
            self.service_security_group, ec2.Port.tcp(config.bridge_port), "to the bridge tasks"
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=True,
            security_group=self.lb_security_group,
            http2_enabled=True,
            idle_timeout=Duration.seconds(config.idle_timeout_seconds),
            drop_invalid_header_fields=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This bucket only receives the load balancer's access logs; logging access to the log bucket "
            "itself would need yet another bucket.",
        )
        if Token.is_unresolved(self.region):
            # Region-agnostic synthesis (aws_region: ""): ELB's log-delivery account depends on the region.
            acknowledge(
                self.load_balancer,
                "AwsSolutions-ELB2",
                "Access logs need the region's ELB log-delivery account; this synthesis is region-agnostic "
                '(aws_region: ""). Set aws_region to get access logs.',
            )
            Annotations.of(self.load_balancer).add_warning_v2(
                "exotel-legs:no-access-logs", "aws_region is empty: load balancer access logs are off"
            )
        else:
            self.load_balancer.log_access_logs(access_logs, prefix="bridge-alb")

        certificate_arn = config.certificate_arn
        if not certificate_arn:
            # No certificate in context: synthesis still works; deploy refuses until one is given.
            certificate_arn = CfnParameter(
                self,
                CERTIFICATE_PARAMETER,
                type="String",
                allowed_pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$",
                constraint_description="an ACM certificate ARN (set context certificate_arn, or pass this parameter)",
                description="ACM certificate for the gRPC/TLS listener. No default: deploy refuses without one.",
            ).value_as_string
        certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "BridgeTargets",
            vpc=self.vpc,
            port=config.bridge_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            protocol_version=elbv2.ApplicationProtocolVersion.GRPC,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=Duration.seconds(20),
            health_check=elbv2.HealthCheck(
                enabled=True,
                path=HEALTH_CHECK_PATH,
                healthy_grpc_codes="0",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
        )
        self.listener = self.load_balancer.add_listener(
            "GrpcTls",
            port=config.listener_port,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[self.target_group],
            open=False,
        )

        # ---- the service and its scaling ---------------------------------------------------------
        subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if private else ec2.SubnetType.PUBLIC
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=config.bridge_min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            security_groups=[self.service_security_group],
            vpc_subnets=subnets,
            assign_public_ip=not private,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(30),
            enable_execute_command=False,
        )
        self.service.attach_to_application_target_group(self.target_group)
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.bridge_min_tasks, max_capacity=config.bridge_max_tasks
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=config.bridge_target_cpu_percent)
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=config.bridge_requests_per_target,
            target_group=self.target_group,
        )

        # ---- the endpoint --------------------------------------------------------------------------
        host = config.domain_name or self.load_balancer.load_balancer_dns_name
        self.endpoint_url = f"grpc://{host}:{config.listener_port}"
        CfnOutput(
            self,
            "BridgeEndpoint",
            value=self.endpoint_url,
            description="leg_event_endpoint for Exotel (grpc://host:port); CNAME domain_name to the load balancer",
        )
        CfnOutput(self, "LoadBalancerDnsName", value=self.load_balancer.load_balancer_dns_name)
        if not config.source_cidrs:
            Annotations.of(self.lb_security_group).add_warning_v2(
                "exotel-legs:no-source-cidrs",
                "source_cidrs is empty: the gRPC listener accepts no traffic until Exotel's egress ranges are set",
            )


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
}  # fmt: skip


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for ``days`` (one of the values CloudWatch accepts)."""
    try:
        return logs.RetentionDays[_RETENTION[days]]
    except KeyError:
        raise ValueError(f"unsupported log retention: {days} days") from None
