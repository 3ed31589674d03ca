"""``TriggerCallbackEvent``: validate, suppress recent repeats, publish, answer once durable.

The method (ours, or the customer's own from ``BRIDGE_PROTO``, see :mod:`legs.wire`) is registered
with a pass-through request deserializer so that bytes which are not the request message at all
still reach this code and are dead-lettered with a reason (grpcio would otherwise fail the call
before any handler runs). Replies, in the method's own response type, are serialized once, up front.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import grpc
from google.protobuf.message import DecodeError
from pydantic import ValidationError

from bridge.batcher import Item, Unavailable
from bridge.deadletter import DeadLetters, dead_letter_record
from bridge.dedup import RecentEvents
from bridge.jsonfast import dumps_compact
from bridge.log import logger
from bridge.metrics import BridgeMetrics
from bridge.publisher import AnyPublisher
from legs.checked import check_event
from legs.eventbridge import BusEvent, entry_size, to_put_events_entry
from legs.events import LegEvent
from legs.wire import EventWire, builtin_wire

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from legs.eventbridge import BusEntry

_MAX_REASON = 900
#: Builds the PutEvents entry of a valid event (with the time the bridge received it).
EntryBuilder = Callable[[BusEvent, datetime], "BusEntry"]


def validation_reason(exc: ValidationError) -> str:
    """A short, readable summary of what is wrong with an event."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    reason = "invalid event: " + "; ".join(parts)
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


class LegEventService:
    """The servicer; one instance per server. ``handler()`` gives grpcio its generic handler."""

    def __init__(
        self,
        *,
        publisher: AnyPublisher,
        dead_letters: DeadLetters,
        recent: RecentEvents,
        metrics: BridgeMetrics,
        bus_name: str,
        source: str,
        max_event_bytes: int,
        deadline_s: float,
        reserve_s: float = 0.0,
        wire: EventWire | None = None,
        entry_builder: EntryBuilder | None = None,
    ) -> None:
        self.wire = wire or builtin_wire()
        self._decode = self.wire.decode
        self._accepted = self.wire.accepted_reply
        self._duplicate = self.wire.duplicate_reply
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._recent = recent
        self._metrics = metrics
        self._bus_name = bus_name
        self._source = source
        self._max_event_bytes = max_event_bytes
        self._deadline_s = deadline_s
        self._reserve_s = reserve_s
        # event -> PutEvents entry: the classic bus's by default; bridge.eventsv2 passes the EventsV2 one
        self._entry = entry_builder or self._classic_entry

    def handler(self) -> grpc.GenericRpcHandler:
        method: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self.trigger_callback_event  # bytes in, bytes out
        )
        return grpc.method_handlers_generic_handler(self.wire.service_name, {self.wire.method_name: method})

    async def trigger_callback_event(self, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        loop = self._publisher.loop  # the running loop (asking asyncio costs a getpid() call on Python 3.11)
        started = loop.time()
        metrics = self._metrics
        metrics.received += 1
        try:
            raw_event = self._decode(raw)
        except DecodeError as exc:
            return await self._reject(context, f"not a {self.wire.request_name} protobuf message: {exc}", raw, None)
        except (ValueError, TypeError, OverflowError) as exc:
            return await self._reject(context, f"invalid event: {exc}", raw, None)
        event: BusEvent | None = check_event(raw_event)  # LegEvent's rules on the dict (legs.checked)
        if event is None:  # invalid, or a shape left to the model: the model decides, and says why
            try:
                event = LegEvent.model_validate(raw_event)
            except ValidationError as exc:
                return await self._reject(context, validation_reason(exc), raw, raw_event)
            except (ValueError, TypeError, OverflowError) as exc:
                return await self._reject(context, f"invalid event: {exc}", raw, raw_event)

        entry = self._entry(event, datetime.now(UTC))
        size = entry_size(entry)
        if size > self._max_event_bytes:
            reason = f"event too large: {size} bytes as an EventBridge entry, the limit is {self._max_event_bytes}"
            return await self._reject(context, reason, raw, raw_event)

        sid = event.event_sid
        recent = self._recent
        while (prior := recent.get(sid)) is not None:
            if not isinstance(prior, str):  # its first delivery's future, not a settled one's mark (DELIVERED)
                if not prior.done():
                    try:
                        await asyncio.shield(prior)  # a repeat while the first is in flight: share its outcome
                    except (Unavailable, asyncio.CancelledError):
                        task = asyncio.current_task()
                        if task is not None and task.cancelling():
                            raise
                        continue  # the first delivery failed and was forgotten: deliver this one
                elif prior.cancelled() or prior.exception() is not None:
                    recent.forget(sid, prior)
                    continue
            metrics.duplicates += 1
            return self._duplicate

        future: asyncio.Future[str] = loop.create_future()
        recent.claim(sid, future)
        future.add_done_callback(partial(recent.settled, sid))
        # The call awaits its own waiter, settled with the delivery (Item): if the caller goes away, only the
        # waiter is cancelled; the event is still delivered (and its repeat deduplicated).
        waiter: asyncio.Future[str] = loop.create_future()
        deadline = started + self.bus_budget(context.time_remaining())
        self._publisher.submit(Item(entry, size, deadline, future, sid, waiter))
        try:
            await waiter
        except Unavailable as exc:
            logger.warning("event not durable; answering UNAVAILABLE", event_sid=sid, error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        metrics.latency_ms.add((loop.time() - started) * 1000.0)
        return self._accepted

    def bus_budget(self, remaining_s: float | None) -> float:
        """How long the bus may take for this call: ``BRIDGE_PUBLISH_DEADLINE_MS`` at most, and within the caller's
        own gRPC deadline: what it leaves once the fallback queue's time (``reserve_s``) is kept aside, but never
        less than half of it (a caller in a hurry still gets the bus first). The answer (stored on the bus, or
        in the fallback queue) then reaches the caller before it gives up and sends the event again."""
        if remaining_s is None:
            return self._deadline_s
        return max(0.0, min(self._deadline_s, remaining_s - min(self._reserve_s, remaining_s / 2)))

    def _classic_entry(self, event: BusEvent, received_at: datetime) -> BusEntry:
        return to_put_events_entry(
            event, bus_name=self._bus_name, source=self._source, received_at=received_at, dumps=dumps_compact
        )

    async def _reject(
        self,
        context: grpc.aio.ServicerContext[bytes, bytes],
        reason: str,
        raw: bytes,
        event: Mapping[str, object] | None,
    ) -> bytes:
        self._metrics.rejected += 1
        record = dead_letter_record(reason, raw=raw, event=event, peer=context.peer())
        if await self._dead_letters.keep(record, reason):
            self._metrics.dead_lettered += 1
        logger.info("rejected input", reason=reason, event_sid=(event or {}).get("event_sid"))
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
        raise AssertionError("abort returns only by raising")  # pragma: no cover
