"""Request and response models of the Legs & Bridges REST API, with the seed's rules."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from legs.leg import ExotelLegFields, required
from legs.numbers import check_contact

#: ``grpc://host[:port]``. Exotel's own examples leave the port out (docs.exotel.com create-a-leg,
#: developer.exotel.com agentstream/programmable-voice: ``grpc://your-event-server.example.com``).
GRPC_ENDPOINT = re.compile(r"^grpc://(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\])(?::(?P<port>\d{1,5}))?$")
#: The port of an endpoint given without one: Exotel pushes over TLS, and 443 is where TLS listens.
DEFAULT_GRPC_PORT = 443

DEFAULT_TIME_LIMIT = 14400
DEFAULT_TIMEOUT = 30
#: ``<StartPlay loop>`` allows at most 10 repetitions (developer.exotel.com exoml/actions); 0 = until stopped.
PLAY_MAX_LOOP = 10


def check_grpc_endpoint(value: str, field: str = "leg_event_endpoint") -> str:
    match = GRPC_ENDPOINT.match(value)
    if not match or (match.group("port") is not None and not 0 < int(match.group("port")) < 65536):
        raise ValueError(f"{field} {value!r} must be a gRPC endpoint of the form grpc://host or grpc://host:port")
    return value


def grpc_target(endpoint: str, default_port: int = DEFAULT_GRPC_PORT) -> str:
    """``grpc://host[:port]`` -> ``host:port`` for a gRPC channel (the port defaults to 443)."""
    match = GRPC_ENDPOINT.match(endpoint)
    if not match:
        raise ValueError(f"not a gRPC endpoint: {endpoint!r}")
    return f"{match.group('host')}:{match.group('port') or default_port}"


def _contact_field(value: str, info: ValidationInfo) -> str:
    return check_contact(value, info.field_name or "contact")


def _endpoint_field(value: str, info: ValidationInfo) -> str:
    return check_grpc_endpoint(value, info.field_name or "leg_event_endpoint")


#: A contact URI or exophone as Exotel accepts it (``legs.numbers``); the message names the field.
Contact = Annotated[str, AfterValidator(_contact_field)]
#: ``grpc://host[:port]`` (port 443 when left out); the message names the field.
GrpcEndpoint = Annotated[str, AfterValidator(_endpoint_field)]


class CreateLegRequest(BaseModel):
    """Body of ``POST /legs`` (seed: Exotel's Create Leg reference)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    contact_uri: Contact = Field(description="sip: URI or Indian number with leading 0 or country prefix")
    exophone: Contact = Field(description="The caller id: sip: URI or Indian number")
    leg_event_endpoint: GrpcEndpoint = Field(
        description="grpc://host[:port] that receives the leg's events (port 443 when left out)"
    )
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
    async_amd: bool = Field(default=False, description="Only with amd_enable; ignored without it")
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
        # async_amd without amd_enable is ignored, not refused (docs.exotel.com create-a-leg: "applicable
        # only when amd_enable is true"); the value is sent as given.
        return self


class ErrorData(BaseModel):
    """Exotel's ``error_data`` (or ``error``).

    ``code`` is a string (``rate_limit_exceeded``) or an application number (``1010``), not the HTTP
    status (developer.exotel.com references/error-codes, docs.exotel.com rate-limits).
    """

    model_config = ConfigDict(extra="allow")

    code: int | str | None = None
    message: str | None = None
    description: str | None = None


class ResponseBody(BaseModel):
    error_data: ErrorData | None = None
    #: The rate-limit page's 429 body carries ``response.error`` instead of ``error_data``.
    error: ErrorData | None = None
    data: Any = None

    @property
    def failure(self) -> ErrorData | None:
        return self.error_data or self.error


class Envelope(BaseModel):
    """Every Exotel response: ``{request_id, method, http_code, response{error_data | error, data}}``."""

    request_id: str
    method: str | None = None  # the rate-limit page's 429 sample has none
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
    """Exotel's ``data`` of ``GET /legs/{sid}`` (the fields every leg model shares are in ``legs.leg``); with
    ``fields=`` the requested status blocks come under ``additional_info`` as strings."""

    model_config = ConfigDict(extra="allow")

    leg_sid: str = required("leg_sid")
    on_call_duration_ms: int | None = Field(default=None, description="time the leg was connected, milliseconds")
    additional_info: dict[str, str] | None = Field(
        default=None, description="with fields=: the requested status blocks, each as a string (Exotel's shape)"
    )


#: ``GET /legs/{sid}?fields=``: the status blocks Exotel documents (developer.exotel.com api/get-leg).
LEG_STATUS_FIELDS = (
    "bridge_status",
    "recording_status",
    "hold_status",
    "gather_status",
    "play_status",
    "tx_audio_status",
    "rx_audio_status",
)


class CreateBridgeRequest(BaseModel):
    """``POST /bridges``, either model Exotel documents.

    - legs first: ``leg_sids`` (the legs to bridge now; 202);
    - bridge first (docs.exotel.com post-create-a-bridge): ``bridge_type``, ``max_participants``,
      ``recording``; 201, and legs join later with ``<JoinBridge>`` / leave with ``<LeaveBridge>``.

    ``bridge_event_endpoint`` is required either way: Exotel needs somewhere to push the bridge's events.
    """

    model_config = ConfigDict(extra="allow")

    leg_sids: list[str] | None = Field(default=None, min_length=1)
    bridge_event_endpoint: GrpcEndpoint = Field(description="grpc://host[:port] that receives the bridge's events")
    absorb_dtmf: bool | None = None
    bridge_type: str | None = Field(default=None, min_length=1, description="default audio")
    max_participants: int | None = Field(default=None, ge=1)
    recording: bool | None = None


class BridgeCreated(_Resource):
    """201 (bridge first: ``bridge_type``, ``state`` created) or 202 (legs first: ``leg_sids``)."""

    bridge_sid: str
    created_at: str | None = None
    date_created: str | None = None
    account_sid: str | None = None
    leg_sids: list[str] | None = None
    bridge_event_endpoint: str | None = None
    bridge_type: str | None = None
    max_participants: int | None = None
    recording: bool | None = None
    state: str | None = None


class BridgeStopped(_Resource):
    """``PUT /bridges/{sid} {"action": "stop"}``: 202 with the bridge's sid; the outcome comes as an event
    (``bridge_terminated`` or ``bridge_failed_to_stop``)."""

    bridge_sid: str | None = None


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
    date_created: str | None = None
    date_updated: str | None = None
    event_info: dict[str, Any]


class ExternalEvents(_Resource):
    """``GET /legs/{sid}/external-events``: ``{sid, event_type, account_sid, external_events: [...]}``
    (docs.exotel.com get-get-events-for-a-leg)."""

    sid: str | None = None
    event_type: str | None = None
    account_sid: str | None = None
    external_events: list[ExternalEvent] = Field(default_factory=list)


# ---- JSON action shortcuts (POST /legs/{sid}/actions/{name}) ------------------------------------
class _Shortcut(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action_custom_param: str | None = Field(default=None, max_length=1024)


class StartSay(_Shortcut):
    """``start_say {text, loop}`` = ``<StartSay loop>``: loop 0 repeats until stopped (developer.exotel.com
    exoml/verbs/say)."""

    text: str = Field(min_length=1, max_length=4000)
    loop: int = Field(default=1, ge=0, description="times to say it; 0 = until stopped")


class StartPlay(_Shortcut):
    """``start_play {url, loop}`` = ``<StartPlay loop>``: at most 10, 0 repeats until stopped (exoml/actions)."""

    url: str = Field(min_length=1, max_length=2048)
    loop: int = Field(default=1, ge=0, le=PLAY_MAX_LOOP, description="times to play it (max 10); 0 = until stopped")


class StartStream(_Shortcut):
    """``start_stream {direction, url, content_type}`` (developer.exotel.com agentstream/programmable-voice)."""

    url: str = Field(min_length=1, max_length=2048, description="the WebSocket (wss://) that gets the audio")
    direction: Literal["unidirectional", "bidirectional"]
    content_type: str | None = Field(default=None, max_length=256, description="e.g. audio/x-mulaw;rate=8000")


class NoArguments(_Shortcut):
    """``hangup``, ``stop_say``, ``stop_play``, ``stop_stream``, ``start_recording``, ``stop_recording``."""


#: Every shortcut Exotel's pages name, with its body.
SHORTCUTS: dict[str, type[_Shortcut]] = {
    "hangup": NoArguments,
    "start_say": StartSay,
    "stop_say": NoArguments,
    "start_play": StartPlay,
    "stop_play": NoArguments,
    "start_stream": StartStream,
    "stop_stream": NoArguments,
    "start_recording": NoArguments,
    "stop_recording": NoArguments,
}
