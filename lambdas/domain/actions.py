"""What a decision asks for, as data: the executor (``lambdas.executor``) is the only code that performs it.

A :class:`Decision` is the plan to write plus the actions that go with it; an :class:`ActionResult`
is what came back, which the domain turns into the next decision (``results.settle``). Every Legs
API call a plan makes is recorded in the plan as a :class:`PendingAction` in the same write that
decides it, and stays there until its reply or an event confirms it (``lambdas.domain.pending``):
a function that dies between the write and the call leaves the pending action behind, for the
sweeper to find. Actions are plain, frozen pydantic models so that they can be logged, compared
and stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lambdas.domain.plan_ref import Role

if TYPE_CHECKING:
    from lambdas.domain.call_plan import CallPlan

ActionKind = Literal[
    "create_leg",
    "say",
    "end_with_message",
    "hangup",
    "create_bridge",
    "join_bridge",
    "stop_bridge",
    "schedule_retry",
]

#: What a Legs API call came to:
#: ``ok``; ``gone`` (404/409 on ending or speaking to a leg or bridge that has already ended: the goal
#: is reached); ``refused`` (a 4xx: Exotel did not do it and will not); ``throttled`` (429: not done,
#: may be done later); ``unknown`` (no reply, or a 5xx: it may or may not have been done).
Outcome = Literal["ok", "gone", "refused", "throttled", "unknown"]

#: Where a recorded action stands: ``pending`` (decided; the call is being made, or the function died
#: before it), ``unknown``/``throttled`` (made, the reply did not settle it), ``awaiting_event`` (accepted;
#: the event that ends it, e.g. ``say_completed``, has not come yet).
PendingState = Literal["pending", "unknown", "throttled", "awaiting_event"]


class Action(BaseModel):
    """One call to the Legs API or one message to the retry queue, and what it is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    leg_sid: str | None = None  # say / end_with_message / hangup / join_bridge: the leg acted on
    role: Role | None = None  # create_leg / schedule_retry: the party ...
    attempt: int | None = None  # ... and which of its dials
    text: str | None = None  # say / end_with_message: the words
    leg_sids: tuple[str, ...] = ()  # create_bridge: the legs to bridge
    bridge_sid: str | None = None  # stop_bridge / join_bridge
    delay_seconds: int = 0  # schedule_retry

    @property
    def key(self) -> str:
        """Names the action within its plan: the same step decided twice has the same key.

        Also what Exotel echoes back: a ``create_leg``'s key stands for the dial whose ``custom_param``
        every event of the new leg carries; an ``end_with_message`` is sent with its key as the
        ``action_custom_param`` that its ``say_*`` events carry.
        """
        if self.kind in ("create_leg", "schedule_retry"):
            return f"{self.kind}:{self.role}:{self.attempt}"
        if self.kind == "create_bridge":
            return f"{self.kind}:{'+'.join(self.leg_sids)}"
        if self.kind == "join_bridge":
            return f"{self.kind}:{self.leg_sid}"
        return f"{self.kind}:{self.bridge_sid or self.leg_sid}"


class ActionResult(BaseModel):
    """What the executor got back for one action: its outcome, the new sid, or the error's text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    ok: bool
    outcome: Outcome = "ok"
    error: str | None = None
    leg_sid: str | None = None  # create_leg: the sid Exotel gave the new leg
    bridge_sid: str | None = None  # create_bridge: the sid of the new bridge
    retry_after: float | None = None  # throttled: Exotel's Retry-After, if it gave one

    @model_validator(mode="before")
    @classmethod
    def _outcome_from_ok(cls, data: object) -> object:
        """``ok=False`` without an outcome is a refusal (the common case of a 4xx)."""
        if isinstance(data, dict) and "outcome" not in data and data.get("ok") is False:
            return {**data, "outcome": "refused"}
        return data

    @property
    def done(self) -> bool:
        """The action's goal is reached (it was done, or what it would end has ended)."""
        return self.outcome in ("ok", "gone")


class PendingAction(BaseModel):
    """A Legs API call the plan decided on and has not yet seen confirmed (by its reply or by an event)."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    state: PendingState = "pending"
    tries: int = Field(default=1, ge=1, description="times it was issued")
    due_at: float = Field(description="epoch seconds: unconfirmed by then, the sweeper re-issues or gives up")
    error: str | None = None

    @property
    def key(self) -> str:
        return self.action.key


@dataclass
class Decision:
    """The plan to write, what to do before the write (idempotent sends) and after it (Legs API).

    ``before`` actions are carried out before the plan is written, so that the write never lands
    without them (a retry message sent twice is harmless); ``after`` actions are recorded in the
    plan as pending by the write and made after it, so a duplicate event finds the step taken and
    calls nothing, and a function that dies in between leaves a trace the sweeper finds.
    """

    plan: CallPlan
    after: list[Action] = field(default_factory=list)
    before: list[Action] = field(default_factory=list)
    note: str = ""

    @property
    def actions(self) -> list[Action]:
        return [*self.before, *self.after]

    def then(self, other: Decision | None) -> Decision:
        """This decision followed by ``other`` on the same plan (its actions after these, notes joined)."""
        if other is None:
            return self
        self.plan = other.plan
        self.after.extend(other.after)
        self.before.extend(other.before)
        self.note = "; ".join(note for note in (self.note, other.note) if note)
        return self
