"""The Legs API request bodies a plan's actions need: which number, which reference leg, AMD, ExoML."""

from __future__ import annotations

from xml.sax.saxutils import escape

from lambdas.domain.call_plan import CallPlan, Role
from legs.json_types import JsonObject
from legs.models import CreateLegRequest


def leg_request(plan: CallPlan, role: Role, number: int) -> CreateLegRequest:
    """The Create Leg body for dial ``number`` of ``role`` (the second party co-located with the first)."""
    reference = None
    if role == plan.second_role:
        first = plan.current(plan.first_role)
        reference = first.leg_sid if first else None
    return CreateLegRequest(
        contact_uri=plan.number_for(role, number),
        exophone=plan.exophone,
        leg_event_endpoint=plan.leg_event_endpoint,
        custom_param=plan.ref(role, number).custom_param,
        reference_leg_sid=reference,
        amd_enable=plan.amd_on(role),
    )


def bridge_request(plan: CallPlan, leg_sids: tuple[str, ...]) -> JsonObject:
    """The Create Bridge body: the bridge's events go where the plan's legs' events go."""
    return {"leg_sids": list(leg_sids), "bridge_event_endpoint": plan.leg_event_endpoint}


def exoml_say_then_hangup(text: str) -> str:
    """ExoML that speaks ``text`` and then ends the leg."""
    return f"<Flow><Say>{escape(text)}</Say><Hangup/></Flow>"
