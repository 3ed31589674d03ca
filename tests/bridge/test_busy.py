"""``bridge.busy``: the CPU measure that decides whether the publisher lingers (hysteresis, its sources, failure)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.busy import WINDOW_SAMPLES, CpuBusy, Reading, cgroup_reader, proc_stat_reader


class Counters:
    """Cumulative (used, available) CPU seconds that the test advances at a chosen load."""

    def __init__(self) -> None:
        self.used = 0.0
        self.available = 0.0
        self.fail = False

    def advance(self, load: float, seconds: float = 1.0) -> None:
        self.used += load * seconds
        self.available += seconds

    def read(self) -> Reading:
        if self.fail:
            raise OSError("gone")
        return self.used, self.available


def hold(busy: CpuBusy, counters: Counters, load: float) -> bool:
    """The load held for a whole window of samples; whether it is busy after it."""
    for _ in range(WINDOW_SAMPLES):
        counters.advance(load)
        busy.sample()
    return busy.busy


def test_busy_from_the_threshold_and_idle_again_only_well_below_it() -> None:
    counters = Counters()
    busy = CpuBusy(85, readers=[counters.read])
    assert busy.source == "given" and not busy.busy
    states = [hold(busy, counters, load) for load in (0.5, 0.84, 0.86, 0.7, 0.61, 0.59, 0.8, 0.9, 1.0)]
    # on at >= 85 %; stays on down to 61 %; off below 60 % (85 - 25); 80 % is not enough to come back on
    assert states == [False, False, True, True, True, False, False, True, True]
    assert busy.switches == 3 and busy.load == pytest.approx(1.0)


def test_a_burst_shorter_than_the_window_is_not_saturation() -> None:
    counters = Counters()
    busy = CpuBusy(75, readers=[counters.read])
    hold(busy, counters, 0.5)
    counters.advance(1.0)  # one sample's worth at 100 %: the window's load is (3 x 0.5 + 1.0) / 4
    busy.sample()
    assert not busy.busy and busy.load == pytest.approx(0.625)


def test_the_larger_of_the_task_and_the_worker_decides() -> None:
    task, worker = Counters(), Counters()
    busy = CpuBusy(75, readers=[task.read, worker.read])
    for _ in range(WINDOW_SAMPLES):
        task.advance(0.5)  # the task's CPUs half used ...
        worker.advance(0.9)  # ... but this worker's loop nearly saturated (most connections landed on it)
        busy.sample()
    assert busy.busy and busy.load == pytest.approx(0.9)


def test_by_default_it_reads_the_task_and_this_process() -> None:
    busy = CpuBusy()
    assert busy.source in ("cgroup+process", "proc+process") and (busy.on, busy.off) == (0.85, 0.6)


def test_a_measure_that_goes_away_means_busy_so_the_publisher_lingers_as_before() -> None:
    counters = Counters()
    busy = CpuBusy(85, readers=[counters.read])
    hold(busy, counters, 0.1)
    assert not busy.busy
    counters.fail = True
    busy.sample()
    assert busy.busy
    counters.fail = False
    assert hold(busy, counters, 0.1)  # not measured any more


def test_the_cgroup_quota_is_the_capacity_and_no_quota_means_the_machine(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("200000 100000\n")  # two CPUs
    (tmp_path / "cpu.stat").write_text("usage_usec 3000000\nuser_usec 2000000\n")
    read = cgroup_reader(tmp_path)
    assert read is not None
    used, available = read()
    assert used == pytest.approx(3.0)
    (tmp_path / "cpu.stat").write_text("usage_usec 4000000\n")
    used2, available2 = read()
    assert used2 - used == pytest.approx(1.0) and available2 > available  # capacity grows at 2 CPU-s per second
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_reader(tmp_path) is None
    assert cgroup_reader(tmp_path / "absent") is None


def test_proc_stat_counts_all_but_idle_and_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n")
    read = proc_stat_reader(stat)
    assert read is not None and read() == (150, 1000)
    assert proc_stat_reader(tmp_path / "absent") is None
    assert proc_stat_reader() is not None  # this machine's own


def test_the_sampler_runs_on_the_loop_and_stops() -> None:
    async def scenario() -> int:
        counters = Counters()
        busy = CpuBusy(85, readers=[counters.read])
        busy.start(every_s=0.005)
        for _ in range(WINDOW_SAMPLES * 3):
            counters.advance(0.95, 0.005)
            await asyncio.sleep(0.01)
        assert busy.busy
        await busy.stop()
        return busy.switches

    assert asyncio.run(scenario()) == 1
