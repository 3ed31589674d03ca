"""The two-party call plan: who is dialled, which dials were made, where the call stands.

Pure data with derived views (which number dial *n* uses, which dial is current); the CallPlans
table that stores it is ``lambdas.dal.call_plans``, the rules that change it ``lambdas.domain.decisions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lambdas.domain.actions import PendingAction
from lambdas.domain.plan_ref import PlanRef, Role
from legs.json_types import JsonObject
from legs.models import Contact

PlanStatus = Literal["dialing_first", "dialing_second", "bridging", "bridged", "completed", "failed"]
AttemptStatus = Literal["scheduled", "dialing", "answered", "machine", "ended", "cancelled"]
#: How the two legs are bridged: ``legs_first`` (``POST /bridges`` with both ``leg_sids``; the bridge ends
#: with a leg) or ``bridge_first`` (an empty bridge, then ``<JoinBridge>`` on each leg; it lives until stopped).
BridgeModel = Literal["legs_first", "bridge_first"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})
#: Dial statuses of a leg that may still be up (and so may need hanging up).
LIVE: frozenset[str] = frozenset({"dialing", "answered", "machine"})

DEFAULT_UNAVAILABLE_MESSAGE = "Sorry, we could not connect your call. Please try again later."


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(epoch_seconds: float) -> str:
    """Epoch seconds as the plan writes times (UTC, milliseconds)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RetryPolicy(BaseModel):
    """How often a party is dialled when a dial ends busy / no-answer / failed."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=1, ge=1, le=10, description="Dials per party, the first included")
    delay_seconds: int = Field(default=30, ge=0, le=900, description="Wait before each re-dial (SQS delay: ≤ 900 s)")


class AmdPolicy(BaseModel):
    """What to do when the customer's phone is answered by a machine (AMD runs on the customer leg)."""

    model_config = ConfigDict(extra="forbid")

    behaviour: Literal["hangup", "message"] = Field(default="hangup", description="hang up, or leave a message")
    message: str | None = Field(default=None, min_length=1, max_length=1000, description="Spoken before hanging up")

    @model_validator(mode="after")
    def _message_needed(self) -> AmdPolicy:
        if self.behaviour == "message" and not self.message:
            raise ValueError("amd.message is required when amd.behaviour is 'message'")
        return self


class Attempt(BaseModel):
    """One dial of one party."""

    role: Role
    attempt: int = Field(ge=1)
    number: str
    status: AttemptStatus
    leg_sid: str | None = None
    terminal_status: str | None = None
    answered_by: str | None = None
    error: str | None = None
    updated_at: str = Field(default_factory=now_iso)
    due_at: float | None = Field(
        default=None, description="epoch seconds: still dialling / scheduled / on a machine by then, the sweeper acts"
    )


class CallPlan(BaseModel):
    """The whole state of a two-party call, as ``connect``, ``retry`` and ``amd`` see it."""

    model_config = ConfigDict(extra="ignore")

    plan_id: str
    version: int = 0
    status: PlanStatus = "dialing_first"
    outcome: str | None = None
    reason: str | None = None
    customer: Contact
    agent: Contact
    customer_fallbacks: list[Contact] = Field(default_factory=list)
    agent_fallbacks: list[Contact] = Field(default_factory=list)
    exophone: Contact
    dial_first: Role = "customer"
    hold_message: str | None = None
    unavailable_message: str = DEFAULT_UNAVAILABLE_MESSAGE
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    amd: AmdPolicy | None = None
    leg_event_endpoint: str
    bridge_model: BridgeModel = "legs_first"
    attempts: list[Attempt] = Field(default_factory=list)
    bridge_sid: str | None = None
    joined: list[str] = Field(default_factory=list, description="legs that joined the bridge")
    pending: list[PendingAction] = Field(default_factory=list, description="Legs API calls not yet confirmed")
    hung_up: list[str] = Field(default_factory=list, description="legs the plan asked Exotel to end")
    due_at: float | None = Field(default=None, description="epoch seconds: still bridging / bridged then, swept")
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    ended_at: str | None = Field(default=None, description="when the plan reached its final status")

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    # ---- derived ------------------------------------------------------------------------
    @property
    def first_role(self) -> Role:
        return self.dial_first

    @property
    def second_role(self) -> Role:
        return "agent" if self.dial_first == "customer" else "customer"

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def number_for(self, role: Role, attempt: int) -> str:
        """Attempt n dials the n-th number of [primary, *fallbacks], starting over at the end."""
        numbers = (
            [self.customer, *self.customer_fallbacks] if role == "customer" else [self.agent, *self.agent_fallbacks]
        )
        return numbers[(attempt - 1) % len(numbers)]

    def attempt(self, role: str, attempt: int) -> Attempt | None:
        return next((a for a in self.attempts if a.role == role and a.attempt == attempt), None)

    def current(self, role: str) -> Attempt | None:
        mine = [a for a in self.attempts if a.role == role]
        return max(mine, key=lambda a: a.attempt) if mine else None

    def is_current(self, attempt: Attempt) -> bool:
        current = self.current(attempt.role)
        return current is not None and current.attempt == attempt.attempt

    def pending_for(self, key: str) -> PendingAction | None:
        return next((p for p in self.pending if p.key == key), None)

    def drop_pending(self, key: str) -> PendingAction | None:
        """Remove the pending action ``key`` (confirmed, obsolete or given up); returns it."""
        found = self.pending_for(key)
        if found is not None:
            self.pending.remove(found)
        return found

    def attempt_of_leg(self, leg_sid: str | None) -> Attempt | None:
        return next((a for a in self.attempts if leg_sid and a.leg_sid == leg_sid), None)

    def next_due(self) -> float | None:
        """The earliest deadline the sweeper must watch (None: nothing left to watch for this plan)."""
        dues = [p.due_at for p in self.pending]
        dues += [a.due_at for a in self.attempts if a.due_at is not None and a.status in ("scheduled", *LIVE)]
        if not self.final and self.due_at is not None:
            dues.append(self.due_at)
        return min(dues) if dues else None

    def amd_on(self, role: str) -> bool:
        return self.amd is not None and role == "customer"

    def ref(self, role: Role, attempt: int) -> PlanRef:
        return PlanRef(plan_id=self.plan_id, role=role, attempt=attempt)

    def public(self) -> JsonObject:
        return self.model_dump(mode="json")
