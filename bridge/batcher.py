"""A deadline-aware batching queue: the engine under the bus publisher and the fallback sender.

Items wait at most ``linger`` for company (only while the publisher is busy: a batch in flight, or
the last one left less than ``linger`` ago), leave in batches bounded by count and bytes, with at
most ``max_in_flight`` batches being sent at once. Every item carries a deadline: an item still
queued (e.g. waiting for a free slot) when its deadline passes is handed to
:meth:`Batcher.expired` rather than sent late. Subclasses implement :meth:`Batcher.send` (send
one batch, resolve or retry each item) and :meth:`Batcher.expired`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from abc import ABC, abstractmethod
from collections import deque
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from legs.eventbridge import BusEntry


class Unavailable(Exception):
    """Neither the bus nor the fallback queue accepted the event: the sender must retry."""


class Item:
    """One event on its way: the PutEvents entry, its size, its deadline and its delivery's future.

    ``waiter``, when given, is what the RPC awaits: settled in the same call as ``future`` (not by a callback of
    it, as ``asyncio.shield`` would), so the caller's answer is one turn of the loop nearer; a caller that goes
    away cancels its waiter, never the delivery (whose future a repeat of the event may share).
    """

    __slots__ = (
        "attempts",
        "body",
        "deadline",
        "enqueued",
        "entry",
        "event_sid",
        "future",
        "last_error",
        "size",
        "waiter",
    )

    def __init__(
        self,
        entry: BusEntry,
        size: int,
        deadline: float,
        future: asyncio.Future[str],
        event_sid: str = "",
        waiter: asyncio.Future[str] | None = None,
    ) -> None:
        self.entry = entry
        self.size = size
        self.deadline = deadline
        self.future = future
        self.event_sid = event_sid
        self.waiter = waiter
        self.enqueued = 0.0
        self.attempts = 0
        self.last_error = ""
        self.body: str | None = None  # the fallback message body, once spilled

    def resolve(self, outcome: str) -> None:
        if not self.future.done():
            self.future.set_result(outcome)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class LingerGate(Protocol):
    """Whether lingering is worth its latency now (``bridge.busy.CpuBusy``: the CPUs are busy)."""

    busy: bool


def backoff_delay(attempt: int, base_s: float = 0.02, cap_s: float = 0.25) -> float:
    """Exponential backoff with full jitter (AWS Architecture Blog): uniform in [0, min(cap, base*2^n)]."""
    return random.uniform(0.0, min(cap_s, base_s * (2**attempt)))


class Batcher(ABC):
    """Collect items into batches and keep up to ``max_in_flight`` batches moving."""

    def __init__(
        self,
        *,
        name: str,
        max_entries: int,
        max_bytes: int,
        linger_s: float,
        max_in_flight: int,
        linger_gate: LingerGate | None = None,
    ) -> None:
        self.name = name
        self.linger_gate = linger_gate  # None: linger whenever the publisher is busy (the rule in _run)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.linger_s = linger_s
        self.max_in_flight = max_in_flight
        self._queue: deque[Item] = deque()
        self._queued_bytes = 0
        self._in_flight = 0
        self._last_sent = float("-inf")  # when the last batch left (loop time)
        self._alone = False  # the last wait with nothing in flight found no company
        self.idle_waits = 0  # waits for company with nothing in flight (what the rule above costs a lone caller)
        self._retries_pending = 0
        self._closing = False
        # what the dispatcher awaits while nothing is queued (a bare future: an asyncio.Event's set and wait cost
        # the hot path several Python calls per event at moderate load, where most batches leave alone)
        self._idle_waiter: asyncio.Future[None] | None = None
        self._full = asyncio.Event()  # a whole batch is waiting: stop lingering
        self._slot_free = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    # ---- interface ----------------------------------------------------------------------------
    @abstractmethod
    async def send(self, batch: list[Item]) -> None:
        """Send one batch; resolve, retry (:meth:`retry_later`) or give up on every item."""

    @abstractmethod
    def expired(self, item: Item) -> None:
        """The item's deadline passed before it could be sent."""

    def start(self) -> None:
        if self._runner is None:
            self._runner = self._loop.create_task(self._run(), name=f"batcher-{self.name}")

    def submit(self, item: Item) -> None:
        item.enqueued = now = self._loop.time()
        if (
            not self._queue
            and self._idle_waiter is not None  # the dispatcher is parked with nothing queued
            and not self._in_flight  # an idle publisher: with calls in flight, what arrives meanwhile leaves together
            and not self._would_linger(now)
        ):
            self._dispatch([item], waited_idle=False)  # straight out: no wake-up of the dispatcher first
            return
        self._queue.append(item)
        self._queued_bytes += item.size
        if len(self._queue) >= self.max_entries or self._queued_bytes >= self.max_bytes:
            self._full.set()
        self._wake()

    def _wake(self) -> None:
        waiter = self._idle_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def retry_later(self, item: Item, delay_s: float) -> None:
        self._retries_pending += 1
        self._loop.call_later(delay_s, self._resubmit, item)

    def _resubmit(self, item: Item) -> None:
        self._retries_pending -= 1
        self.submit(item)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop it runs on (the one running when it was made)."""
        return self._loop

    @property
    def idle(self) -> bool:
        return not self._queue and not self._in_flight and not self._retries_pending

    @property
    def pending(self) -> int:
        return len(self._queue) + self._retries_pending

    # ---- the dispatcher -----------------------------------------------------------------------
    async def _run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._idle_waiter = self._loop.create_future()
                await self._idle_waiter
                self._idle_waiter = None
                continue
            # Linger only while busy (a batch in flight, or the last one left less than a linger ago): a lone
            # event on an idle publisher leaves at once (no added latency at low load); under load the wait for
            # company fills the next batch, even when the bus answers faster than the events arrive.
            # A wait with nothing in flight that found no company (one caller sending one event at a time: its
            # next event comes only after this one's answer) is not repeated until a batch has company again.
            # With a gate (BRIDGE_LINGER_WHEN=busy), only while it says lingering is worth it: CPU is short.
            waited_idle = False
            if self._would_linger(self._loop.time()) and not self._batch_ready():
                wait = queue[0].enqueued + self.linger_s - self._loop.time()
                if wait > 0:
                    waited_idle = self._in_flight == 0
                    self.idle_waits += waited_idle
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._full.wait()
            if self._in_flight >= self.max_in_flight:
                self._slot_free.clear()
                try:
                    async with asyncio.timeout_at(min(item.deadline for item in queue)):
                        await self._slot_free.wait()
                except TimeoutError:
                    self._drop_expired()
                continue
            batch = self._take()
            if batch:
                self._dispatch(batch, waited_idle)

    def _would_linger(self, now: float) -> bool:
        """Whether the next batch should wait for company (the rule in :meth:`_run`)."""
        if self.linger_s <= 0 or self._closing:
            return False
        gate = self.linger_gate
        if gate is not None and not gate.busy:
            return False
        return self._in_flight > 0 or (not self._alone and now - self._last_sent < self.linger_s)

    def _dispatch(self, batch: list[Item], waited_idle: bool) -> None:
        """Start sending one batch (its own task, holding one of ``max_in_flight`` slots)."""
        if len(batch) > 1:
            self._alone = False
        elif waited_idle:
            self._alone = True
        self._last_sent = self._loop.time()
        self._in_flight += 1
        task = self._loop.create_task(self._send_one(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _batch_ready(self) -> bool:
        return len(self._queue) >= self.max_entries or self._queued_bytes >= self.max_bytes

    def _take(self) -> list[Item]:
        """Pop the next batch (count and byte bounds); expired items go to :meth:`expired`."""
        queue = self._queue
        now = self._loop.time()
        batch: list[Item] = []
        size = 0
        while queue and len(batch) < self.max_entries:
            item = queue[0]
            if batch and size + item.size > self.max_bytes:
                break
            queue.popleft()
            self._queued_bytes -= item.size
            if item.future.done():  # the caller went away and the outcome is settled elsewhere
                continue
            if item.deadline <= now:
                self.expired(item)
                continue
            batch.append(item)
            size += item.size
        if not queue:
            self._full.clear()
        return batch

    def _drop_expired(self) -> None:
        now = self._loop.time()
        keep: deque[Item] = deque()
        for item in self._queue:
            if item.deadline <= now:
                self._queued_bytes -= item.size
                self.expired(item)
            else:
                keep.append(item)
        self._queue.clear()
        self._queue.extend(keep)

    async def _send_one(self, batch: list[Item]) -> None:
        try:
            await self.send(batch)
        except Exception as exc:  # a bug in send must not strand callers
            for item in batch:
                item.last_error = f"{type(exc).__name__}: {exc}"
                self.expired(item)
        finally:
            self._in_flight -= 1
            self._slot_free.set()

    # ---- shutdown -----------------------------------------------------------------------------
    async def drain(self, timeout_s: float) -> bool:
        """Stop lingering and wait (up to ``timeout_s``) until nothing is queued or in flight."""
        self._closing = True
        self._wake()
        self._full.set()
        deadline = self._loop.time() + timeout_s
        while not self.idle and self._loop.time() < deadline:
            await asyncio.sleep(0.01)
        return self.idle

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
