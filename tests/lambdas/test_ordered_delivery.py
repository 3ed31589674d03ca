"""Ordered mode, function side: bus events arrive as SQS batches from a subscriber's queue (FIFO for leg_state and
connect), and redrive replays EventsV2 entries on ``eventbridgev2`` (the local endpoint, over HTTP)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from devstack.eventsv2.__main__ import sqs_factory
from devstack.eventsv2.server import EventsV2Endpoint
from devstack.eventsv2.store import EventsV2Store
from lambdas.dal import aws
from lambdas.dal.leg_state import LegStateStore
from lambdas.leg_state.handler import handler as leg_state
from lambdas.redrive.handler import handler as redrive
from lambdas.routing import routes
from legs.events import LegEvent
from legs.eventsv2 import to_v2_entry
from tests.lambdas.kit import Context, drain, eventbridge, leg_event, sid, sqs_event
from tests.support.moto_server import LOCAL_AWS, REGION

NAMES = ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]


def fifo_batch(bodies: list[str], groups: list[str]) -> dict[str, Any]:
    """An SQS batch from a FIFO queue, as Lambda's event source mapping builds it."""
    event = sqs_event(bodies, queue="leg_state.fifo")
    for record, group in zip(event["Records"], groups, strict=True):
        record["attributes"]["MessageGroupId"] = group
    return event


def test_routing_orders_what_must_be_ordered() -> None:
    fifo = {route.function: route.fifo for route in routes("exotel.legs")}
    assert fifo == {"leg_state": True, "connect": True, "retry": False, "amd": False}


def test_a_fifo_batch_is_recorded_in_order_and_a_failure_holds_back_only_its_own_group() -> None:
    held, other = sid("L"), sid("L")
    held_events = [leg_event(n, held, seconds=1_700_002_000 + i) for i, n in enumerate(NAMES)]
    other_events = [leg_event(n, other, seconds=1_700_002_000 + i) for i, n in enumerate(NAMES[:2])]
    bodies = [json.dumps(eventbridge(e)) for e in held_events[:2]]
    bodies.append('{"detail-type": "leg_answered", "detail": {"not": "an exotel event"}}')  # fails
    bodies += [json.dumps(eventbridge(held_events[3]))] + [json.dumps(eventbridge(e)) for e in other_events]
    groups = [held, held, held, held, other, other]
    batch = fifo_batch(bodies, groups)

    reply = leg_state(batch, Context("leg_state"))

    failed = [f["itemIdentifier"] for f in reply["batchItemFailures"]]
    assert failed == [batch["Records"][2]["messageId"], batch["Records"][3]["messageId"]]  # the bad one + the rest
    store = LegStateStore.from_env()
    assert [e["event_name"] for e in store.events(held)] == NAMES[:2]  # leg_terminated held back, not recorded
    assert [e["event_name"] for e in store.events(other)] == NAMES[:2]  # the other leg went on


def test_a_single_event_still_works_as_a_rule_delivers_it() -> None:
    leg = sid("L")
    leg_state(eventbridge(leg_event("leg_ringing", leg)), Context("leg_state"))
    assert [e["event_name"] for e in LegStateStore.from_env().events(leg)] == ["leg_ringing"]


@pytest.fixture
def v2_bus(resources: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A local EventsV2 bus whose one subscriber copies everything to a queue: (bus ARN, queue URL)."""
    with EventsV2Endpoint(
        sqs_factory(resources.url, REGION), store=EventsV2Store(region=REGION), idle_wait_s=0.05
    ) as ep:
        client = boto3.client("eventbridgev2", endpoint_url=ep.url, **LOCAL_AWS)
        bus_arn = client.create_event_bus(Name=f"legs-{uuid.uuid4().hex[:8]}")["EventBusArn"]
        url = sqs.create_queue(QueueName=f"copy-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client.create_subscriber(
            Name="copy",
            EventBusArn=bus_arn,
            InvokeConfiguration={"RoleArn": "arn:aws:iam::123456789012:role/x", "TargetArn": arn},
            FilterConfiguration={"Filters": [{"Pattern": json.dumps({"source": [{"prefix": ""}]}), "Scope": "DATA"}]},
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGEV2", ep.url)
        aws.reset()
        yield bus_arn, url


def _fallback_copy(event: dict[str, Any], bus_arn: str) -> str:
    """What the bridge writes to the fallback queue in ordered mode (bridge/fallback.py)."""
    entry = to_v2_entry(
        LegEvent.model_validate(event), bus_arn=bus_arn, source="exotel.legs", received_at=datetime.now(UTC)
    )
    entry["Time"] = entry["Time"].isoformat()
    return json.dumps(entry)


def test_redrive_replays_a_v2_entry_on_the_v2_bus_with_its_group_and_dedup_id(
    v2_bus: tuple[str, str], sqs: Any, lambda_env: Any
) -> None:
    bus_arn, copy_url = v2_bus
    event = leg_event("leg_answered", sid("L"), answered_by="HUMAN")
    assert redrive(sqs_event([_fallback_copy(event, bus_arn)]), Context("redrive")) == {"batchItemFailures": []}
    [message] = drain(sqs, copy_url, wait=10.0, expect=1)
    delivered = json.loads(message["Body"])
    assert delivered["detail"]["event_sid"] == event["event_sid"]
    assert delivered["detail-type"] == "leg_answered"
    assert drain(sqs, lambda_env.events_queue_url, wait=0.5, expect=0) == []  # nothing on the classic bus

    # The bus itself drops a copy it already holds (same DeduplicationId), whatever the function's idempotency says.
    store_reply = boto3.client("eventbridgev2", **LOCAL_AWS).put_events(
        EventBusArn=bus_arn,
        Entries=[{k: v for k, v in json.loads(_fallback_copy(event, bus_arn)).items() if k != "EventBusArn"}],
    )
    assert store_reply["Entries"][0]["SuccessCode"] == "DEDUPLICATED"
