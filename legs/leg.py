"""The leg resource's fields, written once (name, type, description) for every model of a leg.

Three models describe one leg: an event's ``data`` (``legs.events.LegData``), Exotel's
``GET /legs/{sid}`` (``legs.models.Leg``) and the leg our API recorded from its events
(``lambdas.api.models.LegView``). They extend these bases and add only what is theirs; a field
here is optional, and a model that always has it (``leg_sid`` of a fetched leg) says so with
:func:`required`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo


class LegFields(BaseModel):
    """What every view of a leg carries: who was called, from which number, where the leg stands."""

    leg_sid: str | None = Field(default=None, description="Exotel's id of the leg")
    account_sid: str | None = Field(default=None, description="the Exotel account the leg belongs to")
    contact_uri: str | None = Field(default=None, description="the number or sip: URI dialled (the caller, inbound)")
    exophone: str | None = Field(default=None, description="the ExoPhone the leg was placed from")
    caller_id: str | None = Field(default=None, description="the caller id, as Exotel reports it")
    custom_param: str | None = Field(default=None, description="the value given at Create Leg, echoed in every event")
    direction: str | None = Field(default=None, description="outbound | inbound")
    network_type: str | None = Field(default=None, description="pstn | voip")
    state: str | None = Field(default=None, description="connecting | ringing | connected | terminal")
    terminal_status: str | None = Field(
        default=None, description="completed | busy | no-answer | failed (once the state is terminal)"
    )
    answered_by: str | None = Field(default=None, description="HUMAN | MACHINE | BEEP (answered legs, with AMD)")
    start_time: str | None = Field(default=None, description="when the leg started, as Exotel reports it")
    end_time: str | None = Field(default=None, description="when the leg ended, as Exotel reports it")


class ExotelLegFields(LegFields):
    """What Exotel itself reports about a leg besides (``GET /legs/{sid}`` and every leg event)."""

    date_created: str | None = Field(default=None, description="when Exotel created the leg")
    date_updated: str | None = Field(default=None, description="when Exotel last changed the leg")
    time_limit: int | None = Field(default=None, description="the leg's maximum duration, seconds")


def required(name: str, base: type[BaseModel] = LegFields) -> Any:
    """The base's field ``name`` made required, with the same description (for a model that always has it)."""
    inherited: FieldInfo = base.model_fields[name]
    return Field(description=inherited.description)
