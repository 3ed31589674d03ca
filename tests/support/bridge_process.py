"""``python -m bridge`` as a child process for component and reliability tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.moto_server import aws_env

ROOT = Path(__file__).resolve().parents[2]


class BridgeProcess:
    """``python -m bridge`` as a child process; its JSON log lines are collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._workers: list[int] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if '"bridge ready"' in line:
                self.port = int(json.loads(line)["port"])
                self._ready.set()
        self._ready.set()  # the process ended: stop waiting

    def wait_ready(self, timeout: float = 30.0) -> BridgeProcess:
        if not self._ready.wait(timeout) or not self.port:
            self.kill()
            raise TimeoutError("bridge not ready:\n" + "\n".join(self.lines[-30:]))
        self._workers = self.worker_pids()  # remembered: once the supervisor is gone, /proc no longer says
        return self

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """SIGKILL the bridge; its workers (if any) follow it (bridge.workers.exit_with), and are killed here too so
        that a failed test leaves nothing behind."""
        workers = set(self.worker_pids()) | set(self._workers)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def worker_pids(self) -> list[int]:
        """The supervisor's worker processes (``BRIDGE_WORKERS`` > 1), from /proc."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        found = []
        for child in children:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
        return found

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.lines[-n:])

    def logs(self) -> list[dict]:
        parsed = []
        for line in self.lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
        return parsed

    def metric_totals(self) -> dict[str, float]:
        """Sum of every EMF document's counters the process printed."""
        totals: dict[str, float] = {}
        for doc in self.logs():
            if "_aws" not in doc:
                continue
            for directive in doc["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    name = metric["Name"]
                    value = doc.get(name)
                    if metric.get("Unit") == "Count" and name != "BatchSize":
                        totals[name] = totals.get(name, 0) + (sum(value) if isinstance(value, list) else value)
        return totals


def child_env(endpoint: str, bus: str, fallback_url: str, dead_letter_url: str, **extra: str) -> dict[str, str]:
    """Environment for a bridge child on a free loopback port, against the emulator at ``endpoint``.

    The caller's own ``AWS_*``/``BRIDGE_*``/``POWERTOOLS_*``/``EVENT_*`` settings are dropped so a test
    sees only what it sets; ``extra`` overrides anything.
    """
    prefixes = ("AWS_", "BRIDGE_", "POWERTOOLS_", "EVENT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(aws_env(endpoint))
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": "0",
            "EVENT_BUS_NAME": bus,
            "FALLBACK_QUEUE_URL": fallback_url,
            "DEAD_LETTER_QUEUE_URL": dead_letter_url,
            "BRIDGE_SHUTDOWN_GRACE_S": "10",
            # One process unless a test asks for more (tests/bridge/test_workers.py): per-process counters
            # and duplicate memory are what most tests read.
            "BRIDGE_WORKERS": "1",
        }
    )
    env.update(extra)
    return env
