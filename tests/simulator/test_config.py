"""``SimulatorConfig``: ``SIM_<FIELD>`` (and Exotel's credential names) read at start, errors naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contract.env import SimulatorEnv
from legs.settings import ConfigError
from simulator.config import SimulatorConfig
from tests.support.simulator import ROOT


def test_from_env_reads_the_variables() -> None:
    config = SimulatorConfig.from_env(
        {
            SimulatorEnv.PORT: "9999",
            SimulatorEnv.TIME_SCALE: " 0.5 ",
            SimulatorEnv.API_KEY: "k",
            SimulatorEnv.API_TOKEN: "t",
            SimulatorEnv.INBOUND_ENDPOINT: "grpc://h:1",
            SimulatorEnv.TALK_SECONDS: "",  # blank counts as unset
            "SIM_PUSH_WORKERS": "4",  # any field, by its SIM_ name
            "SIM_API_KEY": "ignored",  # the key's name is Exotel's, not SIM_API_KEY
        }
    )
    assert (config.port, config.time_scale, config.api_key, config.api_token) == (9999, 0.5, "k", "t")
    assert (config.inbound_endpoint, config.talk_seconds, config.push_workers) == ("grpc://h:1", 5.0, 4)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SIM_CPS_LIMIT": "lots"}, "SIM_CPS_LIMIT"),
        ({SimulatorEnv.TIME_SCALE: "-1"}, SimulatorEnv.TIME_SCALE),
        ({SimulatorEnv.PORT: "70000"}, SimulatorEnv.PORT),
        ({SimulatorEnv.TALK_SECONDS: "-3"}, SimulatorEnv.TALK_SECONDS),
        ({"SIM_PUSH_ATTEMPTS": "0"}, "SIM_PUSH_ATTEMPTS"),
        ({"SIM_PUSH_TIMEOUT": "0"}, "SIM_PUSH_TIMEOUT"),
        ({SimulatorEnv.INBOUND_ENDPOINT: "localhost:1"}, SimulatorEnv.INBOUND_ENDPOINT),
        ({SimulatorEnv.LOG_LEVEL: "chatty"}, SimulatorEnv.LOG_LEVEL),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        SimulatorConfig.from_env(env)
    assert refused.value.problems[0].startswith(f"{named}: ")
    assert isinstance(refused.value, ValueError)  # what callers caught before


def test_every_problem_is_reported_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as refused:
        SimulatorConfig.from_env({SimulatorEnv.PORT: "-1", SimulatorEnv.TIME_SCALE: "fast"})
    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid simulator configuration:"
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [SimulatorEnv.PORT, SimulatorEnv.TIME_SCALE]


def test_built_by_hand_it_ignores_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build ``SimulatorConfig(...)`` directly: a developer's SIM_* variables must not change them."""
    monkeypatch.setenv(SimulatorEnv.TALK_SECONDS, "99")
    monkeypatch.setenv(SimulatorEnv.TIME_SCALE, "7")
    config = SimulatorConfig(port=0, time_scale=0.01)
    assert (config.talk_seconds, config.time_scale) == (5.0, 0.01)
    shell = {SimulatorEnv.TALK_SECONDS: "99", SimulatorEnv.TIME_SCALE: "7"}
    from_env = SimulatorConfig.from_env(shell, time_scale=0.01)  # keyword arguments win over the environment
    assert (from_env.talk_seconds, from_env.time_scale) == (99.0, 0.01)
    with pytest.raises(ConfigError, match=SimulatorEnv.PORT):
        SimulatorConfig(port=-1)


def test_python_m_simulator_refuses_bad_settings_naming_them() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulator"],
        cwd=ROOT,
        env={SimulatorEnv.PORT: "http", "SIM_PUSH_WORKERS": "0", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"{SimulatorEnv.PORT}: " in done.stderr and "SIM_PUSH_WORKERS: " in done.stderr
    assert "Traceback" not in done.stderr
