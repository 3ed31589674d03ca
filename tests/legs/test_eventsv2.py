"""Event -> EventsV2 entry: the classic entry's fields, plus the group (leg / bridge) and the deduplication id."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from legs.eventsv2 import MAX_ID_LENGTH, event_group_id, is_v2_entry, request_entry, to_v2_entry
from tests.support.samples import BRIDGE_CREATED, LEG_TERMINATED, SAY_COMPLETED

ARN = "arn:aws:events:ap-south-1:111122223333:event-busv2/exotel-legs/abcdefghijklmnopqrstuvwxy"
RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_group_is_the_leg_or_the_bridge() -> None:
    assert event_group_id(LegEvent.model_validate(LEG_TERMINATED)) == LEG_TERMINATED["data"]["leg_sid"]
    assert event_group_id(LegEvent.model_validate(SAY_COMPLETED)) == SAY_COMPLETED["data"]["leg_sid"]
    assert event_group_id(LegEvent.model_validate(BRIDGE_CREATED)) == "br-1"


def test_the_v2_entry_is_the_classic_entry_with_system_metadata_and_the_bus_arn() -> None:
    event = LegEvent.model_validate(LEG_TERMINATED)
    classic = to_put_events_entry(event, source="acme.exotel", received_at=RECEIVED)
    v2 = to_v2_entry(event, bus_arn=ARN, source="acme.exotel", received_at=RECEIVED)
    assert v2["SystemMetadata"] == {"EventGroupId": event.leg_sid, "DeduplicationId": event.event_sid}
    assert v2["EventBusArn"] == ARN and "EventBusName" not in v2
    for key in ("Source", "DetailType", "Detail", "Time"):
        assert v2[key] == classic[key]  # subscribers see the same event in either mode
    assert is_v2_entry(v2) and not is_v2_entry(classic)
    sent = request_entry(v2)
    assert set(sent) == {"Source", "DetailType", "Detail", "Time", "SystemMetadata"}


def test_ids_longer_than_the_service_allows_stay_unique_and_stable() -> None:
    long_leg = {**LEG_TERMINATED, "data": {**LEG_TERMINATED["data"], "leg_sid": "L" * 300}}
    other = {**LEG_TERMINATED, "data": {**LEG_TERMINATED["data"], "leg_sid": "L" * 299 + "M"}}
    one, two = (event_group_id(LegEvent.model_validate(e)) for e in (long_leg, other))
    assert len(one) <= MAX_ID_LENGTH and len(two) <= MAX_ID_LENGTH
    assert one != two and one == event_group_id(LegEvent.model_validate(long_leg))
    assert json.loads(to_v2_entry(LegEvent.model_validate(long_leg), bus_arn=ARN, source="s")["Detail"])
