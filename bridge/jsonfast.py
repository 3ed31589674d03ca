"""The bus Detail as JSON text, with orjson: ~10x faster than ``json.dumps`` on the bridge's hot path.

Same JSON as ``legs.eventbridge.dumps_detail`` (compact separators, non-ASCII kept as UTF-8): only the
spelling of some numbers differs (``1e16`` for ``1e+16``), which every JSON parser reads alike. What orjson
refuses (an integer beyond 64 bits, NaN) goes through the standard encoder, so nothing that passed
validation is rejected here.
"""

from __future__ import annotations

import orjson

from legs.eventbridge import dumps_detail
from legs.json_types import JsonObject


def dumps_compact(detail: JsonObject) -> str:
    try:
        return orjson.dumps(detail).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return dumps_detail(detail)
