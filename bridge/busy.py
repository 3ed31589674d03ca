"""Whether the CPUs the bridge may use are nearly all busy: what decides whether a batch waits for company.

Lingering buys CPU (fuller PutEvents calls, less work per event) and costs latency (an event waits for others).
Measured on the deployed path (docs/BRIDGE.md, "Linger only while the CPUs are busy"), the trade pays only
when CPU is short: at 1,000 events/s a 10 ms linger made the p99 about 15 ms where sending at once gave
about 4, while at saturation lingering was worth twice the throughput. So with ``BRIDGE_LINGER_WHEN=busy``
(the default) the publisher lingers only while this says the CPUs are busy.

The measure is CPU time over wall time across the last :data:`WINDOW_SAMPLES` samples taken every
:data:`SAMPLE_S` (200 ms: a burst is not saturation), the larger of two:

- the task's CPUs: a cgroup with a CPU quota (an ECS task's ``cpu``): its ``cpu.stat`` ``usage_usec`` against
  the quota (``cpu.max``); otherwise the machine: ``/proc/stat``, all but idle and iowait against the total;
- this worker process against one CPU (a worker is one event loop: it saturates at one CPU, whatever the task
  has left, e.g. when most callers' connections landed on it).

Busy from ``on_percent`` (``BRIDGE_BUSY_PERCENT``, default 85) and idle again only below ``on_percent - 25``
points, so that the CPU batching saves does not switch it off and on again. A measure that fails makes it
report busy from then on: the publisher then lingers as it always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from bridge.log import logger
from bridge.workers import cgroup_cpu_quota

#: How often the CPUs are looked at, and over how many samples the load is taken (a burst is not saturation).
SAMPLE_S = 0.05
WINDOW_SAMPLES = 4
#: Points below the threshold at which busy ends.
HYSTERESIS_POINTS = 25.0

#: (CPU seconds used so far, CPU seconds available so far): cumulative counters; their deltas' ratio is the load.
Reading = tuple[float, float]
Reader = Callable[[], Reading]


def cgroup_reader(root: Path = Path("/sys/fs/cgroup")) -> Reader | None:
    """The cgroup v2's usage against its CPU quota (the quota as ``BRIDGE_WORKERS`` reads it), or None when it has
    no quota or no v2 ``cpu.stat``."""
    cpus = cgroup_cpu_quota(root)
    if cpus is None:
        return None
    stat = root / "cpu.stat"
    try:
        _usage_seconds(stat)
    except (OSError, ValueError):
        return None

    def read() -> Reading:
        return _usage_seconds(stat), time.monotonic() * cpus

    return read


def _usage_seconds(stat: Path) -> float:
    for line in stat.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == "usage_usec":
            return int(value) / 1e6
    raise ValueError(f"no usage_usec in {stat}")


def proc_stat_reader(path: Path = Path("/proc/stat")) -> Reader | None:
    """The machine's CPUs (``/proc/stat``'s first line, in clock ticks), or None where it cannot be read."""

    def read() -> Reading:
        with path.open("rb") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
        return total - fields[3] - fields[4], total

    try:
        read()
    except (OSError, ValueError, IndexError):
        return None
    return read


def process_reader() -> Reader:
    """This process's CPU time (the event loop and grpc's poller thread) against one CPU: a worker is one loop."""
    return lambda: (time.process_time(), time.monotonic())


class CpuBusy:
    """``busy``: the CPUs were at least ``on_percent`` used over the last :data:`WINDOW_SAMPLES` samples (with the
    hysteresis above), by the task as a whole or by this worker process alone (one event loop, one CPU)."""

    def __init__(self, on_percent: float = 85.0, readers: Sequence[Reader] | None = None) -> None:
        self.on = on_percent / 100
        self.off = max(0.0, on_percent - HYSTERESIS_POINTS) / 100
        if readers is not None:
            self.source = "given"
        else:
            machine, name = cgroup_reader(), "cgroup"
            if machine is None:
                machine, name = proc_stat_reader(), "proc"
            readers = [process_reader()] if machine is None else [machine, process_reader()]
            self.source = "process" if machine is None else f"{name}+process"
        self._readers = list(readers)
        self._history: deque[list[Reading]] = deque(maxlen=WINDOW_SAMPLES + 1)
        self.busy = not self._readers  # nothing to measure with: linger as before
        self.load = float("nan")  # the last window's share of the CPUs used (the larger of the measures), 0-1
        self.switches = 0
        self._task: asyncio.Task[None] | None = None
        self.sample()

    def sample(self) -> None:
        if not self._readers:
            return
        try:
            readings = [read() for read in self._readers]
        except (OSError, ValueError, IndexError):
            self.busy, self._readers = True, []  # it went away: linger as before
            logger.warning("cannot measure the CPUs any more; the publisher lingers whenever it is busy")
            return
        history = self._history
        history.append(readings)
        if len(history) < 2:
            return
        first = history[0]
        pairs = zip(first, readings, strict=True)
        loads = [(now[0] - then[0]) / (now[1] - then[1]) for then, now in pairs if now[1] > then[1]]
        if not loads:
            return
        self.load = max(loads)
        was = self.busy
        self.busy = self.load >= self.on if not was else self.load >= self.off
        self.switches += was != self.busy

    def start(self, every_s: float = SAMPLE_S) -> None:
        if self._task is None and self._readers:
            self._task = asyncio.get_running_loop().create_task(self._run(every_s), name="cpu-busy")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.sample()
