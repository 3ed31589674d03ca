"""``python -m devstack.subscribe``: subscribe to the local bus as another team would, and print what arrives.

It does what a subscriber's CDK or CLI would do, with boto3 (installed in .venv) against the devstack's
AWS emulator: an SQS queue, a rule on the bus with an event pattern, the queue as the rule's target.
Then it prints each event the rule delivers (the whole EventBridge event, as a subscriber's Lambda or
queue receives it) until Ctrl-C, ``--count`` events or ``--timeout`` seconds, and removes the rule and
the queue again (``--keep`` leaves them).

Reads ``AWS_ENDPOINT_URL`` (default: the devstack's default emulator address), ``AWS_REGION``,
``EVENT_BUS_NAME`` and ``EVENT_SOURCE`` like every other part of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from types import FrameType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE
from contract.env import AwsEnv, Env
from devstack.config import DevstackConfig
from devstack.emulator import DUMMY_KEY, DUMMY_SECRET

TARGET_ID = "subscriber-queue"


def pattern_from(args: argparse.Namespace, source: str) -> dict[str, Any]:
    """``--pattern`` as given, else the source plus any ``--detail-type``/``--leg-sid`` filters."""
    if args.pattern:
        try:
            pattern = json.loads(args.pattern)
        except ValueError as exc:
            raise SystemExit(f"subscribe: --pattern is not JSON: {exc}") from exc
        if not isinstance(pattern, dict):
            raise SystemExit('subscribe: --pattern must be a JSON object, e.g. \'{"source": ["exotel.legs"]}\'')
        return pattern
    pattern: dict[str, Any] = {"source": [source]}
    if args.detail_type:
        pattern["detail-type"] = list(args.detail_type)
    if args.leg_sid:
        pattern["detail"] = {"data": {"leg_sid": list(args.leg_sid)}}
    return pattern


class Subscription:
    """A queue + rule + target on the bus; :meth:`close` removes them."""

    def __init__(self, endpoint_url: str, region: str, bus: str, pattern: dict[str, Any]) -> None:
        session = boto3.session.Session(aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_SECRET)
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=30)
        kwargs = {"endpoint_url": endpoint_url, "region_name": region, "config": config}
        self.events = session.client("events", **kwargs)
        self.sqs = session.client("sqs", **kwargs)
        self.bus = bus
        self.pattern = pattern
        self.name = f"subscriber-{uuid.uuid4().hex[:8]}"
        self.queue_url = ""

    def open(self) -> None:
        self.events.describe_event_bus(Name=self.bus)  # a clear error now rather than a silent rule later
        self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        queue_arn = arn["Attributes"]["QueueArn"]
        self.events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(self.pattern))
        self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])

    def receive(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = reply.get("Messages", [])
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return [json.loads(m["Body"]) for m in messages]

    def close(self) -> None:
        for step in (
            lambda: self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=[TARGET_ID]),
            lambda: self.events.delete_rule(Name=self.name, EventBusName=self.bus),
            lambda: self.sqs.delete_queue(QueueUrl=self.queue_url) if self.queue_url else None,
        ):
            # the emulator may be gone already (make run stopped first): nothing left to clean then
            with contextlib.suppress(BotoCoreError, ClientError):
                step()


def describe(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    data = detail.get("data") or {}
    sid = data.get("leg_sid") or data.get("bridge_sid") or "-"
    state = data.get("state") or ""
    return f"{time.strftime('%H:%M:%S')}  {event.get('detail-type')}  {sid}  {state}".rstrip()


def main(argv: list[str] | None = None) -> int:
    defaults = DevstackConfig()
    parser = argparse.ArgumentParser(
        prog="python -m devstack.subscribe",
        description="Subscribe to the local bus (a rule -> an SQS queue) and print every event the rule delivers.",
        epilog="Environment: AWS_ENDPOINT_URL (the devstack's emulator), AWS_REGION, EVENT_BUS_NAME, EVENT_SOURCE.",
    )
    parser.add_argument("--detail-type", action="append", help="an event name to match (repeatable); default: all")
    parser.add_argument("--leg-sid", action="append", help="only events of this leg (repeatable)")
    parser.add_argument("--pattern", help="a whole EventBridge event pattern (JSON) instead of the filters above")
    parser.add_argument("--count", type=int, default=0, help="stop after this many events (default: run until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (default: none)")
    parser.add_argument("--compact", action="store_true", help="one line per event instead of the whole event")
    parser.add_argument("--keep", action="store_true", help="leave the rule and the queue in place on exit")
    args = parser.parse_args(argv)

    endpoint = os.environ.get(AwsEnv.ENDPOINT_URL) or f"http://{defaults.host}:{defaults.aws_emulator_port}"
    region = os.environ.get(AwsEnv.REGION) or defaults.aws_region
    bus = os.environ.get(Env.EVENT_BUS_NAME) or DEFAULT_BUS_NAME
    source = os.environ.get(Env.EVENT_SOURCE) or defaults.event_source or DEFAULT_SOURCE
    subscription = Subscription(endpoint, region, bus, pattern_from(args, source))
    try:
        subscription.open()
    except EndpointConnectionError:
        hint = "is `make run` running? (or set AWS_ENDPOINT_URL)"
        print(f"subscribe: nothing answers at {endpoint}: {hint}", file=sys.stderr)
        return 2
    except ClientError as exc:
        print(f"subscribe: {endpoint} refused: {exc}", file=sys.stderr)
        subscription.close()
        return 2

    stopping = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(
        f"rule {subscription.name} on bus {bus} ({endpoint}), pattern {json.dumps(subscription.pattern)}\n"
        f"  -> SQS queue {subscription.name}. Waiting for events (Ctrl-C to stop)...",
        flush=True,
    )
    received = 0
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        while not stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                events = subscription.receive()
            except (BotoCoreError, ClientError) as exc:
                print(f"subscribe: the emulator went away ({exc}); stopping", file=sys.stderr)
                return 1
            for event in events:
                received += 1
                whole = "" if args.compact else "\n" + json.dumps(event, indent=2)
                print(describe(event) + whole, flush=True)
                if args.count and received >= args.count:
                    stopping.set()
                    break
    finally:
        if not args.keep:
            subscription.close()
    print(f"received {received} event(s)" + ("" if args.keep else "; rule and queue removed"), flush=True)
    return 1 if args.count and received < args.count else 0


if __name__ == "__main__":
    sys.exit(main())
