"""The headline of ``docs/PERFORMANCE.md``: the throughput target is the ratio of the two medians, and every
repetition behind them is listed beside it (figures here are made up, not measured)."""

from __future__ import annotations

from bench.bridge_figures import BRIDGE, NOOP, BridgeFigures, RunFigure
from bench.machine import Machine
from bench.report import Results, headline


def closed(server: str, runs: list[float]) -> RunFigure:
    ordered = sorted(runs)
    return RunFigure(
        server=server,
        mode="closed",
        concurrency=64,
        throughput=ordered[len(ordered) // 2],
        p50_ms=1.0,
        p99_ms=2.0,
        cpu_ms_per_event=0.3,
        runs_throughput=runs,
        repetitions=len(runs),
    )


def throughput_row(bridge: list[float], noop: list[float]) -> tuple[str, str, str, str]:
    figures = BridgeFigures(runs=[closed(NOOP, noop), closed(BRIDGE, bridge)], workers=2)
    results = Results(
        command="make bench", machine=Machine.model_construct(), started="now", sections=["bridge"], bridge=figures
    )
    return next(row for row in headline(results) if row[0].startswith("bridge / no-op throughput at 64 callers"))


def test_the_ratio_is_of_the_medians_and_every_run_is_listed() -> None:
    row = throughput_row([3500.0, 3400.0, 3600.0], [4300.0, 5100.0, 4400.0])
    assert row[2] == "0.80x (3,500 / 4,400 ev/s); runs 3,500, 3,400, 3,600 / 4,300, 5,100, 4,400"
    assert row[3] == "met"


def test_a_median_below_the_target_is_not_met() -> None:
    row = throughput_row([3500.0, 3500.0, 3500.0], [5100.0, 5000.0, 5200.0])
    assert row[2].startswith("0.69x") and "not met" in row[3]
