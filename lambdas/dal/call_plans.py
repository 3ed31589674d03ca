"""The CallPlans table: one item per plan, every change written by compare-and-swap on ``version``.

A plan is one item (``plan_id``, ``version``, ``status``, ``expires_at`` and the whole plan as JSON
in ``doc``). Every change is a put conditioned on the version read, so two functions (or two
deliveries of one event) can never both act on the same step: the loser re-reads and finds the
step taken.

A plan that still needs watching (not final, or with an action not yet confirmed) also carries
``due_at`` (its earliest deadline, epoch seconds) and ``sweep_shard``: the keys of the sparse index
``by_due`` (``contract.resources.PLANS_BY_DUE``) that the sweeper queries for plans past their
deadline. A plan with nothing left to watch has neither, and drops out of the index.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from contract.resources import PLANS_BY_DUE
from lambdas.domain.call_plan import CallPlan, now_iso

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import QueryInputTableQueryTypeDef, TableAttributeValueTypeDef

#: Partitions of the ``by_due`` index (spreads the writes of many plans; the sweeper queries each).
SWEEP_SHARDS = 4


def shard_of(plan_id: str) -> str:
    """The ``by_due`` partition a plan is filed under (stable: a CRC of its id)."""
    return str(zlib.crc32(plan_id.encode()) % SWEEP_SHARDS)


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
        item: dict[str, TableAttributeValueTypeDef] = {
            "plan_id": plan.plan_id,
            "version": plan.version,
            "status": plan.status,
            "doc": plan.model_dump_json(),
            "expires_at": int(time.time()) + self.retention_seconds,
        }
        due = plan.next_due()
        if due is not None:
            item[PLANS_BY_DUE.partition_key] = shard_of(plan.plan_id)
            item[PLANS_BY_DUE.sort_key] = math.ceil(due)
        return item

    def due(self, now: float, limit: int = 100) -> list[str]:
        """Ids of plans whose earliest deadline is at or before ``now`` (the index is eventually consistent:
        the sweeper reads each plan again before it acts), most overdue first within a shard."""
        found: list[str] = []
        for shard in range(SWEEP_SHARDS):
            # The condition as text, not boto3's ``Key`` objects: their builder is shared by every thread using the
            # client and its placeholder counters race (the devstack runs functions in threads).
            query: QueryInputTableQueryTypeDef = {
                "IndexName": PLANS_BY_DUE.name,
                "KeyConditionExpression": "#shard = :shard AND #due <= :now",
                "ExpressionAttributeNames": {"#shard": PLANS_BY_DUE.partition_key, "#due": PLANS_BY_DUE.sort_key},
                "ExpressionAttributeValues": {":shard": str(shard), ":now": math.floor(now)},
                "Limit": limit,
            }
            while len(found) < limit:
                page = self.table.query(**query)
                found.extend(str(item["plan_id"]) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

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

    def discard(self, plan_id: str) -> None:
        """Delete a plan that failed before it dialled anyone (only such a plan: the condition checks it)."""
        from botocore.exceptions import ClientError

        try:
            self.table.delete_item(
                Key={"plan_id": plan_id},
                ConditionExpression="#s = :failed AND attribute_not_exists(due_at)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":failed": "failed"},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

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
