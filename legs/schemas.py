"""JSON Schemas of the public interface, generated from the pydantic models: ``python -m legs.schemas``.

- ``schemas/events/<event_name>.json``: the ``Detail`` of that event on the bus (what a subscriber
  receives): Exotel's fields, ``event_timestamp`` as RFC 3339 text, the ``bridge`` object. Draft 4
  (what the EventBridge schema registry accepts), with ``enum`` pinning ``event_name``/``event_type``.
- ``schemas/CreateLegRequest.json``: the body of ``POST /legs``.

Each carries ``examples``: a sample payload (``legs.examples``: an event as Exotel sends it, turned
into the bus ``Detail`` by the bridge's own conversion), so a subscriber sees one without a call.

A test regenerates them and fails when the committed files differ (``make schemas`` to refresh).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from pydantic.json_schema import JsonSchemaValue

from contract.bus import DEFAULT_SOURCE
from contract.catalogue import ALL_EVENTS, BY_NAME, EventKind
from legs.events import LegEvent
from legs.examples import bus_detail
from legs.json_types import JsonObject
from legs.models import CreateLegRequest

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "schemas"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
#: A ``POST /legs`` body, as a caller sends it.
CREATE_LEG_EXAMPLE: JsonObject = {
    "contact_uri": "09163810001",
    "exophone": "08030752400",
    "leg_event_endpoint": "grpc://legs-events.example.com:443",
    "custom_param": "order-1234",
    "time_limit": 3600,
}
_DEFS = "definitions"


def _base_event_schema() -> JsonSchemaValue:
    schema = LegEvent.model_json_schema(ref_template=f"#/{_DEFS}/{{model}}", mode="serialization")
    schema[_DEFS] = schema.pop("$defs", {})
    schema[_DEFS].pop("EventTimestamp", None)
    return schema


def event_schema(name: str, base: JsonSchemaValue | None = None) -> JsonSchemaValue:
    """The bus ``Detail`` of one event name."""
    schema = copy.deepcopy(base or _base_event_schema())
    spec = BY_NAME[name]
    props = schema["properties"]
    props["event_name"] = {"type": "string", "enum": [name], "description": "Exotel's event_name (= DetailType)"}
    props["event_type"] = {"type": "string", "enum": [t.value for t in spec.event_types]}
    props["event_timestamp"] = {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 with nanoseconds, e.g. 2023-06-05T12:08:45.743609442Z",
    }
    resource = "BridgeData" if spec.kind is EventKind.BRIDGE else "LegData"
    props["data"] = {"anyOf": [{"$ref": f"#/{_DEFS}/{resource}"}, {"type": "null"}]}
    unused = "LegData" if resource == "BridgeData" else "BridgeData"
    schema[_DEFS].pop(unused, None)
    schema["$schema"] = DRAFT4
    schema["title"] = name
    schema["description"] = (
        f"Detail of an Exotel {name} event on the bus (source {DEFAULT_SOURCE}, detail-type {name})."
    )
    schema["examples"] = [bus_detail(name)]
    return schema


def all_schemas() -> dict[str, JsonSchemaValue]:
    """Relative path -> schema, for every event name in the catalogue plus CreateLegRequest."""
    base = _base_event_schema()
    out: dict[str, JsonSchemaValue] = {}
    for name in ALL_EVENTS:
        out[f"events/{name}.json"] = event_schema(name, base)
    request = CreateLegRequest.model_json_schema()
    request["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    request["examples"] = [CREATE_LEG_EXAMPLE]
    out["CreateLegRequest.json"] = request
    return out


def render(schema: JsonSchemaValue) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def stale_files(directory: Path = DEFAULT_DIR) -> list[str]:
    """Files that are missing, different, or no longer generated."""
    expected = {path: render(schema) for path, schema in all_schemas().items()}
    problems = [
        p for p, text in expected.items() if not (directory / p).is_file() or (directory / p).read_text() != text
    ]
    if directory.is_dir():
        present = {str(p.relative_to(directory)) for p in directory.rglob("*.json")}
        problems += sorted(present - set(expected))
    return problems


def write(directory: Path = DEFAULT_DIR) -> list[Path]:
    written = []
    for path, schema in all_schemas().items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(schema))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for path in stale:
            print(f"stale: {args.out / path}")
        return 1 if stale else 0
    for written in write(args.out):
        print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
