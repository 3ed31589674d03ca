"""The local subscription walk-through, as pasted: README's command and the banner's, against the session devstack.

Each runs as a subprocess (a shell, like a terminal), prints the event a placed leg causes, and on
Ctrl-C (SIGINT) removes its rule (ordered mode: its EventsV2 subscriber) and queue. The commands are the same in
both bus modes: the helper learns the mode from the devstack.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from contract.bus import BusMode
from contract.env import AwsEnv
from devstack.banner import EXOPHONE, HUMAN, banner
from devstack.stack import ReadyInfo
from tests.e2e.local_api import Api

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = "-m devstack.subscribe"
READY_LINE = "Waiting for events"


def readme_command() -> str:
    """The one subscribe command README.md shows in a bash block."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = [line.strip() for line in text.splitlines() if COMMAND in line and line.strip().startswith(".venv/")]
    assert len(found) == 1, f"expected one `.venv/bin/python {COMMAND} …` line in README.md, found {found}"
    return found[0]


def banner_command(devstack: dict[str, Any]) -> str:
    lines = [line.strip() for line in banner(ReadyInfo.model_validate(devstack), 0.05).splitlines()]
    found = [line for line in lines if COMMAND in line]
    assert len(found) == 1, lines
    return found[0]


def _as_here(command: str) -> str:
    """``.venv/bin/python`` is what a user has after ``make``; a test run from another interpreter uses that one."""
    if (REPO_ROOT / ".venv" / "bin" / "python").exists():
        return command
    return command.replace(".venv/bin/python", sys.executable)


def _rules(devstack: dict[str, Any]) -> list[str]:
    kwargs = {"endpoint_url": devstack["aws_endpoint_url"], "region_name": devstack["aws_region"]}
    events = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t").client("events", **kwargs)
    return [r["Name"] for r in events.list_rules(EventBusName=devstack["bus_name"], NamePrefix="subscriber-")["Rules"]]


def _subscribers(devstack: dict[str, Any]) -> list[dict[str, Any]]:
    """Ordered mode: the helper's EventsV2 subscribers on the local bus (none in classic mode)."""
    if not devstack.get("bus_arn"):
        return []
    kwargs = {"endpoint_url": devstack["eventsv2_url"], "region_name": devstack["aws_region"]}
    v2 = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t").client("eventbridgev2", **kwargs)
    return v2.list_subscribers(EventBusArn=devstack["bus_arn"], NamePrefix="subscriber-")["Subscribers"]


def _ordered(devstack: dict[str, Any]) -> bool:
    return devstack["bus_mode"] == BusMode.ORDERED.value


class Pasted:
    """A command run in a shell, as a terminal would: its output lines, waited for; Ctrl-C to its process group."""

    def __init__(self, command: str, devstack: dict[str, Any], where: str) -> None:
        env = {**os.environ, AwsEnv.ENDPOINT_URL: devstack["aws_endpoint_url"], AwsEnv.REGION: devstack["aws_region"]}
        env.pop(AwsEnv.endpoint_url_for("eventbridgev2"), None)  # the helper must find the endpoint itself
        self.where = where
        self.proc = subprocess.Popen(
            ["bash", "-c", _as_here(command)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # Ctrl-C goes to the whole foreground group, as in a terminal
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self._lines.put(line) for line in self.proc.stdout or []], daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.seen.append(self._lines.get(timeout=0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self._lines.empty():
                    break
                continue
            if text in self.seen[-1]:
                return self.seen[-1]
        pytest.fail(f"{self.where}: no line with {text!r} within {timeout:.0f}s; output so far:\n" + "".join(self.seen))

    def interrupt(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(15)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@pytest.mark.parametrize("where", ["README", "banner"])
def test_the_subscription_walk_through_works_as_pasted(devstack: dict[str, Any], api: Api, where: str) -> None:
    command = readme_command() if where == "README" else banner_command(devstack)
    pasted = Pasted(command, devstack, where)
    try:
        pasted.wait_for(READY_LINE, 30)
        if _ordered(devstack):  # the same command made an UNORDERED subscriber on the local EventsV2 bus
            said = "".join(pasted.seen)
            assert "UNORDERED subscriber subscriber-" in said and devstack["bus_arn"] in said, said
            assert [s["Type"] for s in _subscribers(devstack)] == ["UNORDERED"]
            assert _rules(devstack) == []
        else:
            assert "rule subscriber-" in "".join(pasted.seen), pasted.seen
        status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": where})
        assert status == 202, created
        pasted.wait_for(created["leg_sid"], 30)
        assert "leg_answered" in pasted.seen[-1], pasted.seen[-1]
        pasted.wait_for('"custom_param": "' + where + '"', 5)  # the whole event follows its summary line
        assert pasted.interrupt() == 0, "".join(pasted.seen)
        pasted.wait_for(("subscriber" if _ordered(devstack) else "rule") + " and queue removed", 5)
    finally:
        pasted.kill()
    assert _rules(devstack) == [], "the subscriber's rule outlived Ctrl-C"
    assert _subscribers(devstack) == [], "the EventsV2 subscriber outlived Ctrl-C"


def test_fifo_gets_a_legs_events_in_order_in_ordered_mode_and_is_refused_in_classic(
    devstack: dict[str, Any], api: Api
) -> None:
    """``--fifo``: a FIFO subscriber into a FIFO queue (ordered mode); a clear refusal on the classic bus."""
    tag = f"fifo-{time.monotonic_ns()}"
    command = (
        f"{readme_command().split(' --', 1)[0]} --fifo --compact --count 3 "
        f'--pattern \'{{"detail": {{"data": {{"custom_param": ["{tag}"]}}}}}}\''
    )
    pasted = Pasted(command, devstack, "--fifo")
    try:
        if not _ordered(devstack):
            assert pasted.proc.wait(30) == 2
            pasted.wait_for("--fifo needs the devstack's ordered mode", 5)
            return
        pasted.wait_for(READY_LINE, 30)
        assert "FIFO subscriber" in "".join(pasted.seen) and ".fifo" in pasted.seen[-1], pasted.seen
        assert [s["Type"] for s in _subscribers(devstack)] == ["FIFO"]
        status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": tag})
        assert status == 202, created
        pasted.wait_for("received 3 event(s); subscriber and queue removed", 60)
        assert pasted.proc.wait(15) == 0, "".join(pasted.seen)
        names = [line.split()[1] for line in pasted.seen if created["leg_sid"] in line]
        assert names == ["leg_connecting", "leg_ringing", "leg_answered"], pasted.seen
    finally:
        pasted.kill()
    assert _subscribers(devstack) == []


def test_subscribe_says_clearly_when_nothing_answers(tmp_path: Path) -> None:
    from tests.support.ports import free_port

    env = {**os.environ, AwsEnv.ENDPOINT_URL: f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run(
        [sys.executable, "-m", "devstack.subscribe", "--count", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert "nothing answers at" in result.stderr and "make run" in result.stderr, result.stderr
