"""Recent ``event_sid`` memory: Exotel re-sends an event whose reply it lost; publish it once.

Bounded by size (oldest forgotten first) and by age (TTL). A key is remembered from the moment
its first delivery starts: a repeat that arrives meanwhile waits for that delivery's outcome
instead of being acknowledged blindly. A failed delivery is forgotten, so its repeat publishes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class RecentEvents:
    """LRU + TTL map of ``event_sid`` -> the future of its first delivery."""

    __slots__ = ("_clock", "_entries", "_max_size", "_ttl")

    def __init__(self, max_size: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_size = max_size
        self._ttl = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, asyncio.Future[str]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self._max_size > 0

    def get(self, key: str) -> asyncio.Future[str] | None:
        """The first delivery's future for a recent ``key`` (pending or done OK), else ``None``."""
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

    def forget(self, key: str, future: asyncio.Future[str]) -> None:
        """Drop ``key`` if it still refers to ``future`` (a failed delivery must not suppress a retry)."""
        item = self._entries.get(key)
        if item is not None and item[1] is future:
            del self._entries[key]
