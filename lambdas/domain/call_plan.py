"""The two-party call plan: who is dialled, which dials were made, where the call stands.

Pure data with derived views (which number dial *n* uses, which dial is current); the CallPlans
table that stores it is ``lambdas.dal.call_plans``, the rules that change it ``lambdas.domain.decisions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lambdas.domain.plan_ref import PlanRef
from legs.json_types import JsonObject
from legs.models import Contact

Role = Literal["customer", "agent"]
PlanStatus = Literal["dialing_first", "dialing_second", "bridging", "bridged", "completed", "failed"]
AttemptStatus = Literal["scheduled", "dialing", "answered", "machine", "ended", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})

DEFAULT_UNAVAILABLE_MESSAGE = "Sorry, we could not connect your call. Please try again later."


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    attempts: list[Attempt] = Field(default_factory=list)
    bridge_sid: str | None = None
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)

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

    def amd_on(self, role: str) -> bool:
        return self.amd is not None and role == "customer"

    def ref(self, role: Role, attempt: int) -> PlanRef:
        return PlanRef(plan_id=self.plan_id, role=role, attempt=attempt)

    def public(self) -> JsonObject:
        return self.model_dump(mode="json")
