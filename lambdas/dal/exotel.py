"""The Legs API client for a function: credentials from Secrets Manager, base URL from the environment.

The secret (JSON ``{"account_sid", "api_key", "api_token"}``) is read with Powertools parameters,
which caches it for ``SECRET_MAX_AGE`` seconds; the client (one urllib3 pool) is reused across
invocations as long as the credentials do not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from lambdas.shared.config import ConfigError, settings

if TYPE_CHECKING:
    from legs.json_types import JsonObject
    from legs.models import (
        ActionAccepted,
        BridgeCreated,
        BridgeStopped,
        CreateBridgeRequest,
        CreateLegRequest,
        Leg,
        LegCreated,
    )

SECRET_MAX_AGE = 300


class ExotelCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    account_sid: str
    api_key: str
    api_token: str


class LegsApi(Protocol):
    """The part of ``legs.client.LegsClient`` the functions use (a test double implements it too)."""

    def create_leg(self, request: CreateLegRequest | JsonObject) -> LegCreated: ...
    def get_leg(self, leg_sid: str, fields: list[str] | None = None) -> Leg: ...
    def leg_action(self, leg_sid: str, exoml: str, action_custom_param: str | None = None) -> ActionAccepted: ...
    def leg_shortcut(self, leg_sid: str, name: str, body: JsonObject | None = None) -> ActionAccepted: ...
    def hangup(self, leg_sid: str) -> ActionAccepted: ...
    def say(self, leg_sid: str, text: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted: ...
    def play(self, leg_sid: str, url: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted: ...
    def start_stream(
        self, leg_sid: str, url: str, direction: str, content_type: str | None = None
    ) -> ActionAccepted: ...
    def create_bridge(self, request: CreateBridgeRequest | JsonObject) -> BridgeCreated: ...
    def stop_bridge(self, bridge_sid: str) -> BridgeStopped: ...


_override: LegsApi | None = None


@contextmanager
def use_client(client: LegsApi) -> Iterator[LegsApi]:
    """Make every function use ``client`` (tests: a fake, or a counting wrapper around the real one)."""
    global _override
    previous, _override = _override, client
    try:
        yield client
    finally:
        _override = previous


def credentials() -> ExotelCredentials:
    from aws_lambda_powertools.utilities.parameters import get_secret

    name = settings().exotel_secret_name
    raw = get_secret(name, transform="json", max_age=SECRET_MAX_AGE)
    try:
        return ExotelCredentials.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"secret {name!r} must be JSON with account_sid, api_key, api_token") from exc


@lru_cache(maxsize=4)
def _client(base_url: str, account_sid: str, api_key: str, api_token: str, timeout: float) -> LegsApi:
    from legs.client import LegsClient

    return LegsClient(base_url=base_url, account_sid=account_sid, api_key=api_key, api_token=api_token, timeout=timeout)


def legs_client() -> LegsApi:
    """The client every function calls Exotel with."""
    if _override is not None:
        return _override
    conf = settings()
    base_url = conf.require("exotel_base_url")
    creds = credentials()
    return _client(base_url, creds.account_sid, creds.api_key, creds.api_token, conf.exotel_timeout_s)
