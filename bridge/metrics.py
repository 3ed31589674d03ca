"""Counters and samples aggregated in memory, emitted as CloudWatch EMF (Powertools Metrics) periodically.

One EMF document per interval rather than one per event keeps the hot path to a few integer
additions. Distributions (batch size, publish latency) keep a uniform reservoir sample of up to
99 values per interval (under EMF's 100 per metric), from which CloudWatch computes percentiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import warnings

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from contract.metrics import BridgeMetric

_SAMPLE = 99  # Powertools emits early when a metric reaches 100 values


class Reservoir:
    """Algorithm R: a uniform sample of at most ``size`` values from a stream, plus count/sum/max."""

    __slots__ = ("count", "maximum", "size", "total", "values")

    def __init__(self, size: int = _SAMPLE) -> None:
        self.size = size
        self.values: list[float] = []
        self.count = 0
        self.total = 0.0
        self.maximum = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            slot = random.randrange(self.count)
            if slot < self.size:
                self.values[slot] = value


class BridgeMetrics:
    """The bridge's numbers. Increment the public counters directly; :meth:`flush` emits and resets."""

    COUNTERS: dict[str, BridgeMetric] = {
        "received": BridgeMetric.RECEIVED,
        "published": BridgeMetric.PUBLISHED,
        "spilled": BridgeMetric.SPILLED,
        "rejected": BridgeMetric.REJECTED,
        "duplicates": BridgeMetric.DUPLICATES,
        "unavailable": BridgeMetric.UNAVAILABLE,
        "retries": BridgeMetric.RETRIES,
        "put_events_calls": BridgeMetric.PUT_EVENTS_CALLS,
        "dead_lettered": BridgeMetric.DEAD_LETTERED,
        "bus_deduplicated": BridgeMetric.BUS_DEDUPLICATED,
    }

    def __init__(self, namespace: str, service: str) -> None:
        self._emf = Metrics(namespace=namespace, service=service)
        self.totals: dict[str, int] = dict.fromkeys(self.COUNTERS, 0)  # since start (tests, logs)
        self._reset()

    def _reset(self) -> None:
        self.received = 0
        self.published = 0
        self.spilled = 0
        self.rejected = 0
        self.duplicates = 0
        self.unavailable = 0
        self.retries = 0
        self.put_events_calls = 0
        self.dead_lettered = 0
        self.bus_deduplicated = 0
        self.batch_size = Reservoir()
        self.latency_ms = Reservoir()

    def flush(self) -> None:
        """Emit one EMF document with everything since the last flush (nothing when idle)."""
        counts = {attr: getattr(self, attr) for attr in self.COUNTERS}
        batch, latency = self.batch_size, self.latency_ms
        self._reset()
        if not any(counts.values()) and not batch.count and not latency.count:
            return
        for attr, value in counts.items():
            self.totals[attr] += value
            self._emf.add_metric(name=self.COUNTERS[attr], unit=MetricUnit.Count, value=value)
        for value in batch.values:
            self._emf.add_metric(name=BridgeMetric.BATCH_SIZE, unit=MetricUnit.Count, value=value)
        for value in latency.values:
            self._emf.add_metric(name=BridgeMetric.PUBLISH_LATENCY, unit=MetricUnit.Milliseconds, value=round(value, 3))
        if latency.count:
            self._emf.add_metric(
                name=BridgeMetric.PUBLISH_LATENCY_MAX, unit=MetricUnit.Milliseconds, value=round(latency.maximum, 3)
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._emf.flush_metrics()

    async def run(self, interval_s: float) -> None:
        """Flush every ``interval_s`` until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(interval_s)
                self.flush()
        finally:
            with contextlib.suppress(Exception):
                self.flush()
