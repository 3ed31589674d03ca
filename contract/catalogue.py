"""The event catalogue: every event name Exotel sends, its kind, its ``event_type`` and the state it implies.

One table (:data:`CATALOGUE`) from which every list in the project is derived: the routing
patterns, the leg-state recorder's state machine, the published JSON Schemas, the simulator's
pushes. Names are Exotel's, verbatim (``../shared/exotel-legs-api.md``); where Exotel uses two
spellings both are listed, and both imply the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    """What an event is about: a leg's life cycle, a bridge's, or an action (play, say, …) on a leg."""

    LEG = "leg"
    BRIDGE = "bridge"
    ACTION = "action"


class EventType(StrEnum):
    """Exotel's ``event_type`` field."""

    LEG_LIFECYCLE = "leg_lifecycle_event"
    LEG_ACTION = "leg_action_event"
    BRIDGE_LIFECYCLE = "bridge_lifecycle_event"


class LegState(StrEnum):
    """A leg's ``state``, in the order a leg moves through them (terminal is final)."""

    CONNECTING = "connecting"
    RINGING = "ringing"
    CONNECTED = "connected"
    TERMINAL = "terminal"


class BridgeState(StrEnum):
    CREATED = "created"
    ACTIVE = "active"
    TERMINAL = "terminal"


class TerminalStatus(StrEnum):
    """``terminal_status`` of an ended leg."""

    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"


class AnsweredBy(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    BEEP = "BEEP"


class EventName(StrEnum):
    # leg life cycle
    LEG_INCOMING = "leg_incoming"
    INCOMING_LEG = "incoming_leg"
    LEG_CONNECTING = "leg_connecting"
    LEG_RINGING = "leg_ringing"
    LEG_ANSWERED = "leg_answered"
    AMD_RESULT_SUCCESS = "amd_result_success"
    LEG_TERMINATED = "leg_terminated"
    LEG_FAILED_TO_CREATE = "leg_failed_to_create"
    LEG_JOINED_BRIDGE = "leg_joined_bridge"
    LEG_LEFT_BRIDGE = "leg_left_bridge"
    # bridge life cycle
    BRIDGE_CREATED = "bridge_created"
    BRIDGE_FAILED_TO_CREATE = "bridge_failed_to_create"
    BRIDGE_TERMINATED = "bridge_terminated"
    BRIDGE_TERMINAL = "bridge_terminal"  # the older spelling (developer.exotel.com legs overview); still accepted
    BRIDGE_FAILED_TO_STOP = "bridge_failed_to_stop"
    # actions on a leg
    PLAY_STARTED = "play_started"
    PLAY_COMPLETED = "play_completed"
    PLAY_INTERRUPTED = "play_interrupted"
    PLAY_FAILED_TO_START = "play_failed_to_start"
    SAY_STARTED = "say_started"
    SAY_COMPLETED = "say_completed"
    SAY_INTERRUPTED = "say_interrupted"
    STREAM_STARTED = "stream_started"
    STREAM_STOPPED = "stream_stopped"
    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"


@dataclass(frozen=True)
class EventSpec:
    """One catalogue entry."""

    name: EventName
    kind: EventKind
    event_type: EventType
    #: The state the event implies for its leg (leg events) or bridge (bridge events), if any.
    state: str | None = None
    #: The leg was answered (by whoever ``answered_by`` names).
    answers: bool = False
    #: The leg is over (``leg_terminated``) or never existed (``leg_failed_to_create``).
    ends: bool = False
    #: Other ``event_type`` values Exotel's pages give the same event.
    other_types: tuple[EventType, ...] = ()

    @property
    def event_types(self) -> tuple[EventType, ...]:
        return (self.event_type, *self.other_types)


_L, _B, _A = EventKind.LEG, EventKind.BRIDGE, EventKind.ACTION
_LC, _LA, _BC = EventType.LEG_LIFECYCLE, EventType.LEG_ACTION, EventType.BRIDGE_LIFECYCLE

CATALOGUE: tuple[EventSpec, ...] = (
    EventSpec(EventName.LEG_INCOMING, _L, _LC, LegState.RINGING),
    EventSpec(EventName.INCOMING_LEG, _L, _LC, LegState.RINGING),
    EventSpec(EventName.LEG_CONNECTING, _L, _LC, LegState.CONNECTING),
    EventSpec(EventName.LEG_RINGING, _L, _LC, LegState.RINGING),
    # One Exotel page files leg_answered under leg_action_event.
    EventSpec(EventName.LEG_ANSWERED, _L, _LC, LegState.CONNECTED, answers=True, other_types=(_LA,)),
    # Exotel files the asynchronous AMD verdict under leg_action_event; it is about the leg's answer.
    EventSpec(EventName.AMD_RESULT_SUCCESS, _L, _LA, LegState.CONNECTED, answers=True),
    EventSpec(EventName.LEG_TERMINATED, _L, _LC, LegState.TERMINAL, ends=True),
    EventSpec(EventName.LEG_FAILED_TO_CREATE, _L, _LC, LegState.TERMINAL, ends=True),
    EventSpec(EventName.LEG_JOINED_BRIDGE, _L, _LC, LegState.CONNECTED),
    EventSpec(EventName.LEG_LEFT_BRIDGE, _L, _LC, LegState.CONNECTED),
    # docs.exotel.com bridge-apis-introduction: "a bridge becomes active when at least one leg joins";
    # bridge_created is sent when it is up, so it implies active (the 201 reply of POST /bridges says created).
    EventSpec(EventName.BRIDGE_CREATED, _B, _BC, BridgeState.ACTIVE),
    EventSpec(EventName.BRIDGE_FAILED_TO_CREATE, _B, _BC, BridgeState.TERMINAL, ends=True),
    EventSpec(EventName.BRIDGE_TERMINATED, _B, _BC, BridgeState.TERMINAL, ends=True),
    EventSpec(EventName.BRIDGE_TERMINAL, _B, _BC, BridgeState.TERMINAL, ends=True),  # older name, same meaning
    EventSpec(EventName.BRIDGE_FAILED_TO_STOP, _B, _BC),  # the bridge stays as it was
    *(
        EventSpec(name, _A, _LA)
        for name in (
            EventName.PLAY_STARTED,
            EventName.PLAY_COMPLETED,
            EventName.PLAY_INTERRUPTED,
            EventName.PLAY_FAILED_TO_START,
            EventName.SAY_STARTED,
            EventName.SAY_COMPLETED,
            EventName.SAY_INTERRUPTED,
            EventName.STREAM_STARTED,
            EventName.STREAM_STOPPED,
            EventName.RECORDING_STARTED,
            EventName.RECORDING_STOPPED,
        )
    ),
)

BY_NAME: dict[str, EventSpec] = {spec.name.value: spec for spec in CATALOGUE}


def names(kind: EventKind) -> tuple[str, ...]:
    """Every event name of ``kind``, in catalogue order."""
    return tuple(spec.name.value for spec in CATALOGUE if spec.kind is kind)


LEG_EVENTS: tuple[str, ...] = names(EventKind.LEG)
BRIDGE_EVENTS: tuple[str, ...] = names(EventKind.BRIDGE)
ACTION_EVENTS: tuple[str, ...] = names(EventKind.ACTION)
ALL_EVENTS: tuple[str, ...] = tuple(BY_NAME)
#: Leg events that mean "answered" (``answered_by`` says by whom).
ANSWERED: frozenset[str] = frozenset(s.name.value for s in CATALOGUE if s.answers and s.kind is EventKind.LEG)
#: Leg events after which the leg is gone.
ENDED: frozenset[str] = frozenset(s.name.value for s in CATALOGUE if s.ends and s.kind is EventKind.LEG)
#: ``answered_by`` values that mean "not a person" (a beep is a voicemail greeting ending).
MACHINE_ANSWERS: tuple[str, ...] = (AnsweredBy.MACHINE.value, AnsweredBy.BEEP.value)
#: ``terminal_status`` values (besides ``leg_failed_to_create``) that make a dial worth retrying.
UNSUCCESSFUL: frozenset[str] = frozenset(
    {TerminalStatus.BUSY.value, TerminalStatus.NO_ANSWER.value, TerminalStatus.FAILED.value}
)
#: Rank of each state: a leg or bridge only moves to a higher rank (terminal is final).
LEG_RANK: dict[str, int] = {s.value: i for i, s in enumerate(LegState, start=1)}
BRIDGE_RANK: dict[str, int] = {BridgeState.CREATED.value: 1, BridgeState.ACTIVE.value: 2, BridgeState.TERMINAL.value: 4}
TERMINAL_RANK = LEG_RANK[LegState.TERMINAL]


def spec(name: str) -> EventSpec | None:
    return BY_NAME.get(name)


def implied_state(name: str) -> str | None:
    """The state ``name`` implies for its leg or bridge (None: it does not move one)."""
    found = BY_NAME.get(name)
    return found.state if found else None


def event_type_for(name: str) -> str:
    """The ``event_type`` an event called ``name`` carries, for a request type that has no such field.

    Catalogue names give their own type; an unknown name is a bridge event if it starts with
    ``bridge``, else a leg life-cycle event (a guess, docs/EXOTEL-ASSUMPTIONS.md).
    """
    found = BY_NAME.get(name)
    if found is not None:
        return found.event_type.value
    return (EventType.BRIDGE_LIFECYCLE if name.startswith("bridge") else EventType.LEG_LIFECYCLE).value


def kind_of(event_type: str | None) -> EventKind:
    """How an event's ``data`` is shaped, from its ``event_type`` (bridge events carry a bridge)."""
    return EventKind.BRIDGE if str(event_type or "").startswith("bridge") else EventKind.LEG
