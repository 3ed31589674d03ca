"""The bus every event lands on: default name and source, the Detail's schema version, PutEvents limits."""

from __future__ import annotations

from enum import StrEnum

#: ``Source`` of every event the bridge puts on the bus (a deploy setting: ``event_source``).
DEFAULT_SOURCE = "exotel.legs"
#: The custom bus's name (a deploy setting: ``bus_name``).
DEFAULT_BUS_NAME = "exotel-legs"
#: ``Detail.bridge.schema_version``: bumped when the Detail's shape changes incompatibly.
SCHEMA_VERSION = "1"
#: PutEvents limits: 10 entries per call, 256 KiB per call (entries' sizes added up).
MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024


class BusKind(StrEnum):
    """What the bridge publishes to (``EVENT_BUS_KIND``)."""

    CLASSIC = "classic"  # an EventBridge event bus: PutEvents on ``events``
    V2 = "v2"  # an EventBridge EventsV2 bus: PutEvents on ``eventbridgev2``, ordered per group, deduplicated


class BusMode(StrEnum):
    """How a deployment (CDK context ``bus_mode``) or the devstack (``DEVSTACK_BUS_MODE``) delivers events."""

    CLASSIC = "classic"  # the classic bus and one rule per function: no order, no deduplication
    ORDERED = "ordered"  # an EventsV2 bus: FIFO subscribers per leg, deduplication by event_sid

    @property
    def bus_kind(self) -> BusKind:
        return BusKind.V2 if self is BusMode.ORDERED else BusKind.CLASSIC


#: EventsV2 PutEvents limits: 100 entries per call, 1 MiB per call (service model, botocore 1.44.8).
V2_MAX_ENTRIES_PER_CALL = 100
V2_MAX_REQUEST_BYTES = 1024 * 1024
#: ASSUMPTION (the service model does not say): how long EventsV2 remembers a DeduplicationId.
#: SQS FIFO's window is 5 minutes; we assume the same. The local endpoint makes it a setting.
V2_ASSUMED_DEDUP_WINDOW_S = 300
#: Default storage of the ordered bus (days, 1-365): long enough to replay a week's events.
V2_DEFAULT_RETENTION_DAYS = 7
