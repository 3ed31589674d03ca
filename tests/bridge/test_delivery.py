"""The bridge as a subprocess against a moto server: what subscribers see, and exactly-once under load."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import grpc
import pytest

from legs.eventbridge import event_from_detail
from legs.events import EventTimestamp
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from legs.wire import event_to_proto
from tests.bridge.conftest import AwsStack, bridge_env, make_event, stub
from tests.support.samples import ALL_SAMPLES, SEED_EVENTS

pytestmark = pytest.mark.component


def send_all(
    target: str,
    messages: list[pb.CallbackEvent],
    concurrency: int = 1000,
    replied_at: list[float] | None = None,
) -> list[object]:
    """Send concurrently over one HTTP/2 channel; returns the reply or the grpc.aio.AioRpcError per message.

    ``replied_at`` collects the monotonic time of every OK reply as it comes.
    """

    async def run() -> list[object]:
        async with grpc.aio.insecure_channel(target) as channel:
            client = pb_grpc.LegEventServiceStub(channel)
            gate = asyncio.Semaphore(concurrency)

            async def one(message: pb.CallbackEvent) -> object:
                async with gate:
                    try:
                        reply = await client.TriggerCallbackEvent(message, timeout=30)
                    except grpc.aio.AioRpcError as exc:
                        return exc
                    if replied_at is not None:
                        replied_at.append(time.monotonic())
                    return reply

            return await asyncio.gather(*(one(m) for m in messages))

    return asyncio.run(run())


def test_seed_samples_arrive_as_design_says(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url))
    client = stub(bridge.target)
    for sample in ALL_SAMPLES:
        reply = client.TriggerCallbackEvent(event_to_proto(sample), timeout=10)
        assert reply.accepted and not reply.duplicate

    received = stack.receive(stack.subscriber_url, expected=len(ALL_SAMPLES))
    by_sid = {body["detail"]["event_sid"]: body for body in received}
    assert sorted(by_sid) == sorted(s["event_sid"] for s in ALL_SAMPLES)
    for sample in ALL_SAMPLES:
        body = by_sid[sample["event_sid"]]
        assert body["source"] == "exotel.legs"
        assert body["detail-type"] == sample["event_name"]
        detail = body["detail"]
        stamp = EventTimestamp.model_validate(sample["event_timestamp"])
        assert detail["event_timestamp"] == stamp.rfc3339()  # nanoseconds kept
        expected_time = datetime.fromtimestamp(sample["event_timestamp"]["seconds"], UTC)
        assert body["time"] == expected_time.strftime("%Y-%m-%dT%H:%M:%SZ")  # Time = the event's own time
        assert detail["bridge"]["schema_version"] == "1"
        assert detail["bridge"]["received_at"].endswith("Z")
        for key in ("event_sid", "event_type", "event_name", "data"):
            assert detail[key] == sample[key]
        for key in ("event_data", "action_sid", "action_custom_parameter"):
            if key in sample:
                assert detail[key] == sample[key]
        assert event_from_detail(detail).event_sid == sample["event_sid"]
    assert {by_sid[s["event_sid"]]["detail"]["data"]["leg_sid"] for s in SEED_EVENTS} == {
        "2K8DQQr2eoPW6HXJej7VesxsTUy00000",
        "2Qmm2j6Y9MfjJfQMNg61K8DaKxv00000",
    }
    assert bridge.terminate() == 0


def test_thousand_concurrent_events_arrive_exactly_once(stack: AwsStack, start_bridge) -> None:
    # moto, not the bridge, is the bottleneck here (each PutEvents entry is routed to SQS in Python
    # on a shared machine): a generous deadline keeps this a test of batching and exactly-once.
    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_PUBLISH_DEADLINE_MS="30000"))
    run = uuid.uuid4().hex[:8]
    messages = [make_event(i, run=run) for i in range(1000)]
    with stack.drain(stack.subscriber_url) as subscriber:
        replies = send_all(bridge.target, messages)
        errors = [r for r in replies if not isinstance(r, pb.CallbackEventResponse)]
        assert not errors, errors[:3]
        assert all(r.accepted and not r.duplicate for r in replies)
        received = subscriber.wait(1000, timeout=60, settle=1.0)
    counts = Counter(body["detail"]["event_sid"] for body in received)
    assert set(counts) == {m.event_sid for m in messages}
    assert max(counts.values()) == 1
    assert stack.queue_depth(stack.fallback_url) == 0
    assert bridge.terminate() == 0
    totals = bridge.metric_totals()
    assert totals["EventsReceived"] == 1000
    assert totals["EventsPublished"] == 1000
    assert totals["PutEventsCalls"] < 1000  # batched


@pytest.mark.parametrize(("loop", "client"), [("uvloop", "builtin"), ("asyncio", "builtin"), ("uvloop", "aiohttp")])
def test_either_event_loop_and_http_client_serve_and_the_ready_log_names_them(
    stack: AwsStack, start_bridge, loop: str, client: str
) -> None:
    """uvloop is the default (bridge/loop.py); ``BRIDGE_EVENT_LOOP=asyncio`` is the way back to asyncio's. The
    bridge's own HTTP client (bridge/http1.py) is the default; ``BRIDGE_HTTP_CLIENT=aiohttp`` the way back."""
    settings = {"BRIDGE_EVENT_LOOP": "asyncio"} if loop == "asyncio" else {}
    if client == "aiohttp":
        settings["BRIDGE_HTTP_CLIENT"] = "aiohttp"
    bridge = start_bridge(bridge_env(stack, stack.url, **settings))
    ready = next(json.loads(line) for line in bridge.lines if '"bridge ready"' in line)
    assert (ready["event_loop"], ready["http_client"]) == (loop, client)
    # lingering only while the CPUs are busy is the default, measured from the cgroup or the machine (bridge/busy.py)
    assert (ready["linger_when"], ready["linger_ms"]) == ("busy", 10.0) and ready["cpu_source"] in (
        "cgroup+process",
        "proc+process",
    )
    run = uuid.uuid4().hex[:8]
    messages = [make_event(i, run=run) for i in range(20)]
    with stack.drain(stack.subscriber_url) as subscriber:
        replies = send_all(bridge.target, messages)
        assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in replies), replies[:3]
        received = subscriber.wait(20, timeout=30, settle=0.5)
    assert sorted(body["detail"]["event_sid"] for body in received) == sorted(m.event_sid for m in messages)
    assert bridge.terminate() == 0
    # the start-up heap was frozen once serving (bridge/heap.py): the collector's full passes skip it
    frozen = next(json.loads(line) for line in bridge.lines if '"start-up heap frozen"' in line)
    assert frozen["objects"] > 10_000, frozen


def test_repeated_event_sid_is_acknowledged_once_published_once(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url))
    message = make_event(1)
    # Ten copies at once: the first publishes, the rest wait for its outcome and are acknowledged as duplicates.
    replies = send_all(bridge.target, [message] * 10)
    assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in replies)
    assert sum(1 for r in replies if r.duplicate) == 9
    later = stub(bridge.target).TriggerCallbackEvent(message, timeout=10)
    assert later.accepted and later.duplicate
    received = stack.receive(stack.subscriber_url, expected=1, settle=1.0)
    assert [body["detail"]["event_sid"] for body in received] == [message.event_sid]


def test_health_and_reflection_answer(stack: AwsStack, start_bridge) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_AUTH_TOKEN="s3cret"))
    channel = grpc.insecure_channel(bridge.target)
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "exotel.legs.v1.LegEventService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING  # no token needed for health

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    replies = list(reflection.ServerReflectionInfo(iter([request]), metadata=[("authorization", "Bearer s3cret")]))
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"exotel.legs.v1.LegEventService", "grpc.health.v1.Health"} <= names
    symbol = reflection_pb2.ServerReflectionRequest(file_containing_symbol="exotel.legs.v1.LegEventService")
    described = list(reflection.ServerReflectionInfo(iter([symbol]), metadata=[("authorization", "Bearer s3cret")]))
    assert described[0].file_descriptor_response.file_descriptor_proto
    ready = next(line for line in bridge.lines if "bridge ready" in line)
    assert json.loads(ready)["auth"] is True
