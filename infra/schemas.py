"""Event schemas for the EventBridge schema registry: the files in ``schemas/``, or the models themselves.

``make schemas`` writes JSON Schemas generated from ``legs.events`` into ``schemas/``; the registry
publishes exactly those files. When the folder is absent (a partial checkout), the schema is
generated from :class:`legs.events.LegEvent` here, so synthesis never depends on a generated file.
Each registry entry is the whole EventBridge event (``source``, ``detail-type``, ``detail``), the
shape a subscriber's rule matches against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legs.events import ACTION_EVENT_NAMES, BRIDGE_EVENT_NAMES, LEG_EVENT_NAMES, LegEvent

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


def _detail_types_of(stem: str) -> list[str]:
    known = {
        "leg": list(LEG_EVENT_NAMES),
        "bridge": list(BRIDGE_EVENT_NAMES),
        "action": list(ACTION_EVENT_NAMES),
    }
    for prefix, names in known.items():
        if stem.lower().startswith(prefix):
            return names
    return []


def load_schemas(source: str, schemas_dir: Path = SCHEMAS_DIR) -> list[RegistrySchema]:
    """One registry schema per ``schemas/*.json`` file, or one generated from ``LegEvent``."""
    files = sorted(schemas_dir.glob("*.json")) if schemas_dir.is_dir() else []
    result: list[RegistrySchema] = []
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        stem = path.name.removesuffix(".schema.json").removesuffix(".json")
        props = raw.get("properties", {}) if isinstance(raw, dict) else {}
        if "detail" in props and "source" in props:
            body = _draft4(raw)  # already an EventBridge envelope
            body["$schema"] = DRAFT4
        else:
            body = _envelope(raw, source, _detail_types_of(stem), _NAME_SAFE.sub("_", raw.get("title") or stem))
        result.append(_schema(source, stem, f"Exotel {stem} event ({path.name})", body))
    if not result:
        all_names = [*LEG_EVENT_NAMES, *BRIDGE_EVENT_NAMES, *ACTION_EVENT_NAMES]
        body = _envelope(LegEvent.model_json_schema(), source, all_names, "LegEvent")
        result.append(_schema(source, "LegEvent", "Exotel leg, action and bridge events (from legs.events)", body))
    return result


def _schema(source: str, stem: str, description: str, body: dict[str, Any]) -> RegistrySchema:
    content = json.dumps(body, separators=(",", ":"), sort_keys=True)
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise ValueError(f"schema {stem} is {len(content)} bytes; the registry takes at most {MAX_CONTENT_BYTES}")
    return RegistrySchema(name=_NAME_SAFE.sub("_", f"{source}@{stem}"), description=description[:256], content=content)
