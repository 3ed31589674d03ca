"""One devstack (subprocess, free ports, fast simulator) shared by the end-to-end tests of a session, per bus mode.

``E2E_BUS_MODES`` (default ``classic,ordered``) says which modes the suite runs in: every test that uses the
``devstack`` fixture runs once per mode (ids ``[classic]`` / ``[ordered]``), one devstack at a time. A test
that needs other settings starts its own with :func:`running_devstack` (same checks on the way out).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from contract.bus import BusMode
from contract.env import DevstackEnv, SimulatorEnv
from devstack.launcher import DevstackProcess, pid_alive
from tests.e2e.local_api import Api

#: Simulated seconds x 0.05: a leg rings and answers in ~0.2 s; talk time is stretched so that a
#: two-party call is bridged before the first party hangs up even on a loaded machine (answer -> bridge took
#: over 3 s real under load: with a 1.5 s or 3 s talk time the first party sometimes hung up first), and stays
#: bridged long enough for a poll to see it.
E2E_ENV = {
    "AWS_EMULATOR_PORT": "0",
    "SIM_PORT": "0",
    "BRIDGE_PORT": "0",
    "API_PORT": "0",
    "SIM_TIME_SCALE": "0.05",
    "SIM_TALK_SECONDS": "120",
    "DEVSTACK_LOG_LEVEL": "INFO",
    # <Say> does not hold the rest of its flow (Exotel's <StartSay> never does): nothing end to end may rely on it
    SimulatorEnv.SAY_BLOCKS: "false",
}


#: Bus modes the suite runs in (``E2E_BUS_MODES=ordered`` for one).
BUS_MODES = [
    BusMode(m.strip()).value for m in os.environ.get("E2E_BUS_MODES", "classic,ordered").split(",") if m.strip()
]


@contextmanager
def running_devstack(workdir: Path, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A devstack subprocess with ``env``; on the way out it must have dead-lettered nothing and stop cleanly."""
    stack = DevstackProcess(workdir, env)
    info = stack.start()
    info["_process"] = stack
    try:
        yield info
    finally:
        try:
            dead_lettered = _dead_lettered(info)
        finally:
            code = stack.stop()
    assert not dead_lettered, f"events dead-lettered during the run (a function kept failing): {dead_lettered}"
    leftovers = [name for name, pid in info["child_pids"].items() if pid_alive(pid)]
    assert code == 0, f"devstack did not stop cleanly on SIGTERM (exit {code}):\n{stack.tail()}"
    assert not leftovers, f"processes left behind after SIGTERM: {leftovers}"
    assert not stack.ready_file.exists(), "the ready file outlived the devstack"


@pytest.fixture(scope="session", params=BUS_MODES)
def devstack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp(f"devstack-{request.param}")
    with running_devstack(workdir, {**E2E_ENV, DevstackEnv.BUS_MODE: request.param}) as info:
        yield info


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """A failed test shows the tail of the devstack's log (every part's lines) in its report."""
    outcome = yield
    report = outcome.get_result()
    for name, info in getattr(item, "funcargs", {}).items():
        if report.failed and isinstance(info, dict) and "_process" in info:
            report.sections.append((f"{name} log (tail)", info["_process"].tail(150)))


def _dead_lettered(info: dict[str, Any]) -> dict[str, int]:
    """Messages in any ``-dlq`` queue of the devstack (``-dlq.fifo`` too): each is an event some function failed 3
    times."""
    kwargs = {"endpoint_url": info["aws_endpoint_url"], "region_name": info["aws_region"]}
    sqs = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t").client("sqs", **kwargs)
    counts = {}
    for url in sqs.list_queues(QueueNamePrefix=info["bus_name"]).get("QueueUrls", []):
        if url.endswith(("-dlq", "-dlq.fifo")):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[url.rsplit("/", 1)[-1]] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return {name: count for name, count in counts.items() if count}


@pytest.fixture(scope="session")
def api(devstack: dict[str, Any]) -> Api:
    return Api(devstack["api_url"])
