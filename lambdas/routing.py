"""The routing table: which EventBridge event pattern feeds which function.

Read by the CDK stacks (one rule per entry, exact pattern) and by the devstack (one rule per
entry, targeting a local SQS queue that the lambda runner drains). Nothing else repeats a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from legs.eventbridge import DEFAULT_SOURCE
from legs.events import BRIDGE_EVENT_NAMES, LEG_EVENT_NAMES

#: ``custom_param`` of every leg dialled for a two-party call plan: ``call:<plan_id>:<role>:<attempt>``.
#: The role and attempt ride along so that a reactor knows which dial an event belongs to even
#: when the event arrives before the plan has recorded the new leg's sid.
PLAN_PARAM_PREFIX = "call:"
#: answered_by values that mean "not a person" (a beep is a voicemail greeting ending).
MACHINE_ANSWERS = ["MACHINE", "BEEP"]


@dataclass(frozen=True)
class PlanRef:
    """Which plan, party and dial attempt a leg belongs to (parsed from its ``custom_param``)."""

    plan_id: str
    role: str
    attempt: int

    @property
    def custom_param(self) -> str:
        return f"{PLAN_PARAM_PREFIX}{self.plan_id}:{self.role}:{self.attempt}"


def parse_plan_param(custom_param: str | None) -> PlanRef | None:
    """``call:<plan_id>:<role>:<attempt>`` -> :class:`PlanRef`; anything else -> None."""
    if not custom_param or not custom_param.startswith(PLAN_PARAM_PREFIX):
        return None
    parts = custom_param[len(PLAN_PARAM_PREFIX) :].split(":")
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdigit():
        return None
    return PlanRef(plan_id=parts[0], role=parts[1], attempt=int(parts[2]))


LEG_AND_BRIDGE_EVENTS = [*LEG_EVENT_NAMES, *BRIDGE_EVENT_NAMES]


@dataclass(frozen=True)
class Route:
    """One event-driven function and the events it receives (sizes, env, triggers: ``lambdas/wiring.py``)."""

    function: str  # package under lambdas/, e.g. "connect"
    description: str
    pattern: dict[str, Any]


def _plan_events(detail_types: list[str], data_filter: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_param": [{"prefix": PLAN_PARAM_PREFIX}]}
    data.update(data_filter or {})
    return {"source": [DEFAULT_SOURCE], "detail-type": detail_types, "detail": {"data": data}}


ROUTES: tuple[Route, ...] = (
    Route(
        function="leg_state",
        description="Records every leg and bridge event: current state per leg plus its timeline",
        pattern={"source": [DEFAULT_SOURCE], "detail-type": LEG_AND_BRIDGE_EVENTS},
    ),
    Route(
        function="connect",
        description="Two-party calls: answered -> hold message -> second leg -> bridge; ends the other side",
        pattern=_plan_events(
            ["leg_answered", "amd_result_success", "leg_terminated", "leg_failed_to_create", "leg_joined_bridge"]
        ),
    ),
    Route(
        function="retry",
        description="Dials a plan's leg again after busy / no-answer / failed, up to the plan's limit",
        pattern=_plan_events(["leg_terminated", "leg_failed_to_create"]),
    ),
    Route(
        function="amd",
        description="A plan's leg answered by a machine: hang up, or play a message then hang up",
        pattern=_plan_events(["leg_answered", "amd_result_success"], {"answered_by": MACHINE_ANSWERS}),
    ),
)


def route(function: str) -> Route:
    for candidate in ROUTES:
        if candidate.function == function:
            return candidate
    raise KeyError(function)
