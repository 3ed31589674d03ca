"""Deployment settings read from CDK context (``cdk.json`` or ``-c key=value``), validated once.

A pydantic-settings model whose one source is the construct node's context
(:class:`CdkContextSource`): :meth:`DeployConfig.from_context` reads it, and anything wrong is a
``ConfigError`` naming the context key. Every setting has a documented default so ``python app.py``
synthesizes with no arguments and no AWS account; the table in docs/DEPLOY.md lists them.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE, V2_DEFAULT_RETENTION_DAYS, BusMode
from contract.deployment import DEFAULT_STACK_PREFIX
from contract.metrics import BRIDGE_SERVICE, NAMESPACE
from legs.settings import ConfigError, SourcedSettings

__all__ = ["CDK_JSON", "CdkContextSource", "ConfigError", "DeployConfig", "cdk_json_context"]

#: cdk.json, next to app.py: its "context" holds the documented defaults.
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
REPO_ROOT = CDK_JSON.parent
#: Where the bridge image keeps the repository's bridge/ folder (bridge/Dockerfile: WORKDIR /app, COPY bridge/).
IMAGE_ROOT = "/app"


#: Events per vCPU-second that one bridge worker acknowledged in ``make bench`` on the deployed path (SDK over
#: HTTP to an instant endpoint, 64 callers; x86 on a 2-CPU machine, three runs on 2026-12-02: 885-1,073 with
#: 2 workers on uvloop, 980-1,186 with one on asyncio's loop). 800 stays below them on purpose: that endpoint
#: answers at once, AWS does not. A Graviton vCPU is of the same order; re-measure
#: (``python -m bench --sections bridge``) and update when the hot path changes.
MEASURED_EVENTS_PER_VCPU = 800


class CdkContextSource(PydanticBaseSettingsSource):
    """Each field from ``node.try_get_context(<field name>)``: the context key is the field's name.

    ``-c key=value`` always arrives as a string, so a string is coerced towards the field's type first.
    """

    def __init__(self, settings_cls: type[BaseSettings], node: Any) -> None:
        super().__init__(settings_cls)
        self.node = node

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value = self.node.try_get_context(field_name)
        return (None if value is None else _coerce(field.annotation, value)), field_name, False

    def __call__(self) -> dict[str, Any]:
        # Absent keys keep their defaults; a present one may still mean None ("" for ``aws_region``).
        return {
            name: self.get_field_value(field, name)[0]
            for name, field in self.settings_cls.model_fields.items()
            if self.node.try_get_context(name) is not None
        }


class DeployConfig(SourcedSettings):
    """What a cloud team may change without editing code."""

    subject = "deployment context"

    # where
    aws_region: str | None = Field(
        default="ap-south-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
        description='Region of the stacks; "" = region-agnostic',
    )
    aws_account: str | None = Field(default=None, description="Account to pin the stacks to; none = env-agnostic")
    stack_prefix: str = Field(default=DEFAULT_STACK_PREFIX, pattern=r"^[A-Za-z][A-Za-z0-9-]{0,40}$")
    # Exotel: Mumbai by default (the cluster Exotel's Legs pages use); Singapore is https://cpaas-api.exotel.com
    exotel_base_url: str = Field(default="https://cpaas-api.in.exotel.com", pattern=r"^https?://[^\s/]+$")
    exotel_requests_per_minute: int = Field(
        default=100, ge=1, le=1_000_000, description="the account's Legs API limit (docs.exotel.com rate-limits)"
    )
    # events
    bus_name: str = Field(default=DEFAULT_BUS_NAME, pattern=r"^[A-Za-z0-9._-]{1,256}$")
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256)
    archive_retention_days: int = Field(default=30, ge=0, le=3650)  # 0 = keep forever
    bus_mode: BusMode = Field(default=BusMode.CLASSIC, description="ordered: EventsV2 bus + subscribers (ordered_bus)")
    ordered_retention_days: int = Field(default=V2_DEFAULT_RETENTION_DAYS, ge=1, le=365)  # EventsV2 bus storage
    ordered_message_group_id: str = Field(
        default="", max_length=8192, description="FIFO subscribers' SqsParameters.MessageGroupId; empty = the service's"
    )
    # bridge service
    certificate_arn: str = Field(default="", description="ACM certificate for the TLS listener")
    domain_name: str = Field(default="", description="DNS name (CNAME to the load balancer) in the certificate")
    source_cidrs: tuple[str, ...] = Field(default=(), description="Who may reach the gRPC listener")
    listener_port: int = Field(default=443, ge=1, le=65535)
    bridge_port: int = Field(default=50051, ge=1024, le=65535)
    bridge_cpu: int = Field(default=512)
    bridge_memory_mib: int = Field(default=1024, ge=512, le=30720)
    bridge_min_tasks: int = Field(default=2, ge=1, le=100)
    bridge_max_tasks: int = Field(default=10, ge=1, le=1000)
    bridge_target_cpu_percent: int = Field(default=50, ge=10, le=90)
    # Events one bridge vCPU acknowledges per second on the deployed path (make bench: docs/PERFORMANCE.md,
    # "Events per vCPU-second"); sizes the request-count autoscaling target below.
    bridge_events_per_vcpu: int = Field(default=MEASURED_EVENTS_PER_VCPU, ge=1)
    # ALB requests (= pushed events) per task per minute that trigger a scale-out; 0: derived (bridge_scale_requests)
    bridge_requests_per_target: int = Field(default=0, ge=0)
    bridge_auth_token: bool = Field(default=False, description="Require a shared token (Secrets Manager)")
    # mutual TLS at the load balancer (docs/DEPLOY.md "Who may push events")
    client_ca_bundle: str = Field(
        default="", description="PEM file of the CA(s) client certificates must chain to: the ALB verifies them"
    )
    client_subjects: tuple[str, ...] = Field(
        default=(), description="Verified client subjects (RFC 2253) the bridge accepts; empty = any the CA signed"
    )
    allow_unauthenticated_push: bool = Field(
        default=False, description="Open source_cidrs without mutual TLS or token: the CIDRs are the only control"
    )
    bridge_metrics_namespace: str = Field(default=NAMESPACE, min_length=1)
    bridge_service_name: str = Field(default=BRIDGE_SERVICE, min_length=1)
    bridge_proto: str = Field(
        default="", description="Exotel's .proto or descriptor set, a path under bridge/ (so it is in the image)"
    )
    bridge_rpc: str = Field(default="", description="package.Service/Method in bridge_proto (if it has several)")
    functions_metrics_namespace: str = Field(default=NAMESPACE, min_length=1)
    nat_gateways: int = Field(default=1, ge=0, le=3)
    max_azs: int = Field(default=2, ge=2, le=3)
    idle_timeout_seconds: int = Field(default=350, ge=1, le=4000)
    # functions
    exotel_reserved_concurrency: int | None = Field(
        default=None, ge=1, le=1000, description="per Exotel-calling reactor; none = from exotel_requests_per_minute"
    )
    powertools_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    environment: str = Field(default="prod", pattern=r"^[a-z0-9-]{1,32}$")
    rule_retry_attempts: int = Field(default=8, ge=0, le=185)
    rule_max_event_age_seconds: int = Field(default=3600, ge=60, le=86400)
    # API
    api_keys: bool = Field(default=False, description="Also require an API key (usage plan)")
    api_throttle_rate: float = Field(default=50, gt=0)
    api_throttle_burst: int = Field(default=100, ge=1)
    api_quota_per_day: int = Field(default=100_000, ge=1)
    # operations
    log_retention_days: int = Field(default=30)
    alarm_email: str = Field(default="", pattern=r"^$|^[^@\s]+@[^@\s]+$")
    fallback_alarm_threshold: int = Field(default=100, ge=1)

    @field_validator("source_cidrs", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> Any:
        if isinstance(value, str):  # -c source_cidrs='["1.2.3.0/24"]' or "1.2.3.0/24,5.6.7.0/24"
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
        for cidr in value:
            ipaddress.ip_network(str(cidr).strip(), strict=True)  # raises ValueError with the reason
        return tuple(str(c).strip() for c in value)

    @field_validator("client_subjects", mode="before")
    @classmethod
    def _subjects(cls, value: Any) -> Any:
        if isinstance(value, str):  # -c client_subjects='["CN=a,O=Exotel"]' (a subject has commas: JSON only)
            text = value.strip()
            if not text:
                return ()
            if not text.startswith("["):
                return (text,)  # one subject
            value = json.loads(text)
        subjects = tuple(str(s).strip() for s in value)
        if any(not s for s in subjects):
            raise ValueError("a client subject must not be empty")
        return subjects

    @field_validator("client_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str) -> str:
        if not value:
            return value
        path = ca_bundle_path(value)
        if not path.is_file():
            raise ValueError(f"no file at {value} (a path relative to the repository root, or absolute)")
        text = path.read_text(encoding="utf-8", errors="replace")
        if PEM_CERTIFICATE not in text:
            raise ValueError(f"{value} holds no PEM certificate ({PEM_CERTIFICATE}...)")
        if "PRIVATE KEY-----" in text:
            raise ValueError(f"{value} holds a private key: the trust store needs the CA certificates only")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if value and (not value.startswith("arn:aws") or ":acm:" not in value):
            raise ValueError(f"must be an ACM certificate ARN, got {value!r}")
        return value

    @field_validator("bridge_proto")
    @classmethod
    def _proto_in_image(cls, value: str) -> str:
        if not value:
            return value
        relative = Path(value)
        if relative.is_absolute() or not relative.parts or relative.parts[0] != "bridge" or ".." in relative.parts:
            raise ValueError(f"bridge_proto must be a path under bridge/ (copied into the image), got {value!r}")
        if not (REPO_ROOT / relative).is_file():
            raise ValueError(f"bridge_proto: no file at {value} (relative to the repository root)")
        return relative.as_posix()

    @property
    def bridge_proto_in_image(self) -> str | None:
        """``BRIDGE_PROTO`` for the container: where bridge/Dockerfile puts the file."""
        return f"{IMAGE_ROOT}/{self.bridge_proto}" if self.bridge_proto else None

    @field_validator("bridge_cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in (256, 512, 1024, 2048, 4096, 8192, 16384):
            raise ValueError("must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        allowed = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288)
        if value not in allowed:
            raise ValueError(f"must be one of CloudWatch's values {allowed}")
        return value

    @model_validator(mode="after")
    def _tasks(self) -> DeployConfig:
        if self.bridge_max_tasks < self.bridge_min_tasks:
            raise ValueError("bridge_max_tasks must be >= bridge_min_tasks")
        if self.bridge_rpc and not self.bridge_proto:
            raise ValueError("bridge_rpc names a method in bridge_proto, which is not set")
        if self.client_subjects and not self.client_ca_bundle:
            raise ValueError(
                "client_subjects pins verified client certificates: it needs client_ca_bundle (mutual TLS at the ALB)"
            )
        refusal = push_guard(self)
        if refusal:
            raise ValueError(refusal)
        return self

    @property
    def bridge_vcpus(self) -> float:
        return self.bridge_cpu / 1024

    @property
    def bridge_workers(self) -> int:
        """``BRIDGE_WORKERS`` for the task: one bridge process per whole vCPU (a 0.25/0.5 vCPU task runs one)."""
        return max(1, self.bridge_cpu // 1024)

    @property
    def bridge_scale_requests(self) -> int:
        """Requests per task per minute at which to add tasks: what a task acknowledges at the CPU target,
        from the measured events per vCPU-second (unless ``bridge_requests_per_target`` is set)."""
        if self.bridge_requests_per_target:
            return self.bridge_requests_per_target
        per_second = self.bridge_events_per_vcpu * self.bridge_vcpus * self.bridge_target_cpu_percent / 100
        return max(1, int(per_second * 60))

    @property
    def mutual_tls(self) -> bool:
        """The ALB verifies client certificates against ``client_ca_bundle`` (trust store, verify mode)."""
        return bool(self.client_ca_bundle)

    @property
    def push_authenticated(self) -> bool:
        """Something other than the source CIDRs decides who may push: mutual TLS or the shared token."""
        return self.mutual_tls or self.bridge_auth_token

    def reactor_concurrency(self, callers: int) -> int:
        """Reserved concurrency of each of ``callers`` event-driven functions that call Exotel.

        Unless set, it follows from the account's limit: assuming each running invocation makes about
        one Legs API request per second, ``callers * concurrency`` requests per second stay within
        ``exotel_requests_per_minute / 60`` (at least 1 each: 100/min and three reactors give 1).
        """
        if self.exotel_reserved_concurrency is not None:
            return self.exotel_reserved_concurrency
        return max(1, self.exotel_requests_per_minute // (60 * max(1, callers)))

    @property
    def bridge_endpoint_host(self) -> str | None:
        return self.domain_name or None

    @classmethod
    def from_context(cls, node: Any) -> DeployConfig:
        """Read every field from the node's context (absent keys keep their defaults); or ``ConfigError``."""
        return cls.load(lambda settings_cls: CdkContextSource(settings_cls, node))


#: What a PEM certificate starts with.
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
#: CIDRs that let the whole Internet reach the listener.
WORLD_OPEN = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def ca_bundle_path(value: str) -> Path:
    """``client_ca_bundle`` as a path: relative to the repository root (where cdk.json is), or absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def push_guard(config: DeployConfig) -> str | None:
    """Why this deployment would accept unauthenticated pushes by accident (None: it would not).

    Closed (no ``source_cidrs``) is always fine. Open to some CIDRs needs mutual TLS, the token, or an
    explicit ``allow_unauthenticated_push``; open to the whole Internet needs mutual TLS or the token.
    """
    if not config.source_cidrs or config.push_authenticated:
        return None
    world = [c for c in config.source_cidrs if ipaddress.ip_network(c) in WORLD_OPEN]
    if world:
        return (
            f"source_cidrs opens the gRPC listener to the whole Internet ({', '.join(world)}) with no authentication: "
            "set client_ca_bundle (mutual TLS at the load balancer, Exotel's client CA) or bridge_auth_token=true "
            "(a shared token, only for senders that can send it); allow_unauthenticated_push does not cover a "
            "world-open CIDR"
        )
    if config.allow_unauthenticated_push:
        return None
    return (
        "source_cidrs opens the gRPC listener but nothing authenticates the pushes; choose one of: "
        "(1) client_ca_bundle=<PEM file of Exotel's client CA> (mutual TLS at the load balancer, recommended); "
        "(2) bridge_auth_token=true (a shared token in Secrets Manager, for senders that can send it); "
        "(3) allow_unauthenticated_push=true (the source CIDRs are the only control; docs/DEPLOY.md)"
    )


def cdk_json_context() -> dict[str, Any]:
    """The "context" of cdk.json, so that ``python app.py`` sees what ``cdk synth`` sees."""
    if not CDK_JSON.is_file():
        return {}
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def _coerce(annotation: Any, value: Any) -> Any:
    """``-c key=value`` always arrives as a string: turn "true"/"3" into the field's type."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if annotation is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no", ""):
            return False
    if annotation in (str | None,) and text == "":
        return None
    return value
