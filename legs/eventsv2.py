"""Event -> EventBridge EventsV2 ``PutEvents`` entry: the classic entry plus the system metadata that orders
and deduplicates it.

The Detail, Source, DetailType and Time are exactly the classic bus's (``legs.eventbridge``), so a subscriber
sees the same event in either mode. What EventsV2 adds:

- ``SystemMetadata.EventGroupId`` = the leg's sid (bridge events: the bridge's sid). A FIFO subscriber gets a
  group's events in the order the bus stored them; different legs are independent.
- ``SystemMetadata.DeduplicationId`` = ``event_sid``: the same event published twice (Exotel retried it onto
  another bridge task, or a fallback copy is replayed) is stored once, across every bridge process.

``EventBusArn`` rides along in the entry (as ``EventBusName`` does in a classic one) so that a fallback copy
says where it belongs; the publisher sends it once per request, not per entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from legs.eventbridge import BusEvent, DetailDumps, dumps_detail, to_put_events_entry

if TYPE_CHECKING:  # boto3-stubs (a development dependency): the entry's shape as botocore defines it
    from mypy_boto3_eventbridgev2.type_defs import PutEventsRequestEntryTypeDef as V2RequestEntry

    from legs.eventbridge import BusEntry

#: Entry keys PutEvents on ``eventbridgev2`` accepts per entry (``EventBusArn`` is per request).
V2_ENTRY_KEYS = ("Source", "DetailType", "Detail", "Resources", "Time", "SystemMetadata")
#: EventGroupId / DeduplicationId are at most 128 characters (service model).
MAX_ID_LENGTH = 128


def event_group_id(event: BusEvent) -> str:
    """The group a FIFO subscriber orders by: the leg; a bridge event's bridge; else the event itself."""
    group = event.leg_sid or event.bridge_sid or event.event_sid
    return _bounded(group)


def to_v2_entry(
    event: BusEvent,
    *,
    bus_arn: str,
    source: str,
    received_at: datetime | None = None,
    dumps: DetailDumps = dumps_detail,
) -> BusEntry:
    """The classic entry (same Detail) with ``SystemMetadata`` and the bus's ARN instead of its name."""
    entry = to_put_events_entry(event, source=source, received_at=received_at, dumps=dumps)
    entry.pop("EventBusName", None)
    entry["EventBusArn"] = bus_arn
    entry["SystemMetadata"] = {"EventGroupId": event_group_id(event), "DeduplicationId": _bounded(event.event_sid)}
    return entry


def is_v2_entry(entry: Mapping[str, object]) -> bool:
    """A fallback copy of a v2 entry (redrive replays it on ``eventbridgev2``, not on the classic bus)."""
    return "EventBusArn" in entry or "SystemMetadata" in entry


def request_entry(entry: BusEntry) -> V2RequestEntry:
    """What goes into ``Entries`` of an ``eventbridgev2`` PutEvents call: the keys of :data:`V2_ENTRY_KEYS` that
    are set (``EventBusArn``, ``EventBusName`` left out). ``Source`` and ``DetailType`` are always set: the
    bridge's entries and the fallback copies redrive replays carry both."""
    out: V2RequestEntry = {"Source": entry["Source"], "DetailType": entry["DetailType"]}
    if (detail := entry.get("Detail")) is not None:
        out["Detail"] = detail
    if (resources := entry.get("Resources")) is not None:
        out["Resources"] = resources
    if (time := entry.get("Time")) is not None:
        out["Time"] = time
    if (metadata := entry.get("SystemMetadata")) is not None:
        out["SystemMetadata"] = metadata
    return out


def _bounded(value: str) -> str:
    """Ids longer than the service allows keep their head and a hash of the whole (still unique, still stable)."""
    if len(value) <= MAX_ID_LENGTH:
        return value
    import hashlib

    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"{value[: MAX_ID_LENGTH - 33]}~{digest}"
