"""The decision functions alone (no AWS): ownership between connect, retry and amd holds for every plan state."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.domain.call_plan import AmdPolicy, Attempt, CallPlan, RetryPolicy
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.decisions import decide_amd, decide_connect, decide_retry
from lambdas.domain.leg_requests import exoml_join_bridge
from lambdas.domain.pending import track
from lambdas.domain.plan_ref import PlanRef
from legs.events import LegEvent
from tests.lambdas.kit import leg_event

STATUSES = ["dialing_first", "dialing_second", "bridging", "bridged", "completed", "failed"]
ATTEMPT_STATUSES = ["scheduled", "dialing", "answered", "machine", "ended", "cancelled"]


@st.composite
def situations(draw: Any) -> tuple[CallPlan, LegEvent, PlanRef]:
    plan = CallPlan(
        plan_id="p1",
        customer="09163811000",
        agent="09163812000",
        exophone="08030752400",
        leg_event_endpoint="grpc://127.0.0.1:1",
        status=draw(st.sampled_from(STATUSES)),
        retry=RetryPolicy(max_attempts=draw(st.integers(1, 3)), delay_seconds=0),
        amd=draw(st.sampled_from([None, AmdPolicy(behaviour="hangup")])),
    )
    for role in ("customer", "agent"):
        for n in range(1, draw(st.integers(0, 3)) + 1):
            status = draw(st.sampled_from(ATTEMPT_STATUSES))
            plan.attempts.append(
                Attempt(role=role, attempt=n, number="09163811000", status=status, leg_sid=f"{role}{n}")
            )
    role = draw(st.sampled_from(["customer", "agent"]))
    number = draw(st.integers(1, 3))
    name = draw(st.sampled_from(["leg_terminated", "leg_failed_to_create", "leg_answered", "amd_result_success"]))
    extra: dict[str, Any] = {}
    if name == "leg_terminated":
        extra["terminal_status"] = draw(st.sampled_from(["completed", "busy", "no-answer", "failed"]))
    if name in ("leg_answered", "amd_result_success"):
        extra["answered_by"] = draw(st.sampled_from(["HUMAN", "MACHINE", "BEEP", None]))
    ref = PlanRef("p1", role, number)
    event = LegEvent.model_validate(leg_event(name, f"{role}{number}", custom_param=ref.custom_param, **extra))
    return plan, event, ref


def acts(decision: Any) -> bool:
    return decision is not None and bool(decision.after or decision.before)


@settings(max_examples=400, deadline=None)
@given(situations())
def test_connect_and_retry_never_both_act_on_an_ended_leg(situation: tuple[CallPlan, LegEvent, PlanRef]) -> None:
    plan, event, ref = situation
    if event.event_name not in ("leg_terminated", "leg_failed_to_create"):
        return
    by_retry = decide_retry(plan.model_copy(deep=True), event, ref)
    by_connect = decide_connect(plan.model_copy(deep=True), event, ref)
    assert not (by_retry is not None and by_connect is not None)
    if by_retry is not None:
        assert [a.kind for a in by_retry.before] == ["schedule_retry"] and not by_retry.after


@settings(max_examples=400, deadline=None)
@given(situations())
def test_connect_and_amd_never_both_act_on_an_answer(situation: tuple[CallPlan, LegEvent, PlanRef]) -> None:
    plan, event, ref = situation
    if event.event_name not in ("leg_answered", "amd_result_success"):
        return
    by_amd = decide_amd(plan.model_copy(deep=True), event, ref)
    by_connect = decide_connect(plan.model_copy(deep=True), event, ref)
    assert not (acts(by_amd) and acts(by_connect))


@settings(max_examples=300, deadline=None)
@given(situations())
def test_a_decision_applied_twice_acts_once(situation: tuple[CallPlan, LegEvent, PlanRef]) -> None:
    plan, event, ref = situation
    for decide in (decide_connect, decide_retry, decide_amd):
        first = decide(plan.model_copy(deep=True), event, ref)
        if first is None:
            continue
        track(plan, first, 0.0, Deadlines())  # what the executor records with the write
        second = decide(first.plan.model_copy(deep=True), event, ref)
        assert not acts(second), (decide.__name__, second)


def test_exoml_join_bridge_quotes_the_sid() -> None:
    root = ElementTree.fromstring(exoml_join_bridge('B1"<&'))
    assert root.tag == "Flow" and [(v.tag, v.attrib) for v in root] == [("JoinBridge", {"bridgeSid": 'B1"<&'})]
