"""``DevstackConfig`` and the devstack's start: old names, errors naming the variable, a function's missing variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.env import AwsEnv, BridgeEnv, DevstackEnv, Env, PowertoolsEnv, SimulatorEnv
from devstack.config import DevstackConfig
from devstack.logs import Printer
from devstack.stack import Devstack
from legs.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_old_names_are_read() -> None:
    config = DevstackConfig.from_env(
        {
            DevstackEnv.AWS_EMULATOR_PORT: "0",
            SimulatorEnv.PORT: "0",
            BridgeEnv.PORT: " 0 ",
            DevstackEnv.API_PORT: "3001",
            AwsEnv.REGION: "ap-south-1",
            SimulatorEnv.TIME_SCALE: "1",
            DevstackEnv.LOG_LEVEL: "debug",
            DevstackEnv.MAX_RECEIVE_COUNT: "5",
            PowertoolsEnv.METRICS_NAMESPACE: "Local",
            Env.EVENT_SOURCE: "acme.legs",
            "host": "0.0.0.0",  # not a variable: the devstack listens on loopback
        }
    )
    assert (config.aws_emulator_port, config.sim_port, config.bridge_port, config.api_port) == (0, 0, 0, 3001)
    assert (config.aws_region, config.sim_time_scale, config.log_level) == ("ap-south-1", 1.0, "DEBUG")
    assert (config.max_receive_count, config.metrics_namespace, config.event_source) == (5, "Local", "acme.legs")
    assert config.host == "127.0.0.1"
    assert DevstackConfig.from_env({DevstackEnv.API_PORT: ""}).api_port == 3000  # blank = unset


def test_built_by_hand_it_ignores_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DevstackEnv.API_PORT, "9")
    assert DevstackConfig().api_port == 3000 and DevstackConfig.from_env().api_port == 9


def test_python_m_devstack_exits_2_naming_each_bad_variable() -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        DevstackEnv.MAX_RECEIVE_COUNT: "0",
        DevstackEnv.API_PORT: "http",
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "--no-banner"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "invalid devstack configuration:" in done.stderr
    assert f"{DevstackEnv.MAX_RECEIVE_COUNT}: " in done.stderr and f"{DevstackEnv.API_PORT}: " in done.stderr


def test_a_function_missing_a_variable_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in Lambda, a function's import checks what it needs; the devstack does not start half-configured."""
    stack = Devstack(DevstackConfig(aws_emulator_port=0, sim_port=0, bridge_port=0, api_port=0), Printer(level="ERROR"))
    for name in (Env.LEG_STATE_TABLE, Env.CALL_PLANS_TABLE, Env.IDEMPOTENCY_TABLE, Env.EXOTEL_BASE_URL):
        monkeypatch.setenv(name, "Table-x" if name != Env.EXOTEL_BASE_URL else "http://127.0.0.1:9")
    monkeypatch.setenv(Env.BRIDGE_ENDPOINT, "grpc://127.0.0.1:9")
    monkeypatch.delenv(Env.RETRY_QUEUE_URL, raising=False)
    with pytest.raises(ConfigError) as refused:
        stack._load_functions()
    assert "invalid configuration of function connect:" in str(refused.value)
    assert refused.value.problems == [f"{Env.RETRY_QUEUE_URL}: not set"]
