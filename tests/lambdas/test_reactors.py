"""connect, retry and amd: EventBridge events routed by the routing table, plans in moto, a fake Legs API.

Each scenario checks the plan's end state *and* the exact Legs API calls made, then delivers the
same events again (duplicates) and late ones (out of order) and checks that nothing more is called.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.api.handler import handler as api_handler
from lambdas.dal.call_plans import PlanStore
from lambdas.domain.call_plan import CallPlan
from lambdas.retry.handler import handler as retry_handler
from tests.lambdas.flow import deliver
from tests.lambdas.kit import Context, FakeLegs, api_event, api_json, drain, exotel_error, leg_event, sqs_event

CUSTOMER, AGENT, EXOPHONE = "09163811000", "09163812000", "08030752400"


def place_call(**extra: Any) -> tuple[str, str]:
    body = {"customer": CUSTOMER, "agent": AGENT, "exophone": EXOPHONE, **extra}
    reply = api_handler(api_event("POST", "/calls", body), Context("api"))
    assert reply["statusCode"] == 202, reply
    data = api_json(reply)
    return data["plan_id"], data["leg_sid"]


def plan(plan_id: str) -> CallPlan:
    found = PlanStore.from_env().get(plan_id)
    assert found is not None
    return found


def param(plan_id: str, role: str, attempt: int = 1) -> str:
    return f"call:{plan_id}:{role}:{attempt}"


def answered(leg: str, cp: str, by: str = "HUMAN") -> dict[str, Any]:
    return leg_event("leg_answered", leg, custom_param=cp, answered_by=by)


def ended(leg: str, cp: str, status: str = "completed") -> dict[str, Any]:
    return leg_event("leg_terminated", leg, custom_param=cp, terminal_status=status)


def said(leg: str, cp: str, name: str = "say_completed") -> dict[str, Any]:
    """The end of the plan's message on ``leg`` (its action custom parameter is the action's key)."""
    return leg_event(name, leg, custom_param=cp, action_custom_parameter=f"end_with_message:{leg}")


def second_leg(fake: FakeLegs, index: int = -1) -> tuple[str, Any]:
    request = fake.created[index]
    return request.custom_param, request


def sid_of(plan_id: str, role: str, attempt: int = 1) -> str:
    found = plan(plan_id).attempt(role, attempt)
    assert found is not None and found.leg_sid
    return found.leg_sid


def test_two_party_call_happy_path_then_duplicates_and_late_events(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call(hold_message="Please hold")
    events: list[dict[str, Any]] = []

    def send(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return deliver(event)

    send(leg_event("leg_ringing", customer_leg, custom_param=param(plan_id, "customer")))
    send(answered(customer_leg, param(plan_id, "customer")))
    assert fake_legs.names() == ["create_leg", "say", "create_leg"]
    agent_request = fake_legs.created[1]
    assert agent_request.contact_uri == AGENT
    assert agent_request.reference_leg_sid == customer_leg
    assert agent_request.custom_param == param(plan_id, "agent")
    assert plan(plan_id).status == "dialing_second"

    agent_leg = sid_of(plan_id, "agent")
    send(answered(agent_leg, param(plan_id, "agent")))
    assert fake_legs.names()[-1] == "create_bridge"
    assert list(fake_legs.calls[-1][1][0]["leg_sids"]) == [customer_leg, agent_leg]
    assert plan(plan_id).status == "bridging"
    bridge_sid = plan(plan_id).bridge_sid
    send(
        leg_event(
            "leg_joined_bridge",
            customer_leg,
            custom_param=param(plan_id, "customer"),
            event_data={"bridge_sid": bridge_sid},
        )
    )
    assert plan(plan_id).status == "bridged"

    send(ended(agent_leg, param(plan_id, "agent")))  # the agent hangs up
    assert fake_legs.names()[-2:] == ["hangup", "stop_bridge"]  # people first, then the bridge
    assert fake_legs.calls[-2][1] == (customer_leg,)
    final = plan(plan_id)
    assert (final.status, final.outcome) == ("completed", "completed")
    send(ended(customer_leg, param(plan_id, "customer")))
    calls = list(fake_legs.calls)

    for event in events + list(reversed(events)):  # every event again, in and out of order
        deliver(event)
    late = answered(customer_leg, param(plan_id, "customer"))  # a fresh (new event_sid) late answer
    deliver(late)
    assert fake_legs.calls == calls
    assert plan(plan_id).status == "completed"


def test_first_party_hangs_up_while_second_rings(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call()
    deliver(answered(customer_leg, param(plan_id, "customer")))
    agent_leg = sid_of(plan_id, "agent")
    deliver(ended(customer_leg, param(plan_id, "customer")))
    assert fake_legs.names()[-1] == "hangup" and fake_legs.calls[-1][1] == (agent_leg,)
    assert (plan(plan_id).status, plan(plan_id).outcome) == ("failed", "abandoned")


def test_busy_second_leg_retried_via_the_delay_queue_then_bridged(
    fake_legs: FakeLegs, sqs: Any, lambda_env: Any
) -> None:
    plan_id, customer_leg = place_call(retry={"max_attempts": 2, "delay_seconds": 0}, agent_fallbacks=["09163813000"])
    deliver(answered(customer_leg, param(plan_id, "customer")))
    agent_1 = sid_of(plan_id, "agent")
    busy = ended(agent_1, param(plan_id, "agent"), "busy")
    results = deliver(busy)
    assert results["connect"]["result"] == "nothing to do"  # retry owns it
    assert results["retry"]["actions"] == ["schedule_retry"]
    calls_before = fake_legs.names()
    deliver(busy)  # a duplicate: no second schedule
    messages = drain(sqs, lambda_env.retry_queue_url, wait=2.0)
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"]) == {"plan_id": plan_id, "role": "agent", "attempt": 2}
    assert fake_legs.names() == calls_before

    batch = sqs_event([messages[0]["Body"], messages[0]["Body"]])  # the message, and a redelivery
    reply = retry_handler(batch, Context("retry"))
    assert reply == {"batchItemFailures": []}
    assert fake_legs.names() == [*calls_before, "create_leg"]
    request = fake_legs.created[-1]
    assert request.contact_uri == "09163813000" and request.custom_param == param(plan_id, "agent", 2)
    assert request.reference_leg_sid == customer_leg

    agent_2 = sid_of(plan_id, "agent", 2)
    deliver(answered(agent_2, param(plan_id, "agent", 2)))
    assert fake_legs.names()[-1] == "create_bridge"
    assert list(fake_legs.calls[-1][1][0]["leg_sids"]) == [customer_leg, agent_2]


def test_no_retries_left_ends_the_first_leg_with_a_message(fake_legs: FakeLegs, sqs: Any, lambda_env: Any) -> None:
    plan_id, customer_leg = place_call(unavailable_message="All agents are busy")
    deliver(answered(customer_leg, param(plan_id, "customer")))
    agent_leg = sid_of(plan_id, "agent")
    results = deliver(ended(agent_leg, param(plan_id, "agent"), "no-answer"))
    assert results["retry"]["result"] == "nothing to do"
    assert fake_legs.calls[-1] == ("say", (customer_leg, "All agents are busy"))  # start_say: it holds nothing
    assert (plan(plan_id).status, plan(plan_id).outcome) == ("failed", "no-answer")
    assert drain(sqs, lambda_env.retry_queue_url) == []
    # the hangup waits for the message to end: say_completed (matched by the action's custom parameter)
    results = deliver(said(customer_leg, param(plan_id, "customer")))
    assert results["connect"]["legs_api_calls"] == ["hangup"] and fake_legs.calls[-1] == ("hangup", (customer_leg,))
    assert plan(plan_id).pending == []


def test_first_leg_failed_to_create_is_retried(fake_legs: FakeLegs, sqs: Any, lambda_env: Any) -> None:
    plan_id, customer_leg = place_call(retry={"max_attempts": 3, "delay_seconds": 0})
    failed = leg_event(
        "leg_failed_to_create", customer_leg, custom_param=param(plan_id, "customer"), terminal_status="failed"
    )
    deliver(failed)
    [message] = drain(sqs, lambda_env.retry_queue_url, wait=2.0)
    retry_handler(sqs_event([message["Body"]]), Context("retry"))
    assert fake_legs.created[-1].custom_param == param(plan_id, "customer", 2)
    assert fake_legs.created[-1].contact_uri == CUSTOMER
    assert plan(plan_id).status == "dialing_first"


def test_dial_refused_by_exotel_counts_as_a_failed_dial(fake_legs: FakeLegs, sqs: Any, lambda_env: Any) -> None:
    plan_id, customer_leg = place_call(retry={"max_attempts": 2, "delay_seconds": 0})
    fake_legs.fail["create_leg"] = [exotel_error(400, "bad number")]
    deliver(answered(customer_leg, param(plan_id, "customer")))
    [message] = drain(sqs, lambda_env.retry_queue_url, wait=2.0)  # re-dial scheduled
    fake_legs.fail["create_leg"] = [exotel_error(400, "bad number")]
    retry_handler(sqs_event([message["Body"]]), Context("retry"))
    final = plan(plan_id)
    assert (final.status, final.outcome) == ("failed", "failed")
    assert "bad number" in (final.reason or "")
    assert fake_legs.names()[-1] == "say"  # the customer hears the apology (and is hung up on say_completed)


def test_amd_machine_hangup(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call(amd={"behaviour": "hangup"})
    assert fake_legs.created[0].amd_enable is True
    results = deliver(answered(customer_leg, param(plan_id, "customer"), by="MACHINE"))
    assert results["connect"]["legs_api_calls"] == []  # connect leaves machines to amd
    assert fake_legs.names() == ["create_leg", "hangup"]
    deliver(ended(customer_leg, param(plan_id, "customer")))
    assert (plan(plan_id).status, plan(plan_id).outcome) == ("failed", "machine")
    assert fake_legs.names() == ["create_leg", "hangup"]


def test_amd_machine_message_then_hangup(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call(amd={"behaviour": "message", "message": "Call us back"})
    event = leg_event("amd_result_success", customer_leg, custom_param=param(plan_id, "customer"), answered_by="BEEP")
    deliver(event)
    deliver(event)
    assert fake_legs.names() == ["create_leg", "say"]
    assert fake_legs.calls[-1] == ("say", (customer_leg, "Call us back"))
    other = leg_event(
        "say_completed", customer_leg, custom_param=param(plan_id, "customer"), action_custom_parameter="say:x"
    )
    assert deliver(other)["connect"]["result"] == "nothing to do"  # not the message's action: nothing to end
    deliver(said(customer_leg, param(plan_id, "customer"), "say_interrupted"))
    assert fake_legs.names() == ["create_leg", "say", "hangup"]


def test_amd_human_goes_on_to_the_agent(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call(amd={"behaviour": "hangup"})
    results = deliver(answered(customer_leg, param(plan_id, "customer"), by="HUMAN"))
    assert "amd" not in results
    assert fake_legs.names() == ["create_leg", "create_leg"]


def test_events_of_other_legs_are_ignored(fake_legs: FakeLegs) -> None:
    results = deliver(answered("Lx", "call:nonexistent-plan:customer:1"))
    assert results["connect"]["result"] == "unknown plan"
    results = deliver(answered("Ly", "call:broken"))
    assert results["connect"]["result"] == "not a call-plan leg"
    assert fake_legs.calls == []


@pytest.mark.parametrize("order", ["terminated_first", "answered_twice"])
def test_out_of_order_second_leg(fake_legs: FakeLegs, order: str) -> None:
    plan_id, customer_leg = place_call()
    deliver(answered(customer_leg, param(plan_id, "customer")))
    agent_leg = sid_of(plan_id, "agent")
    if order == "terminated_first":
        deliver(ended(agent_leg, param(plan_id, "agent"), "completed"))
        deliver(answered(agent_leg, param(plan_id, "agent")))  # arrives late
        assert "create_bridge" not in fake_legs.names()
        assert plan(plan_id).status == "failed"
    else:
        deliver(answered(agent_leg, param(plan_id, "agent")))
        deliver(answered(agent_leg, param(plan_id, "agent")))  # new event_sid, same fact
        assert fake_legs.names().count("create_bridge") == 1


def test_first_leg_end_delivered_before_its_answer(fake_legs: FakeLegs) -> None:
    plan_id, customer_leg = place_call()
    cp = param(plan_id, "customer")
    answer, end = answered(customer_leg, cp), ended(customer_leg, cp)
    deliver(end)  # arrives first
    deliver(answer)  # late: the call is over, so no second leg is dialled
    assert fake_legs.names() == ["create_leg"]
    assert (plan(plan_id).status, plan(plan_id).outcome) == ("failed", "abandoned")
