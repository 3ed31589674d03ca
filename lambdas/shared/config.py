"""Function configuration, read from the environment (names in ``contract.env.Env``).

Read on every call rather than cached at import, so a test (or the devstack, which runs every
function in one process) can point the functions at its own resources.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE
from contract.deployment import EXOTEL_SECRET_NAME
from contract.env import Env

#: How long leg-state and plan items live (DynamoDB TTL), unless overridden.
DEFAULT_RETENTION_DAYS = 30


class ConfigError(RuntimeError):
    """A required setting is missing: the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    leg_state_table: str | None
    call_plans_table: str | None
    idempotency_table: str | None
    exotel_secret_name: str
    exotel_base_url: str | None
    bridge_endpoint: str | None
    retry_queue_url: str | None
    event_bus_name: str
    event_bus_arn: str | None  # ordered mode: the EventsV2 bus (redrive replays v2 entries onto it)
    event_source: str
    retention_days: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            leg_state_table=env.get(Env.LEG_STATE_TABLE) or None,
            call_plans_table=env.get(Env.CALL_PLANS_TABLE) or None,
            idempotency_table=env.get(Env.IDEMPOTENCY_TABLE) or None,
            exotel_secret_name=env.get(Env.EXOTEL_SECRET_NAME) or EXOTEL_SECRET_NAME,
            exotel_base_url=env.get(Env.EXOTEL_BASE_URL) or None,
            bridge_endpoint=env.get(Env.BRIDGE_ENDPOINT) or None,
            retry_queue_url=env.get(Env.RETRY_QUEUE_URL) or None,
            event_bus_name=env.get(Env.EVENT_BUS_NAME) or DEFAULT_BUS_NAME,
            event_bus_arn=env.get(Env.EVENT_BUS_ARN) or None,
            event_source=env.get(Env.EVENT_SOURCE) or DEFAULT_SOURCE,
            retention_days=int(env.get(Env.RETENTION_DAYS) or DEFAULT_RETENTION_DAYS),
        )

    def require(self, attribute: str) -> str:
        """The setting's value, or :class:`ConfigError` naming the variable that should carry it."""
        value = getattr(self, attribute)
        if not value:
            raise ConfigError(f"{getattr(Env, attribute.upper(), attribute.upper())} is not set")
        return str(value)


def settings() -> Settings:
    return Settings.from_env()
