"""Whether the CPUs the bridge may use are nearly all busy: what decides whether a batch waits for company.

Lingering buys CPU (fuller PutEvents calls, less work per event) and costs latency (an event waits for others).
Measured on the deployed path (docs/BRIDGE.md, "Linger only while the CPUs are busy"), the trade pays only
when CPU is short: at 1,000 events/s a 10 ms linger made the p99 about 15 ms where sending at once gave
about 4, while at saturation lingering was worth twice the throughput. So with ``BRIDGE_LINGER_WHEN=busy``
(the default) the publisher lingers only while this says the CPUs are busy.

The measure is CPU time over wall time, every :data:`SAMPLE_S`, against the CPUs available:

- a cgroup with a CPU quota (an ECS task's ``cpu``): the cgroup's ``cpu.stat`` ``usage_usec`` against the
  quota (``cpu.max``);
- otherwise the machine: ``/proc/stat``, all but idle and iowait against the total.

Busy from ``on_percent`` (``BRIDGE_BUSY_PERCENT``, default 85) and idle again only below ``on_percent - 25``
points, so that the CPU batching saves does not switch it off and on again. Where neither can be read it
reports busy: the publisher then lingers as it always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from bridge.log import logger

#: How often the CPUs are looked at.
SAMPLE_S = 0.05
#: Points below the threshold at which busy ends.
HYSTERESIS_POINTS = 25.0

#: (CPU seconds used so far, CPU seconds available so far): cumulative counters; their deltas' ratio is the load.
Reading = tuple[float, float]
Reader = Callable[[], Reading]


def cgroup_reader(root: Path = Path("/sys/fs/cgroup")) -> Reader | None:
    """The cgroup v2's usage against its CPU quota, or None when it has no quota (or is not v2)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        cpus = int(quota) / int(period)
        stat = root / "cpu.stat"
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


class CpuBusy:
    """``busy``: the CPUs were at least ``on_percent`` used in the last sample (with the hysteresis above)."""

    def __init__(self, on_percent: float = 85.0, reader: Reader | None = None) -> None:
        self.on = on_percent / 100
        self.off = max(0.0, on_percent - HYSTERESIS_POINTS) / 100
        found: tuple[Reader | None, str]
        if reader is not None:
            found = reader, "given"
        elif (cgroup := cgroup_reader()) is not None:
            found = cgroup, "cgroup"
        else:
            proc = proc_stat_reader()
            found = proc, "proc" if proc is not None else "none"
        self._read, self.source = found
        self.busy = self._read is None  # nothing to measure with: linger as before
        self.load = float("nan")  # the last sample's share of the CPUs used, 0-1
        self.switches = 0
        self._last: Reading | None = None
        self._task: asyncio.Task[None] | None = None
        self.sample()

    def sample(self) -> None:
        if self._read is None:
            return
        try:
            reading = self._read()
        except (OSError, ValueError, IndexError):
            self.busy, self._read = True, None  # it went away: linger as before
            logger.warning("cannot measure the CPUs any more; the publisher lingers whenever it is busy")
            return
        last, self._last = self._last, reading
        if last is None or reading[1] <= last[1]:
            return
        self.load = (reading[0] - last[0]) / (reading[1] - last[1])
        was = self.busy
        self.busy = self.load >= self.on if not was else self.load >= self.off
        self.switches += was != self.busy

    def start(self, every_s: float = SAMPLE_S) -> None:
        if self._task is None and self._read is not None:
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
