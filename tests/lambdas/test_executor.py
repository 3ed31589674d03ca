"""The executor alone: plans in moto (DynamoDB and SQS over HTTP), a fake Legs API, decisions from the domain.

What it must do: write before acting, act once, turn each result the plan needs into the next
decision in the same run (a refused dial, a created leg), and stop at its bound.
"""

from __future__ import annotations

from typing import Any

from lambdas.dal.call_plans import PlanStore
from lambdas.dal.retry_queue import RetryQueue
from lambdas.domain.actions import Action, Decision
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.decisions import decide_connect, decide_new_call
from lambdas.domain.plan_ref import PlanRef
from lambdas.executor import Executor
from legs.events import LegEvent
from tests.lambdas.kit import FakeLegs, drain, exotel_error, leg_event

BODY = {
    "customer": "09163811000",
    "agent": "09163812000",
    "exophone": "08030752400",
    "leg_event_endpoint": "grpc://127.0.0.1:1",
}


class Said:
    """A logger that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda message, extra=None: self.lines.append((level, message))


def executor(fake: FakeLegs, logger: Said | None = None, **kwargs: Any) -> Executor:
    return Executor(PlanStore.from_env(), fake, RetryQueue.from_env(), logger, **kwargs)


def stored(plan_id: str) -> CallPlan:
    plan = PlanStore.from_env().get(plan_id)
    assert plan is not None
    return plan


def answered(plan: CallPlan, role: str = "customer") -> Any:
    attempt = plan.current(role)
    assert attempt is not None and attempt.leg_sid
    ref = PlanRef(plan.plan_id, role, attempt.attempt)
    event = LegEvent.model_validate(
        leg_event("leg_answered", attempt.leg_sid, custom_param=ref.custom_param, answered_by="HUMAN")
    )
    return lambda current: decide_connect(current, event, ref)


def test_a_new_call_is_stored_dialled_and_its_leg_recorded(fake_legs: FakeLegs) -> None:
    report = executor(fake_legs).create(decide_new_call(CallPlan.new_id(), dict(BODY)))
    assert report.calls == ["create_leg"] and report.actions == ["create_leg"] and not report.failures
    leg_sid = report.created_leg_sid()
    assert leg_sid and report.follow_ups == [f"customer dial 1 is leg {leg_sid}"]
    plan = stored(report.plan_id)
    assert plan.attempt("customer", 1).leg_sid == leg_sid  # type: ignore[union-attr]
    assert plan.version == 2  # created, then the sid recorded


def test_a_refused_dial_is_followed_up_in_the_same_run(fake_legs: FakeLegs) -> None:
    """Customer answers, the agent's dial is refused, no dials left: the call ends with the apology, at once."""
    run = executor(fake_legs)
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), {**BODY, "unavailable_message": "Sorry"})).plan_id)
    fake_legs.fail["create_leg"] = [exotel_error(400, "bad number")]
    report = run.run(plan.plan_id, answered(plan))
    assert report.actions == ["create_leg"]
    assert report.calls == ["create_leg", "say"]  # start_say; the hangup waits for say_completed
    assert report.follow_ups[0] == "call over: failed"
    assert [f.action.kind for f in report.failures] == ["create_leg"]
    assert "bad number" in str(report.failures[0].error)
    final = stored(plan.plan_id)
    assert (final.status, final.outcome) == ("failed", "failed") and "bad number" in (final.reason or "")
    assert fake_legs.calls[-1][1][0] == plan.attempts[0].leg_sid  # the apology goes to the customer
    [waiting] = final.pending
    assert (waiting.key, waiting.state) == (f"end_with_message:{plan.attempts[0].leg_sid}", "awaiting_event")


def test_a_refused_dial_with_dials_left_sends_the_retry_message(fake_legs: FakeLegs, sqs: Any, lambda_env: Any) -> None:
    run = executor(fake_legs)
    body = {**BODY, "retry": {"max_attempts": 2, "delay_seconds": 0}}
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), body)).plan_id)
    fake_legs.fail["create_leg"] = [exotel_error(400, "bad number")]
    report = run.run(plan.plan_id, answered(plan))
    assert report.follow_ups == ["agent dial 1 failed: retry scheduled"]
    assert stored(plan.plan_id).attempt("agent", 2).status == "scheduled"  # type: ignore[union-attr]
    [message] = drain(sqs, lambda_env.retry_queue_url, wait=2.0)
    assert message["Body"] == f'{{"plan_id": "{plan.plan_id}", "role": "agent", "attempt": 2}}'


def test_the_same_decision_twice_acts_once(fake_legs: FakeLegs) -> None:
    run = executor(fake_legs)
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), dict(BODY))).plan_id)
    first = run.run(plan.plan_id, answered(plan))
    again = run.run(plan.plan_id, answered(plan))
    assert first.calls == ["create_leg"] and first.result == "first answered: dialling second"
    assert again.calls == [] and again.result == "nothing to do" and again.actions is None
    assert run.run("no-such-plan", answered(plan)).result == "unknown plan"


def test_a_message_that_cannot_be_played_ends_the_leg_anyway(fake_legs: FakeLegs) -> None:
    run = executor(fake_legs)
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), dict(BODY))).plan_id)
    fake_legs.fail["say"] = [exotel_error(400, "text refused")]

    def end(current: CallPlan) -> Decision:
        current.status, current.outcome = "failed", "abandoned"
        return Decision(current, after=[Action(kind="end_with_message", leg_sid="C9", text="bye")], note="ended")

    report = run.run(plan.plan_id, end)
    assert report.calls == ["say", "hangup"]
    assert fake_legs.calls[-1] == ("hangup", ("C9",))
    assert report.follow_ups == ["message refused: hang up", "hangup:C9: ok"]
    assert stored(plan.plan_id).pending == [] and "C9" in stored(plan.plan_id).hung_up


def test_the_loop_stops_at_its_bound(fake_legs: FakeLegs) -> None:
    """One plan write allowed: the new plan is stored and dialled; recording the sid is left, and said so."""
    said = Said()
    report = executor(fake_legs, said, max_rounds=1).create(decide_new_call(CallPlan.new_id(), dict(BODY)))
    assert report.calls == ["create_leg"] and report.unfinished == 1
    assert report.summary()["unfinished"] == 1
    assert stored(report.plan_id).attempt("customer", 1).leg_sid is None  # type: ignore[union-attr]
    assert [level for level, _ in said.lines].count("error") == 1


def test_people_first_a_decision_ends_its_legs_before_its_other_actions(fake_legs: FakeLegs) -> None:
    """A dial, join or bridge stop that is slow or fails must not keep a person on the line: the hangups and end
    messages of one decision go first, the rest keep their order."""
    run = executor(fake_legs, Said(), sleep=lambda _: None)
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), dict(BODY))).plan_id)
    mixed = [
        Action(kind="stop_bridge", bridge_sid="B-1"),
        Action(kind="join_bridge", leg_sid="L-2", bridge_sid="B-2"),
        Action(kind="hangup", leg_sid="L-1"),
        Action(kind="end_with_message", leg_sid="L-3", text="Sorry"),
    ]
    report = run.run(plan.plan_id, lambda current: Decision(current, after=list(mixed), note="mixed"))
    assert report.calls[:2] == ["hangup", "say"]
    assert report.calls[2:] == ["stop_bridge", "leg_action"]


def test_ending_what_has_already_ended_is_info_and_a_real_failure_a_warning(fake_legs: FakeLegs) -> None:
    """A 404/409 on stopping a bridge or hanging up a leg that has ended is the expected race: INFO, "already
    ended", and the goal counts as reached; a 5xx is a real failure: WARNING, and the action stays pending."""
    said = Said()
    run = executor(fake_legs, said, sleep=lambda _: None)
    plan = stored(run.create(decide_new_call(CallPlan.new_id(), dict(BODY))).plan_id)
    fake_legs.fail["stop_bridge"] = [exotel_error(409, "Bridge already terminated")]
    fake_legs.fail["hangup"] = [exotel_error(404, "Leg not found")]
    ending = [Action(kind="stop_bridge", bridge_sid="B-ended"), Action(kind="hangup", leg_sid="L-ended")]
    report = run.run(plan.plan_id, lambda current: Decision(current, after=list(ending), note="end"))
    assert report.calls == ["hangup", "stop_bridge"] and not report.failures  # people first
    gone = [(level, message) for level, message in said.lines if "already ended" in message]
    assert gone == [
        ("info", "hangup: leg L-ended already ended (404)"),
        ("info", "stop_bridge: bridge B-ended already ended (409)"),
    ]
    assert not [line for line in said.lines if line[0] == "warning"]
    assert not stored(plan.plan_id).pending_for(ending[1].key)

    said.lines.clear()
    fake_legs.fail["hangup"] = [exotel_error(500, "boom")] * 3
    run.run(plan.plan_id, lambda current: Decision(current, after=[Action(kind="hangup", leg_sid="L-up")]))
    assert next(message for level, message in said.lines if level == "warning").startswith("hangup outcome unknown")
    assert not [message for _, message in said.lines if "already ended" in message]
    assert stored(plan.plan_id).pending_for(Action(kind="hangup", leg_sid="L-up").key) is not None
