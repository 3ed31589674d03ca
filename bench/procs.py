"""Child processes of a benchmark run: start, wait for the ready line, sample RSS, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a bridge with ``BRIDGE_WORKERS`` > 1 is a supervisor and its workers)."""
    found = [pid]
    for current in found:
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                found.extend(int(child) for child in children if int(child) not in found)
        except OSError:
            continue
    return found


def _rss_one(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mib(pid: int) -> float:
    """Resident set size of a process and its descendants (each one's own RSS, added up), from /proc."""
    values = [_rss_one(p) for p in tree(pid)]
    values = [v for v in values if v == v]
    return sum(values) if values else float("nan")


def _cpu_one(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live descendants."""
    values = [_cpu_one(p) for p in tree(pid)]
    values = [v for v in values if v == v]
    return sum(values) if values else float("nan")


class Child:
    """A long-running child (server under test) whose stdout is watched for a ready line."""

    def __init__(
        self,
        argv: list[str],
        ready: Callable[[str], bool],
        env: dict[str, str] | None = None,
        name: str = "child",
        timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.lines: list[str] = []
        full_env = dict(os.environ)
        full_env.setdefault("PYTHONPATH", str(REPO))
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._ready = threading.Event()
        self._match = ready
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            tail = "\n".join(self.lines[-20:])
            raise RuntimeError(f"{name} did not become ready in {timeout}s:\n{tail}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if len(self.lines) > 5000:
                del self.lines[:1000]
            if not self._ready.is_set() and self._match(line):
                self._ready.set()
        if not self._ready.is_set() and self.proc.poll() is not None:
            self._ready.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_line(self, predicate: Callable[[str], bool], timeout: float = 10.0, start: int = 0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if predicate(line):
                    return line
            time.sleep(0.02)
        return None

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class RssSampler:
    """Peak RSS of a process over a block (sampled every 50 ms in a thread)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = rss_mib(self.pid)
            if value == value:  # not NaN
                self.peak = max(self.peak, value)
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


def python() -> str:
    return sys.executable
