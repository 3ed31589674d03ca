"""``TriggerCallbackEvent``: validate, suppress recent repeats, publish, answer once durable.

The method is registered with a pass-through request deserializer so that bytes which are not
a ``CallbackEvent`` at all still reach this code and are dead-lettered with a reason (grpcio
would otherwise fail the call before any handler runs). Replies are serialized once, up front.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
from google.protobuf.message import DecodeError
from pydantic import ValidationError

from bridge.batcher import Item, Unavailable
from bridge.deadletter import DeadLetters, dead_letter_record
from bridge.dedup import RecentEvents
from bridge.log import logger
from bridge.metrics import BridgeMetrics
from bridge.publisher import EventBusPublisher
from legs.eventbridge import entry_size, to_put_events_entry
from legs.json_types import JsonObject
from legs.pb import exotel_legs_pb2 as pb
from legs.wire import event_dict_from_proto, event_from_proto

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["LegEventService"].full_name  # exotel.legs.v1.LegEventService
METHOD_NAME = "TriggerCallbackEvent"
ACCEPTED = pb.CallbackEventResponse(accepted=True).SerializeToString()
DUPLICATE = pb.CallbackEventResponse(accepted=True, duplicate=True).SerializeToString()
_MAX_REASON = 900


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
        publisher: EventBusPublisher,
        dead_letters: DeadLetters,
        recent: RecentEvents,
        metrics: BridgeMetrics,
        bus_name: str,
        source: str,
        max_event_bytes: int,
        deadline_s: float,
    ) -> None:
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._recent = recent
        self._metrics = metrics
        self._bus_name = bus_name
        self._source = source
        self._max_event_bytes = max_event_bytes
        self._deadline_s = deadline_s

    def handler(self) -> grpc.GenericRpcHandler:
        method: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self.trigger_callback_event  # bytes in, bytes out
        )
        return grpc.method_handlers_generic_handler(SERVICE_NAME, {METHOD_NAME: method})

    async def trigger_callback_event(self, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        loop = asyncio.get_running_loop()
        started = loop.time()
        metrics = self._metrics
        metrics.received += 1
        try:
            message = pb.CallbackEvent.FromString(raw)
        except DecodeError as exc:
            return await self._reject(context, f"not a CallbackEvent protobuf message: {exc}", raw, None)
        try:
            event = event_from_proto(message)
        except ValidationError as exc:
            return await self._reject(context, validation_reason(exc), raw, message)
        except (ValueError, TypeError, OverflowError) as exc:
            return await self._reject(context, f"invalid event: {exc}", raw, message)

        entry = to_put_events_entry(event, bus_name=self._bus_name, source=self._source, received_at=datetime.now(UTC))
        size = entry_size(entry)
        if size > self._max_event_bytes:
            reason = f"event too large: {size} bytes as an EventBridge entry, the limit is {self._max_event_bytes}"
            return await self._reject(context, reason, raw, message)

        sid = event.event_sid
        recent = self._recent
        while (prior := recent.get(sid)) is not None:
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
            return DUPLICATE

        future: asyncio.Future[str] = loop.create_future()
        recent.claim(sid, future)
        future.add_done_callback(lambda done: self._settled(sid, done))
        self._publisher.submit(Item(entry, size, started + self._deadline_s, future, sid))
        try:
            # Shielded: if the caller goes away, the event is still delivered (and its repeat deduplicated).
            await asyncio.shield(future)
        except Unavailable as exc:
            logger.warning("event not durable; answering UNAVAILABLE", event_sid=sid, error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        metrics.latency_ms.add((loop.time() - started) * 1000.0)
        return ACCEPTED

    def _settled(self, sid: str, future: asyncio.Future[str]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._recent.forget(sid, future)

    async def _reject(
        self, context: grpc.aio.ServicerContext[bytes, bytes], reason: str, raw: bytes, message: pb.CallbackEvent | None
    ) -> bytes:
        self._metrics.rejected += 1
        event: JsonObject | None = None
        if message is not None:
            try:
                event = event_dict_from_proto(message)
            except Exception:  # keep the bytes instead
                event = None
        record = dead_letter_record(reason, raw=raw, event=event, peer=context.peer())
        if await self._dead_letters.keep(record, reason):
            self._metrics.dead_lettered += 1
        logger.info("rejected input", reason=reason, event_sid=(event or {}).get("event_sid"))
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
        raise AssertionError("abort returns only by raising")  # pragma: no cover
