"""The ordered path: PutEvents on an EventBridge EventsV2 bus (``EVENT_BUS_KIND=v2``).

Everything that makes the classic path safe is shared (``bridge.publisher.BusPublisher``: batching,
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

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, Unpack, cast

from bridge.batcher import Item, LingerGate
from bridge.config import DEFAULT_LINGER_MS, BridgeConfig
from bridge.jsonfast import dumps_compact
from bridge.metrics import BridgeMetrics
from bridge.publisher import (
    PERMANENT_ERRORS,
    AnyPublisher,
    AsyncOperations,
    BusPublisher,
    EventBusPublisher,
    EventsClient,
    PublisherOptions,
)
from bridge.service import EntryBuilder
from contract.bus import MAX_ENTRIES_PER_CALL, V2_MAX_ENTRIES_PER_CALL, V2_MAX_REQUEST_BYTES, BusKind
from legs.eventbridge import BusEvent
from legs.eventsv2 import request_entry, to_v2_entry

if TYPE_CHECKING:  # boto3-stubs (a development dependency): PutEvents as botocore defines it for eventbridgev2
    from mypy_boto3_eventbridgev2.type_defs import PutEventsRequestEntryTypeDef, PutEventsResponseTypeDef

    from legs.eventbridge import BusEntry

#: EventsV2 errors (service model) that retrying within the deadline cannot fix: spill to the fallback queue.
#: ``InvalidStateException`` (the bus is not ACTIVE: being created, updated or deleted) is among them:
#: it lasts minutes, not milliseconds, and the redrive function replays the copy once the bus is back.
V2_PERMANENT_ERRORS = PERMANENT_ERRORS | frozenset(
    {"InvalidInputException", "InvalidStateException", "ResourceNotFoundException", "AccessDeniedException"}
)
#: Per-entry success codes (``PutEventsResultEntry.SuccessCode``).
PUBLISHED = "PUBLISHED"
DEDUPLICATED = "DEDUPLICATED"


class EventsV2Client(Protocol):
    """What the EventsV2 publisher needs from an ``eventbridgev2`` client (boto3's, or a benchmark sink)."""

    def put_events(
        self, *, EventBusArn: str, Entries: Sequence[PutEventsRequestEntryTypeDef]
    ) -> PutEventsResponseTypeDef: ...


class EventsV2Publisher(BusPublisher["EventsV2Client"]):
    """``BusPublisher`` for ``eventbridgev2``: same batching and durability rule, another call."""

    permanent_errors = V2_PERMANENT_ERRORS
    limit_entries = V2_MAX_ENTRIES_PER_CALL
    limit_bytes = V2_MAX_REQUEST_BYTES
    batcher_name = "eventbridgev2"

    def __init__(
        self, client: EventsV2Client | AsyncOperations, *, bus_arn: str, **options: Unpack[PublisherOptions]
    ) -> None:
        super().__init__(client, **options)
        self.bus_arn = bus_arn

    def request(self, entries: list[BusEntry]) -> Mapping[str, object]:
        return {"EventBusArn": self.bus_arn, "Entries": [request_entry(e) for e in entries]}

    def put_events(self, entries: list[BusEntry]) -> PutEventsResponseTypeDef:
        client = self._client
        assert not isinstance(client, AsyncOperations)  # an async client's calls go through request()
        return client.put_events(EventBusArn=self.bus_arn, Entries=[request_entry(e) for e in entries])

    def stored(self, result: Mapping[str, object]) -> None:
        if result.get("SuccessCode") == DEDUPLICATED:
            self._metrics.bus_deduplicated += 1


# ---- selection by configuration (``bridge.server`` calls these) ------------------------------------
def client_service(config: BridgeConfig) -> Literal["events", "eventbridgev2"]:
    """The boto3 service the publisher talks to."""
    return "eventbridgev2" if config.event_bus_kind is BusKind.V2 else "events"


def publisher_for(
    config: BridgeConfig,
    client: EventsClient | EventsV2Client | AsyncOperations,
    *,
    executor: Executor | None = None,
    spill: Callable[[Item], None],
    metrics: BridgeMetrics,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    linger_s: float = DEFAULT_LINGER_MS / 1000,
    max_in_flight: int = 16,
    linger_gate: LingerGate | None = None,
) -> AnyPublisher:
    """The classic publisher, or the EventsV2 one when ``EVENT_BUS_KIND=v2`` (same keyword arguments).

    ``client`` answers the configured bus's call (:func:`client_service` made it, or the caller injected one
    for that bus): the configuration, which the type checker cannot see, says which of the two it is. An
    :class:`~bridge.publisher.AsyncOperations` client (``bridge.asyncsdk``) serves either bus on the event loop;
    a blocking one is called in ``executor``.
    """
    if isinstance(client, AsyncOperations):
        v2_client: EventsV2Client | AsyncOperations = client
        classic_client: EventsClient | AsyncOperations = client
    else:
        v2_client, classic_client = cast("EventsV2Client", client), cast("EventsClient", client)
    if config.event_bus_kind is BusKind.V2:
        assert config.event_bus_arn is not None  # BridgeConfig refuses v2 without it
        return EventsV2Publisher(
            v2_client,
            bus_arn=config.event_bus_arn,
            executor=executor,
            spill=spill,
            metrics=metrics,
            max_entries=max_entries,
            linger_s=linger_s,
            max_in_flight=max_in_flight,
            linger_gate=linger_gate,
        )
    return EventBusPublisher(
        classic_client,
        executor=executor,
        spill=spill,
        metrics=metrics,
        max_entries=max_entries,
        linger_s=linger_s,
        max_in_flight=max_in_flight,
        linger_gate=linger_gate,
    )


def entry_builder_for(config: BridgeConfig) -> EntryBuilder | None:
    """The EventsV2 entry (``SystemMetadata`` added) when ``EVENT_BUS_KIND=v2``; None keeps the classic one."""
    if config.event_bus_kind is not BusKind.V2:
        return None
    bus_arn, source = config.event_bus_arn or "", config.event_source

    def build(event: BusEvent, received_at: datetime) -> BusEntry:
        return to_v2_entry(event, bus_arn=bus_arn, source=source, received_at=received_at, dumps=dumps_compact)

    return build
