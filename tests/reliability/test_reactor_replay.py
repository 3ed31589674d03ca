"""Whole call histories delivered again, shuffled and doubled, into the reactors: nothing changes.

A real call runs first: the simulator (Exotel over real HTTP) pushes each leg's events to a gRPC
recorder; they are handed in order to the functions the routing table names (and the retry
queue's messages to ``retry``), as EventBridge and SQS would. That fixes the end state (every
item of the leg-state and call-plan tables) and the number of Legs API calls. Then the whole
history (every event and every retry message) is delivered again, twice over, in a random order,
several times (3 bounded, 20 with RELIABILITY_FULL=1): the tables must be identical and not one
more Legs API call may be made.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambdas.dal import aws
from tests.reliability.conftest import size
from tests.support.moto_server import MotoServer
from tests.support.simulator import LOCAL_CREDENTIALS, EventRecorder, running_simulator

pytest.importorskip("lambdas.api.handler", reason="the lambdas are not built yet")

from lambdas.api.handler import handler as api_handler
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.exotel import legs_client, use_client
from lambdas.retry.handler import handler as retry_handler
from tests.lambdas.flow import deliver
from tests.lambdas.kit import Context, Counting, Resources, api_event, api_json, drain, provision, sqs_event

REPLAYS = size(3, 20)
EXOPHONE = "08030752400"


@pytest.fixture(scope="module")
def resources() -> Iterator[Resources]:
    with MotoServer() as moto:
        yield provision(moto.url, LOCAL_CREDENTIALS)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    with running_simulator(time_scale=0.05, ring_seconds=2, talk_seconds=60, setup_seconds=1) as sim:
        yield sim


@pytest.fixture
def legs(
    resources: Resources, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Counting, EventRecorder]]:
    with EventRecorder() as recorder:
        for name, value in resources.env(simulator.base_url).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("BRIDGE_ENDPOINT", recorder.endpoint)
        aws.reset()
        counting = Counting(legs_client())
        with use_client(counting):
            yield counting, recorder


class History:
    """Everything delivered during the live run, in order: ("event", detail) or ("retry", sqs body)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def deliver(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == "event":
            deliver(payload)
        else:
            retry_handler(sqs_event([payload]), Context("retry"))


def live_run(recorder: EventRecorder, resources: Resources, done: Callable[[], bool], timeout: float = 60) -> History:
    """Pump recorded events (in order) and retry messages into the functions until ``done`` and quiet."""
    history = History()
    sqs = resources.client("sqs")
    seen = 0
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        fresh = recorder.events[seen:]
        seen += len(fresh)
        items: list[tuple[str, Any]] = [("event", e.model_dump(mode="json", exclude_unset=True)) for e in fresh]
        items += [("retry", m["Body"]) for m in drain(sqs, resources.retry_queue_url, expect=0)]
        for item in items:
            history.items.append(item)
            history.deliver(item)
        if items:
            quiet_since = None
        elif done():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                return history
        time.sleep(0.02)
    raise TimeoutError(f"call not finished in {timeout}s; {len(history.items)} deliveries")


def snapshot(resources: Resources) -> dict[str, list[dict[str, Any]]]:
    """Every item of the leg-state and call-plan tables (sorted, as JSON text for a readable diff)."""
    ddb = resources.client("dynamodb")
    out = {}
    for table_id in ("LegState", "CallPlans"):
        items = ddb.scan(TableName=resources.tables[table_id]).get("Items", [])
        out[table_id] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return out


def place_call(body: dict[str, Any]) -> str:
    reply = api_handler(api_event("POST", "/calls", {"exophone": EXOPHONE, **body}), Context("api"))
    assert reply["statusCode"] == 202, reply
    return str(api_json(reply)["plan_id"])


def plan_final(plan_id: str) -> Callable[[], bool]:
    def check() -> bool:
        plan = PlanStore.from_env().get(plan_id)
        return bool(plan and plan.final)

    return check


SCENARIOS = {
    "two-party call, bridged then ended": {"customer": "09163811000", "agent": "09163812000", "hold_message": "Hold"},
    "busy agent, retried": {
        "customer": "09163813000",
        "agent": "09163811002",
        "retry": {"max_attempts": 2, "delay_seconds": 1},
    },
    "customer answered by a machine": {
        "customer": "09163811004",
        "agent": "09163814000",
        "amd": {"behaviour": "hangup"},
    },
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_replayed_history_changes_nothing(
    scenario: str, legs: tuple[Counting, EventRecorder], resources: Resources
) -> None:
    counting, recorder = legs
    plan_id = place_call(SCENARIOS[scenario])
    history = live_run(recorder, resources, plan_final(plan_id))
    settled = snapshot(resources)
    calls = dict(counting.counts)
    plan = PlanStore.from_env().get(plan_id)
    assert plan is not None and plan.final
    print(f"\n{scenario}: {len(history.items)} deliveries, plan {plan.status}/{plan.outcome}, Legs API calls {calls}")

    rng = random.Random(f"{scenario}-{plan_id}")
    for replay in range(REPLAYS):
        items = history.items * 2
        rng.shuffle(items)
        for item in items:
            history.deliver(item)
        assert dict(counting.counts) == calls, (
            f"replay {replay}: extra Legs API calls {dict(counting.counts)} vs {calls}"
        )
        now = snapshot(resources)
        for table in now:
            before, after = set(settled[table]), set(now[table])
            assert after == before, (
                f"replay {replay}: {table} changed;\n only before: {sorted(before - after)[:3]}\n"
                f" only after: {sorted(after - before)[:3]}"
            )
