"""Event times as the API and the bus write them (RFC 3339 with up to nanoseconds) -> numbers to compute with."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

#: date-time, fraction of a second (up to nanoseconds: more digits than ``datetime`` keeps), zone
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)")


def epoch_ms(value: Any) -> float | None:
    """RFC 3339 text, Exotel's ``{seconds, nanos}`` or a number of seconds -> milliseconds since the epoch."""
    if isinstance(value, dict) and "seconds" in value:
        return (float(value["seconds"]) + float(value.get("nanos", 0)) / 1e9) * 1000
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * 1000
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        return None
    whole, digits, zone = match.groups()
    try:
        moment = datetime.fromisoformat(whole + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    return (moment.timestamp() + (float(f"0.{digits}") if digits else 0.0)) * 1000
