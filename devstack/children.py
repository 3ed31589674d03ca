"""The simulator and the bridge as child processes: started with their env, output re-printed, stopped cleanly.

Children get their own process group (a Ctrl-C reaches only the devstack, which stops them in order) and,
on Linux, ``PR_SET_PDEATHSIG`` so that they die with the devstack even if it is killed outright.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from bridge.lifeline import parent_death_signal
from devstack.logs import Printer, pump

log = logging.getLogger("devstack.children")


class Child:
    """One ``python -m <module>`` child, ready when its port accepts TCP connections."""

    def __init__(self, name: str, module: str, env: dict[str, str], port: int, printer: Printer, cwd: str) -> None:
        self.name = name
        self.module = module
        self.port = port
        self._env = env
        self._printer = printer
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        """Must run on the main thread: PR_SET_PDEATHSIG follows the thread that started the child."""
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", self.module],
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(),
        )
        assert self._proc.stdout is not None
        self._pump = threading.Thread(
            target=pump, args=(self._proc.stdout, self.name, self._printer), name=f"pump-{self.name}", daemon=True
        )
        self._pump.start()
        log.info("started %s (python -m %s, pid %d, port %d)", self.name, self.module, self._proc.pid, self.port)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, host: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self._proc.returncode if self._proc else None
                raise RuntimeError(f"{self.name} exited (code {code}) before it accepted connections; see its log")
            try:
                with socket.create_connection((host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not accept connections on {host}:{self.port} within {timeout:.0f}s")

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM the child's process group, then SIGKILL what is left after ``grace`` seconds."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs: killing it", self.name, grace)
                self._signal(signal.SIGKILL)
                self._proc.wait(5)
        if self._pump is not None:
            self._pump.join(2)
        log.info("%s stopped (exit code %s)", self.name, self._proc.returncode)

    def _signal(self, signum: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signum)  # its own group: the child and anything it started
