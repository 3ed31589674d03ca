"""The two-party call as decisions: pure functions of (plan, event) -> :class:`Decision` (or None).

Who acts on which event (so that ``connect`` and ``retry`` never both act on one event):

* ``retry`` owns "a plan's current dial ended busy / no-answer / failed (or failed to create),
  was never answered, and the party has dials left" (:func:`retry_wanted`). It records the end,
  adds a *scheduled* attempt and asks for a delayed retry message; the message makes it dial.
* ``amd`` owns "the customer's current dial was answered by a machine" while AMD is on.
* ``connect`` owns everything else, and does nothing for an event the other two own: the answers,
  the bridge joins, the other ends, the end message's ``say_*`` events, and legs the plan did not
  expect (``lambdas.domain.reconcile``).

Nothing here performs anything: a decision is the new plan plus the actions it needs, and
``lambdas.executor`` records them as pending, writes the plan (compare-and-swap) and carries the
actions out. What an action's result means for the plan is ``lambdas.domain.results``; what the
sweeper does with a plan past a deadline, ``lambdas.domain.sweep``.
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.catalogue import (
    ACTION_EVENTS,
    ANSWERED,
    ENDED,
    MACHINE_ANSWERS,
    UNSUCCESSFUL,
    EventName,
    TerminalStatus,
)
from lambdas.domain.actions import Action, Decision, PendingAction
from lambdas.domain.call_plan import LIVE, Attempt, CallPlan
from lambdas.domain.outcomes import (
    bridge_failed,
    dial_failed,
    end_call,
    first_dial_refused,
    retry_wanted,
    schedule_next,
)
from lambdas.domain.pending import MESSAGE_ENDS, confirm_by_event
from lambdas.domain.plan_ref import PlanRef, Role
from lambdas.domain.reconcile import attempt_for, reconcile
from legs.events import LegEvent

__all__ = [
    "LIVE",
    "decide_amd",
    "decide_bridge_created",
    "decide_bridge_failed",
    "decide_connect",
    "decide_dial_failed",
    "decide_dial_scheduled",
    "decide_first_dial_refused",
    "decide_leg_created",
    "decide_new_call",
    "decide_retry",
    "is_machine",
    "retry_wanted",
]


# ---- predicates ---------------------------------------------------------------------------
def unsuccessful(event: LegEvent) -> bool:
    return event.event_name == EventName.LEG_FAILED_TO_CREATE or (event.terminal_status or "") in UNSUCCESSFUL


def terminal_of(event: LegEvent) -> str:
    if event.terminal_status:
        return event.terminal_status
    failed = event.event_name == EventName.LEG_FAILED_TO_CREATE
    return TerminalStatus.FAILED if failed else TerminalStatus.COMPLETED


def is_machine(answered_by: str | None) -> bool:
    """Whether AMD's verdict means "not a person". Anything else, a value Exotel has not documented or
    none at all, counts as a person: connecting someone to a machine costs less than hanging up on them
    (docs/EXOTEL-ASSUMPTIONS.md)."""
    return (answered_by or "").upper() in MACHINE_ANSWERS


def _confirmed(plan: CallPlan, done: list[PendingAction], note: str = "") -> Decision | None:
    """Only pending actions confirmed: a write without actions (None when nothing changed)."""
    return Decision(plan, note=note or f"confirmed {', '.join(p.key for p in done)}") if done else None


# ---- decisions per function ---------------------------------------------------------------
def decide_connect(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    name = event.event_name
    if name in ACTION_EVENTS:
        return _on_action_event(plan, event, ref)
    if name in ENDED:
        attempt = attempt_for(plan, event, ref)
        if attempt is not None and attempt.status == "dialing" and unsuccessful(event) and retry_wanted(plan, attempt):
            return None  # the retry function owns this event (and its confirmations)
    done = confirm_by_event(plan, event, ref)
    attempt = attempt_for(plan, event, ref)
    if attempt is None:
        machine = name in ANSWERED and plan.amd_on(ref.role) and is_machine(event.answered_by)
        adopted = reconcile(plan, event, ref, machine=machine)
        if adopted is None:
            return _confirmed(plan, done)
        decision, slot = adopted
        if slot is not None and name in ANSWERED:
            return decision.then(_on_answered(plan, slot, event))
        return decision
    if name in ANSWERED:
        return _on_answered(plan, attempt, event)
    if name == EventName.LEG_JOINED_BRIDGE:
        return _on_joined(plan, attempt, event)
    if name in ENDED:
        if attempt.status in ("ended", "cancelled"):
            attempt.terminal_status = attempt.terminal_status or terminal_of(event)
            return Decision(plan, note="end already handled")
        return end_call(plan, attempt, terminal_of(event), f"{attempt.role} leg {name}: {terminal_of(event)}")
    alive = attempt.terminal_status is None and bool(event.leg_sid) and event.leg_sid not in plan.hung_up
    if attempt.status in ("ended", "cancelled") and alive:
        attempt.error = attempt.error or "alive after its dial was over"
        return Decision(plan, after=[Action(kind="hangup", leg_sid=event.leg_sid)], note="stray leg hung up")
    return Decision(plan, note="leg bound" if not done else "dial confirmed")


def _on_action_event(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    """``say_completed`` / ``say_interrupted`` / ``play_failed_to_start`` of an end message: hang the leg up now."""
    done = confirm_by_event(plan, event, ref)
    messages = [p for p in done if p.action.kind == "end_with_message" and event.event_name in MESSAGE_ENDS]
    after = [Action(kind="hangup", leg_sid=p.action.leg_sid) for p in messages if p.action.leg_sid]
    if not done:
        return None
    return Decision(plan, after=after, note=f"end message {event.event_name}: hang up" if after else "")


def _on_answered(plan: CallPlan, attempt: Attempt, event: LegEvent) -> Decision:
    answered_by = event.answered_by
    if plan.final or not plan.is_current(attempt):
        if attempt.status in LIVE and attempt.leg_sid and attempt.leg_sid not in plan.hung_up:
            attempt.status = "ended"
            attempt.error = "answered after the call was over" if plan.final else "answered after a newer dial"
            return Decision(plan, after=[Action(kind="hangup", leg_sid=attempt.leg_sid)], note="stray leg hung up")
        return Decision(plan)
    if attempt.status != "dialing":
        return Decision(plan, note="already answered")
    if plan.amd_on(attempt.role) and is_machine(answered_by):
        return Decision(plan, note="answered by a machine: the amd function's")
    attempt.status = "answered"
    attempt.answered_by = answered_by
    after: list[Action] = []
    if attempt.role == plan.first_role and plan.status == "dialing_first":
        plan.status = "dialing_second"
        role = plan.second_role
        plan.attempts.append(Attempt(role=role, attempt=1, number=plan.number_for(role, 1), status="dialing"))
        if plan.hold_message:
            after.append(Action(kind="say", leg_sid=attempt.leg_sid, text=plan.hold_message))
        after.append(Action(kind="create_leg", role=role, attempt=1))
        return Decision(plan, after=after, note="first answered: dialling second")
    if attempt.role == plan.second_role and plan.status == "dialing_second":
        first = plan.current(plan.first_role)
        if first is None or not first.leg_sid or attempt.leg_sid is None:
            return Decision(plan, note="cannot bridge: a leg sid is unknown")
        plan.status = "bridging"
        after.append(Action(kind="create_bridge", leg_sids=(first.leg_sid, attempt.leg_sid)))
        return Decision(plan, after=after, note="second answered: bridging")
    return Decision(plan)


def _on_joined(plan: CallPlan, attempt: Attempt, event: LegEvent) -> Decision:
    """A leg joined the bridge: legs first, the call is bridged; bridge first, once both legs are in."""
    leg = event.leg_sid
    if leg and leg not in plan.joined:
        plan.joined.append(leg)
    plan.bridge_sid = plan.bridge_sid or event.bridge_sid
    if plan.status == "bridging":
        both = all(
            (a := plan.current(role)) is not None and a.leg_sid in plan.joined
            for role in (plan.first_role, plan.second_role)
        )
        if plan.bridge_model == "legs_first" or both:
            plan.status = "bridged"
    return Decision(plan, note="bridged" if plan.status == "bridged" else f"{attempt.role} joined the bridge")


def decide_retry(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    if event.event_name not in ENDED or not unsuccessful(event):
        return None
    probe = plan.model_copy(deep=True)  # binding a leg is a change: decide on a copy first
    attempt = attempt_for(probe, event, ref)
    if attempt is None or not retry_wanted(probe, attempt):
        return None
    confirm_by_event(plan, event, ref)
    attempt = attempt_for(plan, event, ref)
    assert attempt is not None
    return schedule_next(plan, attempt, terminal_of(event))


def decide_amd(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    if plan.amd is None or not plan.amd_on(ref.role):
        return None
    if not is_machine(event.answered_by) or event.event_name not in ANSWERED:
        return None
    probe = plan.model_copy(deep=True)
    attempt = attempt_for(probe, event, ref)
    if attempt is None or plan.final or not probe.is_current(attempt) or attempt.status != "dialing":
        return None
    confirm_by_event(plan, event, ref)
    attempt = attempt_for(plan, event, ref)
    assert attempt is not None
    attempt.status = "machine"
    attempt.answered_by = event.answered_by
    if attempt.leg_sid is None:
        return Decision(plan)
    if plan.amd.behaviour == "message" and plan.amd.message:
        action = Action(kind="end_with_message", leg_sid=attempt.leg_sid, text=plan.amd.message)
    else:
        action = Action(kind="hangup", leg_sid=attempt.leg_sid)
    return Decision(plan, after=[action], note=f"answered by {event.answered_by}: {plan.amd.behaviour}")


def decide_dial_scheduled(plan: CallPlan, role: Role, number: int) -> Decision | None:
    """The retry queue's message is due: dial the scheduled attempt (once)."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.status != "scheduled" or plan.final or not plan.is_current(attempt):
        return None
    if role == plan.second_role:
        first = plan.current(plan.first_role)
        if first is None or first.status != "answered":
            return None
    attempt.status = "dialing"
    return Decision(
        plan, after=[Action(kind="create_leg", role=role, attempt=number)], note=f"re-dial {role} #{number}"
    )


def decide_dial_failed(plan: CallPlan, role: str, number: int, error: str) -> Decision | None:
    """The Legs API refused a dial: a failed dial, retried or ending the call like any other."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.status != "dialing" or attempt.leg_sid is not None:
        return None
    return dial_failed(plan, attempt, TerminalStatus.FAILED, error)


def decide_bridge_failed(plan: CallPlan, error: str) -> Decision | None:
    return bridge_failed(plan, error)


def decide_new_call(plan_id: str, body: Mapping[str, object]) -> Decision:
    """``POST /calls``: a new plan whose first party is being dialled."""
    plan = CallPlan.model_validate({"plan_id": plan_id, **body})
    first = plan.first_role
    plan.attempts.append(Attempt(role=first, attempt=1, number=plan.number_for(first, 1), status="dialing"))
    return Decision(plan, after=[Action(kind="create_leg", role=first, attempt=1)], note=f"dialling the {first}")


def decide_first_dial_refused(plan: CallPlan, role: str, error: str) -> Decision | None:
    return first_dial_refused(plan, role, error)


def decide_leg_created(plan: CallPlan, role: str, number: int, leg_sid: str) -> Decision | None:
    """Record the sid Exotel gave dial ``number`` of ``role`` (an event may have bound it already)."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.leg_sid is not None:
        return None
    attempt.leg_sid = leg_sid
    return Decision(plan, note=f"{role} dial {number} is leg {leg_sid}")


def decide_bridge_created(plan: CallPlan, bridge_sid: str) -> Decision | None:
    """Record the new bridge; bridge first, each leg is then asked to join it."""
    if plan.bridge_sid is not None:
        return None
    plan.bridge_sid = bridge_sid
    after: list[Action] = []
    if plan.bridge_model == "bridge_first" and plan.status == "bridging":
        for role in (plan.first_role, plan.second_role):
            attempt = plan.current(role)
            if attempt is not None and attempt.leg_sid and attempt.leg_sid not in plan.joined:
                after.append(Action(kind="join_bridge", leg_sid=attempt.leg_sid, bridge_sid=bridge_sid))
    return Decision(plan, after=after, note=f"bridge {bridge_sid} created")
