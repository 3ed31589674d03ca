"""Request and response models of the Legs & Bridges REST API, with the seed's rules."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from legs.leg import ExotelLegFields, required
from legs.numbers import check_contact

GRPC_ENDPOINT = re.compile(r"^grpc://(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")

DEFAULT_TIME_LIMIT = 14400
DEFAULT_TIMEOUT = 30


def check_grpc_endpoint(value: str, field: str = "leg_event_endpoint") -> str:
    match = GRPC_ENDPOINT.match(value)
    if not match or not 0 < int(match.group("port")) < 65536:
        raise ValueError(f"{field} {value!r} must be a gRPC endpoint of the form grpc://host:port")
    return value


def _contact_field(value: str, info: ValidationInfo) -> str:
    return check_contact(value, info.field_name or "contact")


def _endpoint_field(value: str, info: ValidationInfo) -> str:
    return check_grpc_endpoint(value, info.field_name or "leg_event_endpoint")


#: A contact URI or exophone as Exotel accepts it (``legs.numbers``); the message names the field.
Contact = Annotated[str, AfterValidator(_contact_field)]
#: ``grpc://host:port``; the message names the field.
GrpcEndpoint = Annotated[str, AfterValidator(_endpoint_field)]


class CreateLegRequest(BaseModel):
    """Body of ``POST /legs`` (seed: Exotel's Create Leg reference)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    contact_uri: Contact = Field(description="sip: URI or Indian number with leading 0 or country prefix")
    exophone: Contact = Field(description="The caller id: sip: URI or Indian number")
    leg_event_endpoint: GrpcEndpoint = Field(description="grpc://host:port that receives the leg's events")
    network_type: Literal["pstn", "voip"] | None = Field(
        default=None, description="voip for sip: contacts, pstn otherwise; inferred when omitted"
    )
    custom_param: str | None = Field(default=None, max_length=1024)
    time_limit: int = Field(default=DEFAULT_TIME_LIMIT, gt=0, description="Total leg duration, s")
    timeout: int = Field(default=DEFAULT_TIMEOUT, gt=0, description="Initiation until pick-up, s")
    setup_timeout: int = Field(default=DEFAULT_TIMEOUT, gt=0, description="Channel init until ringing, s")
    ring_timeout: int = Field(default=DEFAULT_TIMEOUT, gt=0, description="Ringing until answer, s")
    requested_dc_code: str | None = None
    requested_nso_code: str | None = None
    reference_leg_sid: str | None = None
    amd_enable: bool = False
    async_amd: bool = False
    priority: Literal["normal", "high"] = "normal"

    @field_validator("time_limit", "timeout", "setup_timeout", "ring_timeout", mode="before")
    @classmethod
    def _seconds_not_bool(cls, value: object, info: ValidationInfo) -> object:
        # pydantic's lax mode would read true as 1 second; Exotel documents an integer.
        if isinstance(value, bool):
            raise ValueError(f"{info.field_name} must be an integer number of seconds, not a boolean")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CreateLegRequest:
        expected: Literal["pstn", "voip"] = "voip" if self.contact_uri.startswith("sip:") else "pstn"
        if self.network_type is None:
            self.network_type = expected
        elif self.network_type != expected:
            kind = "a sip: URI" if expected == "voip" else "a phone number"
            raise ValueError(
                f"network_type must be {expected!r} when contact_uri is {kind} (got {self.network_type!r})"
            )
        if self.async_amd and not self.amd_enable:
            raise ValueError("async_amd applies only when amd_enable is true")
        return self


class ErrorData(BaseModel):
    """Exotel's ``error_data``."""

    model_config = ConfigDict(extra="allow")

    code: int | str | None = None
    message: str | None = None
    description: str | None = None


class ResponseBody(BaseModel):
    error_data: ErrorData | None = None
    data: Any = None


class Envelope(BaseModel):
    """Every Exotel response: ``{request_id, method, http_code, response{error_data, data}}``."""

    request_id: str
    method: str
    http_code: int
    response: ResponseBody


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class LegCreated(_Resource):
    """Exotel's ``data`` for a created leg (extra fields Exotel sends are passed through)."""

    leg_sid: str
    created_at: str | None = None
    account_sid: str | None = None
    contact_uri: str | None = None
    network_type: str | None = None
    exophone: str | None = None
    custom_param: str | None = None
    leg_event_endpoint: str | None = None
    status: str | None = None  # "enqueued" when CPS control queued the leg


class Leg(ExotelLegFields):
    """Exotel's ``data`` of ``GET /legs/{sid}`` (the fields every leg model shares are in ``legs.leg``)."""

    model_config = ConfigDict(extra="allow")

    leg_sid: str = required("leg_sid")
    on_call_duration_ms: int | None = Field(default=None, description="time the leg was connected, milliseconds")


class CreateBridgeRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    leg_sids: list[str] = Field(min_length=1)
    bridge_event_endpoint: GrpcEndpoint | None = None
    absorb_dtmf: bool | None = None


class BridgeCreated(_Resource):
    bridge_sid: str
    created_at: str | None = None
    account_sid: str | None = None
    leg_sids: list[str] | None = None
    bridge_event_endpoint: str | None = None


class Bridge(_Resource):
    sid: str
    account_sid: str | None = None
    state: str | None = None
    terminal_status: str | None = None
    date_created: str | None = None
    date_updated: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    active_legs: list[str] | int | None = None
    leg_sids: list[str] | None = None


class ActionRequest(BaseModel):
    """Body of ``POST /legs/{sid}/actions`` and ``POST /bridges/{sid}/actions``: ExoML with a ``<Flow>`` root."""

    model_config = ConfigDict(extra="forbid")

    exoml: str = Field(min_length=1, max_length=64 * 1024)
    action_custom_param: str | None = Field(default=None, max_length=1024)

    @field_validator("exoml")
    @classmethod
    def _flow_root(cls, value: str) -> str:
        if not value.lstrip().startswith("<Flow") and "<Flow" not in value[:200]:
            raise ValueError("exoml must be an XML document whose root element is <Flow>")
        return value


class ActionAccepted(_Resource):
    action_sid: str | None = None


class ExternalEvent(_Resource):
    """One delivery record of ``GET /legs/{sid}/external-events``."""

    endpoint_response: bool
    error: str | None = None
    event_info: dict[str, Any]
