"""``bench.p99_rounds``: make bench's p99 figure drawn from many rounds (figures here are made up, not measured)."""

from __future__ import annotations

import pytest

from bench.p99_rounds import reliability


def test_a_steady_ratio_is_the_figure_of_every_draw() -> None:
    noop = [1.5 + (index % 7) * 0.3 for index in range(40)]  # the round's own noise, shared by both servers
    found = reliability("bridge", [1.3 * value for value in noop], noop, draw_rounds=25, draws=500)
    assert found.rounds == 40
    assert round(found.ratio, 9) == round(found.run_by_run, 9) == 1.3
    assert round(found.draw_low, 9) == round(found.draw_high, 9) == 1.3
    assert found.draw_over == 0.0


def test_draws_spread_around_a_figure_near_the_bar() -> None:
    # Half the rounds at 1.2x, half at 1.8x the no-op: any one run of 25 rounds lands on either side of 1.5x.
    noop = [2.0] * 60
    bridge = [2.4 if index % 2 else 3.6 for index in range(60)]
    found = reliability("bridge", bridge, noop, draw_rounds=25, draws=2_000)
    assert found.draw_low == pytest.approx(1.2) and found.draw_high == pytest.approx(1.8)
    assert 0.2 < found.draw_over < 0.8
    assert found == reliability("bridge", bridge, noop, draw_rounds=25, draws=2_000)  # a fixed seed


def test_too_few_rounds_for_a_draw_is_an_error() -> None:
    with pytest.raises(ValueError, match="29 rounds with a p99 for bridge: fewer than the 30"):
        reliability("bridge", [2.0] * 30, [1.0] * 29 + [0.0] * 1, draw_rounds=30)
    with pytest.raises(ValueError, match="30 runs of bridge against 29 of the no-op: rounds do not pair"):
        reliability("bridge", [2.0] * 30, [1.0] * 29)
