"""The bridge service: ARM64 Fargate behind an ALB with a gRPC/TLS listener, scoped IAM and network."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from infra.constructs.load_balancer import CERTIFICATE_PARAMETER, HEALTH_CHECK_PATH
from tests.infra.conftest import FULL_CONTEXT, Assembly, FullSynth

pytestmark = pytest.mark.infra
BRIDGE = "ExotelLegsBridge"
DATA = "ExotelLegsData"


@pytest.fixture(scope="module")
def bridge(full: FullSynth) -> Template:
    return Template.from_json(full.assembly.templates[BRIDGE])


def _export_of(full: FullSynth, construct: object, attribute: str | None) -> str:
    """The export name under which the stateful stack hands ``construct`` (Ref or GetAtt) to others."""
    data = full.deployment.data
    logical = data.resolve(construct.node.default_child.logical_id)  # type: ignore[attr-defined]
    for output in full.assembly.templates[DATA]["Outputs"].values():
        value = output["Value"]
        if (attribute is None and value == {"Ref": logical}) or value == {"Fn::GetAtt": [logical, attribute]}:
            return output["Export"]["Name"]
    raise AssertionError(f"{logical}.{attribute} is not exported")


def _import(full: FullSynth, construct: object, attribute: str | None = None) -> dict[str, str]:
    return {"Fn::ImportValue": _export_of(full, construct, attribute)}


def test_task_is_arm64_fargate_with_the_bridge_image(bridge: Template, full: FullSynth) -> None:
    bridge.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "Cpu": "512",
            "Memory": "1024",
        },
    )
    assets = json.loads((full.assembly.outdir / f"{BRIDGE}.assets.json").read_text())
    images = list(assets["dockerImages"].values())
    assert len(images) == 1
    source = images[0]["source"]
    assert source["dockerFile"] == "bridge/Dockerfile"
    assert source["platform"] == "linux/arm64"
    context = full.assembly.outdir / source["directory"]
    assert sorted(p.name for p in context.iterdir()) == ["bridge", "contract", "legs"]  # what the Dockerfile copies
    assert (context / "bridge" / "Dockerfile").is_file() and (context / "legs" / "events.py").is_file()


def test_container_environment_secret_and_logs(full: FullSynth) -> None:
    data = full.deployment.data
    (task,) = full.assembly.resources(BRIDGE, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["EVENT_BUS_NAME"] == _import(full, data.bus)
    assert env["FALLBACK_QUEUE_URL"] == _import(full, data.queues["BridgeFallback"])
    assert env["DEAD_LETTER_QUEUE_URL"] == _import(full, data.queues["BridgeDeadLetter"])
    assert env["EVENT_SOURCE"] == FULL_CONTEXT["event_source"]
    assert env["BRIDGE_PORT"] == "50051"
    assert env["BRIDGE_WORKERS"] == str(max(1, int(FULL_CONTEXT.get("bridge_cpu", 512)) // 1024))
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ExotelLegs"
    assert "BRIDGE_PROTO" not in env and "BRIDGE_RPC" not in env  # no bridge_proto: our own .proto
    assert [s["Name"] for s in container["Secrets"]] == ["BRIDGE_AUTH_TOKEN"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "bridge.healthcheck"]
    groups = full.assembly.resources(BRIDGE, "AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == 30 for g in groups.values())


def test_task_role_may_only_put_on_this_bus_and_send_to_its_own_queues(full: FullSynth) -> None:
    data = full.deployment.data
    task_role = full.deployment.bridge.service.task_definition.task_role
    role_id = full.deployment.bridge.resolve(task_role.node.default_child.logical_id)
    policies = [
        p
        for p in full.assembly.resources(BRIDGE, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    assert set(by_action) == {'"events:PutEvents"', '"sqs:SendMessage"'}
    assert by_action['"events:PutEvents"']["Resource"] == _import(full, data.bus, "Arn")
    assert by_action['"sqs:SendMessage"']["Resource"] == [
        _import(full, data.queues["BridgeFallback"], "Arn"),
        _import(full, data.queues["BridgeDeadLetter"], "Arn"),
    ]
    managed = full.assembly.templates[BRIDGE]["Resources"][role_id]["Properties"].get("ManagedPolicyArns")
    assert not managed


def test_grpc_tls_listener_and_grpc_health_check(bridge: Template) -> None:
    bridge.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTPS",
            "Port": 443,
            "Certificates": [{"CertificateArn": FULL_CONTEXT["certificate_arn"]}],
            "SslPolicy": Match.string_like_regexp("TLS13"),
        },
    )
    bridge.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "ProtocolVersion": "GRPC",
            "Protocol": "HTTP",
            "Port": 50051,
            "TargetType": "ip",
            "HealthCheckPath": HEALTH_CHECK_PATH,
            "Matcher": {"GrpcCode": "0"},
        },
    )
    bridge.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [
                    {"Key": "routing.http2.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.enabled", "Value": "true"},
                ]
            ),
        },
    )
    bridge.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": Match.any_value(),
            "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicAcls": True}),
        },
    )


def _ingress(assembly: Assembly) -> list[dict]:
    rules = []
    for group in assembly.resources(BRIDGE, "AWS::EC2::SecurityGroup").values():
        rules.extend(group["Properties"].get("SecurityGroupIngress", []))
    rules.extend(r["Properties"] for r in assembly.resources(BRIDGE, "AWS::EC2::SecurityGroupIngress").values())
    return rules


def test_only_the_configured_cidrs_reach_the_listener(full: FullSynth) -> None:
    ingress = _ingress(full.assembly)
    from_cidrs = sorted(r.get("CidrIp") or r.get("CidrIpv6") for r in ingress if "SourceSecurityGroupId" not in r)
    assert from_cidrs == sorted(FULL_CONTEXT["source_cidrs"])
    for rule in ingress:
        if "SourceSecurityGroupId" in rule:
            assert rule["FromPort"] == rule["ToPort"] == 50051  # load balancer -> tasks only
        else:
            assert rule["FromPort"] == rule["ToPort"] == 443


def test_default_deployment_is_closed_and_asks_for_a_certificate(both: dict[str, Assembly]) -> None:
    default = both["default"]
    assert [r for r in _ingress(default) if "SourceSecurityGroupId" not in r] == []
    template = default.templates[BRIDGE]
    parameter = template["Parameters"][CERTIFICATE_PARAMETER]
    assert "Default" not in parameter  # CloudFormation refuses to deploy without a value
    listeners = default.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::Listener")
    assert [lst["Properties"]["Certificates"] for lst in listeners.values()] == [
        [{"CertificateArn": {"Ref": CERTIFICATE_PARAMETER}}]
    ]
    assert CERTIFICATE_PARAMETER not in both["full"].templates[BRIDGE].get("Parameters", {})


def test_service_autoscaling_and_rollback(bridge: Template) -> None:
    bridge.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            "DesiredCount": FULL_CONTEXT["bridge_min_tasks"],
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}, "MinimumHealthyPercent": 100}
            ),
            "NetworkConfiguration": {"AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "DISABLED"})},
        },
    )
    bridge.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"MinCapacity": FULL_CONTEXT["bridge_min_tasks"], "MaxCapacity": FULL_CONTEXT["bridge_max_tasks"]},
    )
    bridge.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)
    bridge.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": Match.object_like(
                        {"PredefinedMetricType": "ALBRequestCountPerTarget"}
                    )
                }
            )
        },
    )
    bridge.has_resource_properties(
        "AWS::ECS::Cluster", {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}
    )
    bridge.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_endpoint_output_uses_the_domain_name(full: FullSynth) -> None:
    outputs = full.assembly.templates[BRIDGE]["Outputs"]
    assert outputs["BridgeEndpoint"]["Value"] == f"grpc://{FULL_CONTEXT['domain_name']}:443"


def test_default_endpoint_is_the_load_balancer_name(both: dict[str, Assembly]) -> None:
    value = both["default"].templates[BRIDGE]["Outputs"]["BridgeEndpoint"]["Value"]
    assert value["Fn::Join"][1][0] == "grpc://" and value["Fn::Join"][1][2] == ":443"
    assert "DNSName" in json.dumps(value["Fn::Join"][1][1])
