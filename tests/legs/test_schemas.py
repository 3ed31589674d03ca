"""The committed JSON Schemas are fresh, real event details validate against them, and so do their examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from contract.catalogue import ALL_EVENTS, LEG_EVENTS
from legs import schemas
from legs.eventbridge import event_from_detail, to_put_events_entry
from legs.events import LegEvent
from legs.models import CreateLegRequest
from tests.legs.test_events import SEED_CONNECTING, TERMINATED


def test_committed_schemas_are_fresh() -> None:
    stale = schemas.stale_files()
    assert stale == [], f"run `make schemas` (python -m legs.schemas); stale: {stale}"


def test_check_flag_detects_drift(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    assert schemas.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "events" / "leg_answered.json").write_text("{}")
    (tmp_path / "events" / "gone.json").write_text("{}")
    assert schemas.stale_files(tmp_path) == ["events/leg_answered.json", "events/gone.json"]
    assert schemas.main(["--check", "--out", str(tmp_path)]) == 1


def test_one_schema_per_known_event() -> None:
    files = {p.name for p in (schemas.DEFAULT_DIR / "events").glob("*.json")}
    assert {f"{name}.json" for name in LEG_EVENTS} <= files
    assert (schemas.DEFAULT_DIR / "CreateLegRequest.json").is_file()


def _load(name: str) -> dict:
    return json.loads((schemas.DEFAULT_DIR / "events" / f"{name}.json").read_text())


@pytest.mark.parametrize("raw", [SEED_CONNECTING, TERMINATED], ids=["leg_connecting", "leg_terminated"])
def test_bus_detail_validates(raw: dict) -> None:
    detail = json.loads(to_put_events_entry(LegEvent.model_validate(raw))["Detail"])
    jsonschema.Draft4Validator(_load(raw["event_name"])).validate(detail)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(_load("leg_answered")).validate(detail)  # event_name pinned


def test_bridge_event_schema_types_data() -> None:
    detail = {
        "event_sid": "e",
        "event_type": "bridge_lifecycle_event",
        "event_name": "bridge_created",
        "event_timestamp": "2023-06-05T12:08:45.743609442Z",
        "data": {"bridge_sid": "b", "leg_sids": ["a", "c"]},
    }
    validator = jsonschema.Draft4Validator(_load("bridge_created"))
    validator.validate(detail)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**detail, "data": {"leg_sids": "not-a-list"}})


def test_create_leg_schema_matches_the_model() -> None:
    schema = json.loads((schemas.DEFAULT_DIR / "CreateLegRequest.json").read_text())
    assert set(schema["required"]) == {"contact_uri", "exophone", "leg_event_endpoint"}
    assert schema["properties"]["time_limit"]["default"] == 14400
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_every_event_schema_carries_a_sample_payload_that_validates(name: str) -> None:
    """A subscriber can read a real-looking ``detail`` next to the schema; it validates and parses back."""
    schema = _load(name)
    assert len(schema.get("examples") or []) >= 1, f"{name}.json has no examples"
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    for example in schema["examples"]:
        validator.validate(example)
        assert example["event_name"] == name
        assert example["bridge"]["schema_version"] and example["event_timestamp"].endswith("Z")
        event = event_from_detail(example)  # what a subscriber's Lambda gets back
        assert event.event_name == name and (event.leg_sid or event.bridge_sid)


def test_the_examples_are_the_bridges_own_conversion_of_an_exotel_event() -> None:
    """Not hand-written Details: the seed's leg_connecting goes through the bridge's PutEvents conversion."""
    example = _load("leg_connecting")["examples"][0]
    entry = to_put_events_entry(LegEvent.model_validate(SEED_CONNECTING))
    assert {k: v for k, v in json.loads(entry["Detail"]).items() if k != "bridge"} == {
        k: v for k, v in example.items() if k != "bridge"
    }


def test_create_leg_schema_example_validates_and_is_accepted_by_the_model() -> None:
    schema = json.loads((schemas.DEFAULT_DIR / "CreateLegRequest.json").read_text())
    (example,) = schema["examples"]
    jsonschema.Draft202012Validator(schema).validate(example)
    assert CreateLegRequest.model_validate(example).contact_uri == example["contact_uri"]
