"""Reliability suite: bounded by default (CI), full size with ``RELIABILITY_FULL=1``.

Real parts over loopback: a moto server (restartable), the fault proxy in front of it, the bridge
as a subprocess (``python -m bridge``), real gRPC clients. Every test here is marked
``reliability``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.bridge_process import BridgeProcess, child_env
from tests.support.moto_server import LOCAL_AWS, MotoServer

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("RELIABILITY_FULL", "") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


def size(bounded: int, full: int) -> int:
    """The bounded figure in CI, the full one with RELIABILITY_FULL=1."""
    return full if FULL else bounded


@dataclass
class Resources:
    """Bus + subscriber rule -> queue, fallback and dead-letter queues, with fixed names.

    Fixed names make :meth:`provision` idempotent and give the same queue URLs after the emulator
    restarts (it forgets everything), so a bridge configured once keeps working.
    """

    url: str
    prefix: str
    bus: str = ""
    subscriber_url: str = ""
    fallback_url: str = ""
    dead_letter_url: str = ""
    events: Any = field(default=None, repr=False)
    sqs: Any = field(default=None, repr=False)

    def provision(self) -> Resources:
        self.events = boto3.client("events", endpoint_url=self.url, **LOCAL_AWS)
        self.sqs = boto3.client("sqs", endpoint_url=self.url, **LOCAL_AWS)
        self.bus = f"{self.prefix}-bus"
        # queues first, then the bus with its rule and target: the bus never accepts an event that
        # has nowhere to go (which would look like a loss that is only the emulator's amnesia).
        self.subscriber_url = self.sqs.create_queue(QueueName=f"{self.prefix}-subscriber")["QueueUrl"]
        self.fallback_url = self.sqs.create_queue(QueueName=f"{self.prefix}-fallback")["QueueUrl"]
        self.dead_letter_url = self.sqs.create_queue(QueueName=f"{self.prefix}-deadletter")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.subscriber_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        with contextlib.suppress(self.events.exceptions.ResourceAlreadyExistsException):
            self.events.create_event_bus(Name=self.bus)
        self.events.put_rule(
            Name="everything", EventBusName=self.bus, EventPattern=json.dumps({"source": ["exotel.legs"]})
        )
        self.events.put_targets(Rule="everything", EventBusName=self.bus, Targets=[{"Id": "subscriber", "Arn": arn}])
        return self

    def drain(self, queue_url: str, quiet_polls: int = 2) -> list[dict[str, Any]]:
        """Every message now in the queue, deleted once read (so each is read once, and moto, which scans
        the whole queue on each receive, stays fast)."""
        out: list[dict[str, Any]] = []
        empty = 0
        while empty < quiet_polls:
            reply = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=3600, MessageAttributeNames=["All"]
            )
            messages = reply.get("Messages") or []
            if not messages:
                empty += 1
                continue
            empty = 0
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            for message in messages:
                body = json.loads(message["Body"])
                body["_attributes"] = {
                    k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()
                }
                out.append(body)
        return out


def launch_bridge(env: dict[str, str], timeout: float = 30.0) -> BridgeProcess:
    """Start ``python -m bridge`` and wait until it serves (raises with its last lines if it does not)."""
    return BridgeProcess(env).wait_ready(timeout)


def bridge_env(resources: Resources, endpoint: str, **extra: str) -> dict[str, str]:
    extra = {"BRIDGE_METRICS_INTERVAL_S": "3600", **extra}
    return child_env(endpoint, resources.bus, resources.fallback_url, resources.dead_letter_url, **extra)


@pytest.fixture(scope="session")
def shared_moto() -> Iterator[MotoServer]:
    """One emulator for the tests that never restart it."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def start_bridge() -> Iterator[Any]:
    started: list[BridgeProcess] = []

    def start(env: dict[str, str]) -> BridgeProcess:
        bridge = launch_bridge(env)
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        bridge.kill()


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
