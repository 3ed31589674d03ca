"""Pending actions, the sweeper's decision and reconciliation, as pure functions (no AWS, no clock).

The chaos suite (tests/reliability/test_chaos_calls.py) shows these together under faults; here each rule
is pinned on its own: an unconfirmed dial is re-issued, then given up as a failed dial; an unconfirmed
hangup is never given up; a final plan leaves nobody connected; a leg the plan did not expect is adopted
when its party is still wanted, else hung up, once.
"""

from __future__ import annotations

from lambdas.domain.actions import Action, Decision
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.decisions import decide_amd, decide_connect, decide_new_call
from lambdas.domain.pending import track
from lambdas.domain.plan_ref import PlanRef
from lambdas.domain.sweep import decide_sweep
from legs.events import LegEvent
from tests.lambdas.domain.test_action_results import BODY, second_party_dialling
from tests.lambdas.kit import leg_event

D = Deadlines()


def write(before: CallPlan | None, decision: Decision, now: float) -> CallPlan:
    """What the executor does before it acts: record the decision's actions as pending, set deadlines."""
    track(before, decision, now, D)
    return decision.plan


def sweep(plan: CallPlan, now: float) -> tuple[CallPlan, Decision | None]:
    before = plan.model_copy(deep=True)
    decision = decide_sweep(plan.model_copy(deep=True), now, D)
    if decision is None:
        return before, None
    return write(before, decision, now), decision


def event(name: str, leg_sid: str, ref: PlanRef, **extra: object) -> LegEvent:
    return LegEvent.model_validate(leg_event(name, leg_sid, custom_param=ref.custom_param, **extra))


def test_an_unconfirmed_dial_is_reissued_until_max_tries_then_counts_as_a_failed_dial() -> None:
    plan = write(None, decide_new_call("p1", dict(BODY)), now=0.0)
    [pending] = plan.pending
    assert (pending.action.kind, pending.tries, pending.due_at) == ("create_leg", 1, D.pending)
    assert decide_sweep(plan.model_copy(deep=True), D.pending - 1, D) is None  # not yet due

    now = D.pending
    for tries in range(2, D.max_tries + 1):
        plan, decision = sweep(plan, now)
        assert decision is not None and [a.kind for a in decision.after] == ["create_leg"]
        assert "re-issued" in (decision.note or "")
        [pending] = plan.pending
        assert pending.tries == tries
        now = pending.due_at
    plan, decision = sweep(plan, now)
    assert decision is not None and "gave up" in (decision.note or "")
    assert not decision.after and not plan.pending
    assert (plan.status, plan.outcome) == ("failed", "failed") and plan.ended_at  # nobody else was dialled


def test_an_unconfirmed_hangup_is_never_given_up() -> None:
    plan = second_party_dialling()
    plan.status, plan.outcome = "failed", "failed"
    plan = write(None, Decision(plan, after=[Action(kind="hangup", leg_sid="C1")]), now=0.0)
    plan.attempts[0].status = "ended"
    now = 0.0
    for _ in range(D.max_tries + 2):
        [pending] = plan.pending
        now = pending.due_at
        plan, decision = sweep(plan, now)
        assert decision is not None and [(a.kind, a.leg_sid) for a in decision.after] == [("hangup", "C1")]
    assert plan.pending[0].tries == D.max_tries + 3


def test_a_final_plan_with_a_leg_never_asked_to_end_has_it_hung_up() -> None:
    plan = second_party_dialling()
    plan.status, plan.outcome = "completed", "completed"  # e.g. a decision that forgot the first party
    plan, decision = sweep(plan, 1.0)
    assert decision is not None and [(a.kind, a.leg_sid) for a in decision.after] == [("hangup", "C1")]
    assert "C1" in plan.hung_up
    _, later = sweep(plan, 2.0)
    assert later is None or not later.after  # asked once: not hung up again by the next sweep


def test_an_answered_stray_leg_of_a_party_no_longer_wanted_is_hung_up_once() -> None:
    plan = second_party_dialling()
    plan.attempts[1].leg_sid, plan.attempts[1].status = "A1", "answered"
    plan.status, plan.bridge_sid = "bridged", "B1"
    stray = event("leg_answered", "A9", PlanRef("p1", "agent", 1), answered_by="HUMAN")  # the same dial, twice
    decision = decide_connect(plan.model_copy(deep=True), stray, PlanRef("p1", "agent", 1))
    assert decision is not None and [(a.kind, a.leg_sid) for a in decision.after] == [("hangup", "A9")]
    plan = write(plan, decision, now=1.0)
    assert plan.status == "bridged" and plan.current("agent").leg_sid == "A1"  # type: ignore[union-attr]
    again = decide_connect(plan.model_copy(deep=True), stray, PlanRef("p1", "agent", 1))
    assert again is None or not again.after  # hung up once


def test_a_stray_leg_of_a_party_still_wanted_is_adopted() -> None:
    plan = second_party_dialling()  # the agent's dial 1 is being made; its reply (the sid) was lost
    late = event("leg_answered", "A1", PlanRef("p1", "agent", 1), answered_by="HUMAN")
    decision = decide_connect(plan.model_copy(deep=True), late, PlanRef("p1", "agent", 1))
    assert decision is not None
    assert decision.plan.current("agent").leg_sid == "A1"  # type: ignore[union-attr]
    assert "hangup" not in [a.kind for a in decision.after]
    assert decision.plan.status == "bridging" and [a.kind for a in decision.after] == ["create_bridge"]


def test_an_undocumented_answered_by_counts_as_a_person_and_the_call_goes_on() -> None:
    """AMD on, the customer answered with a verdict that is not HUMAN/MACHINE/BEEP: no stall in dialing_first."""
    plan = write(None, decide_new_call("p1", {**BODY, "amd": {"behaviour": "hangup"}}), now=0.0)
    ref = PlanRef("p1", "customer", 1)
    answered = event("leg_answered", "C1", ref, answered_by="NOT_SURE")
    assert decide_amd(plan.model_copy(deep=True), answered, ref) is None  # not the amd function's
    decision = decide_connect(plan.model_copy(deep=True), answered, ref)
    assert decision is not None and decision.plan.status == "dialing_second"
    assert [(a.kind, a.role) for a in decision.after] == [("create_leg", "agent")]


def test_a_throttled_hangup_is_asked_again_when_exotel_says_and_a_throttled_dial_waits_its_deadline() -> None:
    """A 429 means not done: for a hangup someone may still be on the line, so Retry-After, not the deadline."""
    from lambdas.domain.actions import ActionResult
    from lambdas.domain.results import settle

    plan = second_party_dialling()
    plan.status, plan.outcome = "failed", "failed"
    hangup = Action(kind="hangup", leg_sid="C1")
    plan = write(None, Decision(plan, after=[hangup]), now=0.0)
    throttled = ActionResult(action=hangup, ok=False, outcome="throttled", error="HTTP 429", retry_after=0.05)
    settle(plan, [throttled], now=10.0, deadlines=D, interactive=False)
    [pending] = plan.pending
    assert (pending.state, pending.due_at) == ("throttled", 10.05)

    dialling = write(None, decide_new_call("p2", dict(BODY)), now=0.0)
    [dial] = dialling.pending
    throttled_dial = ActionResult(action=dial.action, ok=False, outcome="throttled", error="HTTP 429", retry_after=0.05)
    settle(dialling, [throttled_dial], now=10.0, deadlines=D, interactive=False)
    assert dialling.pending[0].due_at == 10.0 + D.pending


def test_a_sweep_that_ends_the_call_makes_no_dial_or_join_it_would_have_reissued() -> None:
    """Overdue join and overdue bridge in one sweep: the call fails (bridge_failed) and its legs are ended; the
    join is not re-issued (it would put a person into a bridge of a call that is over, after a delay)."""
    plan = second_party_dialling()
    plan.attempts[1].leg_sid, plan.attempts[1].status = "A1", "answered"
    plan.status, plan.bridge_sid = "bridging", "B1"
    plan = write(None, Decision(plan, after=[Action(kind="join_bridge", leg_sid="A1", bridge_sid="B1")]), now=0.0)
    plan, decision = sweep(plan, max(D.pending, D.bridging))
    assert decision is not None and plan.outcome == "bridge_failed"
    kinds = [a.kind for a in decision.after]
    assert "join_bridge" not in kinds and kinds.count("hangup") + kinds.count("end_with_message") == 2
    assert not plan.pending_for(Action(kind="join_bridge", leg_sid="A1", bridge_sid="B1").key)
