"""``BRIDGE_WORKERS``: several bridge processes serving one port, so that one task uses all of its CPUs.

One Python process runs one event loop on one core; a task with two vCPUs needs two processes to use both.
The supervisor (``python -m bridge`` when it has more than one worker) checks that the port is free, keeps
it reserved with ``SO_REUSEPORT`` (so that a second bridge fails instead of sharing it, and so that port 0
resolves once for all workers), and starts the workers, each a whole :class:`bridge.server.BridgeServer`
bound to the same port with ``SO_REUSEPORT``: the kernel spreads new connections over them.

- Ready: the supervisor logs ``bridge ready`` (with ``workers``) once every worker is serving.
- SIGTERM/SIGINT: passed to every worker; each drains as a single bridge does (health NOT_SERVING, in-flight
  calls answered once their events are stored); the supervisor exits 0 when all have.
- A worker that dies after it was serving is started again; one that cannot start (bad configuration, port
  taken) stops the others and its exit status becomes the supervisor's (2 = configuration).
- A supervisor that dies without a word (SIGKILL, the OOM killer) takes its workers with it: each asks Linux
  for SIGTERM on its parent's death (``exit_with``) and drains as on any SIGTERM.

CPU affinity (``BRIDGE_CPU_AFFINITY``, default ``auto``): when there is exactly one worker per CPU the process
may use, worker *i* stays on the *i*-th of those CPUs (``worker_cpus``). A worker's event loop and grpcio's
poller thread then share one core's caches instead of handing every call across cores; measured at 1,000
events/s, a pinned worker spent 6-17 % less CPU per event (docs/BRIDGE.md, "CPU affinity"). Nothing is pinned
otherwise: fewer workers than CPUs, or a cgroup quota below the CPU count (an ECS task on a shared EC2 host
sees all the host's CPUs), where pinning would crowd tasks onto the same cores.

What workers do not share: the recent-``event_sid`` memory (``bridge.dedup``). A repeat is suppressed when it
reaches the worker that saw the first delivery (the same connection always does); otherwise it is published
again, as with two tasks, and consumers are idempotent on ``event_sid`` (docs/BRIDGE.md).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from bridge.config import BridgeConfig, ConfigError
from bridge.lifeline import parent_death_signal
from bridge.log import logger

#: Exit status of a worker (and the supervisor) when the configuration is wrong.
CONFIG_EXIT = 2
#: A worker that is not serving after this long counts as unable to start.
START_TIMEOUT_S = 60.0


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, bounded by the cgroup CPU quota (a Fargate/ECS task's
    ``cpu``) rounded up; at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by the cgroup (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``); None: no limit."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def worker_cpus(workers: int, setting: str = "auto") -> list[int | None]:
    """The CPU each worker is pinned to (None: not pinned). ``auto`` pins only when every CPU of this process's
    affinity gets exactly one worker and no cgroup quota says the task owns fewer of them."""
    unpinned: list[int | None] = [None] * workers
    if setting != "auto" or workers < 2 or not hasattr(os, "sched_getaffinity"):
        return unpinned
    cpus = sorted(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota()
    if len(cpus) != workers or (quota is not None and quota < len(cpus)):
        return unpinned
    return list(cpus)


def pin_to(cpu: int) -> bool:
    """Keep this process (and the threads it starts from now on) on ``cpu``; a CPU that cannot be had (gone
    offline, outside a changed cpuset) leaves the worker unpinned rather than stopping it."""
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        logger.warning("bridge worker not pinned", cpu=cpu, error=str(exc))
        return False
    return True


def reserve_port(host: str, port: int) -> socket.socket:
    """Fail if ``host:port`` is taken; else hold it with SO_REUSEPORT (bound, not listening) and return it.

    The first bind is without SO_REUSEPORT, so that a port in use by anything (another bridge included)
    is refused as a single bridge would refuse it. SO_REUSEADDR (which grpcio sets too) only lets connections
    of a previous run still in TIME_WAIT not count: a socket listening on the port still refuses the bind."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))  # OSError (EADDRINUSE) when taken
        port = port or int(probe.getsockname()[1])
    held = socket.socket(family, socket.SOCK_STREAM)
    try:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # not SO_REUSEADDR: a second probe must fail
        held.bind((host, port))
    except OSError:
        held.close()
        raise
    return held


def exit_with(supervisor: int) -> None:
    """SIGTERM this worker when ``supervisor`` dies: a worker left behind would go on serving the port,
    unsupervised."""
    ask = parent_death_signal()
    if ask is not None:
        ask()
    if os.getppid() != supervisor:  # it died before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def worker_main(port: int, ready: Connection, cpu: int | None = None, supervisor: int | None = None) -> None:
    """One worker process (spawned): the configuration from the same environment, the port shared; pinned to
    ``cpu`` first, before grpcio starts threads (they inherit the main thread's affinity)."""
    if supervisor is not None:
        exit_with(supervisor)
    if cpu is not None:
        pin_to(cpu)
    from bridge.__main__ import serve
    from bridge.loop import run

    try:
        config = BridgeConfig.from_env(port=port)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        sys.exit(CONFIG_EXIT)

    def started(bound: int) -> None:
        ready.send(bound)

    try:
        run(serve(config, reuse_port=True, on_ready=started), config.event_loop)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        sys.exit(CONFIG_EXIT)
    except OSError as exc:
        logger.error("bridge worker could not start", error=str(exc))
        sys.exit(1)
    sys.exit(0)


class Supervisor:
    """Starts ``count`` workers on one port, restarts the ones that die, and stops them all on a signal."""

    def __init__(self, config: BridgeConfig, count: int) -> None:
        self.config = config
        self.count = count
        self._context = multiprocessing.get_context("spawn")  # grpcio must not be forked
        self._workers: dict[int, tuple[BaseProcess, Connection]] = {}  # slot -> (process, its ready pipe)
        self._serving: set[int] = set()
        self._stopping = False
        self._cpus = worker_cpus(count, config.cpu_affinity)  # slot -> its CPU (None: not pinned)
        self.port = 0

    def _start(self, slot: int) -> None:
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main,
            args=(self.port, send, self._cpus[slot], os.getpid()),
            name=f"bridge-worker-{slot}",
            daemon=False,
        )
        process.start()
        send.close()
        self._workers[slot] = (process, receive)

    def _stop(self, *_: object) -> None:
        self._stopping = True

    def run(self) -> int:
        config = self.config
        try:
            held = reserve_port(config.host, config.port)
        except OSError as exc:
            logger.error("bridge could not start", error=f"{config.host}:{config.port}: {exc}")
            return 1
        with held:
            self.port = int(held.getsockname()[1])
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._stop)
            for slot in range(self.count):
                self._start(slot)
            return self._supervise()

    def _supervise(self) -> int:
        began = time.monotonic()
        announced = False
        while not self._stopping:
            waitables: list[object] = []
            for process, pipe in self._workers.values():
                waitables.append(process.sentinel)
                if not pipe.closed:
                    waitables.append(pipe)
            wait(waitables, timeout=0.5)  # type: ignore[arg-type]  # sentinels are ints, pipes Connections
            for slot, (process, pipe) in list(self._workers.items()):
                if not pipe.closed and pipe.poll():
                    with contextlib.suppress(EOFError, OSError):
                        pipe.recv()
                        self._serving.add(slot)
                    pipe.close()
                if process.exitcode is None or self._stopping:
                    continue
                if slot not in self._serving:  # could not start: the others would fail alike
                    code = process.exitcode or 1
                    logger.error("bridge worker could not start; stopping", worker=slot, exit_code=code)
                    self._terminate_all()
                    return code
                logger.error("bridge worker died; starting it again", worker=slot, exit_code=process.exitcode)
                self._serving.discard(slot)
                self._start(slot)
            if not announced and len(self._serving) == self.count:
                announced = True
                pinned = [cpu for cpu in self._cpus if cpu is not None] or None
                logger.info("bridge ready", port=self.port, host=self.config.host, workers=self.count, pinned=pinned)
            if not announced and time.monotonic() - began > START_TIMEOUT_S:
                logger.error("bridge workers did not start in time; stopping", serving=len(self._serving))
                self._terminate_all()
                return 1
        logger.info("signal received; shutting down workers", workers=len(self._workers))
        return self._terminate_all()

    def _terminate_all(self) -> int:
        for process, _ in self._workers.values():
            if process.exitcode is None and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        limit = time.monotonic() + self.config.drain_delay_s + self.config.shutdown_grace_s + 10
        worst = 0
        for slot, (process, _) in self._workers.items():
            process.join(max(0.0, limit - time.monotonic()))
            if process.exitcode is None:
                logger.error("bridge worker did not stop in time; killing it", worker=slot)
                process.kill()
                process.join(5)
            worst = max(worst, abs(process.exitcode or 0))
        logger.info("bridge workers stopped", workers=len(self._workers), exit_code=worst)
        return worst
