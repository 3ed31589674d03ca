"""Component tests: the functions against the Exotel simulator over real HTTP, events over real gRPC.

The simulator pushes each leg's events to an ``EventRecorder`` (a gRPC server on loopback). A small
in-test event loop (:class:`Pump`) hands them to the functions the routing table names, as
EventBridge events, and feeds the retry delay queue (moto over HTTP) to the ``retry`` function as
SQS batches. Legs API calls are counted by a wrapper around the real client the functions build
(credentials from the moto Secrets Manager secret, base URL from ``EXOTEL_BASE_URL``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambdas.api.handler import handler as api_handler
from lambdas.api.problems import ProblemType
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.exotel import legs_client, use_client
from lambdas.domain.call_plan import CallPlan
from lambdas.retry.handler import handler as retry_handler
from tests.lambdas.flow import deliver
from tests.lambdas.kit import Context, Counting, api_event, api_json, drain, sqs_event
from tests.support.simulator import EventRecorder, running_simulator

pytestmark = pytest.mark.component

EXOPHONE = "08030752400"
HUMAN_CUSTOMER, HUMAN_AGENT = "09163811000", "09163812000"
BUSY, MACHINE = "09163811002", "09163811004"


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    # 20x faster than real time; long talk (10 s real) so that the reactors bridge before the first
    # party's talk time runs out, even on a loaded machine (5 s was seen to fall short under load).
    with running_simulator(time_scale=0.05, ring_seconds=2, talk_seconds=200, setup_seconds=1) as sim:
        yield sim


@pytest.fixture
def recorder() -> Iterator[EventRecorder]:
    with EventRecorder() as rec:
        yield rec


@pytest.fixture
def legs(simulator: Any, recorder: EventRecorder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counting]:
    monkeypatch.setenv("EXOTEL_BASE_URL", simulator.base_url)
    monkeypatch.setenv("BRIDGE_ENDPOINT", recorder.endpoint)
    counting = Counting(legs_client())  # the real client, built from the secret in moto
    with use_client(counting):
        yield counting


class Pump:
    """The in-test event bus: recorder -> routed functions; retry queue -> retry function."""

    def __init__(self, recorder: EventRecorder, resources: Any, *, chaos: bool = False) -> None:
        self.recorder = recorder
        self.resources = resources
        self.sqs = resources.client("sqs")
        self.chaos = chaos
        self.seen = 0
        self.delivered = 0

    def step(self) -> int:
        events = self.recorder.events[self.seen :]
        self.seen += len(events)
        batch = list(events)
        if self.chaos:  # each batch backwards, then every event once more
            batch = list(reversed(batch)) + list(events)
        for event in batch:
            deliver(event)
        self.delivered += len(batch)
        messages = drain(self.sqs, self.resources.retry_queue_url, expect=0)
        if messages:
            bodies = [m["Body"] for m in messages]
            if self.chaos:
                bodies = bodies + bodies
            retry_handler(sqs_event(bodies), Context("retry"))
        return len(batch) + len(messages)

    def until(self, done: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not done after {timeout}s; events: {[e.event_name for e in self.recorder.events]}")
            if not self.step():
                time.sleep(0.02)

    def settle(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Keep pumping until nothing new has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            if self.step():
                last = time.monotonic()
            else:
                time.sleep(0.02)


def place_call(**body: Any) -> str:
    reply = api_handler(api_event("POST", "/calls", {"exophone": EXOPHONE, **body}), Context("api"))
    assert reply["statusCode"] == 202, reply
    return str(api_json(reply)["plan_id"])


def plan(plan_id: str) -> CallPlan:
    found = PlanStore.from_env().get(plan_id)
    assert found is not None
    return found


def leg_sids(plan_id: str) -> list[str]:
    return [a.leg_sid for a in plan(plan_id).attempts if a.leg_sid]


def all_ended(recorder: EventRecorder, plan_id: str) -> bool:
    current = plan(plan_id)
    if not current.final:
        return False
    return all(set(recorder.names(s)) & {"leg_terminated", "leg_failed_to_create"} for s in leg_sids(plan_id))


def api_get(path: str) -> tuple[int, Any]:
    reply = api_handler(api_event("GET", path), Context("api"))
    return reply["statusCode"], api_json(reply)


def run_two_party_call(recorder: EventRecorder, resources: Any, *, chaos: bool) -> tuple[str, CallPlan]:
    plan_id = place_call(customer=HUMAN_CUSTOMER, agent=HUMAN_AGENT, hold_message="Please hold")
    pump = Pump(recorder, resources, chaos=chaos)
    pump.until(lambda: plan(plan_id).status in ("bridged", "completed", "failed"))
    assert plan(plan_id).status == "bridged", plan(plan_id).reason
    pump.until(lambda: all_ended(recorder, plan_id))
    pump.settle()
    return plan_id, plan(plan_id)


def test_two_party_call_answered_bridged_and_ended(recorder: EventRecorder, lambda_env: Any, legs: Counting) -> None:
    plan_id, final = run_two_party_call(recorder, lambda_env, chaos=False)
    assert (final.status, final.outcome) == ("completed", "completed")
    customer, agent = final.current("customer"), final.current("agent")
    assert customer and agent and customer.leg_sid and agent.leg_sid and final.bridge_sid
    # bridged: both legs joined the bridge the connect function created
    assert "leg_joined_bridge" in recorder.names(customer.leg_sid)
    assert "leg_joined_bridge" in recorder.names(agent.leg_sid)
    # one side hung up (the customer: answered first, so its talk time ran out first) ...
    customer_end = next(e for e in recorder.for_sid(customer.leg_sid) if e.event_name == "leg_terminated")
    agent_end = next(e for e in recorder.for_sid(agent.leg_sid) if e.event_name == "leg_terminated")
    assert customer_end.event_timestamp.sort_key <= agent_end.event_timestamp.sort_key
    # ... and the connect function ended the other side
    assert legs.counts["hangup"] == 1 and legs.counts["create_bridge"] == 1 and legs.counts["create_leg"] == 2
    assert legs.counts["say"] == 1
    # the leg-state recorder saw it all: GET /legs/{sid} and /events through the API
    for sid in (customer.leg_sid, agent.leg_sid):
        status, leg = api_get(f"/legs/{sid}")
        assert status == 200 and leg["state"] == "terminal" and leg["answered_by"] == "HUMAN"
        status, events = api_get(f"/legs/{sid}/events")
        names = [e["event_name"] for e in events["events"]]
        assert names[0] == "leg_connecting" and "leg_terminated" in names and names.count("leg_answered") == 1
        assert {"bridge_created", "leg_joined_bridge"} <= set(names), names  # bridge events join the legs' timelines
    status, call = api_get(f"/calls/{plan_id}")
    assert status == 200 and call["status"] == "completed" and call["bridge_sid"] == final.bridge_sid


def test_duplicate_and_out_of_order_delivery_same_end_state_no_extra_calls(
    recorder: EventRecorder, lambda_env: Any, legs: Counting
) -> None:
    _, final = run_two_party_call(recorder, lambda_env, chaos=True)
    assert (final.status, final.outcome) == ("completed", "completed")
    assert dict(legs.counts) == {"create_leg": 2, "say": 1, "create_bridge": 1, "stop_bridge": 1, "hangup": 1}
    for attempt in final.attempts:
        assert attempt.leg_sid
        _status, leg = api_get(f"/legs/{attempt.leg_sid}")
        assert leg["state"] == "terminal"
        _, events = api_get(f"/legs/{attempt.leg_sid}/events")
        names = [e["event_name"] for e in events["events"]]
        assert len(names) == len(set(e["event_sid"] for e in events["events"]))  # each event once
        assert "leg_terminated" in names


def test_busy_second_leg_is_retried_then_bridged(recorder: EventRecorder, lambda_env: Any, legs: Counting) -> None:
    plan_id = place_call(
        customer=HUMAN_CUSTOMER,
        agent=BUSY,
        agent_fallbacks=[HUMAN_AGENT],
        retry={"max_attempts": 2, "delay_seconds": 1},
    )
    pump = Pump(recorder, lambda_env)
    pump.until(lambda: plan(plan_id).status in ("bridged", "completed", "failed"))
    final = plan(plan_id)
    assert final.status == "bridged", final.reason
    first, second = final.attempt("agent", 1), final.attempt("agent", 2)
    assert first and second and first.terminal_status == "busy" and second.status == "answered"
    assert first.leg_sid and "leg_terminated" in recorder.names(first.leg_sid)
    pump.until(lambda: all_ended(recorder, plan_id))
    assert plan(plan_id).outcome == "completed"
    assert legs.counts["create_leg"] == 3


def test_amd_machine_is_hung_up_and_the_agent_never_dialled(
    recorder: EventRecorder, lambda_env: Any, legs: Counting
) -> None:
    plan_id = place_call(customer=MACHINE, agent=HUMAN_AGENT, amd={"behaviour": "hangup"})
    pump = Pump(recorder, lambda_env)
    pump.until(lambda: all_ended(recorder, plan_id))
    pump.settle(quiet=0.3)
    final = plan(plan_id)
    assert (final.status, final.outcome) == ("failed", "machine")
    customer = final.current("customer")
    assert customer and customer.answered_by == "MACHINE" and customer.leg_sid
    assert dict(legs.counts) == {"create_leg": 1, "hangup": 1}
    assert recorder.names(customer.leg_sid)[-1] == "leg_terminated"


def _fault(simulator: Any, **fault: Any) -> None:
    request = urllib.request.Request(
        f"{simulator.base_url}/_sim/faults",
        data=json.dumps(fault).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def test_exotel_unreachable_is_a_502_naming_no_host_or_port(lambda_env: Any) -> None:
    """A real connection failure (urllib3 names the host, port and exception): none of it reaches the caller."""
    from legs.client import LegsClient

    unreachable = LegsClient(base_url="http://127.0.0.1:9", account_sid="AC1", api_key="k", api_token="t", timeout=2)
    with use_client(unreachable):  # nothing listens on port 9
        event = api_event("POST", "/legs", {"contact_uri": HUMAN_CUSTOMER, "exophone": EXOPHONE})
        reply = api_handler(event, Context("api"))
    body = reply["body"]
    assert reply["statusCode"] == 502 and api_json(reply)["type"] == ProblemType.EXOTEL_UNAVAILABLE.uri
    assert not [word for word in ("127.0.0.1", ":9", "Error", "urllib3", "EXOTEL_") if word in body], body


def test_exotel_errors_surface_as_clear_api_errors(simulator: Any, legs: Counting) -> None:
    leg = {"contact_uri": HUMAN_CUSTOMER, "exophone": EXOPHONE}
    _fault(simulator, status=429, count=1, retry_after=30)
    reply = api_handler(api_event("POST", "/legs", leg), Context("api"))
    assert reply["statusCode"] == 429
    headers = {**(reply.get("headers") or {}), **{k: v[0] for k, v in (reply.get("multiValueHeaders") or {}).items()}}
    assert headers["Retry-After"] == "30"

    assert api_json(reply)["type"] == ProblemType.THROTTLED.uri

    _fault(simulator, status=503, count=1)
    reply = api_handler(api_event("POST", "/legs", leg), Context("api"))
    assert reply["statusCode"] == 502 and api_json(reply)["type"] == ProblemType.EXOTEL_UNAVAILABLE.uri

    reply = api_handler(api_event("POST", "/legs/NoSuchLeg000/actions", {"action": "hangup"}), Context("api"))
    body = api_json(reply)
    assert reply["statusCode"] == 404 and body["type"] == ProblemType.NOT_FOUND.uri
    assert body["request_id"] and body["exotel"]["request_id"]  # ours, and Exotel's

    reply = api_handler(api_event("POST", "/legs", leg), Context("api"))  # no fault left: it works
    assert reply["statusCode"] == 202 and api_json(reply)["leg_sid"]


def _person_hangs_up(simulator: Any, leg_sid: str) -> None:
    """The person on ``leg_sid`` puts the phone down (the simulator's ``POST /_sim/legs/{sid}/hangup``)."""
    request = urllib.request.Request(f"{simulator.base_url}/_sim/legs/{leg_sid}/hangup", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as reply:
        json.loads(reply.read())


def test_bridge_first_call_joins_both_legs_and_the_bridge_is_stopped_when_a_party_hangs_up(
    simulator: Any, recorder: EventRecorder, lambda_env: Any, legs: Counting
) -> None:
    plan_id = place_call(customer=HUMAN_CUSTOMER, agent=HUMAN_AGENT, bridge_model="bridge_first")
    pump = Pump(recorder, lambda_env)
    pump.until(lambda: plan(plan_id).status in ("bridged", "completed", "failed"))
    bridged = plan(plan_id)
    assert bridged.status == "bridged", bridged.reason
    assert bridged.bridge_sid
    customer, agent = bridged.current("customer"), bridged.current("agent")
    assert customer and agent and customer.leg_sid and agent.leg_sid
    for leg_sid in (customer.leg_sid, agent.leg_sid):
        assert "leg_joined_bridge" in recorder.names(leg_sid)
    assert legs.counts["create_bridge"] == 1 and legs.counts["leg_action"] == 2  # two <JoinBridge> flows

    _person_hangs_up(simulator, agent.leg_sid)
    pump.until(lambda: all_ended(recorder, plan_id))
    pump.settle(quiet=0.3)
    final = plan(plan_id)
    assert final.outcome == "completed" and not final.pending, final
    assert legs.counts["stop_bridge"] == 1  # a bridge made first outlives its legs: we stop it
    assert recorder.names(customer.leg_sid)[-1] == "leg_terminated"
