"""Small statistics helpers and the result records the report is built from."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Lower quartile, median and upper quartile (the middle half lies between the first and the last)."""
    if len(values) < 2:
        return None
    lower, middle, upper = statistics.quantiles(values, n=4, method="inclusive")
    return lower, middle, upper


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.nan


def middle_of(items: Sequence[T], key: Callable[[T], float]) -> T:
    """The item that stands for an open-loop series: the upper median by ``key`` (``sorted(...)[n // 2]``, a
    stable sort), as :func:`bench.bridge_figures.median_by_p99` picks its run."""
    return sorted(items, key=key)[len(items) // 2]


def middle(values: Sequence[float]) -> float:
    """:func:`middle_of` for plain values; NaN for no values."""
    return middle_of(values, float) if values else math.nan


def ratio_of_middles(pairs: Sequence[tuple[float, float]]) -> float:
    """The open-loop figure the report gives, for rounds of (server's p99, baseline's p99): middle over middle."""
    return middle([a for a, _ in pairs]) / middle([b for _, b in pairs])


def paired_rounds(values: Sequence[float], baseline: Sequence[float]) -> list[tuple[float, float]]:
    """Round i's two p99s, for the rounds where both runs measured one (they ran one after the other)."""
    return [(a, b) for a, b in zip(values, baseline, strict=False) if a and b]


class Spread(NamedTuple):
    """Where a ratio of two :func:`middle` values lands when its rounds are drawn again (bootstrap)."""

    low: float  # 5th percentile of the resampled ratios
    high: float  # 95th percentile
    over: float  # share of the resampled ratios above the bar


#: How many times :func:`bootstrap_spread` redraws the rounds.
RESAMPLES = 10_000


def bootstrap_spread(
    values: Sequence[float], baseline: Sequence[float], bar: float, *, resamples: int = RESAMPLES, seed: int = 0
) -> Spread | None:
    """How far ``middle(values) / middle(baseline)`` could have landed with other draws of the same rounds.

    Rounds are drawn with replacement, each round's two runs kept together (they were measured one after the
    other, under the same conditions); each draw gives the ratio as the report computes it. ``over`` is how often
    a run of the same length would have put the figure above ``bar``: the target's reliability, not its value.
    A fixed seed keeps the report reproducible from its JSON. None for fewer than two paired rounds.
    """
    pairs = paired_rounds(values, baseline)
    if len(pairs) < 2:
        return None
    draw = random.Random(seed).choices
    ratios = [ratio_of_middles(draw(pairs, k=len(pairs))) for _ in range(resamples)]
    return Spread(percentile(ratios, 5), percentile(ratios, 95), sum(r > bar for r in ratios) / resamples)


class LoadResult(BaseModel):
    """What one load run (all client processes together) measured."""

    target: str
    mode: str  # "closed" (N callers back to back) or "open" (fixed offered rate)
    concurrency: int = 0
    offered_rate: float = 0.0
    sent: int = 0
    total: int = 0  # answered calls including warm-up (what server-side counters saw)
    ok: int = 0
    duplicates: int = 0
    errors: dict[str, int] = Field(default_factory=dict)
    elapsed_s: float = 0.0
    throughput: float = 0.0  # acknowledged (OK) events per second
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    lag_p99_ms: float = math.nan  # open mode: how late the generator started calls (its own stalls)
    client_procs: int = 1
    #: latency at each percentile 0, 1, ..., 99, then 99.5, 99.9, 100 (for the distribution plot)
    quantiles_ms: list[float] = Field(default_factory=list)

    @classmethod
    def combine(
        cls, target: str, mode: str, parts: list[dict], concurrency: int = 0, offered_rate: float = 0.0
    ) -> LoadResult:
        latencies: list[float] = []
        lags: list[float] = []
        errors: dict[str, int] = {}
        for part in parts:
            latencies.extend(part["latencies_ms"])
            lags.extend(part.get("lags_ms") or [])
            for code, count in part["errors"].items():
                errors[code] = errors.get(code, 0) + count
        elapsed = max((p["elapsed_s"] for p in parts), default=0.0)
        return cls(
            target=target,
            mode=mode,
            concurrency=concurrency,
            offered_rate=offered_rate,
            sent=sum(p["sent"] for p in parts),
            total=sum(p.get("total", 0) for p in parts),
            ok=sum(p["ok"] for p in parts),
            duplicates=sum(p["duplicates"] for p in parts),
            errors=errors,
            elapsed_s=elapsed,
            throughput=sum(p["ok"] / p["elapsed_s"] for p in parts if p["elapsed_s"] > 0),
            p50_ms=percentile(latencies, 50),
            p90_ms=percentile(latencies, 90),
            p99_ms=percentile(latencies, 99),
            max_ms=max(latencies) if latencies else math.nan,
            lag_p99_ms=percentile(lags, 99),
            client_procs=len(parts),
            quantiles_ms=quantiles(latencies),
        )


QUANTILE_POINTS = (*range(0, 100), 99.5, 99.9, 100)


def quantiles(values: Sequence[float]) -> list[float]:
    """Latency at each of :data:`QUANTILE_POINTS` (nearest rank); empty for no values."""
    if not values:
        return []
    ordered = sorted(values)
    out = []
    for q in QUANTILE_POINTS:
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        out.append(round(ordered[rank - 1], 3))
    return out
