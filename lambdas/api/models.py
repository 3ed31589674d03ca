"""Request and response bodies of the API (validated by Powertools, published as OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from lambdas.domain.call_plan import AmdPolicy, Attempt, BridgeModel, RetryPolicy
from lambdas.domain.plan_ref import PLAN_PARAM_PREFIX
from legs.events import EventTimestamp
from legs.leg import LegFields, required
from legs.models import PLAY_MAX_LOOP, ActionRequest, Contact, CreateLegRequest, GrpcEndpoint, LegCreated


def as_rfc3339(value: str | None) -> str | None:
    """Every time in this API is RFC 3339 (UTC, nanoseconds): Exotel's create-leg reply says
    ``2023-05-31 08:02:32.608752571 +0000 UTC``, its events ``2023-05-31T08:02:32.608752571Z``.
    Text that is neither is passed on as Exotel sent it."""
    if not value:
        return value
    try:
        return EventTimestamp.model_validate(value).rfc3339()
    except ValueError:
        return value


# ---- legs ---------------------------------------------------------------------------------
class CreateLegBody(CreateLegRequest):
    """Exotel's Create Leg body; ``leg_event_endpoint`` may be left out to use the deployed bridge."""

    # Optional here though Exotel's model requires it: a deliberate override that mypy reports as incompatible.
    leg_event_endpoint: GrpcEndpoint | None = Field(  # type: ignore[assignment]
        default=None,
        description="grpc://host[:port] (port 443 when left out) that receives the leg's events; default: the bridge",
    )

    @field_validator("custom_param")
    @classmethod
    def _not_a_plans(cls, value: str | None) -> str | None:
        # The reactors would take a leg whose custom_param looks like a plan's for one of that plan's dials.
        if value is not None and value.startswith(PLAN_PARAM_PREFIX):
            raise ValueError(
                f"custom_param may not start with {PLAN_PARAM_PREFIX!r}: that prefix marks the legs of two-party "
                "calls (POST /calls)"
            )
        return value


class LegCreatedView(LegCreated):
    """Exotel's ``data`` for a created leg (extra fields Exotel sends are passed through); ``created_at`` in
    RFC 3339, as in ``GET /legs/{leg_sid}``."""

    @field_validator("created_at")
    @classmethod
    def _created_rfc3339(cls, value: str | None) -> str | None:
        return as_rfc3339(value)


class LegView(LegFields):
    """A leg as recorded from its events."""

    # The fields every leg model shares are in legs.leg; these are what the recorder adds.

    model_config = ConfigDict(extra="ignore")

    leg_sid: str = required("leg_sid")
    bridge_sid: str | None = Field(default=None, description="the bridge the leg joined")
    created_at: str | None = Field(
        default=None, description="when Exotel created the leg (else its first event), RFC 3339"
    )
    answered_at: str | None = Field(default=None, description="time of the first answered event")
    ended_at: str | None = Field(default=None, description="time of the first terminated / failed-to-create event")
    updated_at: str | None = Field(default=None, description="time of the event that set the current state")
    last_event: str | None = Field(default=None, description="the event that set the current state")

    @field_validator("created_at")
    @classmethod
    def _created_rfc3339(cls, value: str | None) -> str | None:
        return as_rfc3339(value)


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_sid: str
    event_name: str
    event_type: str | None = None
    event_time: str
    state: str | None = None
    terminal_status: str | None = None
    answered_by: str | None = None
    bridge_sid: str | None = None
    action_sid: str | None = Field(default=None, description="the action (say, play, …) an action event is about")
    detail: dict[str, Any] = Field(default_factory=dict, description="the event as Exotel sent it")


class LegEvents(BaseModel):
    events: list[TimelineEvent]


# ---- leg actions: ExoML or a JSON shortcut ------------------------------------------------
class ExomlAction(ActionRequest):
    """Any ExoML ``<Flow>``, sent as is."""

    action: Literal["exoml"] = "exoml"


class HangupAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["hangup"]


class SayAction(BaseModel):
    """Exotel's ``start_say`` (``<StartSay>``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["say"]
    text: str = Field(min_length=1, max_length=4000)
    loop: int = Field(default=1, ge=0, description="times to say it; 0 = until stopped")


class PlayAction(BaseModel):
    """Exotel's ``start_play`` (``<StartPlay>``): at most 10 loops."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["play"]
    url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://\S+$", description="audio file URL")
    loop: int = Field(default=1, ge=0, le=PLAY_MAX_LOOP, description="times to play it (max 10); 0 = until stopped")


class StreamAction(BaseModel):
    """Exotel's ``start_stream``: the leg's audio to a WebSocket."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["stream"]
    url: str = Field(min_length=1, max_length=2048, pattern=r"^wss?://\S+$", description="WebSocket URL")
    direction: Literal["unidirectional", "bidirectional"]
    content_type: str | None = Field(default=None, max_length=256, description="e.g. audio/x-mulaw;rate=8000")


def _action_kind(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("action", "exoml"))
    return str(getattr(value, "action", "exoml"))


#: The ``action`` values (the union's tags: pydantic puts the tag in a field's path; the API leaves it out).
ACTION_TAGS = ("exoml", "hangup", "say", "play", "stream")

LegActionBody = Annotated[
    Annotated[ExomlAction, Tag("exoml")]
    | Annotated[HangupAction, Tag("hangup")]
    | Annotated[SayAction, Tag("say")]
    | Annotated[PlayAction, Tag("play")]
    | Annotated[StreamAction, Tag("stream")],
    Discriminator(_action_kind, custom_error_message="action must be one of exoml, hangup, say, play, stream"),
]


class ActionAcceptedView(BaseModel):
    model_config = ConfigDict(extra="allow")

    action_sid: str | None = None


# ---- two-party calls ----------------------------------------------------------------------
class CreateCallBody(BaseModel):
    """A two-party call: dial one party, then the other, bridge them (Exotel's dialer pattern)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer: Contact = Field(description="the customer's number or sip: URI")
    agent: Contact = Field(description="the agent's number or sip: URI")
    exophone: Contact = Field(description="caller id for both legs")
    dial_first: Literal["customer", "agent"] = Field(default="customer", description="which party is dialled first")
    customer_fallbacks: list[Contact] = Field(default_factory=list, max_length=5, description="numbers for re-dials")
    agent_fallbacks: list[Contact] = Field(
        default_factory=list, max_length=5, description="numbers for re-dials: dial n uses [agent, *fallbacks][n-1]"
    )
    hold_message: str | None = Field(
        default=None, min_length=1, max_length=1000, description="spoken to the first party while the second rings"
    )
    unavailable_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="spoken to the first party if the second cannot be reached",
    )
    retry: RetryPolicy | None = Field(default=None, description="re-dials on busy / no-answer / failed")
    amd: AmdPolicy | None = Field(default=None, description="answering-machine detection on the customer leg")
    leg_event_endpoint: GrpcEndpoint | None = Field(default=None, description="default: the deployed bridge")
    bridge_model: BridgeModel = Field(
        default="legs_first",
        description="legs_first: one request bridges both legs; bridge_first: an empty bridge, each leg joins it",
    )


class CallCreated(BaseModel):
    plan_id: str
    status: str
    leg_sid: str | None = Field(
        description="the first leg; null when Exotel's reply was lost (the dial is pending: its first event binds it)"
    )


class PendingView(BaseModel):
    """A Legs API call the plan made (or is making) whose effect is not confirmed yet."""

    key: str = Field(description="the step, e.g. create_leg:agent:1")
    state: str = Field(description="pending | unknown | throttled | awaiting_event")
    tries: int
    due_at: float = Field(description="epoch seconds: unconfirmed by then, the sweeper re-issues it or gives up")


class CallView(BaseModel):
    """A call plan: its legs (one entry per dial), bridge, status and outcome."""

    plan_id: str
    status: str = Field(description="dialing_first | dialing_second | bridging | bridged | completed | failed")
    outcome: str | None = Field(
        default=None, description="completed | busy | no-answer | failed | machine | abandoned | bridge_failed"
    )
    reason: str | None = None
    customer: str
    agent: str
    exophone: str
    dial_first: str
    retry: RetryPolicy
    amd: AmdPolicy | None = None
    legs: list[Attempt]
    bridge_model: BridgeModel = "legs_first"
    bridge_sid: str | None = None
    pending: list[PendingView] = Field(
        default_factory=list, description="Legs API calls decided and not yet confirmed (by their reply or an event)"
    )
    created_at: str
    updated_at: str
    ended_at: str | None = None
