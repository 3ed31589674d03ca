"""What the console shows, as JSON: legs and calls (from the LegState and CallPlans tables), their timelines,
and the queues (counts, and a look at the messages of the queues no function drains).

A leg's timeline is what the ``leg_state`` function recorded, plus what the console's own bus feed saw
for that leg and the record lacks (today: action events such as ``say_started``, which no rule routes to
``leg_state``). Each entry says where it came from (``origin``: ``recorded`` or ``bus``).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from contract.catalogue import BY_NAME, EventKind
from contract.resources import CALL_PLANS_TABLE, DEAD_LETTER_QUEUE, FALLBACK_QUEUE, LEG_STATE_TABLE, RETRY_QUEUE
from devstack.console.feed import BusFeed
from devstack.emulator import AwsEmulator
from devstack.ordered import OrderedBusRef
from devstack.resources import Provisioned, QueueRef
from devstack.times import epoch_ms
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.leg_state import STATE_SK, LegStateStore, leg_pk
from lambdas.domain.call_plan import CallPlan

LIST_LIMIT = 200
PEEK_LIMIT = 10
BODY_PREVIEW_CHARS = 4000
_LEG_FIELDS = (
    "leg_sid",
    "state",
    "terminal_status",
    "answered_by",
    "direction",
    "contact_uri",
    "exophone",
    "custom_param",
    "created_at",
    "updated_at",
    "answered_at",
    "ended_at",
    "last_event",
    "bridge_sid",
)


def kind_of(name: str) -> str:
    spec = BY_NAME.get(name)
    return str(spec.kind) if spec else str(EventKind.LEG)


def timeline_entry(detail: dict[str, Any], origin: str) -> dict[str, Any]:
    """One event of a leg's timeline, the same shape whichever way the console learnt of it."""
    data = detail.get("data") or {}
    event_data = detail.get("event_data") or {}
    name = str(detail.get("event_name") or "")
    time_text = detail.get("event_timestamp")
    return {
        "event_sid": detail.get("event_sid"),
        "event_name": name,
        "kind": kind_of(name),
        "time": time_text,
        "t": epoch_ms(time_text),
        "state": data.get("state"),
        "terminal_status": data.get("terminal_status"),
        "answered_by": data.get("answered_by"),
        "bridge_sid": data.get("bridge_sid") or event_data.get("bridge_sid"),
        "action_sid": detail.get("action_sid"),
        "origin": origin,
        "detail": detail,
    }


class Views:
    """Reads for the console's JSON API. One lock: boto3 resources are not thread-safe, and traffic is tiny."""

    def __init__(
        self,
        emulator: AwsEmulator,
        provisioned: Provisioned,
        feed: BusFeed | None,
        *,
        ordered: OrderedBusRef | None = None,
    ) -> None:
        self._dynamodb = dynamodb = emulator.resource("dynamodb")
        self._leg_table = dynamodb.Table(provisioned.tables[LEG_STATE_TABLE.id])
        self._plan_table = dynamodb.Table(provisioned.tables[CALL_PLANS_TABLE.id])
        self._legs = LegStateStore(self._leg_table)
        self._plans = PlanStore(self._plan_table)
        self._sqs = emulator.client("sqs")
        self._provisioned = provisioned
        self._ordered = ordered
        self._feed = feed
        self._lock = threading.Lock()

    # ---- legs -----------------------------------------------------------------------------------
    def legs(self) -> list[dict[str, Any]]:
        """The legs the bus feed saw (newest first), each with its recorded state when ``leg_state`` has one.

        The list comes from the feed, not from a table scan: the emulator runs DynamoDB requests one at a time
        and shares a process with the functions, and a scan grows with every event. Recorded states are read by
        key, in batches.
        """
        seen = self._feed.legs(LIST_LIMIT) if self._feed else []
        with self._lock:
            recorded = self._recorded_states([leg["leg_sid"] for leg in seen])
            roles = self._roles()
        legs = []
        for leg in seen:
            sid = leg["leg_sid"]
            state = recorded.get(sid)
            merged = {k: _plain(state.get(k)) for k in _LEG_FIELDS} if state else {k: leg.get(k) for k in _LEG_FIELDS}
            # the record lags the bus by a moment: a later event on the bus gives the state meanwhile ("not yet")
            behind = state is not None and str(leg.get("event_time") or "") > str(state.get("updated_at") or "")
            if behind:
                merged.update({k: leg.get(k) or merged.get(k) for k in ("state", "terminal_status", "answered_by")})
            merged.update(leg_sid=sid, recorded=bool(state) and not behind, first_seen_ms=leg.get("first_seen_ms"))
            merged["contact_uri"] = merged.get("contact_uri") or leg.get("contact_uri")
            legs.append({**merged, **roles.get(sid, {})})
        return legs

    def leg(self, leg_sid: str) -> dict[str, Any] | None:
        with self._lock:
            state = self._legs.get_leg(leg_sid)
            recorded = self._legs.events(leg_sid)
        seen_on_bus = self._feed.for_leg(leg_sid) if self._feed else []
        if state is None and not seen_on_bus:
            return None
        leg = {k: (state or {}).get(k) for k in _LEG_FIELDS} | {"leg_sid": leg_sid}
        return {"leg": leg, "timeline": merge_timeline(recorded, seen_on_bus)}

    # ---- calls ----------------------------------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            plans = self._all_plans()
        out = [
            {
                "plan_id": plan.plan_id,
                "status": plan.status,
                "outcome": plan.outcome,
                "customer": plan.customer,
                "agent": plan.agent,
                "dials": len(plan.attempts),
                "bridge_sid": plan.bridge_sid,
                "created_at": plan.created_at,
                "updated_at": plan.updated_at,
            }
            for plan in plans
        ]
        out.sort(key=lambda call: call["created_at"], reverse=True)
        return out[:LIST_LIMIT]

    def call(self, plan_id: str) -> dict[str, Any] | None:
        with self._lock:
            plan = self._plans.get(plan_id)
        if plan is None:
            return None
        lanes = []
        for attempt in sorted(plan.attempts, key=lambda a: (a.role != plan.first_role, a.role, a.attempt)):
            detail = self.leg(attempt.leg_sid) if attempt.leg_sid else None
            lanes.append(
                {
                    "label": f"{attempt.role} #{attempt.attempt}",
                    "role": attempt.role,
                    "attempt": attempt.attempt,
                    "number": attempt.number,
                    "status": attempt.status,
                    "leg_sid": attempt.leg_sid,
                    "terminal_status": attempt.terminal_status,
                    "answered_by": attempt.answered_by,
                    "error": attempt.error,
                    "leg": detail["leg"] if detail else None,
                    "timeline": detail["timeline"] if detail else [],
                }
            )
        return {"call": plan.public(), "lanes": lanes}

    # ---- queues ---------------------------------------------------------------------------------
    def queues(self) -> list[dict[str, Any]]:
        rows = []
        for ref, role, peekable in self._queue_refs():
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=ref.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            rows.append(
                {
                    "name": ref.name,
                    "role": role,
                    "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                    "peekable": peekable,
                }
            )
        return rows

    def peek(self, name: str) -> dict[str, Any] | None:
        """The first messages of a queue no function drains, left in place (visibility timeout 0).

        SQS has no "peek": a receive with visibility 0 leaves each message visible, but counts a receive. That
        is harmless on a dead-letter queue (nothing moves it further); on a queue a function drains (the
        fallback queue, rule queues) it would race the function and could push a message to the queue's DLQ
        early, so those are never peeked: only counted.
        """
        found = next(((ref, role) for ref, role, peekable in self._queue_refs() if ref.name == name and peekable), None)
        if found is None:
            return None
        ref, role = found
        reply = self._sqs.receive_message(
            QueueUrl=ref.url,
            MaxNumberOfMessages=PEEK_LIMIT,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = []
        for message in reply.get("Messages", []):
            body: Any = message.get("Body", "")
            try:
                body = json.loads(body)
            except ValueError:
                body = str(body)[:BODY_PREVIEW_CHARS]
            messages.append(
                {
                    "message_id": message["MessageId"],
                    "sent_ms": int(message.get("Attributes", {}).get("SentTimestamp", 0)),
                    "receive_count": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                    "attributes": {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()},
                    "body": body,
                }
            )
        return {"name": ref.name, "role": role, "messages": messages}

    # ---- helpers --------------------------------------------------------------------------------
    def _queue_refs(self) -> list[tuple[QueueRef, str, bool]]:
        """(queue, what it is, may it be peeked): the bridge's queues first, then each function's DLQ (its rule's;
        in ordered mode its EventsV2 subscriber's)."""
        provisioned = self._provisioned
        refs: list[tuple[QueueRef, str, bool]] = []
        purposes = {
            FALLBACK_QUEUE.id: ("bridge fallback: events the bridge could not put on the bus (redrive replays)", False),
            DEAD_LETTER_QUEUE.id: ("bridge dead-letter: input the bridge rejected, with the reason", True),
            RETRY_QUEUE.id: ("retry delay: scheduled re-dials", False),
        }
        for queue_id, (role, peekable) in purposes.items():
            ref = provisioned.queues.get(queue_id)
            if ref is None:
                continue
            refs.append((ref, role, peekable))
            if ref.dlq_url:
                dlq = QueueRef(name=ref.dlq_url.rsplit("/", 1)[-1], url=ref.dlq_url, arn=ref.dlq_arn or "")
                refs.append((dlq, f"DLQ of {ref.name}: messages its function failed {ref.max_receive_count}x", True))
        if self._ordered is not None:
            # the subscriber's queue is the function's event source (drained by it): only its DLQ shows
            for function, queue in sorted(self._ordered.queues.items()):
                if queue.dlq_url:
                    dlq = QueueRef(name=queue.dlq_url.rsplit("/", 1)[-1], url=queue.dlq_url, arn=queue.dlq_arn or "")
                    failed = f"events it failed {queue.max_receive_count}x"
                    refs.append((dlq, f"DLQ of {function}'s subscriber: {failed}", True))
            return refs
        for function, rule in sorted(provisioned.rules.items()):
            # the rule's own queue is devstack plumbing (in AWS the rule invokes the function): only its DLQ shows
            if rule.queue.dlq_url:
                dlq = QueueRef(name=rule.queue.dlq_url.rsplit("/", 1)[-1], url=rule.queue.dlq_url, arn="")
                refs.append((dlq, f"DLQ of {function}: events it failed {rule.queue.max_receive_count}x", True))
        return refs

    def _recorded_states(self, leg_sids: list[str]) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = {}
        for start in range(0, len(leg_sids), 100):  # BatchGetItem takes 100 keys
            keys = [{"pk": leg_pk(sid), "sk": STATE_SK} for sid in leg_sids[start : start + 100]]
            request: dict[str, Any] = {self._leg_table.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                reply = self._dynamodb.batch_get_item(RequestItems=request)
                for item in reply.get("Responses", {}).get(self._leg_table.name, []):
                    states[str(item.get("leg_sid"))] = item
                request = reply.get("UnprocessedKeys") or {}
        return states

    def _roles(self) -> dict[str, dict[str, Any]]:
        """leg_sid -> the call it belongs to (plan id, role, attempt)."""
        roles: dict[str, dict[str, Any]] = {}
        for plan in self._all_plans():
            for attempt in plan.attempts:
                if attempt.leg_sid:
                    roles[attempt.leg_sid] = {"plan_id": plan.plan_id, "role": attempt.role, "attempt": attempt.attempt}
        return roles

    def _all_plans(self) -> list[CallPlan]:
        plans = []
        for item in _scan(self._plan_table):
            try:
                plans.append(CallPlan.model_validate_json(item["doc"]))
            except (KeyError, ValueError):
                continue  # a half-written or foreign item: not the console's business
        return plans


def merge_timeline(recorded: list[dict[str, Any]], seen_on_bus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded timeline plus the bus events it lacks (by ``event_sid``), in event-time order."""
    entries = [timeline_entry(item.get("detail") or item, "recorded") for item in recorded]
    known = {entry["event_sid"] for entry in entries}
    for event in seen_on_bus:
        detail = event.get("detail") or {}
        if detail.get("event_sid") not in known:
            known.add(detail.get("event_sid"))
            entries.append(timeline_entry(detail, "bus"))
    entries.sort(key=lambda entry: (entry["t"] is None, entry["t"] or 0.0))
    return entries


def _scan(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page or len(items) >= 5000:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(value: Any) -> Any:
    """DynamoDB numbers are Decimal; sets are sets: JSON-friendly values."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return value
