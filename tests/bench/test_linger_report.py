"""The linger section of ``docs/PERFORMANCE.md``: every setting gets a row, the best linger is the lowest p99 measured,
and the ratios are computed against the no-op server of the same run (figures here are made up, not measured)."""

from __future__ import annotations

from bench.bridge_figures import NOOP, RunFigure
from bench.linger_figures import ALWAYS, CALLERS, RELAY, LingerFigures, label, render_section


def run(server: str, mode: str, *, p99: float = 0.0, throughput: float = 1000.0, concurrency: int = 0) -> RunFigure:
    return RunFigure(
        server=server,
        mode=mode,
        concurrency=concurrency,
        throughput=throughput,
        p50_ms=p99 / 3,
        p99_ms=p99,
        entries_per_call=None if server == NOOP else 4.0,
        cpu_ms_per_event=0.5,
    )


def figures() -> LingerFigures:
    runs = [run(NOOP, "open", p99=2.0)]
    runs += [run(label(ms), "open", p99=p99) for ms, p99 in ((10.0, 20.0), (5.0, 12.0), (2.0, 15.0), (0.0, 30.0))]
    for callers in CALLERS:
        runs.append(run(NOOP, "closed", throughput=4000.0, concurrency=callers))
        runs += [
            run(label(ms), "closed", throughput=4000.0 - 500 * i, concurrency=callers)
            for i, ms in enumerate((10.0, 5.0, 2.0, 0.0))
        ]
    return LingerFigures(runs=runs, settings_ms=[10.0, 5.0, 2.0, 0.0], open_repetitions=3)


def test_the_best_linger_is_the_lowest_p99_and_its_ratio_is_against_the_same_runs_no_op() -> None:
    found = figures().best_linger()
    assert found is not None and found[0] == label(5.0) and found[1].p99_ms == 12.0
    text = "\n".join(render_section(figures()))
    assert "12.00 ms (bridge, linger 5 ms), 6.00x the no-op server's 2.00 ms" in text


def test_every_setting_has_a_row_with_its_ratios() -> None:
    rows = [line for line in render_section(figures()) if line.startswith("| bridge, linger")]
    assert [row.split(" | ")[0] for row in rows] == [f"| {label(ms)}" for ms in (10.0, 5.0, 2.0, 0.0)]
    assert "| 10.00x |" in rows[0] and "| 0.88x |" in rows[1]  # p99 20/2; throughput 3500/4000


def test_the_relay_floor_gets_a_row_and_the_best_linger_is_set_against_it() -> None:
    measured = figures()
    assert not [line for line in render_section(measured) if line.startswith(f"| {RELAY}")]  # not measured: no row
    measured.runs.append(run(RELAY, "open", p99=8.0))
    lines = render_section(measured)
    row = next(line for line in lines if line.startswith(f"| {RELAY}"))
    assert "| 8.00 | 4.00x |" in row  # p99 8 ms, against the no-op's 2 ms
    assert measured.best_linger() == (label(5.0), measured.find(label(5.0), "open"))  # the floor is no linger
    text = "\n".join(lines)
    assert "Its p99 was 8.00 ms, 4.00x the no-op's" in text
    assert "The bridge's best linger was 1.50x that floor." in text  # 12 / 8


def test_the_rule_before_gets_its_row_and_its_p99_beside_the_no_ops() -> None:
    measured = figures()
    measured.runs.append(run(ALWAYS, "open", p99=30.0))
    lines = render_section(measured)
    assert any(line.startswith(f"| {ALWAYS} |") and "| 15.00x |" in line for line in lines)
    assert "had a p99 of 30.00 ms at this load (15.00x the no-op's)" in "\n".join(lines)


def test_the_default_linger_and_the_floor_get_their_run_by_run_ratios() -> None:
    measured = figures()
    measured.runs = [r for r in measured.runs if not (r.mode == "open" and r.server in (NOOP, label(10.0)))]
    measured.runs.append(run(NOOP, "open", p99=2.0).model_copy(update={"runs_p99_ms": [2.0, 2.0, 4.0, 2.0]}))
    measured.runs.append(run(label(10.0), "open", p99=20.0).model_copy(update={"runs_p99_ms": [12.0, 16.0, 20.0, 9.0]}))
    measured.runs.append(run(RELAY, "open", p99=8.0).model_copy(update={"runs_p99_ms": [8.0, 8.0, 8.0, 6.0]}))
    text = "\n".join(render_section(measured))
    # default / floor: 1.5, 2.0, 2.5, 1.5; floor / no-op: 4.0, 4.0, 2.0, 3.0
    assert "At the default linger (10 ms) the bridge was 2.50x the floor, run by run" in text
    assert "median 1.75x, middle half 1.50-2.12x" in text
    assert "The floor over the no-op, run by run (each run over the no-op's of the same round): median 3.50x" in text
