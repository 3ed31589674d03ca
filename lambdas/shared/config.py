"""Function configuration: the environment (names in ``contract.env.Env``) -> :class:`FunctionSettings`.

Validated twice over, both times with errors naming the variable:

* **At cold start.** Each handler module calls :func:`at_cold_start` with its function's name when it
  is imported. Inside the Lambda runtime (``AWS_LAMBDA_FUNCTION_NAME`` set: Lambda itself, and the
  devstack's loader, which imports each function the same way) that checks every variable the
  function needs (``lambdas.wiring.WIRING[name].env``) is set and well-formed, so a function deployed
  without one fails its init phase instead of its first event. Elsewhere (a test importing a handler
  before its fixtures set the environment) the import does not check.
* **On use.** :func:`settings` re-reads the environment whenever the variables it reads change (a test,
  or the devstack, may point the functions elsewhere between invocations) and caches the result;
  a malformed value raises :class:`ConfigError`, and :meth:`FunctionSettings.require` raises it for a
  setting that is missing at request time (the API answers 503 ``not_configured``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE
from contract.deployment import EXOTEL_SECRET_NAME
from contract.env import AwsEnv, Env
from legs.envmodel import ConfigError, EnvModel, GrpcEndpointText, HttpUrlText

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "ConfigError",
    "FunctionSettings",
    "Settings",
    "at_cold_start",
    "check_function",
    "settings",
]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def _table_name(value: str) -> str:
    if not _TABLE_NAME.match(value):
        raise ValueError(f"must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got {value!r}")
    return value


#: A DynamoDB table name as DynamoDB accepts it.
TableName = Annotated[str, AfterValidator(_table_name)]
#: How long leg-state and plan items live (DynamoDB TTL), unless overridden.
DEFAULT_RETENTION_DAYS = 30


class FunctionSettings(EnvModel):
    """Every setting a function may read; which ones a function *needs* is ``lambdas.wiring``'s business."""

    subject = "function configuration"

    leg_state_table: TableName | None = Field(default=None, validation_alias=Env.LEG_STATE_TABLE)
    call_plans_table: TableName | None = Field(default=None, validation_alias=Env.CALL_PLANS_TABLE)
    idempotency_table: TableName | None = Field(default=None, validation_alias=Env.IDEMPOTENCY_TABLE)
    exotel_secret_name: str = Field(default=EXOTEL_SECRET_NAME, min_length=1, validation_alias=Env.EXOTEL_SECRET_NAME)
    exotel_base_url: HttpUrlText | None = Field(default=None, validation_alias=Env.EXOTEL_BASE_URL)
    bridge_endpoint: GrpcEndpointText | None = Field(default=None, validation_alias=Env.BRIDGE_ENDPOINT)
    retry_queue_url: HttpUrlText | None = Field(default=None, validation_alias=Env.RETRY_QUEUE_URL)
    event_bus_name: str = Field(
        default=DEFAULT_BUS_NAME, min_length=1, max_length=1600, validation_alias=Env.EVENT_BUS_NAME
    )
    # ordered mode: the EventsV2 bus (redrive replays v2 entries onto it)
    event_bus_arn: str | None = Field(default=None, min_length=1, validation_alias=Env.EVENT_BUS_ARN)
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256, validation_alias=Env.EVENT_SOURCE)
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650, validation_alias=Env.RETENTION_DAYS)
    exotel_timeout_s: float = Field(default=10.0, gt=0, le=60, validation_alias=Env.EXOTEL_TIMEOUT_S)
    # Call-plan deadlines (seconds); None: the domain's default (lambdas/domain/deadlines.py).
    plan_pending_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_PENDING_DEADLINE_S)
    plan_hangup_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_HANGUP_DEADLINE_S)
    plan_dial_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_DIAL_DEADLINE_S)
    plan_redial_slack_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_REDIAL_SLACK_S)
    plan_bridging_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_BRIDGING_DEADLINE_S)
    plan_bridged_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_BRIDGED_DEADLINE_S)
    plan_message_deadline_s: float | None = Field(default=None, gt=0, validation_alias=Env.PLAN_MESSAGE_DEADLINE_S)
    plan_max_tries: int | None = Field(default=None, ge=1, le=20, validation_alias=Env.PLAN_MAX_TRIES)

    def deadline_overrides(self) -> dict[str, float | None]:
        """The ``PLAN_*`` values by the name the domain's ``Deadlines`` gives them (None: its default)."""
        return {
            "pending": self.plan_pending_deadline_s,
            "hangup": self.plan_hangup_deadline_s,
            "dial": self.plan_dial_deadline_s,
            "redial_slack": self.plan_redial_slack_s,
            "bridging": self.plan_bridging_deadline_s,
            "bridged": self.plan_bridged_deadline_s,
            "message": self.plan_message_deadline_s,
            "max_tries": self.plan_max_tries,
        }

    def require(self, attribute: str) -> str:
        """The setting's value, or :class:`ConfigError` naming the variable that should carry it."""
        value = getattr(self, attribute)
        if not value:
            raise ConfigError.listing(self.subject, [f"{self.source_name(attribute)}: not set"])
        return str(value)

    def missing(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` (variable names) that no value fills."""
        return [name for name in names if getattr(self, self.field_for(name) or name, None) in (None, "")]


#: Kept for callers that know the old name.
Settings = FunctionSettings

#: The variables :class:`FunctionSettings` reads: a change in any of them means a fresh read.
_NAMES = tuple(name for field in FunctionSettings.model_fields for name in FunctionSettings.source_names(field))


@lru_cache(maxsize=8)
def _read(values: tuple[str | None, ...]) -> FunctionSettings:
    return FunctionSettings.from_env({name: value for name, value in zip(_NAMES, values, strict=True) if value})


def settings() -> FunctionSettings:
    """The settings as the environment is now (cached while it does not change); or :class:`ConfigError`."""
    return _read(tuple(os.environ.get(name) for name in _NAMES))


def check_function(function: str) -> FunctionSettings:
    """The settings, or :class:`ConfigError` naming every variable ``function`` needs that is missing or malformed."""
    from lambdas.wiring import WIRING

    needed = WIRING[function].env
    try:
        current = settings()
    except ConfigError as exc:
        unset = [name for name in needed if _unset(name) and not _has_default(name)]
        raise ConfigError.listing(
            _subject(function), [*exc.problems, *(f"{name}: not set" for name in unset)]
        ) from None
    missing = current.missing(needed)
    if missing:
        raise ConfigError.listing(_subject(function), [f"{name}: not set" for name in missing])
    return current


def _subject(function: str) -> str:
    return f"configuration of function {function}"


def _unset(name: str) -> bool:
    return not (os.environ.get(name) or "").strip()


def _has_default(name: str) -> bool:
    field = FunctionSettings.field_for(name)
    return field is not None and FunctionSettings.model_fields[field].default is not None


def at_cold_start(function: str) -> FunctionSettings | None:
    """Called by ``lambdas/<function>/handler.py`` at import: :func:`check_function` inside the Lambda runtime."""
    if not os.environ.get(AwsEnv.LAMBDA_FUNCTION_NAME):
        return None
    return check_function(function)
