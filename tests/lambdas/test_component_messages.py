"""End messages do not rely on ``<Say>`` holding ``<Hangup/>``: the simulator with ``say_blocks=False``.

Exotel's text-to-speech verb is ``<StartSay>`` (the ``start_say`` shortcut), which never holds the rest
of a flow. With ``SIM_SAY_BLOCKS=false`` the simulator's ``<Say>`` does not hold it either, so a
``<Flow><Say>…</Say><Hangup/></Flow>`` would cut the message short (``say_started`` then
``leg_terminated``, no ``say_completed``: tests/simulator/test_bridges_actions.py shows it). The
functions play the message with ``start_say`` and hang up on that action's ``say_completed``: each
message below is heard to its end, and only then is the leg hung up, by us, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.dal.exotel import legs_client, use_client
from tests.lambdas.kit import Counting
from tests.lambdas.test_component import BUSY, HUMAN_AGENT, HUMAN_CUSTOMER, MACHINE, Pump, all_ended, place_call, plan
from tests.support.simulator import EventRecorder, running_simulator

pytestmark = pytest.mark.component


@pytest.fixture(scope="module")
def quiet_say_simulator() -> Iterator[Any]:
    with running_simulator(time_scale=0.05, ring_seconds=2, talk_seconds=200, setup_seconds=1, say_blocks=False) as sim:
        yield sim


@pytest.fixture
def recorder() -> Iterator[EventRecorder]:
    with EventRecorder() as rec:
        yield rec


@pytest.fixture
def legs(quiet_say_simulator: Any, recorder: EventRecorder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counting]:
    monkeypatch.setenv("EXOTEL_BASE_URL", quiet_say_simulator.base_url)
    monkeypatch.setenv("BRIDGE_ENDPOINT", recorder.endpoint)
    counting = Counting(legs_client())
    with use_client(counting):
        yield counting


def _heard_to_the_end_then_hung_up(recorder: EventRecorder, leg_sid: str, text: str) -> None:
    events = recorder.for_sid(leg_sid)
    said = [e for e in events if e.event_name.startswith("say_")]
    assert [e.event_name for e in said] == ["say_started", "say_completed"], [e.event_name for e in events]
    assert text in json.dumps(said[0].model_dump(mode="json"))
    names = [e.event_name for e in events]
    assert names.index("say_completed") < names.index("leg_terminated")


def test_unavailable_message_is_heard_to_its_end_before_the_hangup(
    recorder: EventRecorder, lambda_env: Any, legs: Counting
) -> None:
    text = "Sorry, all our agents are busy. We will call you back."
    plan_id = place_call(
        customer=HUMAN_CUSTOMER, agent=BUSY, retry={"max_attempts": 1, "delay_seconds": 0}, unavailable_message=text
    )
    pump = Pump(recorder, lambda_env)
    pump.until(lambda: all_ended(recorder, plan_id))
    pump.settle(quiet=0.3)
    final = plan(plan_id)
    assert final.status == "failed" and not final.pending, final
    customer = final.current("customer")
    assert customer is not None and customer.leg_sid
    _heard_to_the_end_then_hung_up(recorder, customer.leg_sid, text)
    assert legs.counts["say"] == 1 and legs.counts["hangup"] == 1  # start_say, then our hangup on say_completed
    assert legs.counts["leg_action"] == 0  # no ExoML <Say><Hangup/> flow


def test_amd_leave_a_message_is_heard_to_its_end_before_the_hangup(
    recorder: EventRecorder, lambda_env: Any, legs: Counting
) -> None:
    plan_id = place_call(
        customer=MACHINE, agent=HUMAN_AGENT, amd={"behaviour": "message", "message": "Please call us back."}
    )
    pump = Pump(recorder, lambda_env)
    pump.until(lambda: all_ended(recorder, plan_id))
    pump.settle(quiet=0.3)
    final = plan(plan_id)
    assert (final.status, final.outcome) == ("failed", "machine") and not final.pending
    customer = final.current("customer")
    assert customer is not None and customer.leg_sid
    _heard_to_the_end_then_hung_up(recorder, customer.leg_sid, "Please call us back.")
    assert dict(legs.counts) == {"create_leg": 1, "say": 1, "hangup": 1}  # the agent was never dialled
