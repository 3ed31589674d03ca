"""Events through the bridge while the bus misbehaves: nothing acknowledged is ever lost.

A sender pushes N unique events (3,000 bounded; 100,000 with RELIABILITY_FULL=1) through
``python -m bridge`` whose AWS endpoint is the fault proxy in front of a moto server, while a
chaos thread cycles through: throttling, 500s, 503s, partial PutEvents failures, dropped
connections, everything refused (bus and fallback queue both down), and the emulator stopped and
started again (it forgets its state; queues are drained before and resources re-created after).

Checked: every event answered OK is on the subscriber queue or the fallback queue; every call
ends with a status (OK or a non-OK code the sender can act on: no hang, no INTERNAL/UNKNOWN);
and once the faults stop, re-sending the unacknowledged events gets every one of them accepted.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from legs.wire import event_to_proto
from tests.reliability.conftest import FULL, Resources, bridge_env, launch_bridge, size
from tests.support.faultproxy import FaultProxy
from tests.support.moto_server import MotoServer

EVENTS = size(2_000, 100_000)
CONCURRENCY = 64
#: Codes a sender may get for an event that was not acknowledged: each tells it to retry later.
RESEND_ROUNDS = 5
RETRYABLE = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "CANCELLED"}


def event(run: str, index: int) -> pb.CallbackEvent:
    return event_to_proto(
        {
            "event_sid": f"rel-{run}-{index:06d}",
            "event_type": "leg_lifecycle_event",
            "event_name": "leg_ringing",
            "event_timestamp": {"seconds": 1_760_000_000 + index, "nanos": index},
            "data": {"leg_sid": f"leg-{run}-{index // 4:06d}", "state": "ringing", "custom_param": f"n{index}"},
        }
    )


class Collected(threading.Thread):
    """Drains the subscriber and fallback queues all along (moto is slow to read thousands at
    once), and once more before each emulator restart; counts the event sids seen on each."""

    def __init__(self, resources: Resources) -> None:
        super().__init__(name="drainer", daemon=True)
        self.resources = resources
        self.subscriber: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()
        self.lock = threading.Lock()  # held while draining, and by the chaos thread around a restart
        self.stop_flag = threading.Event()
        self.error: BaseException | None = None

    def drain(self) -> None:
        sub = self.resources.drain(self.resources.subscriber_url, quiet_polls=1)
        fb = self.resources.drain(self.resources.fallback_url, quiet_polls=1)
        self.subscriber.update(body["detail"]["event_sid"] for body in sub)
        self.fallback.update(body["_attributes"].get("event_sid") or _detail_sid(body) for body in fb)

    def run(self) -> None:
        while not self.stop_flag.wait(0.3):
            try:
                with self.lock:
                    self.drain()
            except Exception as exc:  # the emulator may be down for a moment: not a failure by itself
                self.error = exc


def _detail_sid(body: dict[str, Any]) -> str:
    import json

    return json.loads(body["Detail"])["event_sid"]


class Chaos(threading.Thread):
    """Cycles through the faults until told to stop; counts what it did."""

    def __init__(self, proxy: FaultProxy, moto: MotoServer, resources: Resources, collected: Collected) -> None:
        super().__init__(name="chaos", daemon=True)
        self.proxy, self.moto, self.resources, self.collected = proxy, moto, resources, collected
        self.stop_flag = threading.Event()
        self.done: Counter[str] = Counter()
        self.error: BaseException | None = None

    def _hold(self, seconds: float) -> None:
        self.stop_flag.wait(seconds)

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set():
                self._cycle()
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.proxy.clear()
            self.proxy.accept()

    def _cycle(self) -> None:
        proxy = self.proxy
        steps: list[tuple[str, Any, float]] = [
            ("clean", None, 0.6),
            ("throttle", lambda: proxy.throttle(count=-1, target="PutEvents"), 0.4),
            ("throttle-long", lambda: proxy.throttle(count=-1, target="PutEvents"), 1.2),  # > publish deadline
            ("http500", lambda: proxy.fail(status=500, count=-1, target="PutEvents"), 0.3),
            ("http503", lambda: proxy.fail(status=503, count=-1, target=None), 0.3),
            ("partial", lambda: proxy.partial_failures(count=-1, fail_ratio=0.5), 0.6),
            ("drop-connection", lambda: proxy.close_connections(count=-1, target="PutEvents"), 0.3),
        ]
        for name, start, seconds in steps:
            if self.stop_flag.is_set():
                return
            if start is not None:
                start()
            self._hold(seconds)
            proxy.clear()
            self.done[name] += 1
            self._hold(0.2)
        if self.stop_flag.is_set():
            return
        # everything down: bus and fallback queue both unreachable -> UNAVAILABLE, never a false OK
        proxy.refuse()
        self._hold(1.0)
        self.done["refused"] += 1
        # the emulator stopped and started again, behind a refusing proxy
        time.sleep(0.5)  # let requests the proxy already forwarded finish inside the emulator
        with self.collected.lock:
            self.collected.drain()  # what it holds now would die with it
            self.moto.restart()
            self.resources.provision()
        proxy.accept()
        self.done["emulator-restart"] += 1


async def _send(
    target: str,
    messages: list[pb.CallbackEvent],
    deadline_s: float,
    rate: float | None = None,
    concurrency: int = 0,
) -> dict[str, str]:
    """Send with ``concurrency`` (default CONCURRENCY) callers, at most ``rate`` per second.

    Returns the final status per event_sid."""
    outcome: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    begin = loop.time()
    issued = 0
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.LegEventServiceStub(channel)
        queue: asyncio.Queue[pb.CallbackEvent] = asyncio.Queue()
        for message in messages:
            queue.put_nowait(message)

        async def worker() -> None:
            nonlocal issued
            while not queue.empty():
                message = queue.get_nowait()
                if rate:
                    issued += 1
                    await asyncio.sleep(max(0.0, begin + issued / rate - loop.time()))
                try:
                    reply = await stub.TriggerCallbackEvent(message, timeout=deadline_s)
                    outcome[message.event_sid] = "DUPLICATE" if reply.duplicate else "OK"
                except grpc.aio.AioRpcError as exc:
                    outcome[message.event_sid] = exc.code().name

        await asyncio.gather(*(worker() for _ in range(concurrency or CONCURRENCY)))
    return outcome


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:  # its own: this test restarts it
        yield server


@pytest.mark.timeout(1800 if EVENTS > 10_000 else 240)
def test_no_acknowledged_event_is_lost_under_faults(moto: MotoServer) -> None:
    run = uuid.uuid4().hex[:8]
    resources = Resources(moto.url, f"rel{run}").provision()
    collected = Collected(resources)
    with FaultProxy(moto.url) as proxy:
        bridge = launch_bridge(bridge_env(resources, proxy.url))
        chaos = Chaos(proxy, moto, resources, collected)
        try:
            messages = [event(run, i) for i in range(EVENTS)]
            chaos.start()
            collected.start()
            started = time.monotonic()
            # bounded run: spread over ~15 s so that every fault of a chaos cycle meets traffic
            rate = None if FULL else EVENTS / 15
            outcome = asyncio.run(_send(bridge.target, messages, 5.0, rate))
            elapsed = time.monotonic() - started
            # keep the chaos running until it completed at least one full cycle
            while chaos.done["emulator-restart"] < 1 and chaos.is_alive():
                time.sleep(0.1)
            chaos.stop_flag.set()
            chaos.join(60)
            assert chaos.error is None, f"chaos thread failed: {chaos.error!r}"
            assert bridge.alive(), "the bridge died:\n" + bridge.tail()

            collected.stop_flag.set()
            collected.join(120)
            with collected.lock:
                collected.drain()
            # faults over: what was not acknowledged is re-sent, as Exotel would, in a few rounds
            # (the emulator may still be busy; UNAVAILABLE is then the right answer, and a retry later)
            unacked = [m for m in messages if outcome[m.event_sid] not in ("OK", "DUPLICATE")]
            retried: dict[str, str] = {}
            pending = unacked
            for _ in range(RESEND_ROUNDS):
                if not pending:
                    break
                retried.update(asyncio.run(_send(bridge.target, pending, 10.0, concurrency=16)))
                pending = [m for m in pending if retried[m.event_sid] not in ("OK", "DUPLICATE")]
                time.sleep(1.0)
            collected.drain()
        finally:
            chaos.stop_flag.set()
            collected.stop_flag.set()
            bridge.terminate()

    codes = Counter(outcome.values())
    acked = {sid for sid, code in outcome.items() if code in ("OK", "DUPLICATE")}
    acked_on_retry = {sid for sid, code in retried.items() if code in ("OK", "DUPLICATE")}
    durable = set(collected.subscriber) | set(collected.fallback)
    lost = (acked | acked_on_retry) - durable
    print(
        f"\n{EVENTS} events in {elapsed:.1f}s; first answers {dict(codes)}; chaos {dict(chaos.done)}; "
        f"proxy {dict(proxy.stats.most_common(12))}; on the bus {len(collected.subscriber)} "
        f"(duplicates {sum(n - 1 for n in collected.subscriber.values() if n > 1)}), "
        f"in the fallback queue {len(collected.fallback)}; "
        f"re-sent {len(unacked)} -> finally {dict(Counter(retried.values()))}"
    )
    assert not lost, (
        f"{len(lost)} acknowledged events are neither on the bus nor in the fallback queue: {sorted(lost)[:10]}"
    )
    assert set(outcome) == {m.event_sid for m in messages}, "some calls never got an answer"
    unexpected = {code for code in codes if code not in RETRYABLE | {"OK", "DUPLICATE"}}
    assert not unexpected, f"non-OK answers must tell the sender to retry; got {unexpected}"
    assert acked_on_retry == {m.event_sid for m in unacked}, (
        f"after the faults cleared, {len(unacked) - len(acked_on_retry)} events were still refused after"
        f" {RESEND_ROUNDS} rounds: "
        f"{dict(Counter(retried.values()))}"
    )
    # the faults really happened (a test that injected nothing would prove nothing)
    injected = Counter(key.split(":")[1] for key in proxy.stats if key.startswith("injected:"))
    assert {"throttle", "status", "partial", "close"} <= set(injected), f"faults not exercised: {dict(injected)}"
    assert chaos.done["emulator-restart"] >= 1 and chaos.done["refused"] >= 1
