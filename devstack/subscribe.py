"""``python -m devstack.subscribe``: subscribe to the local bus as another team would, and print what arrives.

It does what a subscriber's CDK or CLI would do, with boto3 (installed in .venv) against the devstack:

- classic mode: an SQS queue in the AWS emulator, a rule on the bus with an event pattern, the queue as the
  rule's target;
- ordered mode (``DEVSTACK_BUS_MODE=ordered``: the bridge publishes to the local EventsV2 bus): an SQS queue
  and an EventsV2 subscriber on the local bus with the same pattern (scope ``DATA``, transformer ``RAW``)
  delivering to it: UNORDERED by default, FIFO with ``--fifo`` (each leg's events in the order the bus stored
  them, into a FIFO queue whose message group is the leg).

Which mode the devstack runs in, and where its EventsV2 endpoint and bus are, it reads from the devstack's
READY record, which the emulator serves (``devstack.ready``); ``--bus-mode`` and ``--eventsv2-url`` (or
``AWS_ENDPOINT_URL_EVENTBRIDGEV2``) say it instead. Then it prints each event delivered (the whole EventBridge
event, as a subscriber's Lambda or queue receives it) until Ctrl-C, ``--count`` events or ``--timeout``
seconds, and removes the rule or subscriber and the queue again (``--keep`` leaves them).

Reads ``AWS_ENDPOINT_URL`` (default: the devstack's default emulator address), ``AWS_REGION``,
``EVENT_BUS_NAME`` and ``EVENT_SOURCE`` like every other part of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, BusMode
from contract.deployment import PROJECT_TAG
from contract.env import AwsEnv, Env
from devstack.config import LOCAL_AWS_ACCOUNT, DevstackConfig
from devstack.emulator import DUMMY_KEY, DUMMY_SECRET
from devstack.ready import NotReady, ReadyInfo, fetch_ready
from devstack.stopflag import StopFlag

TARGET_ID = "subscriber-queue"
#: The role a subscriber would assume in AWS (the local EventsV2 endpoint does not check it).
SUBSCRIBER_ROLE = f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:role/{PROJECT_TAG}-subscriber"
AUTO = "auto"


class Unusable(Exception):
    """The subscription cannot be made as asked (the message says why); the helper exits 2."""


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


def _session() -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_SECRET)


def _client_kwargs(endpoint_url: str, region: str) -> dict[str, Any]:
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=30)
    return {"endpoint_url": endpoint_url, "region_name": region, "config": config}


class Subscription:
    """A queue + rule + target on the classic bus; :meth:`close` removes them."""

    kind = "rule"

    def __init__(self, endpoint_url: str, region: str, bus: str, pattern: dict[str, Any]) -> None:
        session = _session()
        kwargs = _client_kwargs(endpoint_url, region)
        self.events = session.client("events", **kwargs)
        self.sqs = session.client("sqs", **kwargs)
        self.bus = bus
        self.pattern = pattern
        self.name = f"subscriber-{uuid.uuid4().hex[:8]}"
        self.queue_url = ""

    def open(self) -> None:
        self.events.describe_event_bus(Name=self.bus)  # a clear error now rather than a silent rule later
        queue_arn = self._queue()
        self.events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(self.pattern))
        self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])

    def _queue(self, fifo: bool = False) -> str:
        """Create the subscriber's queue; its ARN."""
        name, attributes = self.name, {}
        if fifo:
            name, attributes = f"{self.name}.fifo", {"FifoQueue": "true"}
        self.queue_url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        return str(arn["Attributes"]["QueueArn"])

    def describe(self) -> str:
        """What was created, for the line printed before waiting."""
        return f"rule {self.name} on bus {self.bus}"

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
        self._remove(
            lambda: self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=[TARGET_ID]),
            lambda: self.events.delete_rule(Name=self.name, EventBusName=self.bus),
        )

    def _remove(self, *steps: Any) -> None:
        for step in (*steps, lambda: self.sqs.delete_queue(QueueUrl=self.queue_url) if self.queue_url else None):
            # the emulator may be gone already (make run stopped first): nothing left to clean then
            with contextlib.suppress(BotoCoreError, ClientError):
                step()


class V2Subscription(Subscription):
    """Ordered mode: a queue + an EventsV2 subscriber (UNORDERED, or FIFO into a FIFO queue) on the local bus."""

    kind = "subscriber"

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        bus: str,
        pattern: dict[str, Any],
        *,
        eventsv2_url: str,
        bus_arn: str | None,
        fifo: bool,
    ) -> None:
        super().__init__(endpoint_url, region, bus, pattern)
        self.eventsv2 = _session().client("eventbridgev2", **_client_kwargs(eventsv2_url, region))
        self.eventsv2_url = eventsv2_url
        self.bus_arn = bus_arn or ""
        self.fifo = fifo
        self.subscriber_arn = ""

    @property
    def type(self) -> str:
        return "FIFO" if self.fifo else "UNORDERED"

    def open(self) -> None:
        if not self.bus_arn:  # not given by the READY record: the bus of that name on the endpoint
            buses = self.eventsv2.list_event_buses(NamePrefix=self.bus)["EventBuses"]
            found = [b["EventBusArn"] for b in buses if b["Name"] == self.bus]
            if not found:
                raise LookupError(f"no EventsV2 bus named {self.bus!r} at {self.eventsv2_url}")
            self.bus_arn = str(found[0])
        self.eventsv2.describe_event_bus(EventBusArn=self.bus_arn)  # a clear error now, not a silent subscriber
        queue_arn = self._queue(fifo=self.fifo)
        created = self.eventsv2.create_subscriber(
            Name=self.name,
            EventBusArn=self.bus_arn,
            Description="python -m devstack.subscribe (local only)",
            Type=self.type,
            InvokeConfiguration={"RoleArn": SUBSCRIBER_ROLE, "TargetArn": queue_arn},
            FilterConfiguration={"Filters": [{"Pattern": json.dumps(self.pattern), "Scope": "DATA"}]},
            Transformer={"Type": "RAW"},
            StartingPosition="LATEST",
        )
        self.subscriber_arn = str(created["SubscriberArn"])

    def describe(self) -> str:
        return f"{self.type} subscriber {self.name} on EventsV2 bus {self.bus_arn} ({self.eventsv2_url})"

    def close(self) -> None:
        def delete_subscriber() -> None:
            if self.subscriber_arn:
                self.eventsv2.delete_subscriber(SubscriberArn=self.subscriber_arn)

        self._remove(delete_subscriber)


def describe(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    data = detail.get("data") or {}
    sid = data.get("leg_sid") or data.get("bridge_sid") or "-"
    state = data.get("state") or ""
    return f"{time.strftime('%H:%M:%S')}  {event.get('detail-type')}  {sid}  {state}".rstrip()


def bus_mode_of(args: argparse.Namespace, endpoint: str) -> tuple[BusMode, ReadyInfo | None]:
    """``--bus-mode``, else the running devstack's (its READY record); classic when no devstack says otherwise."""
    try:
        info = fetch_ready(endpoint)
    except NotReady as exc:
        raise Unusable(f"{exc}; run this again once it prints its banner") from None
    if args.bus_mode != AUTO:
        return BusMode(args.bus_mode), info
    if info is None:  # nothing answers (the subscription says so next), or an emulator that is not a devstack
        return BusMode.CLASSIC, None
    return BusMode(info.bus_mode), info


def subscription_for(
    args: argparse.Namespace, endpoint: str, region: str, bus: str, pattern: dict[str, Any]
) -> Subscription:
    mode, info = bus_mode_of(args, endpoint)
    if mode is BusMode.CLASSIC:
        if args.fifo:
            raise Unusable(
                "--fifo needs the devstack's ordered mode (DEVSTACK_BUS_MODE=ordered): a classic bus has "
                "no FIFO subscribers (a rule delivers events in no particular order)"
            )
        return Subscription(endpoint, region, bus, pattern)
    from_devstack = info.eventsv2_url if info is not None else None
    eventsv2_url = args.eventsv2_url or os.environ.get(AwsEnv.endpoint_url_for("eventbridgev2")) or from_devstack
    if not eventsv2_url:
        raise Unusable(
            "ordered mode, but where is the local EventsV2 endpoint? The devstack's READY record did not "
            f"say (is it running at {endpoint}?); give --eventsv2-url"
        )
    bus_arn = info.bus_arn if info is not None else None
    return V2Subscription(
        endpoint, region, bus, pattern, eventsv2_url=eventsv2_url, bus_arn=bus_arn, fifo=bool(args.fifo)
    )


def main(argv: list[str] | None = None) -> int:
    defaults = DevstackConfig()
    parser = argparse.ArgumentParser(
        prog="python -m devstack.subscribe",
        description=(
            "Subscribe to the local bus (a rule, or in ordered mode an EventsV2 subscriber -> an SQS queue) and "
            "print every event delivered."
        ),
        epilog=(
            "Environment: AWS_ENDPOINT_URL (the devstack's emulator), AWS_REGION, EVENT_BUS_NAME, EVENT_SOURCE, "
            "AWS_ENDPOINT_URL_EVENTBRIDGEV2 (ordered mode, when the devstack does not say)."
        ),
    )
    parser.add_argument("--detail-type", action="append", help="an event name to match (repeatable); default: all")
    parser.add_argument("--leg-sid", action="append", help="only events of this leg (repeatable)")
    parser.add_argument("--pattern", help="a whole EventBridge event pattern (JSON) instead of the filters above")
    parser.add_argument("--count", type=int, default=0, help="stop after this many events (default: run until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (default: none)")
    parser.add_argument("--compact", action="store_true", help="one line per event instead of the whole event")
    parser.add_argument("--keep", action="store_true", help="leave the rule/subscriber and the queue in place on exit")
    parser.add_argument(
        "--fifo",
        action="store_true",
        help="ordered mode: a FIFO subscriber (each leg's events in order) into a FIFO queue; default UNORDERED",
    )
    parser.add_argument(
        "--bus-mode",
        choices=[AUTO, *(mode.value for mode in BusMode)],
        default=AUTO,
        help="the devstack's bus mode (default: ask the running devstack)",
    )
    parser.add_argument("--eventsv2-url", help="ordered mode: the local EventsV2 endpoint (default: the devstack's)")
    args = parser.parse_args(argv)

    endpoint = os.environ.get(AwsEnv.ENDPOINT_URL) or f"http://{defaults.host}:{defaults.aws_emulator_port}"
    region = os.environ.get(AwsEnv.REGION) or defaults.aws_region
    bus = os.environ.get(Env.EVENT_BUS_NAME) or DEFAULT_BUS_NAME
    source = os.environ.get(Env.EVENT_SOURCE) or defaults.event_source or DEFAULT_SOURCE
    try:
        subscription = subscription_for(args, endpoint, region, bus, pattern_from(args, source))
    except Unusable as exc:
        print(f"subscribe: {exc}", file=sys.stderr)
        return 2
    try:
        subscription.open()
    except EndpointConnectionError as exc:
        hint = "is `make run` running? (or set AWS_ENDPOINT_URL)"
        print(f"subscribe: nothing answers at {exc.kwargs.get('endpoint_url') or endpoint}: {hint}", file=sys.stderr)
        return 2
    except (ClientError, LookupError) as exc:
        print(f"subscribe: {endpoint} refused: {exc}", file=sys.stderr)
        subscription.close()
        return 2

    stopping = StopFlag().install()
    print(
        f"{subscription.describe()} ({endpoint}), pattern {json.dumps(subscription.pattern)}\n"
        f"  -> SQS queue {subscription.queue_url.rsplit('/', 1)[-1]}. Waiting for events (Ctrl-C to stop)...",
        flush=True,
    )
    received = 0
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        while not stopping.stopped:
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
                    stopping.stop()
                    break
    finally:
        if not args.keep:
            subscription.close()
    removed = "" if args.keep else f"; {subscription.kind} and queue removed"
    print(f"received {received} event(s)" + removed, flush=True)
    return 1 if args.count and received < args.count else 0


if __name__ == "__main__":
    sys.exit(main())
