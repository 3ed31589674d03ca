"""leg_state: EventBridge events in, the LegState table (moto over HTTP) out."""

from __future__ import annotations

import random

import pytest

from lambdas.dal.leg_state import LegStateStore
from lambdas.leg_state.handler import handler
from tests.lambdas.kit import Context, bridge_event, eventbridge, leg_event, sid

NAMES = ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]


def lifecycle(leg: str, terminal: str = "completed") -> list[dict]:
    events = [leg_event(n, leg, seconds=1_700_001_000 + i, custom_param="cp-1") for i, n in enumerate(NAMES)]
    events[2]["data"]["answered_by"] = "HUMAN"
    events[3]["data"]["terminal_status"] = terminal
    events[3]["event_data"] = {"data": {"hangup_cause_code": 16}}
    return events


def send(event: dict) -> dict:
    return handler(eventbridge(event), Context("leg_state"))


def test_in_order_lifecycle() -> None:
    leg = sid("L")
    for event in lifecycle(leg):
        send(event)
    store = LegStateStore.from_env()
    state = store.get_leg(leg)
    assert state is not None
    assert state["state"] == "terminal" and state["terminal_status"] == "completed"
    assert state["answered_by"] == "HUMAN" and state["custom_param"] == "cp-1" and state["exophone"] == "08030752400"
    assert [e["event_name"] for e in store.events(leg)] == NAMES


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_order_and_duplicates_give_the_same_end_state(seed: int) -> None:
    leg = sid("L")
    events = lifecycle(leg)
    deliveries = events + random.Random(seed).sample(events, 3)  # three duplicates
    random.Random(seed).shuffle(deliveries)
    for event in deliveries:
        send(event)
    store = LegStateStore.from_env()
    state = store.get_leg(leg)
    assert state is not None
    assert (state["state"], state["terminal_status"], state["last_event"]) == (
        "terminal",
        "completed",
        "leg_terminated",
    )
    timeline = store.events(leg)
    assert [e["event_name"] for e in timeline] == NAMES  # each once, in event-time order


def test_late_ringing_never_moves_a_terminated_leg_back_but_joins_the_timeline() -> None:
    leg = sid("L")
    connecting, ringing, _answered, ended = lifecycle(leg, terminal="busy")
    for event in (connecting, ended, ringing):
        result = send(event)
    assert result["leg_state_moved"] is False and result["timeline"] == [True]
    state = LegStateStore.from_env().get_leg(leg)
    assert state is not None and state["state"] == "terminal" and state["terminal_status"] == "busy"
    assert [e["event_name"] for e in LegStateStore.from_env().events(leg)] == [
        "leg_connecting",
        "leg_ringing",
        "leg_terminated",
    ]


def test_terminal_is_final_even_for_a_later_terminal_event() -> None:
    leg = sid("L")
    first = leg_event("leg_terminated", leg, seconds=1_700_002_000, terminal_status="no-answer")
    second = leg_event("leg_terminated", leg, seconds=1_700_002_005, terminal_status="completed")
    send(first)
    send(second)
    state = LegStateStore.from_env().get_leg(leg)
    assert state is not None and state["terminal_status"] == "no-answer"


def test_same_rank_later_event_wins() -> None:
    leg = sid("L")
    answered = leg_event("leg_answered", leg, seconds=1_700_003_000)
    joined = leg_event("leg_joined_bridge", leg, seconds=1_700_003_005, event_data={"bridge_sid": "B1"})
    send(joined)
    send(answered)
    state = LegStateStore.from_env().get_leg(leg)
    assert state is not None and state["last_event"] == "leg_joined_bridge" and state["bridge_sid"] == "B1"


def test_bridge_events_are_recorded_per_bridge_and_on_each_leg() -> None:
    a, b, bridge = sid("L"), sid("L"), sid("B")
    send(leg_event("leg_answered", a))
    send(bridge_event("bridge_created", bridge, [a, b], seconds=1_700_004_000))
    send(bridge_event("bridge_terminal", bridge, [a, b], seconds=1_700_004_050))
    store = LegStateStore.from_env()
    record = store.get_bridge(bridge)
    assert record is not None and record["state"] == "terminal" and sorted(record["leg_sids"]) == sorted([a, b])
    assert [e["event_name"] for e in store.events(b)] == ["bridge_created", "bridge_terminal"]
    assert "bridge_created" in [e["event_name"] for e in store.events(a)]


@pytest.mark.parametrize("ended", ["bridge_terminated", "bridge_terminal"])
def test_bridge_states_rank_created_active_terminal_whatever_the_names(ended: str) -> None:
    """bridge_created implies active; bridge_terminated (and the older bridge_terminal) end it for good;
    bridge_failed_to_stop moves nothing; a late bridge_created never revives an ended bridge."""
    from contract.catalogue import BRIDGE_RANK, implied_state

    assert implied_state("bridge_created") == "active" and implied_state(ended) == "terminal"
    assert implied_state("bridge_failed_to_stop") is None
    assert BRIDGE_RANK["created"] < BRIDGE_RANK["active"] < BRIDGE_RANK["terminal"]
    a, b, bridge = sid("L"), sid("L"), sid("B")
    store = LegStateStore.from_env()
    created = bridge_event("bridge_created", bridge, [a, b], seconds=1_700_005_000)
    del created["data"]["state"]  # the event's name alone says what state it means
    send(created)
    assert store.get_bridge(bridge)["state"] == "active"
    send(bridge_event("bridge_failed_to_stop", bridge, [a, b], seconds=1_700_005_010))
    assert store.get_bridge(bridge)["state"] == "active"
    send(bridge_event(ended, bridge, [a, b], seconds=1_700_005_020))
    send(bridge_event("bridge_created", bridge, [a, b], seconds=1_700_005_030))  # late, or a replay
    record = store.get_bridge(bridge)
    assert record["state"] == "terminal" and record["last_event"] == ended


def test_duplicate_delivery_is_skipped_by_idempotency() -> None:
    leg = sid("L")
    event = leg_event("leg_ringing", leg)
    first = send(event)
    again = send(event)
    assert first == again  # Powertools returns the stored result
    assert len(LegStateStore.from_env().events(leg)) == 1


def test_invalid_event_is_rejected_loudly() -> None:
    from pydantic import ValidationError

    envelope = eventbridge(leg_event("leg_ringing", sid("L")))
    del envelope["detail"]["event_sid"]
    with pytest.raises(ValidationError):
        handler(envelope, Context("leg_state"))


def test_action_events_join_the_timeline_without_moving_the_state() -> None:
    """The hold message's say_started / say_completed (and play, stream, recording) show on the leg's timeline."""
    leg = sid("L")
    connecting, ringing, answered, terminated = lifecycle(leg)
    actions = []
    for offset, name in ((2.3, "say_started"), (2.6, "say_completed"), (2.7, "recording_started")):
        action = leg_event(name, leg, seconds=1_700_001_000 + int(offset), state="connected")
        action["event_type"], action["action_sid"] = "leg_action_event", "A-hold-1"
        action["event_timestamp"]["nanos"] = int((offset % 1) * 1e9)
        actions.append(action)
    for event in (connecting, ringing, answered, *actions):
        result = send(event)
    assert "leg_state_moved" not in result  # nothing to move, so not a late event either
    store = LegStateStore.from_env()
    state = store.get_leg(leg)
    assert state is not None and state["last_event"] == "leg_answered"  # the answer set the state; the say did not
    send(terminated)
    timeline = store.events(leg)
    assert [e["event_name"] for e in timeline] == [
        "leg_connecting",
        "leg_ringing",
        "leg_answered",
        "say_started",
        "say_completed",
        "recording_started",
        "leg_terminated",
    ]
    said = timeline[3]
    assert said["event_type"] == "leg_action_event" and said["action_sid"] == "A-hold-1"
    send(actions[0])  # a repeat changes nothing
    assert len(store.events(leg)) == 7


def test_an_action_before_any_life_cycle_event_leaves_no_stateless_leg() -> None:
    leg = sid("L")
    early = leg_event("play_started", leg, state="connected")
    early["event_type"] = "leg_action_event"
    send(early)
    store = LegStateStore.from_env()
    assert store.get_leg(leg) is None and [e["event_name"] for e in store.events(leg)] == ["play_started"]
