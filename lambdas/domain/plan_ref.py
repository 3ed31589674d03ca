"""Which plan, party and dial a leg belongs to: carried in the leg's ``custom_param``, echoed by Exotel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The two parties of a call plan.
Role = Literal["customer", "agent"]

#: ``custom_param`` of every leg dialled for a two-party call plan: ``call:<plan_id>:<role>:<attempt>``.
#: The role and attempt ride along so that a reactor knows which dial an event belongs to even
#: when the event arrives before the plan has recorded the new leg's sid.
PLAN_PARAM_PREFIX = "call:"


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
