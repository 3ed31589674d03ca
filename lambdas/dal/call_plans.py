"""Two-party call plans: the model, and the CallPlans table with compare-and-swap writes.

A plan is one item (``plan_id``, ``version``, ``status``, ``expires_at`` and the whole plan as JSON
in ``doc``). Every change is a put conditioned on the version read, so two functions (or two
deliveries of one event) can never both act on the same step: the loser re-reads and finds the
step taken.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lambdas.domain.plan_ref import PlanRef
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

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PlanConflict(Exception):
    """The plan changed since it was read (another function or delivery got there first)."""


class PlanStore:
    """CallPlans table access; ``table`` is a boto3 ``Table`` resource."""

    def __init__(self, table: Any, retention_days: int = 30) -> None:
        self.table = table
        self.retention_seconds = retention_days * 86400

    @classmethod
    def from_env(cls) -> PlanStore:
        from lambdas.dal import aws
        from lambdas.shared.config import settings

        conf = settings()
        return cls(aws.table(conf.require("call_plans_table")), conf.retention_days)

    def _item(self, plan: CallPlan) -> dict[str, Any]:
        return {
            "plan_id": plan.plan_id,
            "version": plan.version,
            "status": plan.status,
            "doc": plan.model_dump_json(),
            "expires_at": int(time.time()) + self.retention_seconds,
        }

    def create(self, plan: CallPlan) -> CallPlan:
        from botocore.exceptions import ClientError

        plan = plan.model_copy(update={"version": 1})
        try:
            self.table.put_item(Item=self._item(plan), ConditionExpression="attribute_not_exists(plan_id)")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise PlanConflict(f"plan {plan.plan_id} exists") from exc
            raise
        return plan

    def get(self, plan_id: str) -> CallPlan | None:
        item = self.table.get_item(Key={"plan_id": plan_id}, ConsistentRead=True).get("Item")
        return CallPlan.model_validate_json(item["doc"]) if item else None

    def put(self, plan: CallPlan, expected_version: int) -> CallPlan:
        """Write ``plan`` if the stored version is still ``expected_version``; else :class:`PlanConflict`."""
        from botocore.exceptions import ClientError

        plan = plan.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        try:
            self.table.put_item(
                Item=self._item(plan),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": expected_version},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise PlanConflict(plan.plan_id) from exc
            raise
        return plan

    def mutate(
        self, plan_id: str, change: Callable[[CallPlan], CallPlan | None], *, tries: int = 8
    ) -> tuple[CallPlan | None, CallPlan | None]:
        """Read, apply ``change`` (returns the new plan, or None for "nothing to do"), write with CAS.

        Returns ``(before, after)``; ``after`` is None when nothing was written.
        """
        for _ in range(tries):
            plan = self.get(plan_id)
            if plan is None:
                return None, None
            changed = change(plan.model_copy(deep=True))
            if changed is None:
                return plan, None
            try:
                return plan, self.put(changed, plan.version)
            except PlanConflict:
                continue
        raise PlanConflict(f"plan {plan_id}: gave up after {tries} conflicting writes")
