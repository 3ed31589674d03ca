"""The Application Load Balancer in front of the bridge: gRPC over TLS in, gRPC (h2c) to the tasks.

Why an ALB (docs/DEPLOY.md): it balances each gRPC call (HTTP/2 stream) across tasks, where an
NLB would pin a long-lived Exotel connection to one task; it health-checks with the standard gRPC
health service (``grpc.health.v1.Health/Check`` must answer status code 0); and its
``RequestCountPerTarget`` drives autoscaling. TLS ends at the listener (ACM certificate); the
tasks speak h2c inside the VPC, reachable only from the load balancer's security group.

With ``client_ca_bundle`` the listener does mutual TLS in verify mode: the PEM file travels as an S3
asset into an ELB trust store, a client without a certificate that chains to it never gets past the
handshake, and the ALB tells the bridge who it verified in ``X-Amzn-Mtls-Clientcert-Subject``.
"""

from __future__ import annotations

from aws_cdk import Annotations, CfnParameter, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import DeployConfig, ca_bundle_path
from infra.logical_ids import Grouping
from infra.nag import acknowledge

HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
#: The template parameter that takes the certificate when the context has none.
CERTIFICATE_PARAMETER = "CertificateArn"


class LoadBalancer(Grouping):
    """Internet-facing ``load_balancer`` open to ``source_cidrs`` only, TLS ``listener``, gRPC ``target_group``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.security_group = self._security_group(config, vpc)
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=self.security_group,
            http2_enabled=True,
            idle_timeout=Duration.seconds(config.idle_timeout_seconds),
            drop_invalid_header_fields=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        self._access_logs(config)
        self.target_group = self._target_group(config, vpc)
        self.trust_store = self._trust_store(config) if config.mutual_tls else None
        self.listener = self.load_balancer.add_listener(
            "GrpcTls",
            port=config.listener_port,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(self._certificate(config))],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[self.target_group],
            open=False,
            mutual_authentication=self._mutual_authentication(),
        )

    def _trust_store(self, config: DeployConfig) -> elbv2.TrustStore:
        """The CA bundle as an S3 asset (a new object when the file changes), read by ELB into a trust store."""
        bundle = s3_assets.Asset(self, "ClientCaBundle", path=str(ca_bundle_path(config.client_ca_bundle)))
        return elbv2.TrustStore(self, "ClientTrustStore", bucket=bundle.bucket, key=bundle.s3_object_key)

    def _mutual_authentication(self) -> elbv2.MutualAuthentication | None:
        if self.trust_store is None:
            return None
        return elbv2.MutualAuthentication(
            mutual_authentication_mode=elbv2.MutualAuthenticationMode.VERIFY,
            trust_store=self.trust_store,
            ignore_client_certificate_expiry=False,
            advertise_trust_store_ca_names=True,  # the client picks the certificate our CA signed
        )

    def _security_group(self, config: DeployConfig, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "LoadBalancerSg",
            vpc=vpc,
            description="gRPC over TLS from the configured source CIDRs (Exotel egress ranges) only",
            allow_all_outbound=False,
        )
        for cidr in config.source_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            group.add_ingress_rule(peer, ec2.Port.tcp(config.listener_port), f"Exotel {cidr}")
        if not config.source_cidrs:
            Annotations.of(group).add_warning_v2(
                "exotel-legs:no-source-cidrs",
                "source_cidrs is empty: the gRPC listener accepts no traffic until Exotel's egress ranges are set",
            )
        return group

    def _access_logs(self, config: DeployConfig) -> None:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This bucket only receives the load balancer's access logs; logging access to the log bucket "
            "itself would need yet another bucket.",
        )
        if not Token.is_unresolved(Stack.of(self).region):
            self.load_balancer.log_access_logs(bucket, prefix="bridge-alb")
            if config.mutual_tls:  # who presented which certificate, and every refused handshake
                self.load_balancer.log_connection_logs(bucket, prefix="bridge-alb-connections")
            return
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

    def _certificate(self, config: DeployConfig) -> acm.ICertificate:
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
        return acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)

    def _target_group(self, config: DeployConfig, vpc: ec2.IVpc) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self,
            "BridgeTargets",
            vpc=vpc,
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
