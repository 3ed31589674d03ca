"""The event the load generator sends, serialized once; only ``event_sid`` changes per call.

``event_sid`` is field 1 of ``CallbackEvent``. Protobuf parsers accept fields in any order, so a
request is ``tag(1) + length + sid`` prepended to the template's bytes (which omit field 1):
the client spends microseconds per event and the server under test does all the real work.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

from legs.pb import exotel_legs_pb2 as pb
from legs.wire import event_to_proto

METHOD = "/exotel.legs.v1.LegEventService/TriggerCallbackEvent"

#: A leg_answered event shaped like the seed's example (about 600 bytes on the wire).
SAMPLE_EVENT: dict = {
    "event_sid": "",
    "event_type": "leg_lifecycle_event",
    "event_name": "leg_answered",
    "event_timestamp": {"seconds": 1_764_000_000, "nanos": 123_456_789},
    "event_data": {"data": {}, "error": None},
    "data": {
        "leg_sid": "2QYATxQ9t4UKcUwcqJClSa9OEZ400000",
        "account_sid": "exotel60",
        "caller_id": "08030752400",
        "contact_uri": "09163816621",
        "custom_param": "call:bench-plan",
        "date_created": "2025-11-24 16:00:00.000000000 +0000 UTC",
        "date_updated": "2025-11-24 16:00:05.000000000 +0000 UTC",
        "dc_code": "DC1",
        "direction": "outbound",
        "exophone": "08030752400",
        "network_type": "pstn",
        "nso_code": "NSO1",
        "start_time": "2025-11-24 16:00:05.000000000 +0000 UTC",
        "state": "connected",
        "time_limit": 14400,
        "answered_by": "HUMAN",
    },
}


def _template_without_sid() -> bytes:
    event = dict(SAMPLE_EVENT, event_sid="x")
    message = event_to_proto(event)
    message.ClearField("event_sid")
    return message.SerializeToString()


TEMPLATE = _template_without_sid()


def encode(event_sid: str) -> bytes:
    """Serialized ``CallbackEvent`` with the given sid (< 128 bytes, so the length is one byte)."""
    sid = event_sid.encode()
    if len(sid) >= 128:
        raise ValueError("bench event_sid must be shorter than 128 bytes")
    return b"\n" + bytes([len(sid)]) + sid + TEMPLATE


def sid_stream(prefix: str | None = None) -> Iterator[str]:
    """Unique sids (a run-unique prefix, so the bridge's duplicate cache never hits)."""
    head = prefix or uuid.uuid4().hex[:12]
    return (f"bench-{head}-{n}" for n in itertools.count())


def decode_check(sid: str) -> pb.CallbackEvent:
    """Round-trip check used by the self-test: the fast encoding parses to the intended message."""
    return pb.CallbackEvent.FromString(encode(sid))
