"""The gRPC event push: ``TriggerCallbackEvent`` on each leg's endpoint, in order per leg.

The message is ours (protos/exotel_legs.proto) or, with ``SIM_PUSH_PROTO``/``SIM_PUSH_RPC``, the
customer's own, encoded by the same :class:`legs.wire.EventWire` the bridge decodes with. An
endpoint without a port (``grpc://host``, as in Exotel's examples) is called on ``default_port``.

Like Exotel's documented HTTPS push (assumed alike for gRPC): up to ``attempts`` tries of about one
second each; a non-OK status or a time-out is a failed attempt; after the last one the event is
dropped. Every event ends in a delivery record (``GET /legs/{sid}/external-events``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc

from legs.models import DEFAULT_GRPC_PORT
from legs.models import grpc_target as endpoint_target
from legs.wire import EventWire, builtin_wire

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One event's fate at one endpoint."""

    endpoint: str
    event: dict[str, Any]
    endpoint_response: bool = False
    error: str | None = None
    attempts: int = 0
    finished_at: float = 0.0
    reply: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)

    def as_record(self) -> dict[str, Any]:
        """Exotel's record (docs.exotel.com get-get-events-for-a-leg) plus ``endpoint``/``attempts``/``reply``."""
        return {
            "endpoint_response": self.endpoint_response,
            "error": self.error,
            "date_created": _iso(self.created_at),
            "date_updated": _iso(self.finished_at or self.created_at),
            "event_info": self.event,
            "endpoint": self.endpoint,
            "attempts": self.attempts,
            "reply": self.reply or None,
        }


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def grpc_target(endpoint: str, default_port: int = DEFAULT_GRPC_PORT) -> str:
    """``grpc://host[:port]`` -> ``host:port`` (``default_port`` when the endpoint has none)."""
    return endpoint_target(endpoint, default_port)


class Pusher:
    """Ordered delivery per key (a leg or bridge sid), many keys in parallel."""

    def __init__(
        self,
        *,
        attempts: int = 3,
        timeout: float = 1.0,
        backoff: float = 0.1,
        auth_token: str | None = None,
        workers: int = 32,
        wire: EventWire | None = None,
        default_port: int = DEFAULT_GRPC_PORT,
    ) -> None:
        self.wire = wire or builtin_wire()
        self.default_port = default_port
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self.backoff = backoff
        self._metadata = (("authorization", f"Bearer {auth_token}"),) if auth_token else None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-push")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[tuple[Delivery, Callable[[Delivery], None]]]] = {}
        self._channels: dict[str, tuple[grpc.Channel, Callable[..., bytes]]] = {}
        self._closed = False

    def submit(self, key: str, endpoint: str, event: dict[str, Any], on_done: Callable[[Delivery], None]) -> None:
        with self._lock:
            if self._closed:
                return
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                queue.append((Delivery(endpoint=endpoint, event=event), on_done))
                self._pool.submit(self._drain, key)
            else:
                queue.append((Delivery(endpoint=endpoint, event=event), on_done))

    def pending(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being delivered (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queues:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queues.clear()
            self._idle.notify_all()
            channels = list(self._channels.values())
            self._channels.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for channel, _ in channels:
            channel.close()

    def _drain(self, key: str) -> None:
        while True:
            with self._lock:
                queue = self._queues.get(key)
                if not queue:  # empty, or closed meanwhile
                    self._queues.pop(key, None)
                    self._idle.notify_all()
                    return
                delivery, on_done = queue[0]
            self._deliver(delivery)
            try:
                on_done(delivery)
            except Exception:
                log.exception("delivery callback failed")
            with self._lock:
                queue = self._queues.get(key)
                if queue:
                    queue.popleft()

    def _call(self, endpoint: str) -> Callable[..., bytes]:
        """The method as a bytes-in, bytes-out callable on the endpoint's channel (one channel per endpoint)."""
        with self._lock:
            entry = self._channels.get(endpoint)
            if entry is None:
                channel = grpc.insecure_channel(grpc_target(endpoint, self.default_port))
                call = channel.unary_unary(self.wire.method_path, request_serializer=None, response_deserializer=None)
                entry = self._channels[endpoint] = (channel, call)
            return entry[1]

    def _deliver(self, delivery: Delivery) -> None:
        try:
            payload = self.wire.encode(delivery.event)
            call = self._call(delivery.endpoint)
        except Exception as exc:  # the simulator built a bad event or endpoint: record it, do not crash the worker
            delivery.error = f"could not encode event: {exc}"
            delivery.finished_at = time.time()
            return
        for attempt in range(1, self.attempts + 1):
            delivery.attempts = attempt
            try:
                reply = call(payload, timeout=self.timeout, metadata=self._metadata)
                delivery.endpoint_response = True
                delivery.error = None
                try:
                    delivery.reply = self.wire.read_reply(reply)
                except Exception as exc:  # acknowledged all the same: the reply's content is informational
                    delivery.reply = {"unreadable": str(exc)}
                break
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                details = exc.details() if hasattr(exc, "details") else str(exc)
                delivery.error = f"{code.name if code else 'UNKNOWN'}: {details}"
            except ValueError as exc:  # channel closed during shutdown
                delivery.error = f"channel error: {exc}"
                break
            if attempt < self.attempts:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
        delivery.finished_at = time.time()
