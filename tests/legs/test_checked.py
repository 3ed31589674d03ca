"""``legs.checked`` against ``LegEvent``: the bridge's fast check accepts only what the model accepts, with the
same Detail and the same values the entry builders read, and refuses nothing the model accepts except the shapes
it leaves to the model (a timestamp that is not an object, a ``data`` that is not an object).

Field by field: every field of every level (and an unknown one) set to each value of a list of every JSON kind
and edge, and removed; then every example event; then random events (hypothesis).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError

from bridge.jsonfast import dumps_compact
from contract.catalogue import EventName
from legs import checked
from legs.checked import CheckedEvent, check_event
from legs.eventbridge import BusEvent, to_put_events_entry
from legs.events import BridgeData, BridgeMeta, EventData, EventError, EventTimestamp, LegData, LegEvent
from legs.examples import raw_example
from tests.reliability.test_model_properties import event_dicts

#: Every model the twins stand for: the event and each model reached from its fields (as legs.checked found them).
MODELS: tuple[type[BaseModel], ...] = (LegEvent, *checked._TWINS)
MISSING = object()  # "remove the field"
VALUES: tuple[object, ...] = (
    MISSING,
    None,
    "",
    "x",
    " 12 ",
    "leg_answered",
    "bad name!",
    "a" * 129,
    "a" * 257,
    "2023-06-05T12:08:45Z",
    0,
    -1,
    1,
    14400,
    2**63,
    -(2**70),
    1.0,
    1.5,
    -0.0,
    math.nan,
    math.inf,
    True,
    False,
    [],
    ["a", "b"],
    [1, None],
    {},
    {"k": "v"},
    {"seconds": 1},
    {"seconds": 1, "nanos": 2},
    {"leg_sid": 5},
)
LEG = raw_example(EventName.LEG_ANSWERED)


def _bridge_event() -> dict[str, Any]:
    names = [name for name in EventName if str(name).startswith("bridge")]
    assert names, "the catalogue has bridge events"
    return raw_example(names[0])


def _full(event: dict[str, Any]) -> dict[str, Any]:
    """The event with every optional level present, so that each field of each level can be varied."""
    full = copy.deepcopy(event)
    full.setdefault("action_sid", "act-1")
    full.setdefault("action_custom_parameter", "p")
    full["event_data"] = {"data": {"hangup_cause_code": 16}, "error": {"error_code": 1, "message": "m"}, "x": 1}
    full["bridge"] = {"received_at": "2025-01-01T00:00:00.000000Z", "schema_version": "1"}
    return full


def _paths(event: dict[str, Any], *, under: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every field of every level (nested objects included), and an unknown field at each level."""
    for key, value in event.items():
        yield (*under, key)
        if isinstance(value, dict):
            yield from _paths(value, under=(*under, key))
    yield (*under, "unknown_field")


def _with(event: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    out = copy.deepcopy(event)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is MISSING:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = copy.deepcopy(value)
    return out


RECEIVED = datetime(2026, 12, 4, 12, 0, 0, 123456, tzinfo=UTC)


def _refuse(constant: str) -> object:
    raise AssertionError(f"not strict JSON (EventBridge refuses it): {constant}")


def _detail_text(event: BusEvent) -> str:
    """The Detail the bridge puts on the bus, checked to be strict JSON."""
    text = to_put_events_entry(event, received_at=RECEIVED, dumps=dumps_compact)["Detail"]
    json.loads(text, parse_constant=_refuse)
    return text


def assert_agrees(raw: dict[str, Any]) -> str:
    """The fast check and the model agree on ``raw``; returns which way ("both", "neither", "model only")."""
    fast = check_event(copy.deepcopy(raw))
    try:
        model: LegEvent | None = LegEvent.model_validate(copy.deepcopy(raw))
    except (ValidationError, ValueError, TypeError, OverflowError):
        model = None
    if fast is not None:
        assert model is not None, f"legs.checked accepted what LegEvent refuses: {raw!r}"
        assert _detail_text(fast) == _detail_text(model), raw  # the same text, byte for byte
        assert (fast.event_sid, fast.event_name) == (model.event_sid, model.event_name)
        assert fast.event_timestamp.rfc3339() == model.event_timestamp.rfc3339()
        assert fast.event_timestamp.to_datetime() == model.event_timestamp.to_datetime()
        assert (fast.leg_sid, fast.bridge_sid) == (model.leg_sid, model.bridge_sid), raw
        return "both"
    if model is None:
        return "neither"
    stamp, data = raw.get("event_timestamp"), raw.get("data")
    assert not isinstance(stamp, dict) or not (data is None or isinstance(data, dict)), (
        f"legs.checked refused what LegEvent accepts, in a shape it claims to handle: {raw!r}"
    )
    return "model only"


@pytest.mark.parametrize("kind", ["leg", "bridge"])
def test_every_field_of_every_level_with_every_kind_of_value(kind: str) -> None:
    event = _full(LEG if kind == "leg" else _bridge_event())
    outcomes: dict[str, int] = {}
    paths = list(_paths(event))
    for path in paths:
        for value in VALUES:
            outcome = assert_agrees(_with(event, path, value))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert len(paths) > 25
    # both sides of the line were exercised: accepted variants, refused ones, and the shapes left to the model
    assert outcomes.get("both", 0) > 100 and outcomes.get("neither", 0) > 100 and outcomes.get("model only", 0) > 0


def test_values_orjson_refuses_or_json_has_no_word_for_give_the_models_text() -> None:
    """An integer beyond 64 bits (orjson refuses it), NaN and infinities (strict JSON has no word for them: null),
    a key that is not a string (a customer's proto map), together in one event."""
    raw = {**LEG, "big": 2**70, "nan": math.nan, "inf": [-math.inf], "by_number": {1: "a"}, "text": "é"}
    raw["event_data"] = {"data": {"n": math.nan, "big": -(2**70)}}
    assert assert_agrees(raw) == "both"
    detail = json.loads(_detail_text(LegEvent.model_validate(raw)))
    assert (detail["big"], detail["nan"], detail["inf"], detail["by_number"]) == (2**70, None, [None], {"1": "a"})


@pytest.mark.parametrize("name", [str(name) for name in EventName])
def test_every_example_event_is_accepted_with_the_models_detail(name: str) -> None:
    assert assert_agrees(raw_example(name)) == "both"


def test_a_text_timestamp_is_left_to_the_model() -> None:
    raw = {**LEG, "event_timestamp": "2023-06-05T12:08:45.5Z"}
    assert check_event(raw) is None and LegEvent.model_validate(raw).event_timestamp.nanos == 500_000_000


def test_a_bridge_event_s_data_is_the_bridge_and_a_leg_event_s_the_leg() -> None:
    bridge = check_event(_bridge_event())
    leg = check_event(LEG)
    assert isinstance(bridge, CheckedEvent) and isinstance(leg, CheckedEvent)
    assert bridge.leg_sid is None and bridge.bridge_sid
    assert leg.leg_sid == LEG["data"]["leg_sid"]


@given(event_dicts())
@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_events(raw: dict[str, Any]) -> None:
    assert_agrees(raw)


def _validator_names(model: type[BaseModel]) -> set[str]:
    decorators = model.__pydantic_decorators__
    names: set[str] = set()
    for kind in (
        decorators.validators,
        decorators.field_validators,
        decorators.root_validators,
        decorators.model_validators,
        decorators.field_serializers,
        decorators.model_serializers,
        decorators.computed_fields,
    ):
        names.update(kind)
    return names


def test_the_models_have_no_validator_serializer_or_setting_the_check_does_not_reproduce() -> None:
    """A validator, serializer or setting added to an event model fails here until legs.checked handles it."""
    assert {EventTimestamp, EventData, EventError, LegData, BridgeData, BridgeMeta} <= set(MODELS)
    for model in MODELS:
        assert _validator_names(model) == checked.HANDLED_VALIDATORS.get(model, set()), model
        assert set(model.model_config) - {"title"} <= checked.HANDLED_SETTINGS, model
        for name, info in model.model_fields.items():
            assert info.alias is None and info.validation_alias is None, (model, name)
            assert info.default_factory is None, (model, name)


def test_a_model_setting_the_twins_cannot_reproduce_is_refused_at_import() -> None:
    class Stripped(BaseModel):
        model_config = {"str_strip_whitespace": True}
        name: str

    with pytest.raises(TypeError, match="str_strip_whitespace"):
        checked._twin(Stripped)
