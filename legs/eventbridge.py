"""Event -> EventBridge ``PutEvents`` entry: the public interface subscribers see (DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, SCHEMA_VERSION
from legs.events import BridgeMeta, LegEvent

if TYPE_CHECKING:  # boto3-stubs (a development dependency): the entry's shape as botocore defines it
    from mypy_boto3_eventbridgev2.type_defs import PutEventsSystemMetadataTypeDef
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    class BusEntry(PutEventsRequestEntryTypeDef, total=False):
        """A PutEvents entry as the bridge carries it (and the fallback queue keeps it): the classic bus's,
        or in ordered mode an EventsV2 one (``legs.eventsv2``: ``EventBusArn`` instead of ``EventBusName``,
        and ``SystemMetadata``). A classic ``events`` client takes it as it is."""

        EventBusArn: str
        SystemMetadata: PutEventsSystemMetadataTypeDef


def to_put_events_entry(
    event: LegEvent,
    *,
    bus_name: str = DEFAULT_BUS_NAME,
    source: str = DEFAULT_SOURCE,
    received_at: datetime | None = None,
) -> BusEntry:
    """``Source`` = configured source, ``DetailType`` = ``event_name`` verbatim, ``Time`` = event time."""
    received = (received_at or datetime.now(UTC)).astimezone(UTC)
    detail = event.to_detail()
    detail["bridge"] = BridgeMeta(
        received_at=received.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        schema_version=SCHEMA_VERSION,
    ).model_dump()
    return {
        "Source": source,
        "DetailType": event.event_name,
        "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
        "EventBusName": bus_name,
        "Time": event.event_timestamp.to_datetime(),
    }


def entry_size(entry: BusEntry) -> int:
    """Size of one entry as EventBridge counts it (AWS docs, "Calculating PutEvents entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    for value in (entry.get("Source"), entry.get("DetailType"), entry.get("Detail")):
        if value:
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(resource.encode("utf-8"))
    return size


def event_from_detail(detail: Mapping[str, object]) -> LegEvent:
    """What a subscriber (a Lambda) gets back from ``detail``."""
    return LegEvent.model_validate(detail)
