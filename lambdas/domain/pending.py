"""Pending actions and deadlines: what a plan is waiting for, and until when.

:func:`track` runs on every decision before its plan is written (by the executor): each Legs API
call the decision asks for becomes a :class:`~lambdas.domain.actions.PendingAction` in the same
write, and every state that changed gets its deadline (``lambdas.domain.deadlines``). The plan's
earliest deadline (:meth:`CallPlan.next_due`) is what the sweeper's index is sorted by.

:func:`confirm_by_event` removes the pending actions an event proves done: the first event that
carries a dial's ``custom_param`` confirms its ``create_leg``; a leg's end settles every action on
that leg; ``leg_joined_bridge`` confirms the bridge; ``say_*`` events carrying an end message's
``action_custom_parameter`` end its wait.
"""

from __future__ import annotations

from contract.catalogue import ENDED, EventName
from lambdas.domain.actions import Decision, PendingAction
from lambdas.domain.call_plan import Attempt, CallPlan, iso
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.plan_ref import PlanRef
from legs.events import LegEvent

#: Action events that end an end message's wait (and so call for the hangup).
MESSAGE_ENDS: frozenset[str] = frozenset(
    {EventName.SAY_COMPLETED, EventName.SAY_INTERRUPTED, EventName.PLAY_FAILED_TO_START}
)
#: Actions on one leg: settled once that leg has ended.
LEG_ACTIONS: frozenset[str] = frozenset({"say", "end_with_message", "hangup", "join_bridge"})
#: Actions that end a leg: the plan remembers the leg so that it never ends it twice, nor adopts it.
ENDING: frozenset[str] = frozenset({"hangup", "end_with_message"})
#: Actions that end something (safe to repeat, or followed by a hangup): their deadline is ``Deadlines.hangup``.
ENDS: frozenset[str] = frozenset({"hangup", "end_with_message", "stop_bridge"})


def track(before: CallPlan | None, decision: Decision, now: float, deadlines: Deadlines) -> None:
    """Record ``decision.after`` as pending actions of its plan and set the deadlines of what changed.

    An action already pending is not asked for twice (it is dropped from ``after``). One that was
    pending before the decision and that the decision removed and asks for again is a re-issue: its
    ``tries`` go up by one.
    """
    plan = decision.plan
    previous = {p.key: p for p in before.pending} if before is not None else {}
    current = {p.key for p in plan.pending}
    kept = []
    for action in decision.after:
        key = action.key
        if key in current:
            continue
        tries = previous[key].tries + 1 if key in previous else 1
        # ending a leg is confirmed (or done again) soon; a re-issued dial or bridge waits longer each time
        wait = deadlines.hangup if action.kind in ENDS else deadlines.pending * min(tries, 4)
        plan.pending.append(PendingAction(action=action, tries=tries, due_at=now + wait))
        current.add(key)
        kept.append(action)
        if action.kind in ENDING and action.leg_sid and action.leg_sid not in plan.hung_up:
            plan.hung_up.append(action.leg_sid)
    decision.after = kept
    stamp(before, plan, now, deadlines)


def stamp(before: CallPlan | None, plan: CallPlan, now: float, deadlines: Deadlines) -> None:
    """Give each attempt whose status or leg changed, and the plan if its status changed, a fresh deadline."""
    for attempt in plan.attempts:
        old = before.attempt(attempt.role, attempt.attempt) if before is not None else None
        if old is None or old.status != attempt.status or old.leg_sid != attempt.leg_sid:
            attempt.due_at = attempt_deadline(plan, attempt, now, deadlines)
    if before is None or before.status != plan.status:
        plan.due_at = {"bridging": now + deadlines.bridging, "bridged": now + deadlines.bridged}.get(plan.status)
        if plan.final and plan.ended_at is None:
            plan.ended_at = iso(now)


def attempt_deadline(plan: CallPlan, attempt: Attempt, now: float, deadlines: Deadlines) -> float | None:
    """Dialling: answered or ended by then. Scheduled: its retry message in by then. On a machine: hung up by then."""
    if attempt.status == "dialing":
        return now + deadlines.dial
    if attempt.status == "scheduled":
        return now + plan.retry.delay_seconds + deadlines.redial_slack
    if attempt.status == "machine":
        return now + deadlines.message
    return None


def confirm_by_event(plan: CallPlan, event: LegEvent, ref: PlanRef) -> list[PendingAction]:
    """Remove (and return) the pending actions ``event`` proves done; an end message's wait too."""
    name, leg = event.event_name, event.leg_sid
    done = [p for p in plan.pending if _proves(p, name, leg, event, ref)]
    for pending in done:
        plan.pending.remove(pending)
    return done


def _proves(pending: PendingAction, name: str, leg: str | None, event: LegEvent, ref: PlanRef) -> bool:
    action = pending.action
    if action.kind == "create_leg":
        return action.role == ref.role and action.attempt == ref.attempt
    if action.kind in LEG_ACTIONS and leg and action.leg_sid == leg and name in ENDED:
        return True
    if action.kind == "end_with_message":
        return name in MESSAGE_ENDS and event.action_custom_parameter == action.key
    if action.kind == "create_bridge":
        return name == EventName.LEG_JOINED_BRIDGE and leg in action.leg_sids
    if action.kind == "join_bridge":
        return name == EventName.LEG_JOINED_BRIDGE and leg == action.leg_sid
    if action.kind == "stop_bridge":
        return name == EventName.LEG_LEFT_BRIDGE and event.bridge_sid == action.bridge_sid
    return False
