"""The sweeper's decision: a plan past one of its deadlines is driven on, never left as it is.

In order, on one plan:

1. **Pending actions past their deadline** (the function died before making the call, or the
   reply was lost and no event confirmed it): re-issued while ``tries < max_tries``, then given up.
   Giving up means: a dial counts as failed (re-dialled per the plan, or the end of the call), a
   bridge or a join fails the bridge (everyone is ended), an end message becomes a hangup (an end
   message is never played twice), a hold message is dropped. A hangup or a bridge stop is never
   given up (that would leave someone on the line): it is re-issued, each time a little later,
   until a reply or the leg's end confirms it.
2. **Dials past their deadline**: a scheduled re-dial whose retry message never came is dialled;
   a dial neither answered nor ended is hung up and counts as failed; a leg answered by a machine
   that never ended ends the call (outcome ``machine``).
3. **The plan past its state's deadline**: still ``bridging`` -> the bridge failed (the first
   party hears the apology, everyone is hung up); still ``bridged`` -> the call is ended.
4. **A final plan** with a leg that may still be up and that was never asked to end: hung up; a dial,
   bridge or join re-issued in step 1 is not made after all (the call is over).

Everything overdue is handled or given a later deadline, so a plan never comes back to the sweeper
for the same reason twice.
"""

from __future__ import annotations

from contract.catalogue import TerminalStatus
from lambdas.domain.actions import Action, Decision, PendingAction
from lambdas.domain.call_plan import LIVE, CallPlan
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.decisions import decide_dial_scheduled
from lambdas.domain.outcomes import bridge_failed, dial_failed, end_call, end_everyone
from lambdas.domain.plan_ref import Role

#: Re-issued while ``tries < max_tries``, then given up.
REPEATABLE: frozenset[str] = frozenset({"create_bridge", "join_bridge", "create_leg"})
#: Re-issued until confirmed, never given up: giving up would leave a person on the line. Safe to repeat
#: (a 404/409 means it is done); each re-issue waits longer (``lambdas.domain.pending.track``).
ENDING: frozenset[str] = frozenset({"hangup", "stop_bridge"})


def decide_sweep(plan: CallPlan, now: float, deadlines: Deadlines) -> Decision | None:
    """What the sweeper does with ``plan`` at ``now`` (None: nothing is overdue)."""
    decision = Decision(plan)
    acted = False
    for pending in sorted((p for p in plan.pending if p.due_at <= now), key=lambda p: p.due_at):
        if plan.pending_for(pending.key) is pending:  # an earlier step may have settled it
            decision.then(_overdue_action(plan, pending, now, deadlines))
            acted = True
    for attempt in list(plan.attempts):
        if attempt.due_at is not None and attempt.due_at <= now:
            acted = True
            decision.then(_overdue_dial(plan, attempt.role, attempt.attempt, now, deadlines))
    if not plan.final and plan.due_at is not None and plan.due_at <= now:
        acted = True
        decision.then(_overdue_state(plan))
    if plan.final:
        leftover = _ended_everyone(plan)
        if leftover:
            acted = True
            decision.after.extend(leftover)
        # the call is over: a dial, bridge or join re-issued above would only be undone (and is not made)
        decision.after = [action for action in decision.after if action.kind not in REPEATABLE]
    if not acted:
        return None
    decision.note = f"swept: {decision.note}" if decision.note else "swept"
    return decision


def _overdue_action(plan: CallPlan, pending: PendingAction, now: float, deadlines: Deadlines) -> Decision:
    action = pending.action
    plan.drop_pending(pending.key)
    if not _still_wanted(plan, action):
        return Decision(plan, note=f"{pending.key} no longer needed")
    if action.kind in ENDING or (action.kind in REPEATABLE and pending.tries < deadlines.max_tries):
        if action.kind == "create_leg":
            attempt = plan.attempt(action.role or "", action.attempt or 0)
            if attempt is not None:
                attempt.due_at = now + deadlines.dial + deadlines.pending
        note = f"re-issued {pending.key} ({pending.state}, try {pending.tries + 1})"
        return Decision(plan, after=[action], note=note)
    return _give_up(plan, action, pending)


def _still_wanted(plan: CallPlan, action: Action) -> bool:
    if action.kind == "create_leg":  # never a dial for a call that is over
        attempt = plan.attempt(action.role or "", action.attempt or 0)
        return not plan.final and attempt is not None and attempt.status == "dialing" and attempt.leg_sid is None
    if action.kind == "create_bridge":
        return plan.status == "bridging" and plan.bridge_sid is None
    if action.kind == "join_bridge":
        return plan.status == "bridging" and action.leg_sid not in plan.joined
    return action.kind != "say"  # a hold message that is late is not worth playing


def _give_up(plan: CallPlan, action: Action, pending: PendingAction) -> Decision:
    decision = _given_up(plan, action, pending)
    decision.note = f"gave up {pending.key}: {decision.note}" if decision.note else f"gave up {pending.key}"
    return decision


def _given_up(plan: CallPlan, action: Action, pending: PendingAction) -> Decision:
    state = f"{pending.state}: {pending.error}" if pending.error else pending.state
    why = f"no confirmation after {pending.tries} tries ({state})"
    if action.kind == "create_leg" and action.role and action.attempt:
        attempt = plan.attempt(action.role, action.attempt)
        if attempt is not None and attempt.status == "dialing" and attempt.leg_sid is None:
            if plan.final:
                attempt.status, attempt.error = "ended", why
                return Decision(plan, note="the call is over")
            return dial_failed(plan, attempt, TerminalStatus.FAILED, why)
    if action.kind in ("create_bridge", "join_bridge"):
        return bridge_failed(plan, why) or Decision(plan)
    if action.kind == "end_with_message" and action.leg_sid:
        return Decision(plan, after=[Action(kind="hangup", leg_sid=action.leg_sid)], note="message not ended: hang up")
    return Decision(plan, note=why)


def _overdue_dial(plan: CallPlan, role: Role, number: int, now: float, deadlines: Deadlines) -> Decision:
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.due_at is None or attempt.due_at > now:
        return Decision(plan)  # settled by an earlier step
    attempt.due_at = None
    if attempt.status == "scheduled":
        dialled = decide_dial_scheduled(plan, role, number)
        if dialled is not None:
            dialled.note = f"retry message for {role} dial {number} never came: dialled"
            return dialled
        attempt.status = "cancelled"
        return Decision(plan, note=f"{role} dial {number} no longer wanted")
    if attempt.status == "dialing":
        create = plan.pending_for(Action(kind="create_leg", role=role, attempt=number).key)
        if attempt.leg_sid is None and create is not None:
            attempt.due_at = create.due_at + deadlines.dial  # its dial is still being confirmed
            return Decision(plan)
        return dial_failed(plan, attempt, TerminalStatus.NO_ANSWER, "neither answered nor ended in time", hang_up=True)
    if attempt.status == "machine":
        return end_call(plan, attempt, TerminalStatus.COMPLETED, "answered by a machine; the leg did not end in time")
    return Decision(plan)


def _overdue_state(plan: CallPlan) -> Decision:
    if plan.status == "bridging":
        return bridge_failed(plan, "the legs did not join the bridge in time") or Decision(plan)
    if plan.status == "bridged":
        plan.status, plan.outcome, plan.reason = "completed", "completed", "ended by the sweeper: bridged too long"
        return Decision(plan, after=end_everyone(plan, apologise=False), note="bridged too long: ended")
    plan.due_at = None
    return Decision(plan)


def _ended_everyone(plan: CallPlan) -> list[Action]:
    """A final plan must leave nobody connected: any leg it never asked to end is hung up now."""
    after = []
    for attempt in plan.attempts:
        if attempt.status in LIVE and attempt.leg_sid and attempt.leg_sid not in plan.hung_up:
            after.append(Action(kind="hangup", leg_sid=attempt.leg_sid))
            attempt.status = "ended"
    return after
