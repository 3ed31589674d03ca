"""The CallPlans table: one item per plan, every change written by compare-and-swap on ``version``.

A plan is one item (``plan_id``, ``version``, ``status``, ``expires_at`` and the whole plan as JSON
in ``doc``). Every change is a put conditioned on the version read, so two functions (or two
deliveries of one event) can never both act on the same step: the loser re-reads and finds the
step taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lambdas.domain.call_plan import CallPlan, now_iso

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TableAttributeValueTypeDef


class PlanConflict(Exception):
    """The plan changed since it was read (another function or delivery got there first)."""


class PlanStore:
    """CallPlans table access; ``table`` is a boto3 ``Table`` resource."""

    def __init__(self, table: Table, retention_days: int = 30) -> None:
        self.table = table
        self.retention_seconds = retention_days * 86400

    @classmethod
    def from_env(cls) -> PlanStore:
        from lambdas.dal import aws
        from lambdas.shared.config import settings

        conf = settings()
        return cls(aws.table(conf.require("call_plans_table")), conf.retention_days)

    def _item(self, plan: CallPlan) -> dict[str, TableAttributeValueTypeDef]:
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
        if not item:
            return None
        doc = item["doc"]
        if not isinstance(doc, str | bytes | bytearray):
            raise ValueError(f"plan {plan_id}: the stored doc is not JSON text")
        return CallPlan.model_validate_json(doc)

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
