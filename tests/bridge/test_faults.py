"""Failure paths, through a fault-injecting proxy in front of moto: retries, fallback, UNAVAILABLE, drain."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import grpc
import pytest

from legs.pb import exotel_legs_pb2 as pb
from tests.bridge.conftest import AwsStack, bridge_env, make_event, stub
from tests.bridge.test_delivery import send_all
from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.component


def test_throttling_and_partial_failures_still_deliver_everything_once(
    stack: AwsStack, proxy: FaultProxy, start_bridge
) -> None:
    # A deadline long enough that retries, not the fallback queue, must do the work.
    bridge = start_bridge(bridge_env(stack, proxy.url, BRIDGE_PUBLISH_DEADLINE_MS="15000"))
    proxy.throttle(count=4, target="PutEvents")
    proxy.fail(status=503, count=2, target="PutEvents")
    proxy.fail(status=500, count=2, target="PutEvents")
    proxy.partial_failures(count=15, fail_ratio=0.4, error_code="ThrottlingException")
    proxy.partial_failures(count=5, fail_ratio=0.3, error_code="InternalFailure")
    proxy.close_connections(count=2, target="PutEvents")
    messages = [make_event(i) for i in range(300)]
    with stack.drain(stack.subscriber_url) as subscriber:
        replies = send_all(bridge.target, messages, concurrency=100)
        assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in replies)
        received = subscriber.wait(len(messages), timeout=60, settle=1.0)
    counts = Counter(body["detail"]["event_sid"] for body in received)
    assert set(counts) == {m.event_sid for m in messages}
    assert max(counts.values()) == 1
    assert stack.queue_depth(stack.fallback_url) == 0
    # The faults really happened.
    assert proxy.stats["entries_failed"] > 0
    injected = {key.split(":")[1] for key in proxy.stats if key.startswith("injected:")}
    assert {"throttle", "status", "partial", "close"} <= injected
    assert bridge.terminate() == 0
    assert bridge.metric_totals()["PublishRetries"] > 0


def test_bus_unreachable_events_go_to_fallback_queue_and_replay_verbatim(
    stack: AwsStack, proxy: FaultProxy, start_bridge
) -> None:
    bridge = start_bridge(
        bridge_env(stack, proxy.url, BRIDGE_PUBLISH_DEADLINE_MS="400", BRIDGE_FALLBACK_DEADLINE_MS="5000")
    )
    proxy.close_connections(count=-1, target="AWSEvents")  # EventBridge is gone; SQS still answers
    messages = [make_event(i) for i in range(25)]
    replies = send_all(bridge.target, messages)
    assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in replies), replies[:2]

    spilled = stack.receive(stack.fallback_url, expected=len(messages))
    assert sorted(json.loads(b["Detail"])["event_sid"] for b in spilled) == sorted(m.event_sid for m in messages)
    for body in spilled:
        assert body["Source"] == "exotel.legs" and body["DetailType"] == "leg_ringing"
        assert body["EventBusName"] == stack.bus
        assert body["_attributes"]["event_sid"] == json.loads(body["Detail"])["event_sid"]
        assert body["_attributes"]["spill_reason"] != "-"
    assert stack.queue_depth(stack.subscriber_url) == 0

    # What the redrive function does: the body is the PutEvents entry, replayed as is.
    for body in spilled:
        entry = {k: v for k, v in body.items() if k != "_attributes"}
        assert stack.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    replayed = stack.receive(stack.subscriber_url, expected=len(messages))
    assert sorted(b["detail"]["event_sid"] for b in replayed) == sorted(m.event_sid for m in messages)
    assert {b["time"] for b in replayed} == {
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.event_timestamp.seconds)) for m in messages
    }
    assert bridge.terminate() == 0


def test_both_unreachable_answers_unavailable_and_a_later_retry_succeeds(
    stack: AwsStack, proxy: FaultProxy, start_bridge
) -> None:
    bridge = start_bridge(
        bridge_env(stack, proxy.url, BRIDGE_PUBLISH_DEADLINE_MS="300", BRIDGE_FALLBACK_DEADLINE_MS="300")
    )
    client = stub(bridge.target)
    message = make_event(7)
    proxy.refuse()
    with pytest.raises(grpc.RpcError) as failure:
        client.TriggerCallbackEvent(message, timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "fallback" in failure.value.details()

    proxy.accept()  # the sender retries, as Exotel would: now it goes through, once
    reply = client.TriggerCallbackEvent(message, timeout=10)
    assert reply.accepted and not reply.duplicate
    received = stack.receive(stack.subscriber_url, expected=1, settle=1.0)
    assert [b["detail"]["event_sid"] for b in received] == [message.event_sid]


def health_during_drain(target: str, within: float = 3.0) -> str:
    """Poll the health service until it stops saying SERVING; returns what it said then."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + within
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            if status != health_pb2.HealthCheckResponse.SERVING:
                return health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            time.sleep(0.02)
    return "SERVING"


def test_sigterm_during_load_loses_nothing_acknowledged(stack: AwsStack, proxy: FaultProxy, start_bridge) -> None:
    bridge = start_bridge(
        bridge_env(
            stack,
            proxy.url,
            BRIDGE_PUBLISH_DEADLINE_MS="5000",
            BRIDGE_SHUTDOWN_GRACE_S="15",
            BRIDGE_MAX_IN_FLIGHT="2",
            BRIDGE_DRAIN_DELAY_S="1.0",
        )
    )
    proxy.delay(seconds=0.15, count=-1, target="PutEvents")  # slow bus: SIGTERM lands with work in flight
    run = uuid.uuid4().hex[:8]
    messages = [make_event(i, run=run) for i in range(400)]
    results: list[object] = []
    replied_at: list[float] = []

    def load() -> None:
        results.extend(send_all(bridge.target, messages, concurrency=200, replied_at=replied_at))

    with stack.drain(stack.subscriber_url) as subscriber:
        sender = threading.Thread(target=load)
        sender.start()
        deadline = time.monotonic() + 30
        while len(subscriber.bodies) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(subscriber.bodies) >= 20, "load never got going"
        sigterm_at = time.monotonic()
        bridge.proc.send_signal(15)
        assert health_during_drain(bridge.target) == "NOT_SERVING"
        code = bridge.proc.wait(timeout=30)
        sender.join(timeout=60)
        acked = {m.event_sid for m, r in zip(messages, results, strict=True) if isinstance(r, pb.CallbackEventResponse)}
        on_bus = subscriber.wait(len(acked), timeout=30, settle=1.0)
    assert code == 0
    in_fallback = stack.receive(stack.fallback_url, expected=0, settle=0.5)
    durable = Counter(b["detail"]["event_sid"] for b in on_bus) + Counter(
        json.loads(b["Detail"])["event_sid"] for b in in_fallback
    )
    assert any(t > sigterm_at for t in replied_at), "the drain should complete work that was in flight"
    assert acked <= set(durable), f"{len(acked - set(durable))} acknowledged events lost"
    assert max(durable.values()) == 1
    not_acked = [r for r in results if not isinstance(r, pb.CallbackEventResponse)]
    assert all(r.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED) for r in not_acked)
    logs = bridge.logs()
    assert any(doc.get("message") == "bridge draining" for doc in logs)
    stopped = next(doc for doc in logs if doc.get("message") == "bridge stopped")
    assert stopped["unflushed"] == 0
