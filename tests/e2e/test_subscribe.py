"""The local subscription walk-through, as pasted: README's command and the banner's, against the session devstack.

Each runs as a subprocess (a shell, like a terminal), prints the event a placed leg causes, and on
Ctrl-C (SIGINT) removes its rule and queue.
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


@pytest.mark.parametrize("where", ["README", "banner"])
def test_the_subscription_walk_through_works_as_pasted(devstack: dict[str, Any], api: Api, where: str) -> None:
    command = _as_here(readme_command() if where == "README" else banner_command(devstack))
    env = {**os.environ, AwsEnv.ENDPOINT_URL: devstack["aws_endpoint_url"], AwsEnv.REGION: devstack["aws_region"]}
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C goes to the whole foreground group, as in a terminal
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()

    def wait_for(text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                if proc.poll() is not None and lines.empty():
                    break
                continue
            if text in seen[-1]:
                return
        pytest.fail(f"{where}: no line with {text!r} within {timeout:.0f}s; output so far:\n" + "".join(seen))

    try:
        wait_for(READY_LINE, 30)
        status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": where})
        assert status == 202, created
        wait_for(created["leg_sid"], 30)
        assert "leg_answered" in seen[-1], seen[-1]
        wait_for('"custom_param": "' + where + '"', 5)  # the whole event follows its summary line
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(15) == 0, "".join(seen)
        wait_for("rule and queue removed", 5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert _rules(devstack) == [], "the subscriber's rule outlived Ctrl-C"


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
