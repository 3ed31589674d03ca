"""The stores' queries from many threads at once through one boto3 resource (as the devstack and the chaos harness run).

boto3 turns ``Key(...)`` condition objects into expression text with one builder per client whose placeholder
counters are shared by every thread: two threads querying through one ``Table`` could send
``#n0 = :v0 AND #n0 <= :v0`` (the chaos test's CI failure of 2026-12-02: "Query condition missed key schema
element: sweep_shard"). The stores write their key conditions as text; this checks every query that would go out.
"""

from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contract.resources import PLANS_BY_DUE
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.leg_state import LegStateStore

#: The key attributes each query must name: the table's (pk, sk) and the ``by_due`` index's.
KEYS = {"": ("pk", "sk"), PLANS_BY_DUE.name: (PLANS_BY_DUE.partition_key, PLANS_BY_DUE.sort_key)}
THREADS = 8
ROUNDS = 400


class Stop(Exception):
    """Raised by the hook so that no request leaves: the test is about what would be sent."""


def test_queries_from_many_threads_through_one_table_are_each_consistent() -> None:
    plans = PlanStore.from_env()
    legs = LegStateStore.from_env()
    client = plans.table.meta.client
    assert client is legs.table.meta.client  # one client: the case that raced
    wrong: list[str] = []

    def check(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        expression = body["KeyConditionExpression"]
        resolved = re.sub(r"#\w+", lambda m: body["ExpressionAttributeNames"][m.group()], expression)
        keys = KEYS[body.get("IndexName", "")]
        values = set(re.findall(r":\w+", expression))
        if not all(re.search(rf"\b{key}\b", resolved) for key in keys) or len(values) != 2:
            wrong.append(f"{expression} -> {resolved}")
        raise Stop

    client.meta.events.register("before-call.dynamodb.Query", check)

    def work(n: int) -> int:
        done = 0
        for _ in range(ROUNDS):
            for query in (lambda: plans.due(time.time(), limit=5), lambda: legs.events(f"leg-{n}", limit=5)):
                try:
                    query()
                except Stop:
                    done += 1
        return done

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows (the race showed in ~1 of 8)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            done = sum(pool.map(work, range(THREADS)))
    finally:
        sys.setswitchinterval(interval)
        client.meta.events.unregister("before-call.dynamodb.Query", check)
    assert done == 2 * THREADS * ROUNDS
    assert wrong == []
