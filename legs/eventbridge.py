"""Event -> EventBridge ``PutEvents`` entry: the public interface subscribers see (DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, SCHEMA_VERSION
from legs.events import BridgeMeta, LegEvent, utc_second
from legs.json_types import JsonObject


class EventTime(Protocol):
    """An event's time, as the entry needs it (``EventTimestamp``, or ``legs.checked.Stamp``)."""

    def rfc3339(self) -> str: ...
    def to_datetime(self) -> datetime: ...


class BusEvent(Protocol):
    """What an entry is built from: a ``LegEvent``, or the bridge's ``legs.checked.CheckedEvent`` (the same
    event, checked by the same rules, without the model)."""

    @property
    def event_sid(self) -> str: ...
    @property
    def event_name(self) -> str: ...
    @property
    def event_timestamp(self) -> EventTime: ...
    @property
    def leg_sid(self) -> str | None: ...
    @property
    def bridge_sid(self) -> str | None: ...
    def to_detail(self) -> JsonObject: ...


#: ``Detail.bridge`` carries exactly these fields (tests/legs checks the dict above against the model).
BRIDGE_META_FIELDS = tuple(BridgeMeta.model_fields)


#: Turns a Detail into its JSON text (``dumps_detail`` here; the bridge passes an orjson equivalent).
DetailDumps = Callable[[JsonObject], str]


def dumps_detail(detail: JsonObject) -> str:
    """The Detail's JSON text: compact, non-ASCII kept (the bridge passes an orjson equivalent)."""
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False)


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
    event: BusEvent,
    *,
    bus_name: str = DEFAULT_BUS_NAME,
    source: str = DEFAULT_SOURCE,
    received_at: datetime | None = None,
    dumps: DetailDumps = dumps_detail,
) -> BusEntry:
    """``Source`` = configured source, ``DetailType`` = ``event_name`` verbatim, ``Time`` = event time."""
    received = (received_at or datetime.now(UTC)).astimezone(UTC)
    detail = event.to_detail()
    # BridgeMeta's fields, written directly (the model is the schema; building it per event costs µs for nothing)
    detail["bridge"] = {
        "received_at": f"{utc_second(int(received.timestamp()))}.{received.microsecond:06d}Z",
        "schema_version": SCHEMA_VERSION,
    }
    return {
        "Source": source,
        "DetailType": event.event_name,
        "Detail": dumps(detail),
        "EventBusName": bus_name,
        "Time": event.event_timestamp.to_datetime(),
    }


def entry_size(entry: BusEntry) -> int:
    """Size of one entry as EventBridge counts it (AWS docs, "Calculating PutEvents entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    for value in (entry.get("Source"), entry.get("DetailType"), entry.get("Detail")):
        if value:
            size += len(value) if value.isascii() else len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(resource.encode("utf-8"))
    return size


def event_from_detail(detail: Mapping[str, object]) -> LegEvent:
    """What a subscriber (a Lambda) gets back from ``detail``."""
    return LegEvent.model_validate(detail)
