"""Event -> EventBridge ``PutEvents`` entry: the public interface subscribers see (DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, SCHEMA_VERSION
from legs.events import BridgeMeta, LegEvent, utc_second

#: ``Detail.bridge`` carries exactly these fields (tests/legs checks the dict above against the model).
BRIDGE_META_FIELDS = tuple(BridgeMeta.model_fields)


def dumps_detail(detail: dict[str, Any]) -> str:
    """The Detail's JSON text: compact, non-ASCII kept (the bridge passes an orjson equivalent)."""
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False)


def to_put_events_entry(
    event: LegEvent,
    *,
    bus_name: str = DEFAULT_BUS_NAME,
    source: str = DEFAULT_SOURCE,
    received_at: datetime | None = None,
    dumps: Callable[[dict[str, Any]], str] = dumps_detail,
) -> dict[str, Any]:
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


def entry_size(entry: dict[str, Any]) -> int:
    """Size of one entry as EventBridge counts it (AWS docs, "Calculating PutEvents entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if value:
            size += len(value) if value.isascii() else len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(resource.encode("utf-8"))
    return size


def event_from_detail(detail: dict[str, Any]) -> LegEvent:
    """What a subscriber (a Lambda) gets back from ``detail``."""
    return LegEvent.model_validate(detail)
