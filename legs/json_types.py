"""Names for data that is JSON and nothing more precise: Exotel's open objects, bus patterns, raw events.

Used where the data truly is arbitrary JSON (a value we pass through without knowing its shape);
everything with a known shape has a model or a ``TypedDict`` instead. Type-only: nothing here
exists for pydantic, whose models keep their own field types (and so their published schemas).
"""

from __future__ import annotations

from typing import TypeAlias

#: A JSON value, as ``json.loads`` can give it back.
JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
#: A JSON object.
JsonObject: TypeAlias = "dict[str, JsonValue]"
