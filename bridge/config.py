"""The bridge's configuration: environment variables -> one validated, immutable settings model.

Read once at start-up (:meth:`BridgeConfig.from_env`); anything wrong is reported as a
:class:`ConfigError` with one line per problem naming the variable, and ``python -m bridge`` exits
with status 2 instead of failing later on the first event. Variable names come from
``contract.env``; an empty value counts as unset (``legs.settings``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, BusKind
from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv
from contract.metrics import BRIDGE_SERVICE, NAMESPACE
from legs.settings import ConfigError, EnvSettings, HttpUrlText

__all__ = ["DEFAULT_LINGER_MS", "DEFAULT_PORT", "BridgeConfig", "ConfigError"]

#: The gRPC port Exotel pushes to (and the container exposes).
DEFAULT_PORT = 50051
#: How long a batch may wait for company while another PutEvents call is in flight. The one default:
#: the publisher's own default follows it.
DEFAULT_LINGER_MS = 10.0


class BridgeConfig(EnvSettings):
    """Everything ``python -m bridge`` can be told; defaults suit a Fargate task behind a load balancer."""

    subject = "bridge configuration"

    host: str = Field(default="0.0.0.0", min_length=1, validation_alias=BridgeEnv.HOST)
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, validation_alias=BridgeEnv.PORT)  # 0: any free port
    event_bus_name: str = Field(
        default=DEFAULT_BUS_NAME, min_length=1, max_length=1600, validation_alias=Env.EVENT_BUS_NAME
    )
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256, validation_alias=Env.EVENT_SOURCE)
    # v2: EventsV2 PutEvents (bridge/eventsv2.py), ordered per leg and deduplicated by the bus
    event_bus_kind: BusKind = Field(default=BusKind.CLASSIC, validation_alias=Env.EVENT_BUS_KIND)
    event_bus_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z0-9-]*:events:[a-z0-9-]+:\d{12}:event-busv2/",
        validation_alias=Env.EVENT_BUS_ARN,
    )
    fallback_queue_url: HttpUrlText | None = Field(default=None, validation_alias=Env.FALLBACK_QUEUE_URL)
    dead_letter_queue_url: HttpUrlText | None = Field(default=None, validation_alias=Env.DEAD_LETTER_QUEUE_URL)
    auth_token: SecretStr | None = Field(default=None, validation_alias=BridgeEnv.AUTH_TOKEN)
    tls_cert_file: Path | None = Field(default=None, validation_alias=BridgeEnv.TLS_CERT_FILE)
    tls_key_file: Path | None = Field(default=None, validation_alias=BridgeEnv.TLS_KEY_FILE)
    tls_client_ca_file: Path | None = Field(default=None, validation_alias=BridgeEnv.TLS_CLIENT_CA_FILE)
    lb_mutual_tls: bool = Field(default=False, validation_alias=BridgeEnv.LB_MUTUAL_TLS)
    client_subjects: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias=BridgeEnv.CLIENT_SUBJECTS
    )
    aws_endpoint_url: HttpUrlText | None = Field(default=None, validation_alias=AwsEnv.ENDPOINT_URL)
    aws_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",  # botocore's own check, here at start-up
        validation_alias=AliasChoices(AwsEnv.REGION, AwsEnv.DEFAULT_REGION),
    )

    # batching publisher
    batch_max_entries: int = Field(
        default=MAX_ENTRIES_PER_CALL, ge=1, le=MAX_ENTRIES_PER_CALL, validation_alias=BridgeEnv.BATCH_MAX_ENTRIES
    )
    linger_ms: float = Field(default=DEFAULT_LINGER_MS, ge=0, le=1000, validation_alias=BridgeEnv.LINGER_MS)
    # busy: linger only while the CPUs are busy (bridge/busy.py); always: whenever a batch is in flight or recent
    linger_when: Literal["busy", "always"] = Field(default="busy", validation_alias=BridgeEnv.LINGER_WHEN)
    busy_percent: float = Field(default=85.0, ge=30, le=100, validation_alias=BridgeEnv.BUSY_PERCENT)
    max_in_flight: int = Field(default=16, ge=1, le=256, validation_alias=BridgeEnv.MAX_IN_FLIGHT)
    # at most this long on the bus per event; less when the caller's gRPC deadline leaves less (bridge.service)
    publish_deadline_ms: int = Field(default=700, ge=10, le=60_000, validation_alias=BridgeEnv.PUBLISH_DEADLINE_MS)
    fallback_deadline_ms: int = Field(default=250, ge=10, le=60_000, validation_alias=BridgeEnv.FALLBACK_DEADLINE_MS)
    max_event_bytes: int = Field(
        default=MAX_REQUEST_BYTES, ge=1024, le=MAX_REQUEST_BYTES, validation_alias=BridgeEnv.MAX_EVENT_BYTES
    )

    # async: PutEvents on the event loop (bridge.asyncsdk); threads: boto3 in a thread pool (the previous path)
    publisher: Literal["async", "threads"] = Field(default="async", validation_alias=BridgeEnv.PUBLISHER)
    # the event loop each process runs on (bridge/loop.py): uvloop, or asyncio's own
    event_loop: Literal["uvloop", "asyncio"] = Field(default="uvloop", validation_alias=BridgeEnv.EVENT_LOOP)
    # what sends the async publisher's requests: bridge/http1.py, or aiohttp (the way back; always through a proxy)
    http_client: Literal["builtin", "aiohttp"] = Field(default="builtin", validation_alias=BridgeEnv.HTTP_CLIENT)
    # processes serving the port (SO_REUSEPORT); None: the CPUs this task may use (bridge.workers.available_cpus)
    workers: int | None = Field(default=None, ge=1, le=64, validation_alias=BridgeEnv.WORKERS)
    # auto: when there is one worker per CPU the task may use, each stays on its own CPU (bridge.workers.worker_cpus)
    cpu_affinity: Literal["auto", "off"] = Field(default="auto", validation_alias=BridgeEnv.CPU_AFFINITY)

    # duplicate suppression
    dedup_size: int = Field(default=100_000, ge=0, validation_alias=BridgeEnv.DEDUP_SIZE)  # 0 turns it off
    dedup_ttl_s: float = Field(default=600.0, gt=0, validation_alias=BridgeEnv.DEDUP_TTL_S)

    # server
    shutdown_grace_s: float = Field(default=20.0, ge=0, le=3600, validation_alias=BridgeEnv.SHUTDOWN_GRACE_S)
    # NOT_SERVING but still accepting, for load-balancer deregistration
    drain_delay_s: float = Field(default=0.0, ge=0, le=600, validation_alias=BridgeEnv.DRAIN_DELAY_S)
    keepalive_time_s: float = Field(default=30.0, gt=0, validation_alias=BridgeEnv.KEEPALIVE_TIME_S)
    keepalive_timeout_s: float = Field(default=10.0, gt=0, validation_alias=BridgeEnv.KEEPALIVE_TIMEOUT_S)
    max_connection_age_s: float = Field(default=300.0, ge=0, validation_alias=BridgeEnv.MAX_CONNECTION_AGE_S)  # 0: ∞
    max_receive_message_bytes: int = 4 * 1024 * 1024  # not configurable: grpcio's own default

    # the served method: the customer's own .proto / descriptor set (None: protos/exotel_legs.proto)
    proto: Path | None = Field(default=None, validation_alias=BridgeEnv.PROTO)
    rpc: str | None = Field(default=None, validation_alias=BridgeEnv.RPC)

    # observability
    metrics_interval_s: float = Field(default=10.0, gt=0, validation_alias=BridgeEnv.METRICS_INTERVAL_S)
    metrics_namespace: str = Field(default=NAMESPACE, min_length=1, validation_alias=PowertoolsEnv.METRICS_NAMESPACE)
    service_name: str = Field(default=BRIDGE_SERVICE, min_length=1, validation_alias=PowertoolsEnv.SERVICE_NAME)

    @field_validator("client_subjects", mode="before")
    @classmethod
    def _subjects(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):  # a subject holds commas (CN=a,O=b): a JSON list, or exactly one subject
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else [text]
            except ValueError as exc:
                raise ValueError(f"must be a JSON list of subjects or one subject: {exc}") from None
        if not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("must be a list of subjects")
        subjects = tuple(str(s).strip() for s in value)
        if any(not s for s in subjects):
            raise ValueError("a client subject must not be empty")
        return subjects

    @model_validator(mode="after")
    def _coherent(self) -> BridgeConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(f"{BridgeEnv.TLS_CERT_FILE} and {BridgeEnv.TLS_KEY_FILE} must be set together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError(
                f"{BridgeEnv.TLS_CLIENT_CA_FILE} (mutual TLS) needs {BridgeEnv.TLS_CERT_FILE}/{BridgeEnv.TLS_KEY_FILE}"
            )
        if self.client_subjects and not (self.lb_mutual_tls or self.tls_client_ca_file is not None):
            raise ValueError(
                f"{BridgeEnv.CLIENT_SUBJECTS} pins verified client certificates: it needs "
                f"{BridgeEnv.LB_MUTUAL_TLS}=true (a load balancer verifies them) "
                f"or {BridgeEnv.TLS_CLIENT_CA_FILE} (the bridge does)"
            )
        if self.rpc is not None and self.proto is None:
            raise ValueError(f"{BridgeEnv.RPC} names a method in {BridgeEnv.PROTO}, which is not set")
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file", "proto"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{self.source_name(name)}: no readable file at {path}")
        if self.event_bus_kind is BusKind.V2 and not self.event_bus_arn:
            raise ValueError(f"{Env.EVENT_BUS_KIND}=v2 needs {Env.EVENT_BUS_ARN} (the EventsV2 bus's ARN)")
        if self.auth_token is not None and not self.auth_token.get_secret_value().strip():
            raise ValueError(f"{BridgeEnv.AUTH_TOKEN} is set but empty")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def authentication(self) -> list[str]:
        """What decides who may push (empty: anyone who can reach the port)."""
        found: list[str] = []
        if self.auth_token is not None:
            found.append("token")
        if self.tls_client_ca_file is not None:
            found.append("mutual_tls")
        if self.lb_mutual_tls:
            found.append("load_balancer_mutual_tls")
        if self.client_subjects:
            found.append("pinned_subjects")
        return found
