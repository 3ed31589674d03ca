"""Exotel leg and bridge events: one model for every consumer (bridge, lambdas, simulator, schemas).

Unknown fields are kept (``extra="allow"``) so that whatever Exotel adds passes through to the
bus untouched. The ``data`` object is typed as a leg or a bridge according to ``event_type``.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from contract.bus import SCHEMA_VERSION
from contract.catalogue import EventKind, kind_of
from legs.json_types import JsonObject
from legs.leg import ExotelLegFields

#: Re-exported for readers of the event model; the catalogue itself lives in ``contract.catalogue``.
__all__ = ["SCHEMA_VERSION", "BridgeData", "EventTimestamp", "LegData", "LegEvent"]

# RFC 3339 and Go's time.String() form that Exotel uses in created_at ("... +0000 UTC").
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?(?:\s+UTC)?$"
)


@functools.lru_cache(maxsize=4096)
def utc_second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of an epoch second in UTC (cached: events arrive in bursts of the same seconds)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@functools.lru_cache(maxsize=4096)
def utc_datetime(seconds: int) -> datetime:
    """The aware UTC datetime of an epoch second (cached, as :func:`utc_second`)."""
    return datetime.fromtimestamp(seconds, UTC)


def rfc3339_nanos(seconds: int, nanos: int) -> str:
    """An event's time as the bus carries it: RFC 3339 in UTC, nanoseconds kept."""
    return f"{utc_second(seconds)}.{nanos:09d}Z"


def utc_datetime_micros(seconds: int, nanos: int) -> datetime:
    """An event's time as a datetime: microsecond precision (Python's limit)."""
    return utc_datetime(seconds).replace(microsecond=nanos // 1000)


class _Open(BaseModel):
    """Keeps fields it does not know (Exotel may add some) and accepts field names as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EventTimestamp(BaseModel):
    """Exotel's ``{seconds, nanos}`` timestamp; RFC 3339 text is accepted and produced with nanoseconds."""

    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=0, le=253402300799)  # up to 9999-12-31
    nanos: int = Field(default=0, ge=0, le=999_999_999)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return cls.parse_rfc3339(value)
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=UTC)
            return {"seconds": int(dt.timestamp() // 1), "nanos": dt.microsecond * 1000}
        return value

    @staticmethod
    def parse_rfc3339(text: str) -> dict[str, int]:
        match = _RFC3339.match(text.strip())
        if not match:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
        day, clock, frac, zone = match.groups()
        offset = "+00:00" if zone in (None, "Z", "z", "UTC") else zone
        if len(offset) == 5:  # +0530 -> +05:30
            offset = offset[:3] + ":" + offset[3:]
        whole = datetime.fromisoformat(f"{day}T{clock}{offset}")
        return {"seconds": int(whole.timestamp()), "nanos": int((frac or "0").ljust(9, "0"))}

    def to_datetime(self) -> datetime:
        """Microsecond precision (Python's limit); use :meth:`rfc3339` to keep nanoseconds."""
        return utc_datetime_micros(self.seconds, self.nanos)

    def rfc3339(self) -> str:
        return rfc3339_nanos(self.seconds, self.nanos)

    @property
    def sort_key(self) -> int:
        """Nanoseconds since the epoch: orders events by their own time."""
        return self.seconds * 1_000_000_000 + self.nanos

    @classmethod
    def now(cls) -> EventTimestamp:
        seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
        return cls(seconds=seconds, nanos=nanos)


class EventError(_Open):
    error_code: int | str | None = None
    message: str | None = None
    description: str | None = None


class EventData(_Open):
    """``event_data``: ``data`` (e.g. ``hangup_cause_code``), ``error``, ``bridge_sid`` for bridge joins."""

    data: dict[str, Any] | None = None
    error: EventError | None = None
    bridge_sid: str | None = None

    @property
    def hangup_cause_code(self) -> int | None:
        value = (self.data or {}).get("hangup_cause_code")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class LegData(ExotelLegFields):
    """The leg resource as carried in an event's ``data``."""

    # The fields every leg model shares are in legs.leg; these two only events carry.

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    dc_code: str | None = Field(default=None, description="the data centre (DC) of the leg")
    nso_code: str | None = Field(default=None, description="the network service operator (NSO) of the leg")


class BridgeData(_Open):
    """The bridge resource as carried in a bridge event's ``data`` (Exotel uses ``sid`` or ``bridge_sid``)."""

    bridge_sid: str | None = None
    sid: str | None = None
    account_sid: str | None = None
    state: str | None = None
    terminal_status: str | None = None
    leg_sids: list[str] | None = None
    active_legs: list[str] | int | None = None
    date_created: str | None = None
    date_updated: str | None = None
    start_time: str | None = None
    end_time: str | None = None


class BridgeMeta(BaseModel):
    """What the bridge adds to ``Detail`` on the bus."""

    received_at: str
    schema_version: str = SCHEMA_VERSION


class LegEvent(_Open):
    """One Exotel event (leg, action or bridge), as pushed over gRPC and as put on the bus."""

    event_sid: str = Field(min_length=1, max_length=256)
    event_type: str = Field(min_length=1, max_length=128)
    event_name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    event_timestamp: EventTimestamp
    action_sid: str | None = None
    action_custom_parameter: str | None = None
    event_data: EventData | None = None
    data: LegData | BridgeData | None = None
    bridge: BridgeMeta | None = None

    @field_validator("data", mode="wrap")
    @classmethod
    def _typed_data(cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
        if isinstance(value, dict):
            if kind_of(info.data.get("event_type")) is EventKind.BRIDGE:
                return BridgeData.model_validate(value)
            return LegData.model_validate(value)
        return handler(value)

    # ---- conveniences that every consumer needs -------------------------------------------
    @property
    def leg(self) -> LegData | None:
        return self.data if isinstance(self.data, LegData) else None

    @property
    def bridge_resource(self) -> BridgeData | None:
        return self.data if isinstance(self.data, BridgeData) else None

    @property
    def leg_sid(self) -> str | None:
        return self.leg.leg_sid if self.leg else None

    @property
    def bridge_sid(self) -> str | None:
        if self.bridge_resource:
            return self.bridge_resource.bridge_sid or self.bridge_resource.sid
        return self.event_data.bridge_sid if self.event_data else None

    @property
    def custom_param(self) -> str | None:
        return self.leg.custom_param if self.leg else None

    @property
    def answered_by(self) -> str | None:
        return self.leg.answered_by if self.leg else None

    @property
    def terminal_status(self) -> str | None:
        return self.data.terminal_status if self.data else None

    @property
    def hangup_cause_code(self) -> int | None:
        return self.event_data.hangup_cause_code if self.event_data else None

    @property
    def error(self) -> EventError | None:
        return self.event_data.error if self.event_data else None

    def to_detail(self) -> JsonObject:
        """Exotel's JSON with ``event_timestamp`` as RFC 3339 (nanoseconds kept)."""
        detail = self.model_dump(mode="json", exclude_unset=True)
        detail["event_timestamp"] = self.event_timestamp.rfc3339()
        return detail
