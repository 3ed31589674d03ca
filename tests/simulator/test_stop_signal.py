"""``python -m simulator`` and ``python -m devstack.eventsv2`` stop on SIGTERM / SIGINT, and a stop that hangs is cut
off: the devstack's children get a SIGTERM when it dies (parent-death signal) and must not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.simulator import ROOT

#: (module, the object whose ``stop`` the hang test replaces)
MAINS = [
    ("simulator", "simulator.server.Simulator"),
    ("devstack.eventsv2", "devstack.eventsv2.server.EventsV2Endpoint"),
]

#: Runs a module's ``main()`` with its stop made to hang forever and a one-second stop budget.
HANGING = """
import importlib, sys, threading
module, target = sys.argv[1], sys.argv[2]
owner, name = target.rsplit(".", 1)
setattr(getattr(importlib.import_module(owner), name), "stop", lambda self: threading.Event().wait())
importlib.import_module("simulator.stopping").STOP_BUDGET_S = 1.0
sys.exit(importlib.import_module(module + ".__main__").main())
"""


def start(args: list[str]) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", ""), "SIM_PORT": "0", "EVENTSV2_PORT": "0", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    ready = process.stdout.readline()
    assert "ready" in ready, f"did not start: {ready!r} {process.stderr.read() if process.poll() is not None else ''}"
    return process


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"still running 60 s after the signal: {stderr[-2000:]}")
    return process.returncode, stderr


@pytest.mark.parametrize("module", [module for module, _ in MAINS])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_it_cleanly(module: str, signum: int) -> None:
    process = start(["-m", module])
    process.send_signal(signum)
    code, stderr = finish(process)
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("module", "target"), MAINS)
def test_a_stop_that_hangs_is_cut_off_with_every_threads_stack(module: str, target: str) -> None:
    process = start(["-c", HANGING, module, target])
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process)
    assert code != 0
    assert "Timeout (0:00:01)!" in stderr and "most recent call first" in stderr  # faulthandler's dump
