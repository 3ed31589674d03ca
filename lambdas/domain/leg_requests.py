"""The Legs API request bodies a plan's actions need: which number, which reference leg, AMD, the bridge, ExoML."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from lambdas.domain.call_plan import CallPlan
from lambdas.domain.plan_ref import Role
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


#: Bridge first: what kind of bridge, for how many (docs.exotel.com post-create-a-bridge).
BRIDGE_TYPE = "audio"
BRIDGE_PARTICIPANTS = 2


def bridge_request(plan: CallPlan, leg_sids: tuple[str, ...]) -> JsonObject:
    """The Create Bridge body: the bridge's events go where the plan's legs' events go.

    Legs first: the two legs (the bridge is up when the reply comes, and ends with a leg). Bridge
    first: an empty two-party bridge; each leg joins it with ``<JoinBridge>`` (:func:`exoml_join_bridge`).
    """
    if plan.bridge_model == "bridge_first":
        return {
            "bridge_type": BRIDGE_TYPE,
            "max_participants": BRIDGE_PARTICIPANTS,
            "recording": False,
            "bridge_event_endpoint": plan.leg_event_endpoint,
        }
    return {"leg_sids": list(leg_sids), "bridge_event_endpoint": plan.leg_event_endpoint}


def exoml_join_bridge(bridge_sid: str) -> str:
    """ExoML that puts the leg into the bridge (bridge first)."""
    return f"<Flow><JoinBridge bridgeSid={quoteattr(bridge_sid)}/></Flow>"
