"""How reliably ``make bench`` meets the p99 target on this machine: many more rounds than it runs, redrawn.

``make bench`` reports the p99 at 1,000 events/s from 25 interleaved rounds: one draw. Its report says how far
that draw could have moved under the same conditions (``bench.stats.bootstrap_spread``); conditions also drift
between runs of the benchmark. This runs the same open-loop round, with the same servers alive and measured in
the same order, for many more rounds (60 by default, about 20 minutes), the contract's floor
(``bench.relay_server``) measured with them, and then draws ``make bench``'s 25-round figure from them again and
again (without replacement): the share of those draws over the 1.5x bar is how often a run of ``make bench``
in this period would have reported the target missed.

``python -m bench.p99_rounds [--rounds 60] [--json FILE]`` prints the figures (and writes every run's p99).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from bench.bridge_figures import BRIDGE, NOOP, OPEN_RATE, OPEN_REPETITIONS, OPEN_SECONDS, open_run, start_open_round
from bench.linger_figures import RELAY
from bench.servers import Server, start_relay
from bench.stats import paired_rounds, percentile, ratio_of_middles


class Reliability(BaseModel):
    """One server's p99 against the no-op's over all rounds, and ``make bench``'s figure drawn from them."""

    server: str
    rounds: int
    ratio: float  # median run over the no-op's median run, all rounds
    run_by_run: float  # median of each round's ratio
    draw_rounds: int
    draws: int
    draw_low: float  # 5th percentile of the figure over draws of ``draw_rounds`` rounds
    draw_median: float
    draw_high: float  # 95th percentile
    draw_over: float  # share of the draws over ``bar``
    bar: float


def reliability(
    server: str,
    runs: list[float],
    noop: list[float],
    *,
    draw_rounds: int = OPEN_REPETITIONS,
    draws: int = 4_000,
    bar: float = 1.5,
    seed: int = 0,
) -> Reliability:
    """The figure ``make bench`` computes (median run over median run), over all rounds and over draws of
    ``draw_rounds`` of them without replacement (each round's two runs together: measured one after the other)."""
    if len(runs) != len(noop):
        raise ValueError(f"{len(runs)} runs of {server} against {len(noop)} of the no-op: rounds do not pair")
    pairs = paired_rounds(runs, noop)
    if len(pairs) < draw_rounds:
        raise ValueError(f"{len(pairs)} rounds with a p99 for {server}: fewer than the {draw_rounds} a draw takes")
    rng = random.Random(seed)
    figures = [ratio_of_middles(rng.sample(pairs, draw_rounds)) for _ in range(draws)]
    return Reliability(
        server=server,
        rounds=len(pairs),
        ratio=ratio_of_middles(pairs),
        run_by_run=statistics.median(a / b for a, b in pairs),
        draw_rounds=draw_rounds,
        draws=draws,
        draw_low=percentile(figures, 5),
        draw_median=percentile(figures, 50),
        draw_high=percentile(figures, 95),
        draw_over=sum(figure > bar for figure in figures) / draws,
        bar=bar,
    )


def measure(rounds: int, log: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Every server's p99 in every round, in the order measured."""
    servers: list[Server] = []
    p99: dict[str, list[float]] = {}
    try:
        start_open_round(servers)  # make bench's open-loop round, in its order
        servers.append(start_relay(RELAY))  # and the floor after it
        p99 = {server.label: [] for server in servers}
        for index in range(rounds):
            for server in servers:
                p99[server.label].append(open_run(server, rate=OPEN_RATE, seconds=OPEN_SECONDS).p99_ms)
            log(f"round {index + 1}/{rounds}: no-op {p99[NOOP][-1]:.2f} ms, bridge {p99[BRIDGE][-1]:.2f} ms")
    finally:
        for server in servers:
            server.stop()
    return p99


def report(p99: dict[str, list[float]]) -> list[str]:
    lines = []
    for server in (BRIDGE, RELAY):
        found = reliability(server, p99[server], p99[NOOP])
        lines.append(
            f"{server} / no-op p99 over {found.rounds} rounds: {found.ratio:.2f}x (run by run {found.run_by_run:.2f}x);"
            f" make bench's figure ({found.draw_rounds} rounds) drawn {found.draws:,} times:"
            f" median {found.draw_median:.2f}x,"
            f" 90% within {found.draw_low:.2f}-{found.draw_high:.2f}x, {found.draw_over:.0%} over {found.bar:.1f}x"
        )
    over_floor = paired_rounds(p99[BRIDGE], p99[RELAY])
    by_round = statistics.median(a / b for a, b in over_floor)
    lines.append(f"bridge / floor: {ratio_of_middles(over_floor):.2f}x (run by run {by_round:.2f}x)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=60, help="interleaved rounds (make bench runs 25)")
    parser.add_argument("--json", default=None, help="write every run's p99 here")
    args = parser.parse_args(argv)
    if args.rounds < OPEN_REPETITIONS:
        parser.error(f"--rounds must be at least {OPEN_REPETITIONS} (what one run of make bench takes)")
    p99 = measure(args.rounds)
    if args.json:
        Path(args.json).write_text(json.dumps(p99))
    for line in report(p99):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
