"""Identifiers and time stamps in Exotel's formats (32-char sids, Go-style created_at)."""

from __future__ import annotations

import secrets
import string
import time
from datetime import UTC, datetime

_ALPHABET = string.ascii_letters + string.digits


def new_sid() -> str:
    """32 characters like Exotel's ``2QYATxQ9t4UKcUwcqJClSa9OEZ400000``: 27 random, then ``00000``."""
    return "2" + "".join(secrets.choice(_ALPHABET) for _ in range(26)) + "00000"


def request_id() -> str:
    return secrets.token_hex(16)


def _split(ns: int) -> tuple[datetime, int]:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC), nanos


def go_time(ns: int | None = None) -> str:
    """``2023-05-31 08:02:32.608752571 +0000 UTC`` (the create-leg ``created_at``)."""
    whole, nanos = _split(time.time_ns() if ns is None else ns)
    return f"{whole:%Y-%m-%d %H:%M:%S}.{nanos:09d} +0000 UTC"


def rfc3339(ns: int | None = None) -> str:
    """``2023-06-05T08:02:33.214702529Z`` (dates inside events and resources)."""
    whole, nanos = _split(time.time_ns() if ns is None else ns)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"
