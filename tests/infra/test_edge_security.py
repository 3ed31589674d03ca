"""Secure by default at the edge: mutual TLS at the ALB, no unauthenticated push by accident, least privilege."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contract.env import BridgeEnv
from contract.resources import LEG_STATE_TABLE, TABLES
from infra.config import ConfigError, DeployConfig
from infra.constructs.wired_function import TABLE_ACTIONS, TABLE_READ_ACTIONS
from infra.function_specs import function_specs
from lambdas.wiring import WIRING, Access
from tests.infra.conftest import FULL_CONTEXT, REPO_ROOT, Assembly, FullSynth

pytestmark = pytest.mark.infra
BRIDGE = "ExotelLegsBridge"
FUNCTIONS = "ExotelLegsFunctions"
CIDR = ["203.0.113.0/24"]
CA = FULL_CONTEXT["client_ca_bundle"]


class _Node:
    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def try_get_context(self, key: str) -> object:
        return self.context.get(key)


def _config(**context: Any) -> DeployConfig:
    return DeployConfig.from_context(_Node(context))


# ---- the synthesis guard ------------------------------------------------------------------------
def test_an_open_listener_without_authentication_is_refused_naming_the_three_ways_forward() -> None:
    with pytest.raises(ConfigError) as refused:
        _config(source_cidrs=CIDR)
    text = str(refused.value)
    assert text.startswith("invalid deployment context:")
    for way in ("client_ca_bundle", "bridge_auth_token=true", "allow_unauthenticated_push=true"):
        assert way in text, text


@pytest.mark.parametrize(
    "context",
    [
        {},  # the default: no CIDRs, closed
        {"source_cidrs": CIDR, "client_ca_bundle": CA},
        {"source_cidrs": CIDR, "bridge_auth_token": True},
        {"source_cidrs": CIDR, "allow_unauthenticated_push": "true"},  # the explicit choice (-c arrives as text)
        {"source_cidrs": ["0.0.0.0/0"], "client_ca_bundle": CA},
        {"source_cidrs": ["::/0"], "bridge_auth_token": "true"},
    ],
)
def test_what_synthesizes(context: dict[str, Any]) -> None:
    assert _config(**context).source_cidrs == tuple(context.get("source_cidrs", ()))


@pytest.mark.parametrize("world", ["0.0.0.0/0", "::/0"])
def test_a_world_open_cidr_needs_mutual_tls_or_the_token_even_when_unauthenticated_is_allowed(world: str) -> None:
    with pytest.raises(ConfigError, match="whole Internet") as refused:
        _config(source_cidrs=[*CIDR, world], allow_unauthenticated_push=True)
    assert world in str(refused.value) and "client_ca_bundle" in str(refused.value)


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"client_subjects": ["CN=x"]}, "client_subjects pins verified client certificates: it needs client_ca_bundle"),
        ({"client_ca_bundle": "tests/infra/nothing-here.pem"}, "no file at tests/infra/nothing-here.pem"),
        ({"client_ca_bundle": "README.md"}, "holds no PEM certificate"),
        ({"client_subjects": '["CN=a", ""]', "client_ca_bundle": CA}, "must not be empty"),
    ],
)
def test_mutual_tls_settings_that_cannot_work_are_refused(context: dict[str, Any], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        _config(**context)


def test_a_bundle_with_a_private_key_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    pem = (REPO_ROOT / CA).read_text()
    bundle.write_text(pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="private key"):
        _config(client_ca_bundle=str(bundle))  # an absolute path (the deploying machine's) works too
    bundle.write_text(pem)
    assert _config(client_ca_bundle=str(bundle)).mutual_tls


def test_subjects_from_the_command_line() -> None:
    one = _config(client_ca_bundle=CA, client_subjects="CN=exotel,O=Exotel,C=IN")  # commas belong to the subject
    assert one.client_subjects == ("CN=exotel,O=Exotel,C=IN",)
    listed = _config(client_ca_bundle=CA, client_subjects='["CN=a,O=b", "CN=c"]')
    assert listed.client_subjects == ("CN=a,O=b", "CN=c")


def test_make_synth_refuses_an_unauthenticated_push_with_a_clear_message(tmp_path: Path) -> None:
    """``python app.py`` (what ``make synth`` and ``cdk synth`` run) with the CLI's context: refused, no traceback."""
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path / "out"), "CDK_CONTEXT_JSON": json.dumps({"source_cidrs": CIDR})}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("synthesis refused: invalid deployment context:"), done.stderr
    assert "(3) allow_unauthenticated_push=true" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()  # nothing half-written


# ---- mutual TLS at the load balancer ------------------------------------------------------------
def test_the_trust_store_holds_the_bundle_and_the_listener_verifies_clients(full: FullSynth) -> None:
    assembly = full.assembly
    (store_id, store), *more = assembly.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::TrustStore").items()
    assert not more
    (listener,) = assembly.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::Listener").values()
    mutual = listener["Properties"]["MutualAuthentication"]
    assert mutual["Mode"] == "verify"
    assert mutual["TrustStoreArn"] == {"Fn::GetAtt": [store_id, "TrustStoreArn"]}
    assert mutual["IgnoreClientCertificateExpiry"] is False
    # the bundle ships as a file asset: the trust store reads the very object the asset uploads
    assets = json.loads((assembly.outdir / f"{BRIDGE}.assets.json").read_text())
    key = store["Properties"]["CaCertificatesBundleS3Key"]
    (entry,) = [a for a in assets["files"].values() if a["destinations"] and _object_key(a) == key]
    shipped = assembly.outdir / entry["source"]["path"]
    assert shipped.read_text() == (REPO_ROOT / CA).read_text()
    assert "cdk-" in json.dumps(store["Properties"]["CaCertificatesBundleS3Bucket"])  # the bootstrap asset bucket


def _object_key(asset: dict[str, Any]) -> str:
    return next(iter(asset["destinations"].values()))["objectKey"]


def test_the_bridge_is_told_to_trust_the_load_balancers_subject_and_the_pins(full: FullSynth) -> None:
    (task,) = full.assembly.resources(BRIDGE, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env[BridgeEnv.LB_MUTUAL_TLS] == "true"
    assert json.loads(env[BridgeEnv.CLIENT_SUBJECTS]) == FULL_CONTEXT["client_subjects"]


def test_mutual_tls_connection_logs_go_to_the_access_log_bucket(full: FullSynth) -> None:
    (balancer,) = full.assembly.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["connection_logs.s3.enabled"] == "true"
    assert attributes["connection_logs.s3.prefix"] == "bridge-alb-connections"


def test_the_default_deployment_has_no_trust_store_and_a_plain_bridge(both: dict[str, Assembly]) -> None:
    default = both["default"]
    assert default.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::TrustStore") == {}
    (listener,) = default.resources(BRIDGE, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert "MutualAuthentication" not in listener["Properties"]
    (task,) = default.resources(BRIDGE, "AWS::ECS::TaskDefinition").values()
    names = {e["Name"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert BridgeEnv.LB_MUTUAL_TLS not in names and BridgeEnv.CLIENT_SUBJECTS not in names


# ---- least privilege from lambdas/wiring.py -----------------------------------------------------
def test_the_wiring_says_the_api_only_reads_leg_state() -> None:
    assert WIRING["api"].table_access()[LEG_STATE_TABLE.id] is Access.READ
    assert WIRING["leg_state"].table_access()[LEG_STATE_TABLE.id] is Access.READ_WRITE
    assert WIRING["retry"].queue_access() == {"RetryDelay": Access.READ_WRITE}
    assert WIRING["connect"].queue_access() == {"RetryDelay": Access.WRITE}
    assert WIRING["redrive"].queue_access() == {"BridgeFallback": Access.READ}


@pytest.mark.parametrize("spec", function_specs(FULL_CONTEXT["event_source"]), ids=lambda s: s.name)
def test_table_actions_follow_each_functions_access(full: FullSynth, spec: Any) -> None:
    functions = full.deployment.functions
    role_id = functions.resolve(functions.functions[spec.name].role.node.default_child.logical_id)
    statements = [
        s
        for p in full.assembly.resources(FUNCTIONS, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions_by_table: dict[str, set[str]] = {}
    for table_def in TABLES:
        arn = functions.resolve(full.deployment.data.tables[table_def.id].table_arn)
        for statement in statements:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if arn in resources:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                actions_by_table.setdefault(table_def.id, set()).update(actions)
    expected = {
        table: set(TABLE_READ_ACTIONS if level is Access.READ else TABLE_ACTIONS)
        for table, level in spec.wiring.table_access().items()
    }
    assert actions_by_table == expected


# ---- API Gateway's own answers: the same problem format ------------------------------------------
def test_api_gateways_own_answers_are_problems_too(full: FullSynth) -> None:
    from infra.constructs.rest_api import GATEWAY_RESPONSES
    from lambdas.api.problems import PROBLEM_JSON

    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in full.assembly.resources(FUNCTIONS, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert {"MISSING_AUTHENTICATION_TOKEN", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(
        responses
    )
    assert len(responses) == len(GATEWAY_RESPONSES)
    for response_type, properties in responses.items():
        assert properties["ResponseParameters"] == {"gatewayresponse.header.Content-Type": f"'{PROBLEM_JSON}'"}
        template = properties["ResponseTemplates"]["application/json"]
        # what API Gateway makes of it: $context.error.messageString is a quoted JSON string
        rendered = (
            template.replace("$context.error.messageString", json.dumps('Missing "Authentication" Token'))
            .replace("$context.path", "/legs")
            .replace("$context.requestId", "c0ffee")
        )
        body = json.loads(rendered)
        assert body["type"].startswith("tag:exotel-legs-eventbridge,2025:problem:") and body["title"]
        assert body["detail"] == 'Missing "Authentication" Token' and body["request_id"] == "c0ffee"
        assert ("status" in body) == ("StatusCode" in properties), response_type
        if "status" in body:
            assert str(body["status"]) == properties["StatusCode"]
