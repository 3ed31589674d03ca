"""Fixtures for the bridge's component tests: a moto server, a fault proxy, per-test AWS resources
(bus, subscriber rule -> SQS queue, fallback and dead-letter queues) and the bridge as a subprocess."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import grpc
import pytest

from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.support.bridge_process import BridgeProcess, child_env
from tests.support.faultproxy import FaultProxy
from tests.support.moto_server import LOCAL_AWS, MotoServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy(moto.url) as fault_proxy:
        yield fault_proxy


@dataclass
class AwsStack:
    """One test's resources in the emulator: a bus whose every event is copied to ``subscriber_url``."""

    url: str
    bus: str
    subscriber_url: str
    fallback_url: str
    dead_letter_url: str
    events: Any = field(repr=False)
    sqs: Any = field(repr=False)

    def receive(self, queue_url: str, expected: int, timeout: float = 30.0, settle: float = 0.5) -> list[dict]:
        """Read (and delete) messages until ``expected`` arrived, then ``settle`` s more to catch extras."""
        with self.drain(queue_url) as drain:
            return drain.wait(expected, timeout=timeout, settle=settle)

    def drain(self, queue_url: str) -> QueueDrain:
        """A background reader of ``queue_url``: moto's SQS slows down with every message left queued."""
        return QueueDrain(self.sqs, queue_url)

    def queue_depth(self, queue_url: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


class QueueDrain:
    """Receives and deletes messages in a thread; ``wait`` returns the parsed bodies seen so far."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.bodies: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> QueueDrain:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=600,
                    MessageAttributeNames=["All"],
                )
            except Exception:  # the emulator restarting, say: try again
                time.sleep(0.1)
                continue
            messages = reply.get("Messages") or []
            for message in messages:
                body = json.loads(message["Body"])
                attributes = message.get("MessageAttributes") or {}
                body["_attributes"] = {k: v.get("StringValue") for k, v in attributes.items()}
                self.bodies.append(body)
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            else:
                time.sleep(0.05)

    def wait(self, expected: int, timeout: float = 30.0, settle: float = 0.5) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(settle)  # anything extra (a duplicate) would show up now
        return list(self.bodies)


@pytest.fixture
def stack(moto: MotoServer) -> AwsStack:
    suffix = uuid.uuid4().hex[:10]
    events = boto3.client("events", endpoint_url=moto.url, **LOCAL_AWS)
    sqs = boto3.client("sqs", endpoint_url=moto.url, **LOCAL_AWS)
    bus = f"exotel-legs-{suffix}"
    events.create_event_bus(Name=bus)
    subscriber_url = sqs.create_queue(QueueName=f"subscriber-{suffix}")["QueueUrl"]
    subscriber_arn = sqs.get_queue_attributes(QueueUrl=subscriber_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="all-exotel", EventBusName=bus, EventPattern=json.dumps({"source": ["exotel.legs"]}))
    events.put_targets(Rule="all-exotel", EventBusName=bus, Targets=[{"Id": "subscriber", "Arn": subscriber_arn}])
    fallback_url = sqs.create_queue(QueueName=f"fallback-{suffix}")["QueueUrl"]
    dead_letter_url = sqs.create_queue(QueueName=f"deadletter-{suffix}")["QueueUrl"]
    return AwsStack(moto.url, bus, subscriber_url, fallback_url, dead_letter_url, events, sqs)


def bridge_env(stack: AwsStack, endpoint: str, **extra: str) -> dict[str, str]:
    # Generous deadlines unless a test is about them: a loaded machine must not turn a slow
    # emulator into a spill (the deadline tests set their own).
    defaults = {
        "BRIDGE_METRICS_INTERVAL_S": "1",
        "BRIDGE_PUBLISH_DEADLINE_MS": "10000",
        "BRIDGE_FALLBACK_DEADLINE_MS": "5000",
    }
    return child_env(endpoint, stack.bus, stack.fallback_url, stack.dead_letter_url, **{**defaults, **extra})


@pytest.fixture
def start_bridge() -> Iterator[Any]:
    started: list[BridgeProcess] = []

    def start(env: dict[str, str], wait: bool = True) -> BridgeProcess:
        process = BridgeProcess(env)
        started.append(process)
        return process.wait_ready() if wait else process

    yield start
    for process in started:
        process.kill()


def stub(target: str) -> pb_grpc.LegEventServiceStub:
    return pb_grpc.LegEventServiceStub(grpc.insecure_channel(target))


def aio_stub(channel: grpc.aio.Channel) -> pb_grpc.LegEventServiceStub:
    return pb_grpc.LegEventServiceStub(channel)


def make_event(index: int, name: str = "leg_ringing", run: str = "") -> pb.CallbackEvent:
    """A valid leg event with a unique event_sid."""
    from legs.wire import event_to_proto

    run = run or uuid.uuid4().hex[:8]
    return event_to_proto(
        {
            "event_sid": f"evt-{run}-{index:06d}",
            "event_type": "leg_lifecycle_event",
            "event_name": name,
            "event_timestamp": {"seconds": 1_700_000_000 + index, "nanos": 123_456_789},
            "data": {"leg_sid": f"leg-{run}-{index:06d}", "state": "ringing", "direction": "outbound"},
        }
    )
