"""The whole devstack on a customer-shaped proto: the bridge serves it and the simulator pushes with it,
given only ``BRIDGE_PROTO``/``BRIDGE_RPC`` (a binary descriptor set here, as ``protoc`` writes it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from devstack.banner import AGENT, EXOPHONE, HUMAN
from devstack.config import LOCAL_ACCOUNT_SID, LOCAL_API_KEY, LOCAL_API_TOKEN
from devstack.launcher import DevstackProcess
from legs.client import LegsClient
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from legs.wire import event_to_proto
from tests.e2e.conftest import E2E_ENV
from tests.e2e.local_api import Api, wait_until
from tests.support.customer_protos import SHAPES
from tests.support.samples import SEED_LEG_CONNECTING

pytestmark = pytest.mark.e2e

SHAPE = SHAPES[2]  # lowerCamelCase fields, RFC 3339 timestamps, two methods: BRIDGE_RPC names the one


@pytest.fixture(scope="module")
def customer_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("devstack-customer-proto")
    assert SHAPE.rpc is not None
    # Talk time stretched a little more than the main suite's: this stack's first call runs on cold functions.
    env = {**E2E_ENV, "SIM_TALK_SECONDS": "60", "BRIDGE_PROTO": str(SHAPE.path(workdir)), "BRIDGE_RPC": SHAPE.rpc}
    stack = DevstackProcess(workdir, env)
    info = stack.start()
    info["_process"] = stack
    info["_workdir"] = str(workdir)
    yield info
    assert stack.stop() == 0, stack.tail()


def _timeline(api: Api, leg_sid: str) -> list[dict[str, Any]]:
    def complete() -> list[dict[str, Any]] | None:
        status, body = api.get(f"/legs/{leg_sid}/events")
        if status == 404:  # nothing recorded yet
            return None
        assert status == 200, body
        names = [e["event_name"] for e in body["events"]]
        return body["events"] if "leg_terminated" in names and "leg_connecting" in names else None

    return wait_until(complete, timeout=30, what=f"leg {leg_sid}'s whole timeline")


def test_a_leg_rings_answers_and_ends_on_the_customers_proto(customer_stack: dict[str, Any]) -> None:
    api = Api(customer_stack["api_url"])
    status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": "byo"})
    assert status == 202, created
    events = _timeline(api, created["leg_sid"])
    assert [e["event_name"] for e in events] == ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
    answered = events[2]["detail"]
    assert answered["data"]["answered_by"] == "HUMAN" and answered["data"]["custom_param"] == "byo"
    assert answered["event_type"] == "leg_lifecycle_event" and answered["event_timestamp"].endswith("Z")


def test_a_two_party_call_runs_on_the_customers_proto(customer_stack: dict[str, Any]) -> None:
    api = Api(customer_stack["api_url"])
    status, created = api.post("/calls", {"customer": HUMAN, "agent": AGENT, "exophone": EXOPHONE})
    assert status == 202, created

    def finished() -> dict[str, Any] | None:
        status, body = api.get(f"/calls/{created['plan_id']}")
        assert status == 200, body
        return body if body["status"] in ("completed", "failed") else None

    final = wait_until(finished, timeout=60, what="the call to finish", interval=0.1)
    assert final["status"] == "completed" and final["bridge_sid"], final
    customer = next(leg for leg in final["legs"] if leg["role"] == "customer")

    names = [e["event_name"] for e in _timeline(api, customer["leg_sid"])]
    assert names[:3] == ["leg_connecting", "leg_ringing", "leg_answered"] and "leg_joined_bridge" in names

    # The simulator pushed with the customer's method and read the customer's reply type.
    sim = LegsClient(
        base_url=customer_stack["sim_url"],
        account_sid=LOCAL_ACCOUNT_SID,
        api_key=LOCAL_API_KEY,
        api_token=LOCAL_API_TOKEN,
        max_retries=0,
    )
    records = sim.external_events(customer["leg_sid"])
    assert records and all(r.endpoint_response for r in records)
    assert {str(r.model_extra["reply"]) for r in records} == {str({"accepted": True, "duplicate": False})}


def test_the_bridge_serves_only_the_customers_method(customer_stack: dict[str, Any]) -> None:
    target = customer_stack["bridge_endpoint"].removeprefix("grpc://")
    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as ours:
        pb_grpc.LegEventServiceStub(channel).TriggerCallbackEvent(event_to_proto(SEED_LEG_CONNECTING), timeout=10)
    assert ours.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with grpc.insecure_channel(target) as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        asked = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = list(reflection.ServerReflectionInfo(iter([asked]), timeout=10))
    assert SHAPE.service in {s.name for s in reply.list_services_response.service}
    log = Path(customer_stack["_process"].log_path).read_text(errors="replace")
    assert f"speak {SHAPE.path(Path(customer_stack['_workdir']))} ({SHAPE.rpc})" in log
