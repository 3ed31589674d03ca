"""Which state an event moves its leg or bridge to (no AWS; the table's forward-only writes: test_leg_state.py)."""

from __future__ import annotations

from lambdas.domain.leg_state import StateChange, bridge_state_change, leg_state_change
from legs.events import LegEvent
from tests.lambdas.kit import bridge_event, leg_event


def event(data: dict) -> LegEvent:
    return LegEvent.model_validate(data)


def test_a_leg_event_says_its_state() -> None:
    assert leg_state_change(event(leg_event("leg_ringing", "L1"))) == StateChange("ringing", 2)
    assert leg_state_change(event(leg_event("leg_answered", "L1"))) == StateChange("connected", 3)


def test_an_ended_leg_is_terminal_whatever_its_data_says() -> None:
    ended = event(leg_event("leg_terminated", "L1", state="connected", terminal_status="busy"))
    assert leg_state_change(ended) == StateChange("terminal", 4, "busy")


def test_an_unknown_state_falls_back_to_what_the_name_implies() -> None:
    assert leg_state_change(event(leg_event("leg_ringing", "L1", state="warming-up"))) == StateChange("ringing", 2)


def test_events_that_move_nothing() -> None:
    said = event(leg_event("say_started", "L1"))
    assert leg_state_change(said) is None  # an action event without a state
    repeating = event(leg_event("play_completed", "L1", state="connected"))
    assert leg_state_change(repeating) is None  # ... or repeating the leg's state: actions never move it
    bridge = event(bridge_event("bridge_created", "B1", ["L1", "L2"]))
    assert leg_state_change(bridge) is None and bridge_state_change(event(leg_event("leg_ringing", "L1"))) is None


def test_a_terminal_bridge_event_wins_over_a_stale_state() -> None:
    stale = bridge_event("bridge_terminal", "B1", ["L1"])
    stale["data"]["state"] = "active"
    assert bridge_state_change(event(stale)) == StateChange("terminal", 4)
    assert bridge_state_change(event(bridge_event("bridge_created", "B1", ["L1"]))) == StateChange("active", 2)
