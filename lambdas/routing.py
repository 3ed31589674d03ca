"""The routing table: which EventBridge event pattern feeds which function.

Read by the CDK stacks (one rule per entry, exact pattern) and by the devstack (one rule per
entry, targeting a local SQS queue that the lambda runner drains). Nothing else writes a pattern.
Patterns match the *configured* event source: :func:`routes` takes it, so a deployment with its
own ``event_source`` gets rules that match what its bridge publishes.

In the ordered mode (``bus_mode=ordered``) the same pattern is an EventsV2 subscriber's filter instead of a
rule's, and ``fifo`` says whether that subscriber is FIFO (each leg's events in the order the bus stored them)
or UNORDERED (where order cannot matter: a function reacting to one event per leg).
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.catalogue import ACTION_EVENTS, BRIDGE_EVENTS, LEG_EVENTS, MACHINE_ANSWERS, EventName
from lambdas.domain.plan_ref import PLAN_PARAM_PREFIX
from legs.json_types import JsonObject


@dataclass(frozen=True)
class Route:
    """One event-driven function and the events it receives (sizes, env, triggers: ``lambdas/wiring.py``)."""

    function: str  # package under lambdas/, e.g. "connect"
    description: str
    pattern: JsonObject  # an EventBridge event pattern
    fifo: bool = True  # ordered mode: a FIFO subscriber (per-leg order) rather than an UNORDERED one


@dataclass(frozen=True)
class _Entry:
    function: str
    description: str
    detail_types: tuple[str, ...]
    plan_legs_only: bool = True  # only legs whose custom_param names a call plan
    data_filter: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fifo: bool = True  # see Route.fifo

    def pattern(self, source: str) -> JsonObject:
        pattern: JsonObject = {"source": [source], "detail-type": list(self.detail_types)}
        if self.plan_legs_only:
            data: JsonObject = {"custom_param": [{"prefix": PLAN_PARAM_PREFIX}]}
            data.update({key: list(values) for key, values in self.data_filter})
            pattern["detail"] = {"data": data}
        return pattern


_ANSWERS = (EventName.LEG_ANSWERED.value, EventName.AMD_RESULT_SUCCESS.value)
_ENDS = (EventName.LEG_TERMINATED.value, EventName.LEG_FAILED_TO_CREATE.value)
#: The first event of a new leg: confirms its dial within a second (so a lost reply is not a lost leg).
_ALIVE = (EventName.LEG_CONNECTING.value,)
#: How an end message ends (``<StartSay>`` does not hold the flow: the hangup waits for one of these).
_MESSAGE_ENDS = (
    EventName.SAY_COMPLETED.value,
    EventName.SAY_INTERRUPTED.value,
    EventName.PLAY_FAILED_TO_START.value,
)

_TABLE: tuple[_Entry, ...] = (
    _Entry(
        "leg_state",
        "Records every leg, action and bridge event: current state per leg plus its timeline",
        (*LEG_EVENTS, *ACTION_EVENTS, *BRIDGE_EVENTS),
        plan_legs_only=False,
    ),
    _Entry(
        "connect",
        "Two-party calls: answered -> hold message -> second leg -> bridge; ends the other side",
        (*_ALIVE, *_ANSWERS, *_ENDS, EventName.LEG_JOINED_BRIDGE.value, *_MESSAGE_ENDS),
    ),
    # One terminal event per leg: nothing to order.
    _Entry(
        "retry", "Dials a plan's leg again after busy / no-answer / failed, up to the plan's limit", _ENDS, fifo=False
    ),
    # One answer per leg: nothing to order.
    _Entry(
        "amd",
        "A plan's leg answered by a machine: hang up, or play a message then hang up",
        _ANSWERS,
        data_filter=(("answered_by", MACHINE_ANSWERS),),
        fifo=False,
    ),
)

#: Functions that have a rule, in table order.
ROUTED_FUNCTIONS: tuple[str, ...] = tuple(entry.function for entry in _TABLE)


def routes(source: str) -> tuple[Route, ...]:
    """Every rule, matching events whose ``source`` is ``source`` (the deployment's ``event_source``)."""
    return tuple(Route(entry.function, entry.description, entry.pattern(source), entry.fifo) for entry in _TABLE)


def route(function: str, source: str) -> Route:
    for candidate in routes(source):
        if candidate.function == function:
            return candidate
    raise KeyError(function)
