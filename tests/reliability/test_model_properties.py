"""Property-based tests of the shared models: any input is either a clear validation error or a
model whose outputs are well formed. No other exception type, ever.

- ``LegEvent`` from arbitrary JSON-like dicts: ValidationError, or an event whose PutEvents entry
  has strict JSON ``Detail`` (no NaN/Infinity, which EventBridge refuses) and reads back to the
  same event;
- ``event_from_proto`` on arbitrary ``CallbackEvent`` messages: ValidationError or a LegEvent, and
  ``event_to_proto`` of that event reads back to the same event;
- ``EventTimestamp`` from arbitrary text: ValueError/ValidationError or nanosecond-exact RFC 3339;
- ``CreateLegRequest`` from arbitrary field values: ValidationError or a request obeying the
  seed's rules (network_type matches the contact, async_amd only with amd_enable).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from legs.eventbridge import entry_size, event_from_detail, to_put_events_entry
from legs.events import EventTimestamp, LegEvent
from legs.models import CreateLegRequest
from legs.pb import exotel_legs_pb2 as pb
from legs.wire import event_from_proto, event_to_proto
from tests.reliability.conftest import size

SETTINGS = settings(max_examples=size(300, 5_000), deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_names = st.sampled_from(["leg_answered", "leg_terminated", "bridge_created", "say_completed", "", "x y", "a" * 200])
_types = st.sampled_from(["leg_lifecycle_event", "leg_action_event", "bridge_lifecycle_event", "", "other"])
_timestamps = st.one_of(
    st.fixed_dictionaries({"seconds": st.integers(-(2**40), 2**40), "nanos": st.integers(-(2**31), 2**31)}),
    st.text(max_size=40),
    st.datetimes().map(lambda d: d.isoformat()),
    _scalars,
)


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_sid": draw(st.one_of(st.text(max_size=300), _scalars)),
        "event_type": draw(_types),
        "event_name": draw(st.one_of(_names, st.text(max_size=20))),
        "event_timestamp": draw(_timestamps),
    }
    for key in ("event_data", "data", "action_sid", "extra_field"):
        if draw(st.booleans()):
            event[key] = draw(st.one_of(st.dictionaries(st.text(max_size=15), _json, max_size=6), _json))
    return event


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _same_event(a: LegEvent, b: LegEvent) -> None:
    assert (a.event_sid, a.event_type, a.event_name) == (b.event_sid, b.event_type, b.event_name)
    assert a.event_timestamp == b.event_timestamp
    assert a.leg_sid == b.leg_sid and a.bridge_sid == b.bridge_sid and a.custom_param == b.custom_param


@SETTINGS
@given(event_dicts())
def test_any_event_dict_is_rejected_or_becomes_a_valid_entry(raw: dict[str, Any]) -> None:
    try:
        event = LegEvent.model_validate(raw)
    except ValidationError:
        return
    entry = to_put_events_entry(event)
    detail = _strict_json(entry["Detail"])  # EventBridge refuses NaN / Infinity
    assert entry["DetailType"] == event.event_name and entry_size(entry) > 0
    _same_event(event_from_detail(detail), event)


@st.composite
def messages(draw: st.DrawFn) -> pb.CallbackEvent:
    message = pb.CallbackEvent(
        event_sid=draw(st.text(max_size=300)),
        event_type=draw(_types),
        event_name=draw(st.one_of(_names, st.text(max_size=20))),
        action_sid=draw(st.text(max_size=20)),
    )
    if draw(st.booleans()):
        message.event_timestamp.seconds = draw(st.integers(-(2**63), 2**63 - 1))
        message.event_timestamp.nanos = draw(st.integers(-(2**31), 2**31 - 1))
    for field in ("event_data", "data"):
        if draw(st.booleans()):
            getattr(message, field).update(draw(st.dictionaries(st.text(max_size=15), _json, max_size=5)))
    return message


@SETTINGS
@given(messages())
def test_any_message_is_rejected_or_round_trips(message: pb.CallbackEvent) -> None:
    try:
        event = event_from_proto(message)
    except ValidationError:
        return
    _strict_json(to_put_events_entry(event)["Detail"])
    _same_event(event_from_proto(event_to_proto(event)), event)


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=50), st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?")
    )
)
def test_any_timestamp_text_is_rejected_or_exact(text: str) -> None:
    try:
        stamp = EventTimestamp.model_validate(text)
    except (ValidationError, ValueError):
        return
    again = EventTimestamp.model_validate(stamp.rfc3339())
    assert again == stamp


_contacts = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"(\+91|0|91)?[6-9]\d{9}", fullmatch=True),
    st.from_regex(r"sip:[a-z0-9]{1,10}@[a-z0-9.]{1,15}", fullmatch=True),
)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {
            "contact_uri": _contacts,
            "exophone": _contacts,
            "leg_event_endpoint": st.one_of(st.text(max_size=40), st.just("grpc://127.0.0.1:50051")),
        },
        optional={
            "network_type": st.one_of(st.sampled_from(["pstn", "voip"]), st.text(max_size=5)),
            "time_limit": st.integers(-(2**40), 2**40),
            "timeout": st.one_of(st.integers(-10, 10**6), _scalars),
            "amd_enable": st.one_of(st.booleans(), _scalars),
            "async_amd": st.one_of(st.booleans(), _scalars),
            "priority": st.text(max_size=8),
            "custom_param": st.one_of(st.text(max_size=2000), _scalars),
            "unknown": _scalars,
        },
    )
)
def test_any_create_leg_body_is_rejected_or_obeys_the_rules(body: dict[str, Any]) -> None:
    try:
        request = CreateLegRequest.model_validate(body)
    except ValidationError:
        return
    assert request.network_type == ("voip" if request.contact_uri.startswith("sip:") else "pstn")
    # async_amd without amd_enable is accepted (Exotel ignores it): tests/legs/test_models.py pins that rule.
    assert request.leg_event_endpoint.startswith("grpc://")
    assert request.time_limit > 0 and request.timeout > 0
