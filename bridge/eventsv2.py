"""The ordered path: PutEvents on an EventBridge EventsV2 bus (``EVENT_BUS_KIND=v2``).

Everything that makes the classic path safe is shared (``bridge.publisher.EventBusPublisher``: batching,
per-entry retries inside the deadline, the fallback queue, acknowledging only what is stored). What differs:

- the call: ``eventbridgev2.put_events(EventBusArn=..., Entries=[...])``, each entry carrying
  ``SystemMetadata`` {``EventGroupId`` = leg, ``DeduplicationId`` = ``event_sid``} (``legs.eventsv2``);
- a per-entry ``SuccessCode`` of ``DEDUPLICATED`` is success too: the bus already holds the event (another
  bridge task stored it first), so it is acknowledged like a stored one and counted
  (``EventsDeduplicatedByBus``);
- the error vocabulary: EventsV2 names its errors ``InvalidInputException``, ``InvalidStateException``, ….

The bus deduplicates across every bridge process; ``bridge.dedup.RecentEvents`` still answers a repeat
to the same process without a call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.config import BridgeConfig
from bridge.jsonfast import dumps_compact
from bridge.publisher import PERMANENT_ERRORS, EventBusPublisher
from bridge.service import EntryBuilder
from contract.bus import V2_MAX_ENTRIES_PER_CALL, V2_MAX_REQUEST_BYTES, BusKind
from legs.events import LegEvent
from legs.eventsv2 import request_entry, to_v2_entry

#: EventsV2 errors (service model) that retrying within the deadline cannot fix: spill to the fallback queue.
#: ``InvalidStateException`` (the bus is not ACTIVE: being created, updated or deleted) is among them:
#: it lasts minutes, not milliseconds, and the redrive function replays the copy once the bus is back.
V2_PERMANENT_ERRORS = PERMANENT_ERRORS | frozenset(
    {"InvalidInputException", "InvalidStateException", "ResourceNotFoundException", "AccessDeniedException"}
)
#: Per-entry success codes (``PutEventsResultEntry.SuccessCode``).
PUBLISHED = "PUBLISHED"
DEDUPLICATED = "DEDUPLICATED"


class EventsV2Publisher(EventBusPublisher):
    """``EventBusPublisher`` for ``eventbridgev2``: same batching and durability rule, another call."""

    permanent_errors = V2_PERMANENT_ERRORS
    limit_entries = V2_MAX_ENTRIES_PER_CALL
    limit_bytes = V2_MAX_REQUEST_BYTES
    batcher_name = "eventbridgev2"

    def __init__(self, client: Any, *, bus_arn: str, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.bus_arn = bus_arn

    def request(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"EventBusArn": self.bus_arn, "Entries": [request_entry(e) for e in entries]}

    def stored(self, result: dict[str, Any]) -> None:
        if result.get("SuccessCode") == DEDUPLICATED:
            self._metrics.bus_deduplicated += 1


# ---- selection by configuration (``bridge.server`` calls these) ------------------------------------
def client_service(config: BridgeConfig) -> str:
    """The boto3 service the publisher talks to."""
    return "eventbridgev2" if config.event_bus_kind is BusKind.V2 else "events"


def publisher_for(config: BridgeConfig, client: Any, **kwargs: Any) -> EventBusPublisher:
    """The classic publisher, or the EventsV2 one when ``EVENT_BUS_KIND=v2`` (same keyword arguments)."""
    if config.event_bus_kind is BusKind.V2:
        assert config.event_bus_arn is not None  # BridgeConfig refuses v2 without it
        return EventsV2Publisher(client, bus_arn=config.event_bus_arn, **kwargs)
    return EventBusPublisher(client, **kwargs)


def entry_builder_for(config: BridgeConfig) -> EntryBuilder | None:
    """The EventsV2 entry (``SystemMetadata`` added) when ``EVENT_BUS_KIND=v2``; None keeps the classic one."""
    if config.event_bus_kind is not BusKind.V2:
        return None
    bus_arn, source = config.event_bus_arn or "", config.event_source

    def build(event: LegEvent, received_at: datetime) -> dict[str, Any]:
        return to_v2_entry(event, bus_arn=bus_arn, source=source, received_at=received_at, dumps=dumps_compact)

    return build
