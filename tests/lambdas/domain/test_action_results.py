"""What an action's result means for the plan, a new call's first decision, and the request bodies (no AWS)."""

from __future__ import annotations

from lambdas.domain.actions import Action, ActionResult
from lambdas.domain.call_plan import AmdPolicy, Attempt, CallPlan, RetryPolicy
from lambdas.domain.decisions import decide_connect, decide_new_call
from lambdas.domain.leg_requests import bridge_request, leg_request
from lambdas.domain.plan_ref import PlanRef
from lambdas.domain.results import on_action_result
from legs.events import LegEvent
from tests.lambdas.kit import leg_event

CUSTOMER, AGENT, EXOPHONE = "09163811000", "09163812000", "08030752400"
BODY = {"customer": CUSTOMER, "agent": AGENT, "exophone": EXOPHONE, "leg_event_endpoint": "grpc://127.0.0.1:1"}


def new_plan(**extra: object) -> CallPlan:
    return decide_new_call("p1", {**BODY, **extra}).plan


def second_party_dialling(**extra: object) -> CallPlan:
    """The customer answered (leg C1); the agent's first dial is being made."""
    plan = new_plan(**extra)
    plan.attempts[0].leg_sid, plan.attempts[0].status = "C1", "answered"
    plan.status = "dialing_second"
    plan.attempts.append(Attempt(role="agent", attempt=1, number=AGENT, status="dialing"))
    return plan


def refused(action: Action, error: str = "HTTP 400 bad number") -> ActionResult:
    return ActionResult(action=action, ok=False, error=error)


def test_a_new_call_dials_the_first_party() -> None:
    decision = decide_new_call("p1", {**BODY, "dial_first": "agent"})
    assert [a.kind for a in decision.after] == ["create_leg"] and not decision.before
    assert (decision.after[0].role, decision.after[0].attempt) == ("agent", 1)
    [attempt] = decision.plan.attempts
    assert (attempt.role, attempt.status, attempt.number) == ("agent", "dialing", AGENT)
    assert decision.plan.status == "dialing_first"


def test_a_created_leg_is_recorded_once() -> None:
    plan = new_plan()
    created = ActionResult(action=Action(kind="create_leg", role="customer", attempt=1), ok=True, leg_sid="C1")
    decision = on_action_result(plan, created)
    assert decision is not None and not decision.actions
    assert decision.plan.attempt("customer", 1).leg_sid == "C1"  # type: ignore[union-attr]
    assert on_action_result(decision.plan, created) is None  # already known (or bound by an event first)


def test_the_first_dial_refused_fails_the_call_without_a_retry() -> None:
    plan = new_plan(retry={"max_attempts": 3, "delay_seconds": 0})
    decision = on_action_result(plan, refused(Action(kind="create_leg", role="customer", attempt=1)))
    assert decision is not None and not decision.actions
    assert (decision.plan.status, decision.plan.outcome) == ("failed", "failed")
    assert "bad number" in (decision.plan.reason or "")
    assert decision.plan.attempts[0].status == "ended"


def test_a_refused_redial_with_dials_left_is_scheduled_again() -> None:
    plan = second_party_dialling(retry={"max_attempts": 2, "delay_seconds": 7})
    decision = on_action_result(plan, refused(Action(kind="create_leg", role="agent", attempt=1)))
    assert decision is not None
    [send] = decision.before
    assert (send.kind, send.role, send.attempt, send.delay_seconds) == ("schedule_retry", "agent", 2, 7)
    assert decision.plan.attempt("agent", 2).status == "scheduled"  # type: ignore[union-attr]


def test_a_refused_dial_without_dials_left_ends_the_call_with_the_apology() -> None:
    plan = second_party_dialling(unavailable_message="Sorry")
    decision = on_action_result(plan, refused(Action(kind="create_leg", role="agent", attempt=1)))
    assert decision is not None
    assert [(a.kind, a.leg_sid, a.text) for a in decision.after] == [("end_with_message", "C1", "Sorry")]
    assert (decision.plan.status, decision.plan.outcome) == ("failed", "failed")


def test_a_bridge_created_or_refused() -> None:
    plan = second_party_dialling()
    plan.attempts[1].leg_sid, plan.attempts[1].status, plan.status = "A1", "answered", "bridging"
    bridge = Action(kind="create_bridge", leg_sids=("C1", "A1"))
    made = on_action_result(plan.model_copy(deep=True), ActionResult(action=bridge, ok=True, bridge_sid="B1"))
    assert made is not None and made.plan.bridge_sid == "B1" and not made.actions
    failed = on_action_result(plan.model_copy(deep=True), refused(bridge, "409 leg not connected"))
    assert failed is not None and failed.plan.outcome == "bridge_failed"
    assert [(a.kind, a.leg_sid) for a in failed.after] == [("end_with_message", "C1"), ("hangup", "A1")]


def test_results_of_other_actions_change_nothing() -> None:
    plan = second_party_dialling()
    for action in (Action(kind="hangup", leg_sid="C1"), Action(kind="say", leg_sid="C1", text="hi")):
        assert on_action_result(plan, refused(action)) is None
        assert on_action_result(plan, ActionResult(action=action, ok=True)) is None


def test_actions_are_data_with_a_stable_key() -> None:
    """The same step decided twice (a duplicate event) names the same action; actions survive JSON."""
    plan = new_plan(hold_message="Please hold")
    plan.attempts[0].leg_sid = "C1"
    ref = PlanRef("p1", "customer", 1)
    event = LegEvent.model_validate(leg_event("leg_answered", "C1", custom_param=ref.custom_param, answered_by="HUMAN"))
    first = decide_connect(plan.model_copy(deep=True), event, ref)
    again = decide_connect(plan.model_copy(deep=True), event, ref)
    assert first is not None and again is not None
    assert [a.key for a in first.actions] == [a.key for a in again.actions] == ["say:C1", "create_leg:agent:1"]
    for action in first.actions:
        assert Action.model_validate_json(action.model_dump_json()) == action


def test_request_bodies_follow_the_plan() -> None:
    plan = second_party_dialling(amd=AmdPolicy(behaviour="hangup").model_dump(), retry=RetryPolicy().model_dump())
    customer = leg_request(plan, "customer", 1)
    agent = leg_request(plan, "agent", 1)
    assert customer.amd_enable is True and agent.amd_enable is False  # AMD runs on the customer leg only
    assert agent.reference_leg_sid == "C1" and customer.reference_leg_sid is None
    assert agent.custom_param == "call:p1:agent:1"
    assert bridge_request(plan, ("C1", "A1")) == {
        "leg_sids": ["C1", "A1"],
        "bridge_event_endpoint": "grpc://127.0.0.1:1",
    }
