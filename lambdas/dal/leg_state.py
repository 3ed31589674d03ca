"""The LegState table: one current-state item per leg (and per bridge) plus a timeline of events.

Layout (``pk``/``sk``, see ``contract.resources.TABLES``):

==========================  ===================================  =======================================
pk                          sk                                   what
==========================  ===================================  =======================================
``LEG#<leg_sid>``           ``STATE``                            current state of the leg
``LEG#<leg_sid>``           ``EVENT#<ns:020d>#<event_sid>``      one timeline item per event (leg or bridge)
``BRIDGE#<bridge_sid>``     ``STATE`` / ``EVENT#...``            the same for a bridge
==========================  ===================================  =======================================

Every write is idempotent, so a redelivered event changes nothing: descriptive fields are set
only if absent, the state moves only forward by rank (connecting < ringing < connected <
terminal; terminal is final; at equal rank the later event wins), ``answered_by`` and
``bridge_sid`` are those of the latest event by event time (``<field>_ns``), whatever the order of
arrival, and a timeline item is put only if its key does not exist. A late event that cannot move
the state still joins the timeline, and so does an action event (``say_started``, ``play_*``,
``recording_*``, ``stream_*``), which never moves it.
Which state an event says its leg is in is the domain's (``lambdas.domain.leg_state``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from contract.catalogue import ANSWERED, ENDED, TERMINAL_RANK, EventName
from lambdas.domain.leg_state import (
    RECORDED_LEG_FIELDS,
    StateChange,
    bridge_state_change,
    is_action,
    leg_state_change,
)
from legs.events import LegEvent

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import (
        QueryInputTableQueryTypeDef,
        TableAttributeValueTypeDef,
        UpdateItemInputTableUpdateItemTypeDef,
    )

    Values = dict[str, TableAttributeValueTypeDef]

STATE_SK = "STATE"
EVENT_PREFIX = "EVENT#"


def leg_pk(leg_sid: str) -> str:
    return f"LEG#{leg_sid}"


def bridge_pk(bridge_sid: str) -> str:
    return f"BRIDGE#{bridge_sid}"


def event_sk(event: LegEvent) -> str:
    return f"{EVENT_PREFIX}{event.event_timestamp.sort_key:020d}#{event.event_sid}"


def _plain(value: object) -> object:
    """DynamoDB numbers come back as Decimal: give JSON-friendly ints/floats back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return _plain_item(value)
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _plain_item(item: Mapping[str, object]) -> dict[str, object]:
    """A stored item with :func:`_plain` values."""
    return {k: _plain(v) for k, v in item.items()}


class Recorded(TypedDict, total=False):
    """What :meth:`LegStateStore.record` did with one event (the ``leg_state`` function's result)."""

    event_sid: str
    event_name: str
    leg_state_moved: bool  # a leg event: whether it moved the leg's state
    bridge_state_moved: bool  # a bridge event: whether it moved the bridge's state
    timeline: list[bool]  # per timeline item: False when it was there already (a repeat)
    ignored: str  # why nothing was recorded


class LegStateStore:
    """Reads and writes the LegState table (a boto3 ``Table`` resource or anything shaped like it)."""

    def __init__(self, table: Table, retention_days: int = 30) -> None:
        self.table = table
        self.retention_seconds = retention_days * 86400

    @classmethod
    def from_env(cls) -> LegStateStore:
        from lambdas.dal import aws
        from lambdas.shared.config import settings

        conf = settings()
        return cls(aws.table(conf.require("leg_state_table")), conf.retention_days)

    # ---- writes -------------------------------------------------------------------------
    def record(self, event: LegEvent) -> Recorded:
        """Apply one event; returns what happened (for logs and tests)."""
        expires = int(time.time()) + self.retention_seconds
        result: Recorded = {"event_sid": event.event_sid, "event_name": event.event_name}
        if event.leg is not None and event.leg_sid and is_action(event):  # the leg's timeline only
            result["timeline"] = [self._add_timeline(leg_pk(event.leg_sid), event, expires)]
        elif event.leg is not None and event.leg_sid:
            result["leg_state_moved"] = self._record_leg(event, expires)
            result["timeline"] = [self._add_timeline(leg_pk(event.leg_sid), event, expires)]
        elif event.bridge_resource is not None and event.bridge_sid:
            bridge_sid = event.bridge_sid
            result["bridge_state_moved"] = self._record_bridge(event, expires)
            targets = [bridge_pk(bridge_sid)] + [leg_pk(s) for s in event.bridge_resource.leg_sids or []]
            result["timeline"] = [self._add_timeline(pk, event, expires) for pk in targets]
        else:
            result["ignored"] = "event carries neither a leg_sid nor a bridge sid"
        return result

    def _record_leg(self, event: LegEvent, expires: int) -> bool:
        leg = event.leg
        assert leg is not None and leg.leg_sid
        key = {"pk": leg_pk(leg.leg_sid), "sk": STATE_SK}
        when = event.event_timestamp.rfc3339()
        names: dict[str, str] = {}
        values: Values = {":sid": leg.leg_sid, ":exp": expires, ":created": leg.date_created or when}
        sets = ["leg_sid = :sid", "expires_at = :exp", "created_at = if_not_exists(created_at, :created)"]
        for name in RECORDED_LEG_FIELDS:
            value = getattr(leg, name, None)
            if value is not None:
                names[f"#{name}"] = name
                values[f":{name}"] = value
                sets.append(f"#{name} = if_not_exists(#{name}, :{name})")
        if event.event_name in ANSWERED:
            values[":answered_at"] = when
            sets.append("answered_at = if_not_exists(answered_at, :answered_at)")
        if event.event_name in ENDED:
            values[":ended_at"] = when
            sets.append("ended_at = if_not_exists(ended_at, :ended_at)")
        if leg.start_time:
            values[":start_time"] = leg.start_time
            sets.append("start_time = if_not_exists(start_time, :start_time)")
        if leg.end_time:
            values[":end_time"] = leg.end_time
            sets.append("end_time = if_not_exists(end_time, :end_time)")
        update: UpdateItemInputTableUpdateItemTypeDef = {
            "Key": key,
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        self.table.update_item(**update)
        if leg.answered_by:
            self._latest(key, event, "answered_by", leg.answered_by)
        bridge_sid = event.event_data.bridge_sid if event.event_data else None
        if bridge_sid and event.event_name == EventName.LEG_JOINED_BRIDGE:
            self._latest(key, event, "bridge_sid", bridge_sid)

        change = leg_state_change(event)
        return change is not None and self._move_state(key, event, change)

    def _latest(self, key: dict[str, str], event: LegEvent, name: str, value: str) -> bool:
        """Set ``name`` unless a later event already set it: ordered by event time (``<name>_ns``), not by arrival."""
        from botocore.exceptions import ClientError

        try:
            self.table.update_item(
                Key=key,
                UpdateExpression="SET #f = :v, #ns = :ns",
                ConditionExpression="attribute_not_exists(#ns) OR #ns < :ns",
                ExpressionAttributeNames={"#f": name, "#ns": f"{name}_ns"},
                ExpressionAttributeValues={":v": value, ":ns": event.event_timestamp.sort_key},
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def _record_bridge(self, event: LegEvent, expires: int) -> bool:
        bridge = event.bridge_resource
        assert bridge is not None
        key = {"pk": bridge_pk(event.bridge_sid or ""), "sk": STATE_SK}
        sets = ["bridge_sid = :sid", "expires_at = :exp", "created_at = if_not_exists(created_at, :created)"]
        values: Values = {
            ":sid": event.bridge_sid,
            ":exp": expires,
            ":created": bridge.date_created or event.event_timestamp.rfc3339(),
        }
        if bridge.leg_sids:
            values[":legs"] = set(bridge.leg_sids)
        expression = "SET " + ", ".join(sets)
        if bridge.leg_sids:
            expression += " ADD leg_sids :legs"
        update: UpdateItemInputTableUpdateItemTypeDef = {
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        self.table.update_item(**update)
        change = bridge_state_change(event)
        return change is not None and self._move_state(key, event, change)

    def _move_state(self, key: dict[str, str], event: LegEvent, change: StateChange) -> bool:
        """Forward-only: a higher rank wins; at equal (non-terminal) rank the later event wins."""
        from botocore.exceptions import ClientError

        values: Values = {
            ":state": change.state,
            ":rank": change.rank,
            ":ns": event.event_timestamp.sort_key,
            ":terminal": TERMINAL_RANK,
            ":at": event.event_timestamp.rfc3339(),
            ":event": event.event_name,
            ":event_sid": event.event_sid,
        }
        sets = [
            "#state = :state",
            "state_rank = :rank",
            "state_ns = :ns",
            "updated_at = :at",
            "last_event = :event",
            "last_event_sid = :event_sid",
        ]
        if change.terminal_status and change.rank == TERMINAL_RANK:
            values[":status"] = change.terminal_status
            sets.append("terminal_status = :status")
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=(
                    "attribute_not_exists(state_rank) OR state_rank < :rank"
                    " OR (state_rank = :rank AND state_rank < :terminal AND state_ns < :ns)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def _add_timeline(self, pk: str, event: LegEvent, expires: int) -> bool:
        """Put the event's timeline item once; False when it was already there (a duplicate)."""
        from botocore.exceptions import ClientError

        item: Values = {
            "pk": pk,
            "sk": event_sk(event),
            "event_sid": event.event_sid,
            "event_name": event.event_name,
            "event_type": event.event_type,
            "event_time": event.event_timestamp.rfc3339(),
            "detail": json.dumps(event.to_detail(), separators=(",", ":")),
            "expires_at": expires,
        }
        for name, value in (
            ("state", event.data.state if event.data else None),
            ("terminal_status", event.terminal_status),
            ("answered_by", event.answered_by),
            ("bridge_sid", event.bridge_sid),
            ("action_sid", event.action_sid),
        ):
            if value:
                item[name] = value
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    # ---- reads --------------------------------------------------------------------------
    def get_leg(self, leg_sid: str) -> dict[str, object] | None:
        item = self.table.get_item(Key={"pk": leg_pk(leg_sid), "sk": STATE_SK}, ConsistentRead=True).get("Item")
        return _plain_item(item) if item else None

    def get_bridge(self, bridge_sid: str) -> dict[str, object] | None:
        item = self.table.get_item(Key={"pk": bridge_pk(bridge_sid), "sk": STATE_SK}, ConsistentRead=True).get("Item")
        return _plain_item(item) if item else None

    def events(self, leg_sid: str, limit: int = 500) -> list[dict[str, object]]:
        """The leg's timeline in event-time order (the sort key starts with the event's nanoseconds)."""
        items: list[dict[str, TableAttributeValueTypeDef]] = []
        query: QueryInputTableQueryTypeDef = {  # text, not ``Key`` objects: see ``PlanStore.due``
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :events)",
            "ExpressionAttributeValues": {":pk": leg_pk(leg_sid), ":events": EVENT_PREFIX},
            "ConsistentRead": True,
        }
        while len(items) < limit:
            page = self.table.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out = []
        for item in items[:limit]:
            plain = _plain_item(item)
            plain.pop("pk", None)
            plain.pop("sk", None)
            plain.pop("expires_at", None)
            detail = plain.get("detail")
            if isinstance(detail, str):
                plain["detail"] = json.loads(detail)
            out.append(plain)
        return out
