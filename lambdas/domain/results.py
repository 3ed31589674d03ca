"""What the replies of a decision's Legs API calls mean for the plan: confirm, wait, or move on.

* ``ok`` / ``gone``: the pending action is confirmed (an end message instead waits for its
  ``say_completed``); a new leg's or bridge's sid is recorded (bridge first: the legs are asked to
  join it).
* ``refused`` (a 4xx): a refused dial is a failed dial (re-dialled per the plan, or the end of the
  call); a refused bridge or join fails the bridge; a message that cannot be played becomes a hangup.
* ``unknown`` (no reply, a 5xx) or ``throttled`` (429): *not* a failure. The action stays pending
  until an event confirms it or its deadline passes; then the sweeper re-issues it or gives up. The
  exception is an end message: whether it plays is then not known, and the leg is hung up at once
  (nobody waits on a line for a message that may never come).

``interactive``: a caller is waiting for the answer (``POST /calls``): a refused or throttled first dial
fails the plan at once, and the caller gets Exotel's answer to retry on.
"""

from __future__ import annotations

from lambdas.domain.actions import Action, ActionResult, Decision
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.decisions import decide_bridge_created, decide_dial_failed
from lambdas.domain.outcomes import bridge_failed, first_dial_refused
from lambdas.domain.pending import ENDS
from lambdas.domain.reconcile import waiting_for


def settle(
    plan: CallPlan,
    results: list[ActionResult],
    *,
    now: float,
    deadlines: Deadlines | None = None,
    interactive: bool = False,
) -> Decision | None:
    """One decision for the results of one decision's actions (None: nothing to write)."""
    limits = deadlines or Deadlines()
    decision: Decision | None = None
    for result in results:
        step = _settle_one(plan, result, now, limits, interactive)
        if step is not None:
            decision = step if decision is None else decision.then(step)
    return decision


def on_action_result(
    plan: CallPlan, result: ActionResult, *, now: float = 0.0, interactive: bool = True
) -> Decision | None:
    """:func:`settle` for a single result."""
    return settle(plan, [result], now=now, interactive=interactive)


def _settle_one(
    plan: CallPlan, result: ActionResult, now: float, deadlines: Deadlines, interactive: bool
) -> Decision | None:
    action = result.action
    key = action.key
    pending = plan.pending_for(key)
    outcome = "refused" if (result.outcome == "throttled" and interactive) else result.outcome
    if action.kind == "end_with_message" and outcome in ("unknown", "throttled"):
        outcome = "refused"  # whether the message plays is not known: hang up now rather than leave the leg up
    if outcome in ("unknown", "throttled"):
        if pending is None:
            return None  # an event confirmed it meanwhile
        pending.state = "unknown" if outcome == "unknown" else "throttled"
        pending.error = result.error
        if outcome == "throttled" and action.kind in ENDS and result.retry_after is not None:
            # not done, and Exotel said when to ask again: someone may be on the line, so no longer than that
            pending.due_at = now + result.retry_after
        else:
            wait = deadlines.hangup if action.kind in ENDS else deadlines.pending
            pending.due_at = now + max(wait, result.retry_after or 0.0)
        return Decision(plan, note=f"{key}: {outcome}, left for its confirmation or the sweeper")
    if action.kind == "end_with_message" and outcome == "ok":
        if pending is None or pending.state == "awaiting_event":
            return None
        pending.state, pending.due_at = "awaiting_event", now + deadlines.message
        return Decision(plan, note=f"{key}: playing; the leg is hung up on say_completed")
    dropped = plan.drop_pending(key)
    follow = _follow_up(plan, action, result, outcome == "refused", interactive)
    if follow is None and dropped is not None:
        return Decision(plan, note=f"{key}: {outcome}")
    return follow


def _follow_up(
    plan: CallPlan, action: Action, result: ActionResult, refused: bool, interactive: bool
) -> Decision | None:
    error = result.error or "refused"
    if action.kind == "create_leg" and action.role and action.attempt:
        if refused:
            if interactive and action.role == plan.first_role and action.attempt == 1:
                return first_dial_refused(plan, action.role, error)
            return decide_dial_failed(plan, action.role, action.attempt, error)
        return _leg_created(plan, action.role, action.attempt, result.leg_sid) if result.leg_sid else None
    if action.kind == "create_bridge":
        if refused or not result.bridge_sid:
            return bridge_failed(plan, error) if refused else None
        return decide_bridge_created(plan, result.bridge_sid)
    if action.kind == "join_bridge":
        return bridge_failed(plan, f"{action.leg_sid} could not join: {error}") if refused else None
    if action.kind == "end_with_message" and refused and action.leg_sid:
        return Decision(plan, after=[Action(kind="hangup", leg_sid=action.leg_sid)], note="message refused: hang up")
    return None  # hangup / say / stop_bridge: a refusal is logged (the leg or bridge is usually gone already)


def _leg_created(plan: CallPlan, role: str, number: int, leg_sid: str) -> Decision | None:
    """Exotel created the leg: record it on its dial. A leg the plan no longer expects (its dial was given
    up or has another leg, or the call is over) is adopted if the plan still needs the party, else hung up."""
    if leg_sid in plan.hung_up or plan.attempt_of_leg(leg_sid) is not None:
        return None  # known already (an event bound it first)
    attempt = plan.attempt(role, number)
    if attempt is not None and attempt.leg_sid is None and attempt.status == "dialing":
        attempt.leg_sid = leg_sid
        if not plan.final and plan.is_current(attempt):
            return Decision(plan, note=f"{role} dial {number} is leg {leg_sid}")
        attempt.status, attempt.error = "ended", "created after the call was over"
        return Decision(plan, after=[Action(kind="hangup", leg_sid=leg_sid)], note=f"late leg {leg_sid} hung up")
    slot = waiting_for(plan, role)
    if slot is not None and slot.leg_sid is None:
        slot.leg_sid, slot.status = leg_sid, "dialing"
        slot.error = f"adopted the leg of dial {number}"
        plan.drop_pending(Action(kind="create_leg", role=slot.role, attempt=slot.attempt).key)
        return Decision(plan, note=f"late leg {leg_sid} adopted as {role} dial {slot.attempt}")
    return Decision(plan, after=[Action(kind="hangup", leg_sid=leg_sid)], note=f"late leg {leg_sid} hung up")
