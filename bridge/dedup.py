"""Recent ``event_sid`` memory: Exotel re-sends an event whose reply it lost; publish it once.

Bounded by size (oldest forgotten first) and by age (TTL). A key is remembered from the moment
its first delivery starts: a repeat that arrives meanwhile waits for that delivery's outcome
instead of being acknowledged blindly. A failed delivery is forgotten, so its repeat publishes.

A delivery that succeeded is remembered as :data:`DELIVERED`, not as its future: a pair of a float and a
constant string is not tracked by the cycle collector, whereas a full cache of futures (100,000 by default)
was walked by every full collection the churn of entries triggered, about 30 ms each on the benchmark machine.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Literal, TypeAlias

#: What :meth:`RecentEvents.get` gives for a key whose first delivery is settled and stored.
DELIVERED: Final = "delivered"
#: A recent key's delivery: in flight (or just resolved) as its future, or settled as :data:`DELIVERED`.
Delivery: TypeAlias = "asyncio.Future[str] | Literal['delivered']"


class RecentEvents:
    """LRU + TTL map of ``event_sid`` -> the future of its first delivery, then :data:`DELIVERED`."""

    __slots__ = ("_clock", "_entries", "_max_size", "_ttl")

    def __init__(self, max_size: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_size = max_size
        self._ttl = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Delivery]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self._max_size > 0

    def get(self, key: str) -> Delivery | None:
        """The first delivery of a recent ``key`` (its future, or :data:`DELIVERED` once settled), else ``None``."""
        item = self._entries.get(key)
        if item is None:
            return None
        expires, future = item
        if expires <= self._clock():
            del self._entries[key]
            return None
        return future

    def claim(self, key: str, future: asyncio.Future[str]) -> None:
        """Remember that ``future`` is the delivery of ``key``; evict what is old or over size."""
        if not self._max_size:
            return
        now = self._clock()
        entries = self._entries
        entries[key] = (now + self._ttl, future)
        entries.move_to_end(key)
        while len(entries) > self._max_size:
            entries.popitem(last=False)
        # Entries are in insertion order, so expired ones sit at the front.
        while entries:
            expires, _ = next(iter(entries.values()))
            if expires > now:
                break
            entries.popitem(last=False)

    def settled(self, key: str, future: asyncio.Future[str]) -> None:
        """``future`` (``key``'s delivery) is done: remember a success as :data:`DELIVERED`, forget a failure.

        Its outcome is read first, whatever the cache holds: the call awaits a waiter of its own (``Item``), so this
        callback is what consumes a failed delivery's exception (asyncio would log it as never retrieved)."""
        failed = future.cancelled() or future.exception() is not None
        item = self._entries.get(key)
        if item is None or item[1] is not future:
            return
        if failed:
            del self._entries[key]
        else:
            self._entries[key] = (item[0], DELIVERED)  # same place in the order: a value change, not a move

    def forget(self, key: str, future: asyncio.Future[str]) -> None:
        """Drop ``key`` if it still refers to ``future`` (a failed delivery must not suppress a retry)."""
        item = self._entries.get(key)
        if item is not None and item[1] is future:
            del self._entries[key]
