"""Names for data that is JSON and nothing more precise: Exotel's open objects, bus patterns, raw events.

Used where the data truly is arbitrary JSON (a value we pass through without knowing its shape);
everything with a known shape has a model or a ``TypedDict`` instead. Type-only: nothing here
exists for pydantic, whose models keep their own field types (and so their published schemas).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

#: A JSON value, as ``json.loads`` can give it back. Nested arrays and objects are read-only
#: (``Sequence``/``Mapping``, which are covariant), so that a ``list[dict[str, str]]`` is one too.
JsonValue: TypeAlias = "str | int | float | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
#: A JSON object (its own members may be set; nested ones are read-only, see :data:`JsonValue`).
JsonObject: TypeAlias = "dict[str, JsonValue]"
