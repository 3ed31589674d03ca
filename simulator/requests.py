"""Bodies the simulator accepts besides legs.models: leg updates, test hooks; what the JSON shortcuts mean."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from legs.models import SHORTCUTS, Contact, GrpcEndpoint, StartPlay, StartSay, StartStream
from simulator.exoml import Verb

__all__ = ["SHORTCUTS", "FaultRequest", "InboundRequest", "StopBridgeRequest", "UpdateLegRequest", "shortcut_verbs"]


def shortcut_verbs(name: str, body: BaseModel) -> list[Verb]:
    """The ExoML a JSON shortcut (``legs.models.SHORTCUTS``) stands for."""
    if isinstance(body, StartSay):
        return [Verb("StartSay", body.text, {"loop": str(body.loop)})]
    if isinstance(body, StartPlay):
        return [Verb("StartPlay", body.url, {"loop": str(body.loop)})]
    if isinstance(body, StartStream):
        attrs = {"url": body.url, "direction": body.direction}
        if body.content_type:
            attrs["content_type"] = body.content_type
        return [Verb("StartStream", "", attrs)]
    verb = {
        "hangup": "Hangup",
        "stop_say": "StopSay",
        "stop_play": "StopPlay",
        "stop_stream": "StopStream",
        "start_recording": "StartRecording",
        "stop_recording": "StopRecording",
    }[name]
    return [Verb(verb)]


class UpdateLegRequest(BaseModel):
    """``PUT /legs/{sid}``: Exotel does not publish the body; the simulator accepts these fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    time_limit: int | None = Field(default=None, gt=0)
    custom_param: str | None = Field(default=None, max_length=1024)

    @field_validator("time_limit", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("time_limit must be an integer number of seconds")
        return value


class StopBridgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["stop"]


class InboundRequest(BaseModel):
    """``POST /_sim/inbound``: a caller dials an exophone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    contact_uri: Contact = Field(default="09163816621", description="the caller")
    exophone: Contact = "08030752400"
    leg_event_endpoint: GrpcEndpoint | None = None
    custom_param: str | None = None


class FaultRequest(BaseModel):
    """``POST /_sim/faults``: the next ``count`` API requests (optionally of one method, under one path) fail or stall.

    ``when``: ``before`` (default) the request is refused or stalled before anything happens; ``after`` it takes
    effect first (the leg is created, the hangup done), then the reply stalls ``delay`` seconds and/or fails with
    ``status``: a reply lost after the effect, as a time-out or a 5xx from a proxy would lose it.
    """

    model_config = ConfigDict(extra="forbid")

    status: int | None = Field(default=503, ge=400, le=599)
    count: int = Field(default=1, ge=1, le=1000)
    retry_after: float | None = Field(default=None, ge=0)
    method: Literal["GET", "POST", "PUT"] | None = None
    delay: float = Field(default=0.0, ge=0, le=30, description="real seconds to stall before answering")
    when: Literal["before", "after"] = Field(default="before", description="fail before the effect, or after it")
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^/",
        description="only requests whose path below /v2/accounts/<sid> starts with this, e.g. /legs",
    )
