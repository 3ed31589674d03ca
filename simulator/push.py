"""The gRPC event push: ``TriggerCallbackEvent`` on each leg's endpoint, in order per leg.

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
from typing import Any

import grpc

from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from legs.wire import event_to_proto

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

    def as_record(self) -> dict[str, Any]:
        return {
            "endpoint_response": self.endpoint_response,
            "error": self.error,
            "event_info": self.event,
            "endpoint": self.endpoint,
            "attempts": self.attempts,
            "reply": self.reply or None,
        }


def grpc_target(endpoint: str) -> str:
    return endpoint.removeprefix("grpc://")


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
    ) -> None:
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self.backoff = backoff
        self._metadata = (("authorization", f"Bearer {auth_token}"),) if auth_token else None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-push")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[tuple[Delivery, Callable[[Delivery], None]]]] = {}
        self._channels: dict[str, tuple[grpc.Channel, pb_grpc.LegEventServiceStub]] = {}
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

    def _stub(self, endpoint: str) -> pb_grpc.LegEventServiceStub:
        with self._lock:
            entry = self._channels.get(endpoint)
            if entry is None:
                channel = grpc.insecure_channel(grpc_target(endpoint))
                entry = self._channels[endpoint] = (channel, pb_grpc.LegEventServiceStub(channel))
            return entry[1]

    def _deliver(self, delivery: Delivery) -> None:
        try:
            message = event_to_proto(delivery.event)
        except Exception as exc:  # the simulator built a bad event: record it, do not crash the worker
            delivery.error = f"could not encode event: {exc}"
            delivery.finished_at = time.time()
            return
        for attempt in range(1, self.attempts + 1):
            delivery.attempts = attempt
            try:
                reply = self._stub(delivery.endpoint).TriggerCallbackEvent(
                    message, timeout=self.timeout, metadata=self._metadata
                )
                delivery.endpoint_response = True
                delivery.error = None
                delivery.reply = {"accepted": reply.accepted, "duplicate": reply.duplicate}
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
