"""What a decision asks for, as data: the executor (``lambdas.executor``) is the only code that performs it.

A :class:`Decision` is the plan to write plus the actions that go with it; an :class:`ActionResult`
is what came back, which the domain turns into the next decision (``decisions.on_action_result``).
Actions are plain, frozen pydantic models so that they can be logged, compared, and stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lambdas.domain.call_plan import CallPlan, Role

ActionKind = Literal[
    "create_leg", "say", "end_with_message", "hangup", "create_bridge", "stop_bridge", "schedule_retry"
]

#: Actions whose result the plan must learn (a new leg's sid, a new bridge's sid, or a refusal).
REPORTED: frozenset[str] = frozenset({"create_leg", "create_bridge"})


class Action(BaseModel):
    """One call to the Legs API or one message to the retry queue, and what it is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    leg_sid: str | None = None  # say / end_with_message / hangup: the leg acted on
    role: Role | None = None  # create_leg / schedule_retry: the party ...
    attempt: int | None = None  # ... and which of its dials
    text: str | None = None  # say / end_with_message: the words
    leg_sids: tuple[str, ...] = ()  # create_bridge: the legs to join
    bridge_sid: str | None = None  # stop_bridge
    delay_seconds: int = 0  # schedule_retry

    @property
    def key(self) -> str:
        """Names the action within its plan: the same step decided twice has the same key."""
        if self.kind in ("create_leg", "schedule_retry"):
            return f"{self.kind}:{self.role}:{self.attempt}"
        if self.kind == "create_bridge":
            return f"{self.kind}:{'+'.join(self.leg_sids)}"
        return f"{self.kind}:{self.bridge_sid or self.leg_sid}"


class ActionResult(BaseModel):
    """What the executor got back for one action: success (with the new sid) or the refusal's text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    ok: bool
    error: str | None = None
    leg_sid: str | None = None  # create_leg: the sid Exotel gave the new leg
    bridge_sid: str | None = None  # create_bridge: the sid of the new bridge


@dataclass
class Decision:
    """The plan to write, what to do before the write (idempotent sends) and after it (Legs API).

    ``before`` actions are carried out before the plan is written, so that the write never lands
    without them (a retry message sent twice is harmless); ``after`` actions follow the write, so a
    duplicate event finds the step taken and calls nothing (at most once).
    """

    plan: CallPlan
    after: list[Action] = field(default_factory=list)
    before: list[Action] = field(default_factory=list)
    note: str = ""

    @property
    def actions(self) -> list[Action]:
        return [*self.before, *self.after]
