"""The ordered path (``EVENT_BUS_KIND=v2``): bridge processes publishing to one EventsV2 bus (the local endpoint,
over real HTTP), its subscribers delivering into SQS queues of the moto server.

What the issue asks of it: with two bridge processes sharing the bus, an event delivered to both reaches each
subscriber once; Exotel's per-leg push, spread over the two processes at random and retried onto the other one,
reaches a FIFO subscriber in Exotel's order, exactly once.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import grpc
import pytest

from devstack.eventsv2.__main__ import sqs_factory
from devstack.eventsv2.server import EventsV2Endpoint
from devstack.eventsv2.store import EventsV2Store
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from legs.wire import event_to_proto
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, stub
from tests.support.moto_server import LOCAL_AWS, REGION, MotoServer

pytestmark = pytest.mark.component

ROLE = "arn:aws:iam::123456789012:role/eventsv2-subscriber"


@dataclass
class OrderedBus:
    endpoint: EventsV2Endpoint
    bus_arn: str
    fifo_url: str  # FIFO subscriber -> FIFO queue
    unordered_url: str  # UNORDERED subscriber -> standard queue

    def env(self, stack: AwsStack, **extra: str) -> dict[str, str]:
        return bridge_env(
            stack,
            stack.url,
            EVENT_BUS_KIND="v2",
            EVENT_BUS_ARN=self.bus_arn,
            AWS_ENDPOINT_URL_EVENTBRIDGEV2=self.endpoint.url,
            **extra,
        )

    def fault(self, operation: str, code: str, count: int, per_entry: bool = False) -> None:
        spec = {"operation": operation, "code": code, "count": count, "per_entry": per_entry}
        request = urllib.request.Request(f"{self.endpoint.url}/_local/faults", data=json.dumps(spec).encode())
        urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def ordered(moto: MotoServer, stack: AwsStack) -> Iterator[OrderedBus]:
    with EventsV2Endpoint(sqs_factory(moto.url, REGION), store=EventsV2Store(region=REGION), idle_wait_s=0.05) as ep:
        client = boto3.client("eventbridgev2", endpoint_url=ep.url, **LOCAL_AWS)
        bus_arn = client.create_event_bus(Name=f"exotel-legs-{uuid.uuid4().hex[:8]}")["EventBusArn"]
        urls = []
        for kind in ("FIFO", "UNORDERED"):
            name = f"{kind.lower()}-{uuid.uuid4().hex[:8]}" + (".fifo" if kind == "FIFO" else "")
            url = stack.sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if kind == "FIFO" else {})[
                "QueueUrl"
            ]
            arn = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            client.create_subscriber(
                Name=f"all-{kind.lower()}",
                EventBusArn=bus_arn,
                Type=kind,
                InvokeConfiguration={"RoleArn": ROLE, "TargetArn": arn},
                FilterConfiguration={
                    "Filters": [{"Pattern": json.dumps({"source": ["exotel.legs"]}), "Scope": "DATA"}]
                },
            )
            urls.append(url)
        yield OrderedBus(ep, bus_arn, urls[0], urls[1])


def leg_event(leg: str, index: int, run: str) -> pb.CallbackEvent:
    """The ``index``-th event of ``leg`` (its timestamp grows with the index, as Exotel's would)."""
    return event_to_proto(
        {
            "event_sid": f"evt-{run}-{leg}-{index:03d}",
            "event_type": "leg_lifecycle_event",
            "event_name": "leg_ringing" if index else "leg_connecting",
            "event_timestamp": {"seconds": 1_700_000_000 + index, "nanos": 1000 * index},
            "data": {"leg_sid": leg, "state": "ringing", "direction": "outbound", "custom_param": str(index)},
        }
    )


def _fifo_messages(stack: AwsStack, url: str, expected: int) -> list[dict[str, Any]]:
    """Bodies in the order one consumer of the FIFO queue receives them, with their MessageGroupId."""
    got: list[dict[str, Any]] = []
    with stack.drain(url) as drain:
        drain.wait(expected, timeout=60, settle=1.0)
        got = list(drain.bodies)
    return got


def test_an_event_delivered_to_both_bridges_reaches_each_subscriber_once(
    ordered: OrderedBus, stack: AwsStack, start_bridge
) -> None:
    first = start_bridge(ordered.env(stack))
    second = start_bridge(ordered.env(stack))
    run = uuid.uuid4().hex[:8]
    events = [leg_event(f"leg-{run}-{i}", 0, run) for i in range(15)]
    for event in events:  # Exotel's retry onto another task after a lost acknowledgement: both accept it
        assert stub(first.target).TriggerCallbackEvent(event, timeout=10).accepted
        assert stub(second.target).TriggerCallbackEvent(event, timeout=10).accepted

    sids = sorted(e.event_sid for e in events)
    fifo = _fifo_messages(stack, ordered.fifo_url, len(events))
    unordered = stack.receive(ordered.unordered_url, expected=len(events), settle=1.0)
    assert sorted(b["detail"]["event_sid"] for b in fifo) == sids
    assert sorted(b["detail"]["event_sid"] for b in unordered) == sids
    assert fifo[0]["source"] == "exotel.legs" and fifo[0]["detail"]["bridge"]["schema_version"]

    assert first.terminate() == 0 and second.terminate() == 0
    totals = [first.metric_totals(), second.metric_totals()]
    assert sum(t.get("EventsPublished", 0) for t in totals) == 2 * len(events)  # both acknowledged each
    assert sum(t.get("EventsDeduplicatedByBus", 0) for t in totals) == len(events)  # the bus kept one copy


async def _exotel(targets: list[str], legs: dict[str, list[pb.CallbackEvent]], seed: int) -> dict[str, int]:
    """Exotel's push: per leg, each event after the previous one was acknowledged, to a random bridge task;
    a third of them are retried onto the other task, either after a lost acknowledgement or while the first
    delivery is still in flight (a deadline that ran out). Legs run side by side."""
    rng = random.Random(seed)
    counts = {"deliveries": 0, "retried": 0}
    channels = [grpc.aio.insecure_channel(t) for t in targets]
    stubs = [pb_grpc.LegEventServiceStub(c) for c in channels]

    async def push(events: list[pb.CallbackEvent]) -> None:
        for event in events:
            first = rng.randrange(len(stubs))
            other = stubs[1 - first]
            shape = rng.random()
            if shape < 0.17:  # lost acknowledgement: delivered to one, then retried onto the other
                await stubs[first].TriggerCallbackEvent(event, timeout=20)
                reply = await other.TriggerCallbackEvent(event, timeout=20)
                counts["retried"] += 1
            elif shape < 0.34:  # deadline ran out: the retry overlaps the first delivery
                replies = await asyncio.gather(
                    stubs[first].TriggerCallbackEvent(event, timeout=20), other.TriggerCallbackEvent(event, timeout=20)
                )
                reply = replies[1]
                counts["retried"] += 1
            else:
                reply = await stubs[first].TriggerCallbackEvent(event, timeout=20)
            assert reply.accepted
            counts["deliveries"] += 1

    try:
        await asyncio.gather(*(push(events) for events in legs.values()))
    finally:
        for channel in channels:
            await channel.close()
    return counts


def test_a_shuffled_push_for_each_leg_reaches_a_fifo_subscriber_in_exotels_order(
    ordered: OrderedBus, stack: AwsStack, start_bridge
) -> None:
    bridges = [start_bridge(ordered.env(stack)), start_bridge(ordered.env(stack))]
    run = uuid.uuid4().hex[:8]
    legs = {f"leg-{run}-{n}": [leg_event(f"leg-{run}-{n}", i, run) for i in range(8)] for n in range(10)}
    counts = asyncio.run(_exotel([b.target for b in bridges], legs, seed=int(run, 16)))
    assert counts["retried"] > 0

    total = sum(len(events) for events in legs.values())
    fifo = _fifo_messages(stack, ordered.fifo_url, total)
    assert len(fifo) == total, "each event exactly once"
    for leg, events in legs.items():
        seen = [b["detail"]["event_sid"] for b in fifo if b["detail"]["data"]["leg_sid"] == leg]
        assert seen == [e.event_sid for e in events], f"{leg} out of Exotel's order"

    for bridge in bridges:
        assert bridge.terminate() == 0
    deduplicated = sum(b.metric_totals().get("EventsDeduplicatedByBus", 0) for b in bridges)
    assert deduplicated == counts["retried"]


def test_throttling_is_retried_within_the_deadline_and_the_event_is_stored_once(
    ordered: OrderedBus, stack: AwsStack, start_bridge
) -> None:
    bridge = start_bridge(ordered.env(stack))
    ordered.fault("PutEvents", "ThrottlingException", count=2)
    run = uuid.uuid4().hex[:8]
    reply = stub(bridge.target).TriggerCallbackEvent(leg_event(f"leg-{run}", 0, run), timeout=15)
    assert reply.accepted and not reply.duplicate
    received = stack.receive(ordered.unordered_url, expected=1, settle=1.0)
    assert [b["detail"]["data"]["leg_sid"] for b in received] == [f"leg-{run}"]
    assert stack.queue_depth(stack.fallback_url) == 0
    assert bridge.terminate() == 0
    assert bridge.metric_totals().get("PublishRetries", 0) >= 2


def test_an_entry_the_bus_refuses_for_good_is_spilled_with_its_system_metadata(
    ordered: OrderedBus, stack: AwsStack, start_bridge
) -> None:
    bridge = start_bridge(ordered.env(stack))
    ordered.fault("PutEvents", "InvalidStateException", count=1, per_entry=True)
    run = uuid.uuid4().hex[:8]
    event = leg_event(f"leg-{run}", 3, run)
    assert stub(bridge.target).TriggerCallbackEvent(event, timeout=15).accepted  # durable in the fallback queue
    [spilled] = stack.receive(stack.fallback_url, expected=1)
    assert spilled["EventBusArn"] == ordered.bus_arn
    assert spilled["SystemMetadata"] == {"EventGroupId": f"leg-{run}", "DeduplicationId": event.event_sid}
    assert json.loads(spilled["Detail"])["event_sid"] == event.event_sid
    assert "InvalidStateException" in spilled["_attributes"]["spill_reason"]


def test_v2_without_the_bus_arn_is_a_configuration_error() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "EVENT_BUS_KIND": "v2", "AWS_REGION": REGION}
    result = subprocess.run(
        [sys.executable, "-m", "bridge"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "EVENT_BUS_ARN" in result.stderr
