"""How a call plan moves on when a dial fails or the call is over: shared by every decision and the sweeper.

The rule that keeps people off silent lines lives here: :func:`end_everyone`, which every path that
ends a plan goes through, ends each leg of the plan that may still be up (the first party, when it
was waiting for the second, hears the plan's apology first), cancels scheduled re-dials and stops
the bridge.
"""

from __future__ import annotations

from contract.catalogue import TerminalStatus
from lambdas.domain.actions import Action, ActionKind, Decision
from lambdas.domain.call_plan import LIVE, Attempt, CallPlan


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


def bridged(plan: CallPlan) -> bool:
    """The two parties have been put together (a legs-first bridge is made whole: it counts once created)."""
    return plan.status == "bridged" or (plan.bridge_sid is not None and plan.bridge_model == "legs_first")


def end_everyone(plan: CallPlan, *, skip: Attempt | None = None, apologise: bool = True) -> list[Action]:
    """End every leg of the plan that may still be up (but ``skip``'s), cancel re-dials, stop the bridge.

    A first party who answered and was waiting for the second hears ``unavailable_message`` first
    (when ``apologise``); everyone else is hung up. A dial whose leg is not known yet (its reply was
    lost, or the function died before making it) is closed and its pending ``create_leg`` dropped (never
    re-issued): if the leg exists, its first event or the late reply finds the dial closed and the leg
    is hung up at once (``lambdas.domain.reconcile``).
    """
    together = bridged(plan)
    after: list[Action] = []
    if plan.bridge_sid:
        after.append(Action(kind="stop_bridge", bridge_sid=plan.bridge_sid))
    for attempt in plan.attempts:
        if attempt is skip:
            continue
        if attempt.status == "scheduled":
            attempt.status = "cancelled"
        elif attempt.status == "dialing" and not attempt.leg_sid:
            attempt.status, attempt.error = "ended", "the call ended before this dial was confirmed"
            plan.drop_pending(Action(kind="create_leg", role=attempt.role, attempt=attempt.attempt).key)
        elif attempt.status in LIVE and attempt.leg_sid:
            if attempt.leg_sid not in plan.hung_up:
                waiting = attempt.role == plan.first_role and attempt.status == "answered" and not together
                message = plan.unavailable_message if apologise and waiting else None
                kind: ActionKind = "end_with_message" if message else "hangup"
                after.append(Action(kind=kind, leg_sid=attempt.leg_sid, text=message))
            attempt.status = "ended"
    return after


def end_call(plan: CallPlan, attempt: Attempt, terminal: str, reason: str) -> Decision:
    """``attempt``'s leg ended: the call is over; end the others and the bridge, record the outcome."""
    was = attempt.status
    attempt.status = "ended"
    attempt.terminal_status = attempt.terminal_status or terminal
    if plan.final or not plan.is_current(attempt):
        return Decision(plan, after=end_everyone(plan, skip=attempt) if plan.final else [], note="leg ended")
    together = bridged(plan)
    if together:
        plan.status, plan.outcome = "completed", "completed"
    elif was == "machine":
        plan.status, plan.outcome = "failed", "machine"
    elif (attempt.role == plan.first_role and was == "answered") or terminal == TerminalStatus.COMPLETED:
        plan.status, plan.outcome = "failed", "abandoned"  # a party answered, then hung up before the bridge
    else:
        plan.status, plan.outcome = "failed", terminal
    plan.reason = reason
    return Decision(plan, after=end_everyone(plan, skip=attempt), note=f"call over: {plan.outcome}")


def schedule_next(plan: CallPlan, attempt: Attempt, terminal: str) -> Decision:
    """``attempt`` failed and its party has dials left: end it, add the next dial, send the delayed retry message."""
    attempt.status = "ended"
    attempt.terminal_status = attempt.terminal_status or terminal
    nxt = Attempt(
        role=attempt.role,
        attempt=attempt.attempt + 1,
        number=plan.number_for(attempt.role, attempt.attempt + 1),
        status="scheduled",
    )
    plan.attempts.append(nxt)
    send = Action(kind="schedule_retry", role=nxt.role, attempt=nxt.attempt, delay_seconds=plan.retry.delay_seconds)
    return Decision(plan, before=[send], note=f"{attempt.role} dial {attempt.attempt} {terminal}: retry scheduled")


def dial_failed(plan: CallPlan, attempt: Attempt, terminal: str, error: str, *, hang_up: bool = False) -> Decision:
    """A dial that will not connect: retried per the plan, or the end of the call (its leg hung up if ``hang_up``)."""
    attempt.error = error
    first: list[Action] = []
    if hang_up and attempt.leg_sid and attempt.status in LIVE and attempt.leg_sid not in plan.hung_up:
        first.append(Action(kind="hangup", leg_sid=attempt.leg_sid))
    if retry_wanted(plan, attempt):
        decision = schedule_next(plan, attempt, terminal)
    else:
        decision = end_call(plan, attempt, terminal, f"could not reach the {attempt.role}: {error}")
    decision.after[:0] = first
    return decision


def bridge_failed(plan: CallPlan, error: str) -> Decision | None:
    """The bridge could not be made: the call fails; everyone is ended (the first party with the apology)."""
    if plan.status != "bridging":
        return None
    plan.status, plan.outcome, plan.reason = "failed", "bridge_failed", f"could not bridge: {error}"
    return Decision(plan, after=end_everyone(plan), note="bridge failed")


def first_dial_refused(plan: CallPlan, role: str, error: str) -> Decision | None:
    """The Legs API refused the API's first dial: the call fails at once (the caller gets Exotel's answer)."""
    attempt = plan.attempt(role, 1)
    if attempt is None or attempt.status != "dialing" or attempt.leg_sid is not None:
        return None
    attempt.status, attempt.error, attempt.terminal_status = "ended", error, TerminalStatus.FAILED
    plan.status, plan.outcome, plan.reason = "failed", "failed", f"Exotel refused the first leg: {error}"
    return Decision(plan, note="first dial refused")
