"""Which state an event moves its leg (or bridge) to: the pure half of the leg-state recorder.

The LegState table (``lambdas.dal.leg_state``) applies the change only forward: a higher rank
wins, at equal non-terminal rank the later event wins, terminal is final. That ordering is a
conditional write, so it lives with the table; what the event says lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.catalogue import BRIDGE_RANK, ENDED, LEG_RANK, BridgeState, EventKind, LegState, implied_state, spec
from legs.events import LegEvent

#: Descriptive fields of a leg copied from its events the first time they are seen.
RECORDED_LEG_FIELDS = (
    "direction",
    "contact_uri",
    "exophone",
    "custom_param",
    "caller_id",
    "network_type",
    "account_sid",
)


@dataclass(frozen=True)
class StateChange:
    """The state an event says its leg or bridge is in, its rank, and the terminal status if it ended."""

    state: str
    rank: int
    terminal_status: str | None = None


def leg_state_change(event: LegEvent) -> StateChange | None:
    """The leg's state per the event (its ``data.state``, else the state its name implies); None: no move."""
    leg = event.leg
    if leg is None or is_action(event):
        return None
    state = leg.state if leg.state in LEG_RANK else implied_state(event.event_name)
    if state is None:
        return None
    if event.event_name in ENDED:
        state = LegState.TERMINAL
    return StateChange(state, LEG_RANK[state], leg.terminal_status)


def is_action(event: LegEvent) -> bool:
    """An action on the leg (say, play, stream, recording): it joins the leg's timeline, it never moves its state
    (its ``data.state`` only repeats the state the leg is in)."""
    found = spec(event.event_name)
    return found is not None and found.kind is EventKind.ACTION


def bridge_state_change(event: LegEvent) -> StateChange | None:
    """The same for a bridge event (a terminal event name wins over a stale ``data.state``)."""
    bridge = event.bridge_resource
    if bridge is None:
        return None
    state = bridge.state if bridge.state in BRIDGE_RANK else implied_state(event.event_name)
    if state is None:
        return None
    if implied_state(event.event_name) == BridgeState.TERMINAL:
        state = BridgeState.TERMINAL
    return StateChange(state, BRIDGE_RANK[state], bridge.terminal_status)
