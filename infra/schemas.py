"""Event schemas for the EventBridge schema registry: the files in ``schemas/events/``, or the models.

``make schemas`` writes one JSON Schema per event name (the bus ``Detail``) into ``schemas/events/``;
the registry publishes exactly those. Without the folder they are generated in memory, so
synthesis never depends on a generated file.
Each registry entry is the whole EventBridge event (``source``, ``detail-type``, ``detail``), the
shape a subscriber's rule matches against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.catalogue import ALL_EVENTS
from legs.events import LegEvent

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
#: The registry limits one schema's content; stay well below it.
MAX_CONTENT_BYTES = 90_000
_NAME_SAFE = re.compile(r"[^A-Za-z0-9._@-]")


@dataclass(frozen=True)
class RegistrySchema:
    name: str
    description: str
    content: str  # JSON text, JSON Schema draft 4


def _draft4(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic writes ``$defs``; the registry's JSONSchemaDraft4 type expects ``definitions``."""
    text = json.dumps(schema).replace('"#/$defs/', '"#/definitions/')
    result = json.loads(text)
    if "$defs" in result:
        result["definitions"] = result.pop("$defs")
    return result


def _envelope(detail: dict[str, Any], source: str, detail_types: list[str], title: str) -> dict[str, Any]:
    detail = _draft4(detail)
    definitions = detail.pop("definitions", {})
    definitions[title] = {k: v for k, v in detail.items() if k != "$schema"}
    return {
        "$schema": DRAFT4,
        "title": f"{source} {title}",
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": {"type": "string", "enum": [source]},
            "detail-type": {"type": "string", "enum": detail_types} if detail_types else {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "detail": {"$ref": f"#/definitions/{title}"},
        },
        "definitions": definitions,
    }


def _event_schemas_from_legs() -> dict[str, dict[str, Any]]:
    """``legs.schemas`` generates the same files in memory (no ``make schemas`` needed)."""
    try:
        from legs.schemas import all_schemas
    except ImportError:
        return {}
    return {Path(rel).stem: body for rel, body in all_schemas().items() if rel.startswith("events/")}


def load_schemas(source: str, schemas_dir: Path = SCHEMAS_DIR) -> list[RegistrySchema]:
    """One registry schema per event name: ``schemas/events/<event_name>.json`` wrapped in the bus envelope.

    Order of preference: the committed files, then ``legs.schemas`` generated in memory, then a
    single schema generated from :class:`LegEvent` that covers every event name.
    """
    events_dir = schemas_dir / "events"
    details: dict[str, dict[str, Any]] = {}
    if events_dir.is_dir():
        details = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(events_dir.glob("*.json"))}
    if not details:
        details = _event_schemas_from_legs()
    result = [
        _schema(
            source,
            name,
            f"Exotel {name} event on the bus (detail-type {name})",
            _envelope(detail, source, [name], _NAME_SAFE.sub("_", name)),
        )
        for name, detail in sorted(details.items())
    ]
    if not result:
        all_names = list(ALL_EVENTS)
        body = _envelope(LegEvent.model_json_schema(), source, all_names, "LegEvent")
        result.append(_schema(source, "LegEvent", "Exotel leg, action and bridge events (from legs.events)", body))
    return result


def _schema(source: str, stem: str, description: str, body: dict[str, Any]) -> RegistrySchema:
    content = json.dumps(body, separators=(",", ":"), sort_keys=True)
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise ValueError(f"schema {stem} is {len(content)} bytes; the registry takes at most {MAX_CONTENT_BYTES}")
    return RegistrySchema(name=_NAME_SAFE.sub("_", f"{source}@{stem}"), description=description[:256], content=content)
