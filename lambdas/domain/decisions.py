"""The two-party call as decisions: pure functions of (plan, event) -> :class:`Decision` (or None).

Who acts on which event (so that ``connect`` and ``retry`` never both act on one event):

* ``retry`` owns "a plan's current dial ended busy / no-answer / failed (or failed to create),
  was never answered, and the party has dials left" (:func:`retry_wanted`). It records the end,
  adds a *scheduled* attempt and asks for a delayed retry message; the message makes it dial.
* ``amd`` owns "the customer's current dial was answered by a machine" while AMD is on.
* ``connect`` owns everything else, and does nothing for an event the other two own.

Nothing here performs anything: a decision is the new plan plus the actions it needs, and
``lambdas.executor`` writes the plan (compare-and-swap) and carries the actions out. What an
action's result means for the plan (a new leg's sid to record, a refused dial that counts as a
failed dial) is decided here too: :func:`on_action_result`.
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.catalogue import ANSWERED, ENDED, MACHINE_ANSWERS, UNSUCCESSFUL, AnsweredBy, EventName, TerminalStatus
from lambdas.domain.actions import Action, ActionResult, Decision
from lambdas.domain.call_plan import Attempt, CallPlan, Role
from lambdas.domain.plan_ref import PlanRef
from legs.events import LegEvent

#: Dial statuses of a leg that may still be up (and so may need hanging up).
LIVE = frozenset({"dialing", "answered", "machine"})


# ---- predicates ---------------------------------------------------------------------------
def unsuccessful(event: LegEvent) -> bool:
    return event.event_name == EventName.LEG_FAILED_TO_CREATE or (event.terminal_status or "") in UNSUCCESSFUL


def terminal_of(event: LegEvent) -> str:
    if event.terminal_status:
        return event.terminal_status
    failed = event.event_name == EventName.LEG_FAILED_TO_CREATE
    return TerminalStatus.FAILED if failed else TerminalStatus.COMPLETED


def retry_wanted(plan: CallPlan, attempt: Attempt) -> bool:
    """A never-answered current dial of a live plan whose party has dials left (the caller checks the outcome)."""
    if plan.final or not plan.is_current(attempt) or attempt.status != "dialing":
        return False
    if attempt.attempt >= plan.retry.max_attempts:
        return False
    if attempt.role == plan.second_role:
        first = plan.current(plan.first_role)
        return first is not None and first.status == "answered"
    return True


def _bind(attempt: Attempt, event: LegEvent) -> None:
    if attempt.leg_sid is None and event.leg_sid:
        attempt.leg_sid = event.leg_sid


def _schedule_next(plan: CallPlan, attempt: Attempt, terminal: str) -> Decision:
    attempt.status = "ended"
    attempt.terminal_status = terminal
    nxt = Attempt(
        role=attempt.role,
        attempt=attempt.attempt + 1,
        number=plan.number_for(attempt.role, attempt.attempt + 1),
        status="scheduled",
    )
    plan.attempts.append(nxt)
    send = Action(kind="schedule_retry", role=nxt.role, attempt=nxt.attempt, delay_seconds=plan.retry.delay_seconds)
    return Decision(plan, before=[send], note=f"{attempt.role} dial {attempt.attempt} {terminal}: retry scheduled")


def _end_call(plan: CallPlan, attempt: Attempt, terminal: str, reason: str) -> Decision:
    """``attempt``'s leg ended: the call is over; end the other side and the bridge, record the outcome."""
    was = attempt.status
    attempt.status = "ended"
    attempt.terminal_status = attempt.terminal_status or terminal
    if plan.final or not plan.is_current(attempt):
        return Decision(plan, note="leg ended after the call was decided")
    bridged = plan.status == "bridged" or plan.bridge_sid is not None
    if bridged:
        plan.status, plan.outcome = "completed", "completed"
    elif was == "machine":
        plan.status, plan.outcome = "failed", "machine"
    elif (attempt.role == plan.first_role and was == "answered") or terminal == TerminalStatus.COMPLETED:
        plan.status, plan.outcome = "failed", "abandoned"  # a party answered, then hung up before the bridge
    else:
        plan.status, plan.outcome = "failed", terminal
    plan.reason = reason
    after: list[Action] = []
    if bridged and plan.bridge_sid:
        after.append(Action(kind="stop_bridge", bridge_sid=plan.bridge_sid))
    other_role = plan.second_role if attempt.role == plan.first_role else plan.first_role
    other = plan.current(other_role)
    if other is not None and other.status == "scheduled":
        other.status = "cancelled"
    elif other is not None and other.status in LIVE and other.leg_sid:
        if other.role == plan.first_role and other.status == "answered" and not bridged:
            after.append(Action(kind="end_with_message", leg_sid=other.leg_sid, text=plan.unavailable_message))
        else:
            after.append(Action(kind="hangup", leg_sid=other.leg_sid))
        other.status = "ended"
    return Decision(plan, after=after, note=f"call over: {plan.outcome}")


# ---- decisions per function ---------------------------------------------------------------
def decide_connect(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None:
        return None
    _bind(attempt, event)
    name = event.event_name
    if name in ANSWERED:
        return _on_answered(plan, attempt, event)
    if name == EventName.LEG_JOINED_BRIDGE:
        if plan.status == "bridging":
            plan.status = "bridged"
        plan.bridge_sid = plan.bridge_sid or event.bridge_sid
        return Decision(plan, note="bridged")
    if name in ENDED:
        if attempt.status in ("ended", "cancelled"):
            attempt.terminal_status = attempt.terminal_status or terminal_of(event)
            return Decision(plan, note="end already handled")
        if attempt.status == "dialing" and unsuccessful(event) and retry_wanted(plan, attempt):
            return None  # the retry function owns this event
        return _end_call(plan, attempt, terminal_of(event), f"{attempt.role} leg {name}: {terminal_of(event)}")
    return Decision(plan)


def _on_answered(plan: CallPlan, attempt: Attempt, event: LegEvent) -> Decision:
    answered_by = event.answered_by
    if plan.final or not plan.is_current(attempt):
        if attempt.status in ("dialing", "scheduled") and attempt.leg_sid:
            attempt.status = "ended"
            attempt.error = "answered after the call was over"
            return Decision(plan, after=[Action(kind="hangup", leg_sid=attempt.leg_sid)], note="stray leg hung up")
        return Decision(plan)
    if attempt.status != "dialing":
        return Decision(plan, note="already answered")
    if plan.amd_on(attempt.role) and answered_by != AnsweredBy.HUMAN:
        return Decision(plan, note="waiting for a human (AMD)")  # MACHINE/BEEP: the amd function's
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


def decide_retry(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None or event.event_name not in ENDED or not unsuccessful(event):
        return None
    if not retry_wanted(plan, attempt):
        return None
    _bind(attempt, event)
    return _schedule_next(plan, attempt, terminal_of(event))


def decide_amd(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None or plan.amd is None or not plan.amd_on(attempt.role):
        return None
    if event.answered_by not in MACHINE_ANSWERS or event.event_name not in ANSWERED:
        return None
    if plan.final or not plan.is_current(attempt) or attempt.status != "dialing":
        return None
    _bind(attempt, event)
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
    attempt.error = error
    if retry_wanted(plan, attempt):
        return _schedule_next(plan, attempt, TerminalStatus.FAILED)
    return _end_call(plan, attempt, TerminalStatus.FAILED, f"could not dial the {role}: {error}")


def decide_bridge_failed(plan: CallPlan, error: str) -> Decision | None:
    if plan.status != "bridging":
        return None
    plan.status, plan.outcome, plan.reason = "failed", "bridge_failed", f"could not bridge: {error}"
    after: list[Action] = []
    for role in (plan.first_role, plan.second_role):
        attempt = plan.current(role)
        if attempt is not None and attempt.status in LIVE and attempt.leg_sid:
            if role == plan.first_role:
                after.append(Action(kind="end_with_message", leg_sid=attempt.leg_sid, text=plan.unavailable_message))
            else:
                after.append(Action(kind="hangup", leg_sid=attempt.leg_sid))
            attempt.status = "ended"
    return Decision(plan, after=after, note="bridge failed")


def decide_new_call(plan_id: str, body: Mapping[str, object]) -> Decision:
    """``POST /calls``: a new plan whose first party is being dialled."""
    plan = CallPlan.model_validate({"plan_id": plan_id, **body})
    first = plan.first_role
    plan.attempts.append(Attempt(role=first, attempt=1, number=plan.number_for(first, 1), status="dialing"))
    return Decision(plan, after=[Action(kind="create_leg", role=first, attempt=1)], note=f"dialling the {first}")


def decide_first_dial_refused(plan: CallPlan, role: str, error: str) -> Decision | None:
    """The Legs API refused the API's first dial: the call fails at once (the caller gets Exotel's answer)."""
    attempt = plan.attempt(role, 1)
    if attempt is None:
        return None
    attempt.status, attempt.error, attempt.terminal_status = "ended", error, TerminalStatus.FAILED
    plan.status, plan.outcome, plan.reason = "failed", "failed", f"Exotel refused the first leg: {error}"
    return Decision(plan, note="first dial refused")


def decide_leg_created(plan: CallPlan, role: str, number: int, leg_sid: str) -> Decision | None:
    """Record the sid Exotel gave dial ``number`` of ``role`` (an event may have bound it already)."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.leg_sid is not None:
        return None
    attempt.leg_sid = leg_sid
    return Decision(plan, note=f"{role} dial {number} is leg {leg_sid}")


def decide_bridge_created(plan: CallPlan, bridge_sid: str) -> Decision | None:
    if plan.bridge_sid is not None:
        return None
    plan.bridge_sid = bridge_sid
    return Decision(plan, note=f"bridge {bridge_sid} created")


def on_action_result(plan: CallPlan, result: ActionResult) -> Decision | None:
    """What an action's result changes in the plan: record a new sid, or treat a refusal as a failure."""
    action = result.action
    if action.kind == "create_leg" and action.role and action.attempt:
        if result.ok and result.leg_sid:
            return decide_leg_created(plan, action.role, action.attempt, result.leg_sid)
        if result.ok:
            return None
        if action.role == plan.first_role and action.attempt == 1:
            return decide_first_dial_refused(plan, action.role, result.error or "refused")
        return decide_dial_failed(plan, action.role, action.attempt, result.error or "refused")
    if action.kind == "create_bridge":
        if result.ok:
            return decide_bridge_created(plan, result.bridge_sid) if result.bridge_sid else None
        return decide_bridge_failed(plan, result.error or "refused")
    return None
