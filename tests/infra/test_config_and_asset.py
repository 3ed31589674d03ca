"""Context settings (cdk.json ↔ model ↔ docs) and the Lambda asset built without Docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.bus import DEFAULT_SOURCE
from infra.bundling import PACKAGES, RUNTIME_PROVIDED
from infra.config import CDK_JSON, ConfigError, DeployConfig, cdk_json_context
from infra.function_specs import function_specs
from tests.infra.conftest import REPO_ROOT, FullSynth

pytestmark = pytest.mark.infra


class _Node:
    def __init__(self, context: dict) -> None:
        self.context = context

    def try_get_context(self, key: str) -> object:
        return self.context.get(key)


def test_cdk_json_lists_every_setting_with_its_default() -> None:
    context = cdk_json_context()
    assert set(context) == set(DeployConfig.model_fields)
    assert DeployConfig.from_context(_Node(context)) == DeployConfig()
    assert json.loads(CDK_JSON.read_text())["app"].endswith("app.py")


def test_deploy_doc_documents_every_setting() -> None:
    doc = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    missing = [name for name in DeployConfig.model_fields if f"`{name}`" not in doc]
    assert missing == []


def test_bridge_workers_and_scaling_target_follow_the_task_size_and_the_measured_rate() -> None:
    small = DeployConfig(bridge_cpu=512, bridge_events_per_vcpu=1000, bridge_target_cpu_percent=50)
    assert small.bridge_workers == 1
    assert small.bridge_scale_requests == 1000 * 0.5 * 0.5 * 60  # events/s at the CPU target, per minute
    large = DeployConfig(bridge_cpu=2048, bridge_events_per_vcpu=1000, bridge_target_cpu_percent=60)
    assert large.bridge_workers == 2
    assert large.bridge_scale_requests == 1000 * 2 * 0.6 * 60
    assert DeployConfig(bridge_requests_per_target=123).bridge_scale_requests == 123  # set: taken as is


def test_cli_strings_are_coerced() -> None:
    config = DeployConfig.from_context(
        _Node({"bridge_auth_token": "true", "source_cidrs": "203.0.113.0/24, 2001:db8::/32", "bridge_min_tasks": "3"})
    )
    assert config.bridge_auth_token is True
    assert config.source_cidrs == ("203.0.113.0/24", "2001:db8::/32")
    assert config.bridge_min_tasks == 3
    assert config.aws_region == "ap-south-1"
    assert DeployConfig.from_context(_Node({"aws_region": ""})).aws_region is None  # region-agnostic


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("source_cidrs", ["203.0.113.7/24"], "host bits set"),
        ("source_cidrs", ["not-a-cidr"], "does not appear to be an IPv4 or IPv6 network"),
        ("certificate_arn", "arn:aws:iam::1:role/x", "ACM certificate ARN"),
        ("bridge_cpu", 300, "Fargate CPU size"),
        ("log_retention_days", 10, "CloudWatch's values"),
        ("bridge_max_tasks", 1, "bridge_max_tasks must be >= bridge_min_tasks"),
        ("alarm_email", "nobody", "pattern"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(key: str, value: object, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as refused:
        DeployConfig.from_context(_Node({key: value}))
    assert str(refused.value).startswith("invalid deployment context:")
    assert key in refused.value.problems[0]  # the context key at fault, first on its line


def test_every_bad_key_is_named_on_its_own_line_and_unknown_keys_are_left_alone() -> None:
    with pytest.raises(ConfigError) as refused:
        DeployConfig.from_context(_Node({"listener_port": "https", "bridge_cpu": "300", "api_keys": "maybe"}))
    named = sorted(problem.split(":")[0] for problem in refused.value.problems)
    assert named == ["api_keys", "bridge_cpu", "listener_port"]
    assert len(str(refused.value).splitlines()) == 4
    # CDK's own context (feature flags, -c keys of other tools) is not ours to refuse
    assert DeployConfig.from_context(_Node({"@aws-cdk/core:newStyleStackSynthesis": True})) == DeployConfig()


def test_a_bad_key_stops_the_synthesis_naming_it() -> None:
    from aws_cdk import App

    from infra.app_builder import build_app

    with pytest.raises(ConfigError, match="bridge_min_tasks"):
        build_app(App(context={**cdk_json_context(), "bridge_min_tasks": "two"}))


def _lambda_asset(full: FullSynth) -> Path:
    assets = json.loads((full.assembly.outdir / "ExotelLegsFunctions.assets.json").read_text())
    (files,) = [f for f in assets["files"].values() if f["source"].get("packaging") == "zip"]
    return full.assembly.outdir / files["source"]["path"]


def test_lambda_asset_holds_the_code_and_arm64_wheels(full: FullSynth) -> None:
    root = _lambda_asset(full)
    for spec in function_specs(DEFAULT_SOURCE):
        assert (root / "lambdas" / spec.name / "handler.py").is_file(), spec.name
    assert {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} >= set(PACKAGES)
    assert (root / "legs" / "events.py").is_file() and (root / "contract" / "catalogue.py").is_file()
    assert not (root / "infra").exists(), "the functions must not need infra/ (the dependency rule)"
    assert (root / "aws_lambda_powertools").is_dir()
    assert (root / "pydantic_settings").is_dir()  # every function validates its settings at cold start
    binaries = list((root / "pydantic_core").glob("*.so"))
    assert binaries and all("aarch64" in b.name for b in binaries), binaries
    assert "cpython-312" in binaries[0].name
    for pattern in RUNTIME_PROVIDED:
        assert not list(root.glob(pattern)), pattern
    assert not list(root.rglob("__pycache__"))


def test_exotel_defaults_follow_exotels_pages() -> None:
    """Mumbai by default (Singapore a setting); reactor concurrency follows the 100 requests/minute limit."""
    config = DeployConfig()
    assert config.exotel_base_url == "https://cpaas-api.in.exotel.com"
    assert config.exotel_requests_per_minute == 100  # docs.exotel.com rate-limits
    callers = sum(1 for spec in function_specs(DEFAULT_SOURCE) if spec.reserved_concurrency)
    assert callers >= 1
    per_reactor = config.reactor_concurrency(callers)
    assert per_reactor == 1  # 100/min is under 2 requests/s: one running invocation per reactor
    raised = DeployConfig(exotel_requests_per_minute=600)
    assert raised.reactor_concurrency(3) == 3 and raised.reactor_concurrency(1) == 10
    assert DeployConfig(exotel_reserved_concurrency=7).reactor_concurrency(3) == 7  # an explicit value wins
    singapore = DeployConfig.from_context(_Node({"exotel_base_url": "https://cpaas-api.exotel.com"}))
    assert singapore.exotel_base_url == "https://cpaas-api.exotel.com"


def test_exotels_proto_travels_in_the_image_and_reaches_the_bridge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bridge_proto is a path under bridge/ (bridge/Dockerfile copies that folder to /app/bridge)."""
    import infra.config
    from infra.constructs.bridge_task import proto_environment

    (tmp_path / "bridge").mkdir()
    (tmp_path / "bridge" / "exotel.proto").write_text('syntax = "proto3";\n')
    monkeypatch.setattr(infra.config, "REPO_ROOT", tmp_path)
    config = DeployConfig(bridge_proto="bridge/exotel.proto", bridge_rpc="exotel.callbacks.EventPush/Trigger")
    assert proto_environment(config) == {
        "BRIDGE_PROTO": "/app/bridge/exotel.proto",
        "BRIDGE_RPC": "exotel.callbacks.EventPush/Trigger",
    }
    assert proto_environment(DeployConfig()) == {}  # ours, protos/exotel_legs.proto
    for value, reason in [
        ("exotel.proto", "under bridge/"),
        ("/etc/exotel.proto", "under bridge/"),
        ("bridge/../legs/x.proto", "under bridge/"),
        ("bridge/missing.proto", "no file"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            DeployConfig(bridge_proto=value)
    with pytest.raises(ConfigError, match="bridge_rpc names a method"):
        DeployConfig(bridge_rpc="a.B/C")
