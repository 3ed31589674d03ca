"""The console's view of the bus: a subscription to everything from the configured source, into a queue drained here.

Another subscriber like any other, so the console sees exactly what subscribers see, including events no
function's rule routes (action events: ``say_started``, ``play_*``…):

- classic mode: an EventBridge rule on the bus -> the SQS queue;
- ordered mode (``DEVSTACK_BUS_MODE=ordered``: the bridge publishes to the local EventsV2 bus): an UNORDERED
  EventsV2 subscriber on that bus with the same pattern (scope ``DATA``, transformer ``RAW``: the delivered body
  is the same EventBridge event) -> the same queue. UNORDERED because the feed shows events as they arrive and
  orders nothing itself; a FIFO subscriber would hold every later event of a leg behind one slow delivery.

The newest events are kept in memory (a ring buffer) and handed to the browser over Server-Sent Events.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.deployment import PROJECT_TAG
from devstack.config import LOCAL_AWS_ACCOUNT
from devstack.emulator import AwsEmulator

log = logging.getLogger("devstack.console")

RULE_NAME = f"{PROJECT_TAG}-console"
#: Ordered mode: the feed's EventsV2 subscriber (the same name as the classic rule).
SUBSCRIBER_NAME = RULE_NAME
QUEUE_NAME = f"{PROJECT_TAG}-console-feed"
TARGET_ID = "devstack-console"
#: The role a subscriber would assume in AWS (the local endpoint does not check it).
SUBSCRIBER_ROLE = f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:role/{PROJECT_TAG}-console"
DEFAULT_CAPACITY = 2000
LEGS_KEPT = 1000  # legs the feed remembers (newest first seen), for the console's list
POLL_WAIT_SECONDS = 1


@dataclass(frozen=True)
class EventsV2Bus:
    """Ordered mode: the local EventsV2 bus the feed subscribes to, and how to reach its endpoint."""

    bus_arn: str
    client: Callable[[], Any]  # an ``eventbridgev2`` client bound to the local endpoint


class BusFeed:
    """Subscribes on :meth:`start`; :meth:`since` and :meth:`for_leg` read what arrived (thread-safe)."""

    def __init__(
        self,
        emulator: AwsEmulator,
        bus_name: str,
        source: str,
        *,
        v2_bus: EventsV2Bus | None = None,
        capacity: int = DEFAULT_CAPACITY,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self._emulator = emulator
        self._bus = bus_name
        self._v2_bus = v2_bus
        self.subscriber_arn = ""
        self.pattern = {"source": [source]}
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._legs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._event_sids: OrderedDict[str, None] = OrderedDict()  # recent ones: a repeat delivery is marked
        self._capacity = capacity
        self._lock = threading.Lock()
        self._seq = 0
        self._on_event = on_event
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.queue_url = ""
        self.received = 0

    @property
    def described(self) -> dict[str, Any]:
        """What the console's info says about the feed: how it subscribes, with which pattern, into which queue."""
        if self._v2_bus is not None:
            return {
                "subscriber": SUBSCRIBER_NAME,
                "subscriber_type": "UNORDERED",
                "bus_arn": self._v2_bus.bus_arn,
                "queue": QUEUE_NAME,
                "pattern": self.pattern,
            }
        return {"rule": RULE_NAME, "queue": QUEUE_NAME, "pattern": self.pattern}

    def start(self) -> None:
        sqs = self._emulator.client("sqs")
        self.queue_url = sqs.create_queue(QueueName=QUEUE_NAME, Attributes={"MessageRetentionPeriod": "3600"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if self._v2_bus is not None:
            self.subscriber_arn = self._subscribe_v2(self._v2_bus, arn)
            how = f"UNORDERED subscriber {SUBSCRIBER_NAME} on EventsV2 bus {self._v2_bus.bus_arn}"
        else:
            self._subscribe_classic(arn)
            how = f"rule {RULE_NAME}"
        self._thread = threading.Thread(target=self._drain, args=(sqs,), name="console-feed", daemon=True)
        self._thread.start()
        log.info("console feed: %s (%s) -> %s", how, json.dumps(self.pattern), QUEUE_NAME)

    def _subscribe_classic(self, queue_arn: str) -> None:
        events = self._emulator.client("events")
        events.put_rule(
            Name=RULE_NAME,
            EventBusName=self._bus,
            EventPattern=json.dumps(self.pattern),
            State="ENABLED",
            Description="devstack console: every event from the configured source (local only)",
        )
        events.put_targets(Rule=RULE_NAME, EventBusName=self._bus, Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])

    def _subscribe_v2(self, v2_bus: EventsV2Bus, queue_arn: str) -> str:
        """The feed's UNORDERED subscriber (the one already there, if the endpoint has it): its ARN."""
        client = v2_bus.client()
        listed = client.list_subscribers(EventBusArn=v2_bus.bus_arn, NamePrefix=SUBSCRIBER_NAME)["Subscribers"]
        for existing in listed:
            if existing["Name"] == SUBSCRIBER_NAME:
                return str(existing["SubscriberArn"])
        reply = client.create_subscriber(
            Name=SUBSCRIBER_NAME,
            EventBusArn=v2_bus.bus_arn,
            Description="devstack console: every event from the configured source (local only)",
            Type="UNORDERED",
            InvokeConfiguration={"RoleArn": SUBSCRIBER_ROLE, "TargetArn": queue_arn},
            FilterConfiguration={"Filters": [{"Pattern": json.dumps(self.pattern), "Scope": "DATA"}]},
            Transformer={"Type": "RAW"},
            StartingPosition="LATEST",
        )
        return str(reply["SubscriberArn"])

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(POLL_WAIT_SECONDS + 2)

    # ---- reading --------------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def since(self, seq: int, limit: int = 500) -> list[dict[str, Any]]:
        """Items after ``seq`` (oldest first), at most ``limit`` of the newest."""
        with self._lock:
            items = [item for item in self._items if item["seq"] > seq]
        return items[-limit:]

    def legs(self, limit: int = 200) -> list[dict[str, Any]]:
        """The legs seen on the bus, newest first: sid, number, and the latest state an event gave."""
        with self._lock:
            legs = [dict(leg) for leg in self._legs.values()]
        return list(reversed(legs))[:limit]

    def for_leg(self, leg_sid: str) -> list[dict[str, Any]]:
        """Every buffered event about this leg: its own, and bridge events naming it among the bridge's legs."""
        with self._lock:
            items = list(self._items)
        return [item["event"] for item in items if leg_sid in _leg_sids(item["event"])]

    # ---- draining -------------------------------------------------------------------------------
    def _drain(self, sqs: Any) -> None:
        while not self._stop.is_set():
            try:
                reply = sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=POLL_WAIT_SECONDS
                )
                messages = reply.get("Messages", [])
                if messages:
                    sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                    )
            except Exception as exc:  # the emulator is stopping, or busy: try again shortly
                if self._stop.is_set():
                    return
                log.debug("console feed: receive failed (%s); retrying", exc)
                self._stop.wait(1.0)
                continue
            if messages:
                self._keep(messages)
                self._on_event()

    def _keep(self, messages: list[dict[str, Any]]) -> None:
        now_ms = time.time() * 1000
        with self._lock:
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                except ValueError:
                    continue
                self._seq += 1
                self.received += 1
                detail = event.get("detail") or {}
                sid = str(detail.get("event_sid") or "")
                repeat = sid in self._event_sids
                self._event_sids[sid] = None
                while len(self._event_sids) > self._capacity:
                    self._event_sids.popitem(last=False)
                self._items.append({"seq": self._seq, "received_ms": now_ms, "event": event, "repeat": repeat})
                self._note_leg(detail, now_ms)

    def _note_leg(self, detail: dict[str, Any], now_ms: float) -> None:
        data = detail.get("data") or {}
        leg_sid = data.get("leg_sid")
        if not leg_sid:
            return
        when = str(detail.get("event_timestamp") or "")
        leg = self._legs.get(leg_sid)
        if leg is None:
            leg = self._legs[leg_sid] = {"leg_sid": leg_sid, "first_seen_ms": now_ms, "event_time": ""}
            while len(self._legs) > LEGS_KEPT:
                self._legs.popitem(last=False)
        for field in ("contact_uri", "direction", "exophone", "custom_param"):
            if data.get(field) and not leg.get(field):
                leg[field] = data[field]
        # RFC 3339 texts of one clock compare in time order: the latest event gives the state
        if data.get("state") and when >= leg["event_time"]:
            leg.update(
                event_time=when,
                state=data.get("state"),
                last_event=detail.get("event_name"),
                terminal_status=data.get("terminal_status") or leg.get("terminal_status"),
                answered_by=data.get("answered_by") or leg.get("answered_by"),
            )


def _leg_sids(event: dict[str, Any]) -> set[str]:
    data = (event.get("detail") or {}).get("data") or {}
    sids = set(data.get("leg_sids") or [])
    if data.get("leg_sid"):
        sids.add(data["leg_sid"])
    return sids
