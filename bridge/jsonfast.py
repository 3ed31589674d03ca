"""The bus Detail as JSON text, with orjson: ~10x faster than ``json.dumps`` on the bridge's hot path.

Same JSON as ``legs.eventbridge.dumps_detail`` (compact separators, non-ASCII kept as UTF-8): only the
spelling of some numbers differs (``1e16`` for ``1e+16``), which every JSON parser reads alike. NaN and
infinities are written as ``null``, as the model's JSON dump writes them (EventBridge refuses the constants).
What orjson refuses (an integer beyond 64 bits, a key that is not a string) goes through pydantic-core's
encoder with the same rules, so nothing that passed validation is rejected here.
"""

from __future__ import annotations

import orjson
from pydantic_core import to_json

from legs.json_types import JsonObject


def dumps_compact(detail: JsonObject) -> str:
    try:
        return orjson.dumps(detail).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        # keys that are not strings become strings, NaN and infinities null: as LegEvent.to_detail() gives them
        return to_json(detail, inf_nan_mode="null").decode("utf-8")
