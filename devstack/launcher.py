"""Run ``python -m devstack`` as a child process and wait for its READY file: for ``make demo`` and the e2e tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class DevstackProcess:
    """One devstack subprocess; its whole output goes to ``log_path`` (see :meth:`tail`)."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, *, start_timeout: float = 60.0) -> None:
        self.ready_file = workdir / "devstack-ready.json"
        self.log_path = workdir / "devstack.log"
        self.start_timeout = start_timeout
        self._env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        """Start it and return the READY record (ports, URLs, pids); raise with the log's tail if it fails."""
        self.ready_file.unlink(missing_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack", "--ready-file", str(self.ready_file), "--no-banner"],
                cwd=REPO_ROOT,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.ready_file.exists():
                self.info = json.loads(self.ready_file.read_text())
                return self.info
            if self.proc.poll() is not None:
                raise RuntimeError(f"devstack exited with {self.proc.returncode} before it was ready:\n{self.tail()}")
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"devstack not ready within {self.start_timeout:.0f}s:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, as a process manager would; the exit code, or None if it had to be killed."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return os.name != "posix" or not Path("/proc").exists()
    return state != "Z"
