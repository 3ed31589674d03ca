"""Legs the plan did not expect: adopted if the plan still needs that party, else hung up at once.

A leg is unexpected when its event names a dial the plan does not have, a dial the plan gave up
on (its reply was lost and the sweeper moved on), or a dial that already has another leg (the
same dial placed twice). Such a leg is a real phone ringing, or a person on the line: leaving it
would strand them. If the plan is still waiting for that party (its current dial is not
answered, or its re-dial is only scheduled), the leg takes that dial's place; otherwise it is hung
up, once (the plan remembers every leg it asked Exotel to end).
"""

from __future__ import annotations

from contract.catalogue import ANSWERED, ENDED, EventName
from lambdas.domain.actions import Action, Decision
from lambdas.domain.call_plan import Attempt, CallPlan
from lambdas.domain.plan_ref import PlanRef
from legs.events import LegEvent

#: Events that show a leg is alive without it being answered.
LIFE_SIGNS: frozenset[str] = frozenset({EventName.LEG_CONNECTING, EventName.LEG_RINGING})


def attempt_for(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Attempt | None:
    """The dial ``event`` belongs to: the one bound to its leg, else the dial its ``custom_param`` names,
    if that dial is still waiting for its leg (it is bound here). None: the leg is unexpected."""
    leg = event.leg_sid
    bound = plan.attempt_of_leg(leg)
    if bound is not None:
        return bound
    named = plan.attempt(ref.role, ref.attempt)
    if named is None:
        return None
    if named.leg_sid is None and named.status == "dialing":
        named.leg_sid = leg
        return named
    if named.leg_sid is None and not leg:
        return named  # an event without a leg sid cannot be told apart: it is the dial's
    return None


def waiting_for(plan: CallPlan, role: str) -> Attempt | None:
    """The dial of ``role`` the plan is still waiting on (not answered; dialling or scheduled), if any."""
    if plan.final:
        return None
    current = plan.current(role)
    if current is None or current.status not in ("dialing", "scheduled"):
        return None
    if role == plan.first_role:
        return current if plan.status == "dialing_first" else None
    first = plan.current(plan.first_role)
    return current if plan.status == "dialing_second" and first is not None and first.status == "answered" else None


def reconcile(
    plan: CallPlan, event: LegEvent, ref: PlanRef, *, machine: bool = False
) -> tuple[Decision, Attempt | None] | None:
    """An event from a leg the plan does not expect: adopt the leg, or hang it up (once).

    Returns the decision and the dial whose place the leg took (None: hung up), for the caller to
    go on with (an answer is then handled as that dial's); None when there is nothing to do (the
    leg ended, or was hung up already). ``machine``: answered by a machine while AMD is on (never
    adopted).
    """
    leg = event.leg_sid
    if not leg or leg in plan.hung_up or event.event_name in ENDED:
        return None
    answered = event.event_name in ANSWERED
    slot = waiting_for(plan, ref.role)
    fits = slot is not None and not machine and (answered or (event.event_name in LIFE_SIGNS and slot.leg_sid is None))
    if slot is None or not fits:
        return Decision(plan, after=[Action(kind="hangup", leg_sid=leg)], note=f"stray leg {leg} hung up"), None
    after: list[Action] = []
    if slot.leg_sid and slot.leg_sid != leg:  # the slot's own leg is still ringing: the answered one wins
        after.append(Action(kind="hangup", leg_sid=slot.leg_sid))
    plan.drop_pending(Action(kind="create_leg", role=slot.role, attempt=slot.attempt).key)
    slot.leg_sid, slot.status = leg, "dialing"
    slot.error = f"adopted the leg of dial {ref.attempt}" if ref.attempt != slot.attempt else "adopted a second leg"
    return Decision(plan, after=after, note=f"adopted leg {leg} as {slot.role} dial {slot.attempt}"), slot
