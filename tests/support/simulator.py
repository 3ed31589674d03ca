"""Start the Exotel simulator for tests (in-process or as a subprocess) and record its gRPC pushes.

Reusable by every area:
    with running_simulator(time_scale=0.01) as sim:        # in-process, free port
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
    with simulator_process(time_scale=0.01) as url: ...    # `python -m simulator` subprocess
    with EventRecorder() as rec:                           # a real gRPC LegEventService on loopback
    with EventRecorder(load_wire(path, rpc)) as rec:       # ... serving a customer's proto instead
        ... leg_event_endpoint=rec.endpoint ...
        events = rec.wait_for(leg_sid, "leg_terminated")
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from legs.events import LegEvent
from legs.wire import EventWire, builtin_wire
from simulator.server import Simulator, SimulatorConfig
from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CREDENTIALS = {"account_sid": "local-account", "api_key": "local-key", "api_token": "local-token"}


@contextmanager
def running_simulator(**overrides: Any) -> Iterator[Simulator]:
    """An in-process simulator on a free loopback port; ``overrides`` are SimulatorConfig fields."""
    config = SimulatorConfig(**{"port": 0, "time_scale": 0.01, **overrides})
    sim = Simulator(config).start()
    try:
        yield sim
    finally:
        sim.stop()


def wait_for_records(client: Any, sid: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
    """Poll ``GET /legs/{sid}/external-events`` until it lists ``count`` finished deliveries."""
    deadline = time.monotonic() + timeout
    while True:
        records = client.external_events(sid)
        if len(records) >= count:
            return records
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(records)} delivery records for {sid} after {timeout}s, wanted {count}")
        time.sleep(0.02)


@contextmanager
def simulator_process(time_scale: float = 0.01, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m simulator`` as a subprocess; yields its base URL once it printed its ready line."""
    port = free_port()
    full_env = {
        **os.environ,
        "SIM_PORT": str(port),
        "SIM_HOST": "127.0.0.1",
        "SIM_TIME_SCALE": str(time_scale),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "simulator ready on" not in line:
            raise RuntimeError(f"simulator did not start: {line!r} (exit {proc.poll()})")
        wait_for_port(port)
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class EventRecorder:
    """A real gRPC ``LegEventService`` on loopback that keeps every event it acknowledges, in order.

    ``wire`` chooses the service (ours by default, or a customer's: :func:`legs.wire.load_wire`);
    ``fail_next(n, code)`` makes the next n calls fail with ``code`` (to exercise the push retries);
    ``delay`` stalls every reply (to exercise deadlines).
    """

    def __init__(self, wire: EventWire | None = None) -> None:
        self.wire = wire or builtin_wire()
        self.port = free_port()
        self.events: list[LegEvent] = []
        self.metadata: list[dict[str, str]] = []
        self.calls = 0
        self.delay = 0.0
        self._fail: list[grpc.StatusCode] = []
        self._cond = threading.Condition()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        method = grpc.unary_unary_rpc_method_handler(self._receive)  # bytes in, bytes out
        handler = grpc.method_handlers_generic_handler(self.wire.service_name, {self.wire.method_name: method})
        self._server.add_generic_rpc_handlers((handler,))
        self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    @property
    def endpoint(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def __enter__(self) -> EventRecorder:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def fail_next(self, count: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        with self._cond:
            self._fail.extend([code] * count)

    def _receive(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        with self._cond:
            self.calls += 1
            failure = self._fail.pop(0) if self._fail else None
            self._cond.notify_all()  # wait_until predicates may look at calls
        if self.delay:
            time.sleep(self.delay)
        if failure is not None:
            context.abort(failure, "recorder told to fail")
        event = self.wire.event(request)
        with self._cond:
            self.events.append(event)
            self.metadata.append({k: v for k, v in context.invocation_metadata()})
            self._cond.notify_all()
        return self.wire.accepted_reply

    def for_sid(self, sid: str) -> list[LegEvent]:
        """Events of one leg (by ``data.leg_sid``) or one bridge (by bridge sid), in arrival order."""
        with self._cond:
            return [e for e in self.events if e.leg_sid == sid or (e.bridge_resource and e.bridge_sid == sid)]

    def names(self, sid: str) -> list[str]:
        return [e.event_name for e in self.for_sid(sid)]

    def wait_until(self, predicate: Callable[[list[LegEvent]], bool], timeout: float = 10.0) -> list[LegEvent]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.events)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met; events so far: {[e.event_name for e in self.events]}")
                self._cond.wait(left)
            return list(self.events)

    def wait_for(self, sid: str, event_name: str, timeout: float = 10.0) -> list[LegEvent]:
        """Block until ``sid`` has an ``event_name`` event; returns that sid's events in order."""
        self.wait_until(lambda _: event_name in self.names_unlocked(sid), timeout)
        return self.for_sid(sid)

    def names_unlocked(self, sid: str) -> list[str]:
        """Like :meth:`names`, for use inside a :meth:`wait_until` predicate (the lock is held)."""
        return [e.event_name for e in self.events if e.leg_sid == sid or (e.bridge_resource and e.bridge_sid == sid)]
