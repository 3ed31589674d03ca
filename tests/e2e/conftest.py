"""One devstack (subprocess, free ports, fast simulator) shared by the end-to-end tests of a session."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from devstack.launcher import DevstackProcess, pid_alive

#: Simulated seconds x 0.05: a leg rings and answers in ~0.2 s; talk time is stretched so that a
#: two-party call stays bridged long enough (~1.5 s) for a poll to see it.
E2E_ENV = {
    "AWS_EMULATOR_PORT": "0",
    "SIM_PORT": "0",
    "BRIDGE_PORT": "0",
    "API_PORT": "0",
    "SIM_TIME_SCALE": "0.05",
    "SIM_TALK_SECONDS": "30",
    "DEVSTACK_LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("devstack")
    stack = DevstackProcess(workdir, E2E_ENV)
    info = stack.start()
    info["_process"] = stack
    yield info
    dead_lettered = _dead_lettered(info)
    code = stack.stop()
    assert not dead_lettered, f"events dead-lettered during the run (a function kept failing): {dead_lettered}"
    leftovers = [name for name, pid in info["child_pids"].items() if pid_alive(pid)]
    assert code == 0, f"devstack did not stop cleanly on SIGTERM (exit {code}):\n{stack.tail()}"
    assert not leftovers, f"processes left behind after SIGTERM: {leftovers}"
    assert not stack.ready_file.exists(), "the ready file outlived the devstack"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """A failed test shows the tail of the devstack's log (every part's lines) in its report."""
    outcome = yield
    report = outcome.get_result()
    info = getattr(item, "funcargs", {}).get("devstack")
    if report.failed and isinstance(info, dict) and "_process" in info:
        report.sections.append(("devstack log (tail)", info["_process"].tail(150)))


def _dead_lettered(info: dict[str, Any]) -> dict[str, int]:
    """Messages in any ``-dlq`` queue of the devstack: each is an event some function failed 3 times."""
    kwargs = {"endpoint_url": info["aws_endpoint_url"], "region_name": info["aws_region"]}
    sqs = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t").client("sqs", **kwargs)
    counts = {}
    for url in sqs.list_queues(QueueNamePrefix=info["bus_name"]).get("QueueUrls", []):
        if url.endswith("-dlq"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[url.rsplit("/", 1)[-1]] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return {name: count for name, count in counts.items() if count}


class Api:
    """A tiny JSON client for the local API (stdlib only: what a user's curl does)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.request("POST", path, body, headers)


@pytest.fixture(scope="session")
def api(devstack: dict[str, Any]) -> Api:
    return Api(devstack["api_url"])


def wait_until(probe: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Call ``probe`` until it returns something truthy; fail with ``what`` and the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
