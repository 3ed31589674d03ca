"""Event model round trips: proto -> LegEvent -> PutEvents entry -> detail -> LegEvent, nothing lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from legs.eventbridge import entry_size, event_from_detail, to_put_events_entry
from legs.events import BridgeData, EventTimestamp, LegData, LegEvent
from legs.pb import exotel_legs_pb2 as pb
from legs.wire import event_dict_from_proto, event_from_proto, event_to_proto
from tests.support.samples import SEED_LEG_CONNECTING

SEED_CONNECTING = SEED_LEG_CONNECTING  # verbatim from the seed

TERMINATED = {
    **SEED_CONNECTING,
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG00001",
    "event_name": "leg_terminated",
    "event_data": {
        "data": {"hangup_cause_code": 16, "future_number": 2.5},
        "error": {"error_code": 480, "message": "No answer", "description": "ring timeout", "extra": True},
    },
    "data": {
        **SEED_CONNECTING["data"],
        "state": "terminal",
        "terminal_status": "no-answer",
        "new_field": {"a": [1, 2]},
    },
}


def _through_the_bus(event: LegEvent) -> LegEvent:
    entry = to_put_events_entry(event)
    detail = json.loads(entry["Detail"])
    return event_from_detail(detail)


@pytest.mark.parametrize("raw", [SEED_CONNECTING, TERMINATED], ids=["connecting", "terminated"])
def test_proto_to_bus_and_back_loses_nothing(raw: dict) -> None:
    message = event_to_proto(raw)
    parsed = pb.CallbackEvent.FromString(message.SerializeToString())  # really over the wire format
    event = event_from_proto(parsed)
    again = _through_the_bus(event)
    for candidate in (event, again):
        dumped = candidate.model_dump(mode="json", exclude_unset=True, exclude={"bridge"})
        expected = {
            **raw,
            "event_timestamp": {"seconds": raw["event_timestamp"]["seconds"], "nanos": raw["event_timestamp"]["nanos"]},
        }
        assert dumped == expected
    assert again.bridge is not None and again.bridge.schema_version == "1"


def test_integers_stay_integers_and_unknown_fields_are_kept() -> None:
    event = event_from_proto(event_to_proto(TERMINATED))
    detail = json.loads(to_put_events_entry(event)["Detail"])
    assert detail["data"]["time_limit"] == 14400 and isinstance(detail["data"]["time_limit"], int)
    assert detail["event_data"]["data"]["hangup_cause_code"] == 16
    assert isinstance(detail["event_data"]["data"]["hangup_cause_code"], int)
    assert detail["event_data"]["data"]["future_number"] == 2.5
    assert detail["data"]["new_field"] == {"a": [1, 2]}
    assert detail["event_data"]["error"]["extra"] is True
    assert event.hangup_cause_code == 16 and event.terminal_status == "no-answer"
    assert event.error is not None and event.error.error_code == 480


def test_unknown_top_level_fields_survive_the_bus() -> None:
    # The proto has no room for them (a field Exotel adds there needs a .proto change), but an
    # event that reaches the bus with one keeps it all the way to subscribers.
    event = LegEvent.model_validate({**TERMINATED, "brand_new_top_level": {"kept": 1}})
    assert _through_the_bus(event).model_extra == {"brand_new_top_level": {"kept": 1}}


def test_nanoseconds_survive_the_bus() -> None:
    event = event_from_proto(event_to_proto(SEED_CONNECTING))
    entry = to_put_events_entry(event, bus_name="b", source="s")
    detail = json.loads(entry["Detail"])
    assert detail["event_timestamp"] == "2023-06-05T12:08:45.743609442Z"
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == ("s", "leg_connecting", "b")
    assert entry["Time"] == datetime(2023, 6, 5, 12, 8, 45, 743609, tzinfo=UTC)
    assert _through_the_bus(event).event_timestamp.nanos == 743609442
    assert entry_size(entry) == 14 + len("s") + len("leg_connecting") + len(entry["Detail"].encode())


def test_data_is_typed_by_event_type() -> None:
    leg = LegEvent.model_validate(SEED_CONNECTING)
    assert isinstance(leg.data, LegData) and leg.leg_sid == SEED_CONNECTING["data"]["leg_sid"]
    assert leg.custom_param == "MD_LEGS"
    bridge = LegEvent.model_validate(
        {
            "event_sid": "e1",
            "event_type": "bridge_lifecycle_event",
            "event_name": "bridge_created",
            "event_timestamp": {"seconds": 1, "nanos": 2},
            "data": {"bridge_sid": "b1", "leg_sids": ["l1", "l2"], "state": "created"},
        }
    )
    assert isinstance(bridge.data, BridgeData) and bridge.bridge_sid == "b1" and bridge.leg_sid is None
    joined = LegEvent.model_validate(
        {**SEED_CONNECTING, "event_name": "leg_joined_bridge", "event_data": {"bridge_sid": "b9"}}
    )
    assert joined.bridge_sid == "b9"


def test_action_fields_round_trip() -> None:
    raw = {
        **SEED_CONNECTING,
        "event_type": "leg_action_event",
        "event_name": "play_started",
        "action_sid": "a1",
        "action_custom_parameter": "acp",
    }
    event = _through_the_bus(event_from_proto(event_to_proto(raw)))
    assert (event.action_sid, event.action_custom_parameter) == ("a1", "acp")
    without = event_dict_from_proto(event_to_proto(SEED_CONNECTING))
    assert "action_sid" not in without and "action_custom_parameter" not in without


@pytest.mark.parametrize(
    "text,seconds,nanos",
    [
        ("2023-06-05T12:08:45.743609442Z", 1685966925, 743609442),
        ("2023-06-05T12:08:45Z", 1685966925, 0),
        ("2023-06-05T17:38:45.5+05:30", 1685966925, 500000000),
        ("2023-05-31 08:02:32.608752571 +0000 UTC", 1685520152, 608752571),
    ],
)
def test_timestamp_text_forms(text: str, seconds: int, nanos: int) -> None:
    ts = EventTimestamp.model_validate(text)
    assert (ts.seconds, ts.nanos) == (seconds, nanos)


@pytest.mark.parametrize("bad", ["yesterday", {"seconds": -1}, {"seconds": 1, "nanos": 1_000_000_000}, {"nanos": 5}])
def test_bad_timestamps_rejected(bad: object) -> None:
    with pytest.raises(ValidationError):
        EventTimestamp.model_validate(bad)


@settings(deadline=None)  # a loaded machine must not fail a correctness property
@given(seconds=st.integers(0, 253402300799), nanos=st.integers(0, 999_999_999))
def test_rfc3339_round_trip_any_instant(seconds: int, nanos: int) -> None:
    ts = EventTimestamp(seconds=seconds, nanos=nanos)
    assert EventTimestamp.model_validate(ts.rfc3339()) == ts


@pytest.mark.parametrize("missing", ["event_sid", "event_type", "event_name", "event_timestamp"])
def test_required_fields(missing: str) -> None:
    raw = dict(SEED_CONNECTING)
    raw.pop(missing)
    with pytest.raises(ValidationError, match=missing):
        LegEvent.model_validate(raw)


def test_event_name_pattern() -> None:
    with pytest.raises(ValidationError, match="event_name"):
        LegEvent.model_validate({**SEED_CONNECTING, "event_name": "bad name!"})


def test_string_hangup_cause_is_read() -> None:
    event = LegEvent.model_validate({**SEED_CONNECTING, "event_data": {"data": {"hangup_cause_code": "17"}}})
    assert event.hangup_cause_code == 17
