"""Fixtures for the local EventsV2 endpoint's own tests: a moto server (SQS), the endpoint in this process with a
clock the test moves, and boto3's real ``eventbridgev2`` client talking to it over HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from devstack.eventsv2.__main__ import sqs_factory
from devstack.eventsv2.server import EventsV2Endpoint
from devstack.eventsv2.store import EventsV2Store
from tests.support.moto_server import LOCAL_AWS, REGION, MotoServer

ROLE = "arn:aws:iam::123456789012:role/eventsv2-local"


class Clock:
    """A settable clock: the dedup window and retention are tested by moving it, not by waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = float(int(time.time()))  # whole seconds: a datetime round trip keeps it exact

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@dataclass
class Local:
    endpoint: EventsV2Endpoint
    clock: Clock
    client: Any  # boto3 eventbridgev2
    sqs: Any
    bus_arn: str
    queues: list[str] = field(default_factory=list)

    def queue(self, fifo: bool = False) -> tuple[str, str]:
        """A fresh SQS queue in the emulator: (url, arn)."""
        name = f"sub-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
        attributes = {"FifoQueue": "true"} if fifo else {}
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.queues.append(url)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def subscribe(self, target_arn: str, pattern: dict[str, Any] | None = None, **extra: Any) -> str:
        filters = [{"Pattern": json.dumps(pattern or {"source": [{"prefix": ""}]}), "Scope": "DATA"}]
        reply = self.client.create_subscriber(
            Name=f"s-{uuid.uuid4().hex[:10]}",
            EventBusArn=self.bus_arn,
            InvokeConfiguration={"RoleArn": ROLE, "TargetArn": target_arn},
            FilterConfiguration={"Filters": filters},
            **extra,
        )
        return str(reply["SubscriberArn"])

    def put(self, *entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return self.client.put_events(EventBusArn=self.bus_arn, Entries=list(entries), **extra)

    def receive(self, url: str, expected: int, timeout: float = 20.0, settle: float = 0.3) -> list[dict[str, Any]]:
        """Messages (body parsed, attributes kept) until ``expected`` arrived, then ``settle`` s for extras."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < deadline:
            reply = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            )
            messages = reply.get("Messages") or []
            for message in messages:
                got.append({"body": json.loads(message["Body"]), "attributes": message.get("Attributes", {})})
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            if len(got) >= expected:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() >= settle_until:
                    break
            if not messages:
                time.sleep(0.05)
        return got


def entry(i: int, *, group: str | None = None, dedup: str | None = None, **fields: Any) -> dict[str, Any]:
    """A PutEvents entry whose Detail carries ``i`` (and ``fields``)."""
    result: dict[str, Any] = {
        "Source": "exotel.legs",
        "DetailType": fields.pop("detail_type", "leg_ringing"),
        "Detail": json.dumps({"i": i, **fields}),
    }
    system = {k: v for k, v in (("EventGroupId", group), ("DeduplicationId", dedup)) if v is not None}
    if system:
        result["SystemMetadata"] = system
    return result


@pytest.fixture
def local(moto: MotoServer) -> Iterator[Local]:
    clock = Clock()
    store = EventsV2Store(region=REGION, dedup_window_s=300, clock=clock)
    with EventsV2Endpoint(sqs_factory(moto.url, REGION), store=store, idle_wait_s=0.05) as endpoint:
        client = boto3.client("eventbridgev2", endpoint_url=endpoint.url, **LOCAL_AWS)
        sqs = boto3.client("sqs", endpoint_url=moto.url, **LOCAL_AWS)
        bus = client.create_event_bus(
            Name=f"bus-{uuid.uuid4().hex[:8]}", StorageConfiguration={"RetentionPeriodInDays": 1}
        )
        yield Local(endpoint, clock, client, sqs, bus["EventBusArn"])
