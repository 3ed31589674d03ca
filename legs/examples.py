"""Sample events, one per event name: what a subscriber finds in the JSON Schemas' ``examples``.

Each is an Exotel event as the bridge receives it (Exotel's field names; the two life-cycle samples are
the seed's verbatim events, the others follow the shapes of ``shared/exotel-legs-api.md`` and what the
simulator sends), following one outbound call: a leg that connects, rings, is answered, hears a hold
message, joins a bridge, leaves it and ends. :func:`bus_detail` turns one into the bus ``Detail``
exactly as the bridge publishes it (``legs.eventbridge``), with a fixed ``received_at`` so the generated
schemas are stable.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

from contract.catalogue import BY_NAME, EventName, EventType
from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from legs.json_types import JsonObject, JsonValue

LEG_SID = "2Qmm2j6Y9MfjJfQMNg61K8DaKxv00000"
OTHER_LEG_SID = "2Qmm3Ab7kQ2cWcM8DfJ0Yx1Lh4p00000"
BRIDGE_SID = "2Qmm4Zx0aQ1hUe5bT9nS3Vd7Wr2k00000"
ACTION_SID = "2Qmm3s9Hn1ZbQy7LcXoE5Ra0Kw6t00000"
_START = 1_685_966_925  # 2023-06-05T12:08:45Z, the seed's leg_connecting
_NSO = "9988fd96-ce41-11ed-9a09-0242ac110003"

#: The seed's own events (``shared/seeds/000_*.txt``), verbatim.
SEED_LEG_INCOMING: JsonObject = {
    "event_sid": "2K8DQQuKWiXhXdfpMnXJYKVoTdB",
    "event_type": str(EventType.LEG_LIFECYCLE),
    "event_name": str(EventName.LEG_INCOMING),
    "event_timestamp": {"seconds": 1673347299, "nanos": 607761576},
    "data": {
        "account_sid": "exotel60",
        "caller_id": "08030752400",
        "contact_uri": "09163816622",
        "date_created": "2023-01-10T10:41:39.607712401Z",
        "date_updated": "2023-01-10T10:41:39.607712401Z",
        "dc_code": "101",
        "direction": "inbound",
        "exophone": "08030752400",
        "leg_sid": "2K8DQQr2eoPW6HXJej7VesxsTUy00000",
        "network_type": "pstn",
        "nso_code": _NSO,
        "start_time": "2023-01-10T10:41:39.03987348Z",
        "state": "ringing",
        "time_limit": 14400,
    },
}
#: The seed's leg_connecting ``data`` (the life-cycle of the example call starts from it).
_CONNECTING_DATA: JsonObject = {
    "account_sid": "exotel60",
    "caller_id": "8030752501",
    "contact_uri": "07417712343",
    "custom_param": "MD_LEGS",
    "date_created": "2023-06-05T12:08:45.521094309Z",
    "date_updated": "2023-06-05T12:08:45.631124146Z",
    "dc_code": "101",
    "direction": "outbound",
    "exophone": "08030752400",
    "leg_sid": LEG_SID,
    "network_type": "pstn",
    "nso_code": _NSO,
    "start_time": "2023-06-05T12:08:45.630677211Z",
    "state": "connecting",
    "time_limit": 14400,
}
SEED_LEG_CONNECTING: JsonObject = {
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG00000",
    "event_type": str(EventType.LEG_LIFECYCLE),
    "event_name": str(EventName.LEG_CONNECTING),
    "event_timestamp": {"seconds": 1685966925, "nanos": 743609442},
    "data": _CONNECTING_DATA,
}


def _time(offset_s: float) -> tuple[dict[str, int], str]:
    """The event's timestamp ``offset_s`` after the call's start, as Exotel's {seconds, nanos} and as RFC 3339."""
    nanos_total = round(offset_s * 1e9) + 743_609_442
    seconds, nanos = _START + nanos_total // 1_000_000_000, nanos_total % 1_000_000_000
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    return {"seconds": seconds, "nanos": nanos}, text


def _leg(offset_s: float, state: str, **extra: JsonValue) -> JsonObject:
    data = copy.deepcopy(_CONNECTING_DATA)
    data.update({"date_updated": _time(offset_s)[1], "state": state, **extra})
    return data


def _bridge(offset_s: float, state: str, **extra: JsonValue) -> JsonObject:
    created = _time(14.0)[1]
    return {
        "bridge_sid": BRIDGE_SID,
        "sid": BRIDGE_SID,
        "account_sid": "exotel60",
        "state": state,
        "leg_sids": [LEG_SID, OTHER_LEG_SID],
        "active_legs": [LEG_SID, OTHER_LEG_SID] if state != "terminal" else [],
        "date_created": created,
        "date_updated": _time(offset_s)[1],
        **extra,
    }


def _error(code: int, message: str, description: str) -> JsonObject:
    return {"error": {"error_code": code, "message": message, "description": description}}


_ANSWERED: JsonObject = {"answered_by": "HUMAN", "start_time": _CONNECTING_DATA["start_time"]}
_SAY: JsonObject = {"data": {"text": "Please hold, we are connecting you to an agent", "loop": 1}}
_PLAY: JsonObject = {"data": {"url": "https://example.com/hold-music.mp3", "loop": 1}}

#: name -> (seconds after the start, data, event_data, from an action)
_STORY: dict[EventName, tuple[float, JsonObject, JsonObject | None, bool]] = {
    EventName.LEG_RINGING: (0.8, _leg(0.8, "ringing"), None, False),
    EventName.LEG_ANSWERED: (4.2, _leg(4.2, "connected", **_ANSWERED), None, False),
    EventName.AMD_RESULT_SUCCESS: (5.1, _leg(5.1, "connected", **_ANSWERED), None, False),
    EventName.SAY_STARTED: (5.3, _leg(5.3, "connected", **_ANSWERED), _SAY, True),
    EventName.SAY_INTERRUPTED: (7.0, _leg(7.0, "connected", **_ANSWERED), None, True),
    EventName.SAY_COMPLETED: (8.9, _leg(8.9, "connected", **_ANSWERED), None, True),
    EventName.PLAY_STARTED: (9.0, _leg(9.0, "connected", **_ANSWERED), _PLAY, True),
    EventName.PLAY_INTERRUPTED: (13.9, _leg(13.9, "connected", **_ANSWERED), None, True),
    EventName.PLAY_COMPLETED: (13.9, _leg(13.9, "connected", **_ANSWERED), None, True),
    EventName.PLAY_FAILED_TO_START: (
        2.0,
        _leg(2.0, "ringing"),
        _error(409, "Play needs a connected leg", "ringing"),
        True,
    ),
    EventName.RECORDING_STARTED: (14.0, _leg(14.0, "connected", **_ANSWERED), None, True),
    EventName.STREAM_STARTED: (
        14.0,
        _leg(14.0, "connected", **_ANSWERED),
        {"data": {"url": "wss://stream.example.com/calls", "direction": "both"}},
        True,
    ),
    EventName.BRIDGE_CREATED: (14.0, _bridge(14.0, "created", start_time=_time(14.0)[1]), None, False),
    EventName.BRIDGE_FAILED_TO_CREATE: (
        14.0,
        _bridge(14.0, "terminal", terminal_status="failed", end_time=_time(14.0)[1]),
        _error(409, "Bridge could not be created", "only connected legs can be bridged"),
        False,
    ),
    EventName.LEG_JOINED_BRIDGE: (14.1, _leg(14.1, "connected", **_ANSWERED), {"bridge_sid": BRIDGE_SID}, False),
    EventName.LEG_LEFT_BRIDGE: (95.0, _leg(95.0, "connected", **_ANSWERED), {"bridge_sid": BRIDGE_SID}, False),
    EventName.BRIDGE_FAILED_TO_STOP: (
        95.0,
        _bridge(95.0, "active", start_time=_time(14.0)[1]),
        _error(500, "Bridge could not be stopped", "try again"),
        False,
    ),
    EventName.STREAM_STOPPED: (95.0, _leg(95.0, "connected", **_ANSWERED), None, True),
    EventName.RECORDING_STOPPED: (95.0, _leg(95.0, "connected", **_ANSWERED), None, True),
    EventName.BRIDGE_TERMINATED: (
        95.0,
        _bridge(95.0, "terminal", terminal_status="completed", start_time=_time(14.0)[1], end_time=_time(95.0)[1]),
        {"data": {"reason": f"leg {LEG_SID} ended"}},
        False,
    ),
    EventName.BRIDGE_TERMINAL: (
        95.0,
        _bridge(95.0, "terminal", terminal_status="completed", start_time=_time(14.0)[1], end_time=_time(95.0)[1]),
        {"data": {"reason": f"leg {LEG_SID} ended"}},
        False,
    ),
    EventName.LEG_TERMINATED: (
        95.0,
        _leg(95.0, "terminal", terminal_status="completed", end_time=_time(95.0)[1], **_ANSWERED),
        {"data": {"hangup_cause_code": 16, "hangup_reason": "callee_hangup"}},
        False,
    ),
    EventName.LEG_FAILED_TO_CREATE: (
        0.1,
        _leg(0.1, "terminal", terminal_status="failed", end_time=_time(0.1)[1]),
        _error(1005, "Leg could not be created", "the number is not reachable"),
        False,
    ),
}


def raw_example(name: str) -> JsonObject:
    """One Exotel event of this name, as Exotel pushes it (before the bridge)."""
    event_name = EventName(name)
    if event_name in (EventName.LEG_INCOMING, EventName.INCOMING_LEG):
        return {**copy.deepcopy(SEED_LEG_INCOMING), "event_name": str(event_name)}
    if event_name is EventName.LEG_CONNECTING:
        return copy.deepcopy(SEED_LEG_CONNECTING)
    offset, data, event_data, action = _STORY[event_name]
    timestamp, _ = _time(offset)
    event: JsonObject = {
        "event_sid": f"2Qmm2gI1sRmNkiGNyREGKHv{list(EventName).index(event_name):04d}00000",
        "event_type": str(BY_NAME[event_name].event_type),
        "event_name": str(event_name),
        "event_timestamp": timestamp,
        "data": copy.deepcopy(data),
    }
    if action:
        event["action_sid"] = ACTION_SID
        event["action_custom_parameter"] = "hold-message"
    if event_data is not None:
        event["event_data"] = copy.deepcopy(event_data)
    return event


def bus_detail(name: str) -> JsonObject:
    """The bus ``Detail`` of :func:`raw_example` (what a subscriber's rule target receives as ``detail``)."""
    event = LegEvent.model_validate(raw_example(name))
    received = event.event_timestamp.to_datetime() + timedelta(milliseconds=3)
    return dict(json.loads(to_put_events_entry(event, received_at=received)["Detail"]))
