"""The bridge's configuration: environment variables -> one validated, immutable model.

Read once at start-up; anything wrong is reported in one readable message (``ConfigError``) and
``python -m bridge`` exits with status 2 instead of failing later on the first event.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, BusKind
from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv
from contract.metrics import BRIDGE_SERVICE, NAMESPACE

#: Environment variable -> field name. The AWS SDK's own variables keep their names.
ENV_VARS: dict[str, str] = {
    BridgeEnv.HOST: "host",
    BridgeEnv.PORT: "port",
    Env.EVENT_BUS_NAME: "event_bus_name",
    Env.EVENT_SOURCE: "event_source",
    Env.EVENT_BUS_KIND: "event_bus_kind",
    Env.EVENT_BUS_ARN: "event_bus_arn",
    Env.FALLBACK_QUEUE_URL: "fallback_queue_url",
    Env.DEAD_LETTER_QUEUE_URL: "dead_letter_queue_url",
    BridgeEnv.AUTH_TOKEN: "auth_token",
    BridgeEnv.TLS_CERT_FILE: "tls_cert_file",
    BridgeEnv.TLS_KEY_FILE: "tls_key_file",
    BridgeEnv.TLS_CLIENT_CA_FILE: "tls_client_ca_file",
    AwsEnv.ENDPOINT_URL: "aws_endpoint_url",
    BridgeEnv.BATCH_MAX_ENTRIES: "batch_max_entries",
    BridgeEnv.LINGER_MS: "linger_ms",
    BridgeEnv.MAX_IN_FLIGHT: "max_in_flight",
    BridgeEnv.PUBLISH_DEADLINE_MS: "publish_deadline_ms",
    BridgeEnv.FALLBACK_DEADLINE_MS: "fallback_deadline_ms",
    BridgeEnv.MAX_EVENT_BYTES: "max_event_bytes",
    BridgeEnv.DEDUP_SIZE: "dedup_size",
    BridgeEnv.DEDUP_TTL_S: "dedup_ttl_s",
    BridgeEnv.SHUTDOWN_GRACE_S: "shutdown_grace_s",
    BridgeEnv.DRAIN_DELAY_S: "drain_delay_s",
    BridgeEnv.KEEPALIVE_TIME_S: "keepalive_time_s",
    BridgeEnv.KEEPALIVE_TIMEOUT_S: "keepalive_timeout_s",
    BridgeEnv.MAX_CONNECTION_AGE_S: "max_connection_age_s",
    BridgeEnv.METRICS_INTERVAL_S: "metrics_interval_s",
    PowertoolsEnv.METRICS_NAMESPACE: "metrics_namespace",
    PowertoolsEnv.SERVICE_NAME: "service_name",
}


class ConfigError(ValueError):
    """Configuration that cannot work; the message names the variables at fault."""


class BridgeConfig(BaseModel):
    """Everything ``python -m bridge`` can be told; defaults suit a Fargate task behind a load balancer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "0.0.0.0"
    port: int = Field(default=50051, ge=0, le=65535)  # 0: pick a free port (tests)
    event_bus_name: str = Field(default=DEFAULT_BUS_NAME, min_length=1, max_length=1600)
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256)
    event_bus_kind: BusKind = BusKind.CLASSIC  # v2: EventsV2 PutEvents (bridge/eventsv2.py), ordered + deduplicated
    event_bus_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z0-9-]*:events:[a-z0-9-]+:\d{12}:event-busv2/")
    fallback_queue_url: str | None = None
    dead_letter_queue_url: str | None = None
    auth_token: SecretStr | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    aws_endpoint_url: str | None = None
    aws_region: str | None = None

    # batching publisher
    batch_max_entries: int = Field(default=MAX_ENTRIES_PER_CALL, ge=1, le=MAX_ENTRIES_PER_CALL)
    linger_ms: float = Field(default=10.0, ge=0, le=1000)
    max_in_flight: int = Field(default=16, ge=1, le=256)
    publish_deadline_ms: int = Field(default=700, ge=10, le=60_000)
    fallback_deadline_ms: int = Field(default=250, ge=10, le=60_000)
    max_event_bytes: int = Field(default=MAX_REQUEST_BYTES, ge=1024, le=MAX_REQUEST_BYTES)

    # duplicate suppression
    dedup_size: int = Field(default=100_000, ge=0)  # 0 turns it off
    dedup_ttl_s: float = Field(default=600.0, gt=0)

    # server
    shutdown_grace_s: float = Field(default=20.0, ge=0, le=3600)
    drain_delay_s: float = Field(default=0.0, ge=0, le=600)  # NOT_SERVING but still accepting, for LB deregistration
    keepalive_time_s: float = Field(default=30.0, gt=0)
    keepalive_timeout_s: float = Field(default=10.0, gt=0)
    max_connection_age_s: float = Field(default=300.0, ge=0)  # 0: unlimited
    max_receive_message_bytes: int = 4 * 1024 * 1024

    # observability
    metrics_interval_s: float = Field(default=10.0, gt=0)
    metrics_namespace: str = Field(default=NAMESPACE, min_length=1)
    service_name: str = Field(default=BRIDGE_SERVICE, min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> BridgeConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("BRIDGE_TLS_CERT_FILE and BRIDGE_TLS_KEY_FILE must be set together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("BRIDGE_TLS_CLIENT_CA_FILE (mutual TLS) needs BRIDGE_TLS_CERT_FILE/BRIDGE_TLS_KEY_FILE")
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{_env_name(name)}: no readable file at {path}")
        for name in ("fallback_queue_url", "dead_letter_queue_url", "aws_endpoint_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{_env_name(name)} must be an http(s) URL, got {url!r}")
        if self.event_bus_kind is BusKind.V2 and not self.event_bus_arn:
            raise ValueError("EVENT_BUS_KIND=v2 needs EVENT_BUS_ARN (the EventsV2 bus's ARN)")
        if self.auth_token is not None and not self.auth_token.get_secret_value().strip():
            raise ValueError("BRIDGE_AUTH_TOKEN is set but empty")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> BridgeConfig:
        """Build from the environment (empty values count as unset); raise :class:`ConfigError`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var, name in ENV_VARS.items():
            value = env.get(var)
            if value is not None and value.strip() != "":
                values[name] = value.strip()
        region = env.get(AwsEnv.REGION) or env.get(AwsEnv.DEFAULT_REGION)
        if region:
            values["aws_region"] = region.strip()
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None


def _env_name(field: str) -> str:
    for var, name in ENV_VARS.items():
        if name == field:
            return var
    return field


def describe(exc: ValidationError) -> str:
    """One line per problem, named by environment variable."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        label = _env_name(where) if where else "configuration"
        message = error["msg"].removeprefix("Value error, ")
        shown = "" if "secret" in where or "token" in where else f" (got {error.get('input')!r})"
        lines.append(f"{label}: {message}{shown if where else ''}")
    return "invalid bridge configuration: " + "; ".join(lines)
