"""``FunctionSettings``: the old variable names, errors naming the variable, the cold-start check per function,
re-reading when the environment changes, and the API's 503 when a setting is missing at request time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE
from contract.deployment import EXOTEL_SECRET_NAME
from contract.env import AwsEnv, Env, PowertoolsEnv
from lambdas.shared.config import (
    DEFAULT_RETENTION_DAYS,
    ConfigError,
    FunctionSettings,
    at_cold_start,
    check_function,
    settings,
)
from lambdas.wiring import WIRING, env_names
from tests.lambdas.kit import Resources, api_event, api_json

ROOT = Path(__file__).resolve().parents[2]


def test_every_name_a_function_needs_is_a_setting() -> None:
    """The cold-start check can only check what the model reads."""
    assert [name for name in env_names() if FunctionSettings.field_for(name) is None] == []


def test_the_old_names_are_read_and_the_contract_defaults_apply() -> None:
    env = {
        Env.LEG_STATE_TABLE: "LegState",
        Env.CALL_PLANS_TABLE: "CallPlans",
        Env.IDEMPOTENCY_TABLE: "Idempotency",
        Env.EXOTEL_BASE_URL: "https://cpaas-api.exotel.com",
        Env.BRIDGE_ENDPOINT: "grpc://bridge.example:443",
        Env.RETRY_QUEUE_URL: "https://sqs.ap-south-1.amazonaws.com/1/retry",
        Env.RETENTION_DAYS: " 7 ",
        Env.EVENT_BUS_NAME: "",  # blank = unset
    }
    conf = FunctionSettings.from_env(env)
    assert (conf.leg_state_table, conf.call_plans_table, conf.idempotency_table) == (
        "LegState",
        "CallPlans",
        "Idempotency",
    )
    assert conf.exotel_base_url == "https://cpaas-api.exotel.com"
    assert (conf.bridge_endpoint, conf.retry_queue_url) == (env[Env.BRIDGE_ENDPOINT], env[Env.RETRY_QUEUE_URL])
    assert conf.retention_days == 7
    defaults = FunctionSettings.from_env({})
    assert (defaults.exotel_secret_name, defaults.event_bus_name, defaults.event_source) == (
        EXOTEL_SECRET_NAME,
        DEFAULT_BUS_NAME,
        DEFAULT_SOURCE,
    )
    assert defaults.retention_days == DEFAULT_RETENTION_DAYS and defaults.leg_state_table is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (Env.RETENTION_DAYS, "a month"),
        (Env.RETENTION_DAYS, "0"),
        (Env.RETRY_QUEUE_URL, "retry-queue"),
        (Env.EXOTEL_BASE_URL, "cpaas-api.exotel.com"),
        (Env.BRIDGE_ENDPOINT, "bridge.example:443"),
        (Env.LEG_STATE_TABLE, "leg state"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        FunctionSettings.from_env({name: value})
    assert refused.value.problems == [refused.value.problems[0]] and refused.value.problems[0].startswith(f"{name}: ")


def test_settings_follow_the_environment_and_are_cached_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings()
    assert settings() is first  # nothing changed: no second read
    monkeypatch.setenv(Env.RETENTION_DAYS, "3")
    assert settings().retention_days == 3
    monkeypatch.setenv(Env.RETENTION_DAYS, "three")
    with pytest.raises(ConfigError, match=Env.RETENTION_DAYS):
        settings()
    monkeypatch.delenv(Env.RETENTION_DAYS)
    assert settings() == first


def test_require_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().require("call_plans_table")
    monkeypatch.delenv(Env.CALL_PLANS_TABLE)
    with pytest.raises(ConfigError, match=f"{Env.CALL_PLANS_TABLE}: not set"):
        settings().require("call_plans_table")


@pytest.mark.parametrize("function", sorted(WIRING))
def test_check_function_names_each_missing_variable(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_function(function).idempotency_table  # the fixtures' environment is complete
    needed = [name for name in WIRING[function].env if _no_default(name)]
    for name in needed:
        monkeypatch.delenv(name)
    monkeypatch.setenv(Env.RETENTION_DAYS, "-1")
    with pytest.raises(ConfigError) as refused:
        check_function(function)
    named = sorted(problem.split(":")[0] for problem in refused.value.problems)
    assert named == sorted([*needed, Env.RETENTION_DAYS])
    assert str(refused.value).startswith(f"invalid configuration of function {function}:")


def test_the_import_checks_only_inside_the_lambda_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(Env.RETRY_QUEUE_URL)
    monkeypatch.delenv(AwsEnv.LAMBDA_FUNCTION_NAME, raising=False)
    assert at_cold_start("connect") is None  # a test importing a handler before its fixtures ran
    monkeypatch.setenv(AwsEnv.LAMBDA_FUNCTION_NAME, "exotel-legs-connect")
    with pytest.raises(ConfigError, match=Env.RETRY_QUEUE_URL):
        at_cold_start("connect")


def _no_default(name: str) -> bool:
    field = FunctionSettings.field_for(name)
    return field is not None and FunctionSettings.model_fields[field].default is None


def _import_in_lambda(function: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter importing the handler module as Lambda's init phase does."""
    full = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        AwsEnv.LAMBDA_FUNCTION_NAME: f"exotel-legs-{function}",
        PowertoolsEnv.TRACE_DISABLED: "true",
        **env,
    }
    module = WIRING[function].handler.rsplit(".", 1)[0]
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("function", sorted(WIRING))
def test_a_function_missing_a_variable_fails_its_cold_start_naming_it(function: str, lambda_env: Resources) -> None:
    env = lambda_env.env()
    needed = next(name for name in WIRING[function].env if _no_default(name))
    env.pop(needed)
    done = _import_in_lambda(function, env)
    assert done.returncode != 0
    assert f"invalid configuration of function {function}:" in done.stderr
    assert f"{needed}: not set" in done.stderr


def test_every_function_starts_with_the_environment_it_is_given(lambda_env: Resources) -> None:
    done = _import_in_lambda("api", {**lambda_env.env(), Env.RETENTION_DAYS: "14"})
    assert done.returncode == 0, done.stderr
    done = _import_in_lambda("redrive", {**lambda_env.env(), Env.EVENT_BUS_NAME: "", Env.RETENTION_DAYS: "x"})
    assert done.returncode != 0 and f"{Env.RETENTION_DAYS}: " in done.stderr


def test_the_api_answers_503_and_logs_the_setting_missing_at_request_time(
    monkeypatch: pytest.MonkeyPatch, api_logs: list[str]
) -> None:
    from lambdas.api.handler import handler
    from lambdas.api.problems import ProblemType
    from tests.lambdas.kit import Context

    table = os.environ[Env.LEG_STATE_TABLE]
    monkeypatch.delenv(Env.LEG_STATE_TABLE)
    response = handler(api_event("GET", "/legs/L123"), Context("api"))
    body = api_json(response)
    assert response["statusCode"] == 503 and body["type"] == ProblemType.NOT_CONFIGURED.uri
    assert Env.LEG_STATE_TABLE not in response["body"]  # the body names no variable: the logs do
    assert f"{Env.LEG_STATE_TABLE}: not set" in "\n".join(api_logs)
    monkeypatch.setenv(Env.LEG_STATE_TABLE, table)
    monkeypatch.setenv(Env.RETENTION_DAYS, "forever")  # malformed: the same 503, the logs naming it
    response = handler(api_event("GET", "/legs/L123"), Context("api"))
    assert response["statusCode"] == 503 and Env.RETENTION_DAYS not in response["body"]
    assert Env.RETENTION_DAYS in "\n".join(api_logs)
