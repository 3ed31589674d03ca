"""The gRPC push (retries, deadlines, ordering, auth metadata, delivery records) and inbound calls."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest

from legs.client import LegsClient
from simulator.config import SimulatorConfig
from tests.simulator.conftest import Raw, leg_body
from tests.support.ports import free_port
from tests.support.simulator import (
    LOCAL_CREDENTIALS,
    ROOT,
    EventRecorder,
    running_simulator,
    simulator_process,
    wait_for_records,
)

pytestmark = pytest.mark.component


def test_push_retries_then_delivers_in_order() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, talk_seconds=1) as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        rec.fail_next(2)  # the first event needs all three attempts
        sid = client.create_leg(leg_body(rec, custom_param="retry")).leg_sid
        events = rec.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
        assert sim.wait_idle(10)
        records = client.external_events(sid)
        assert [r.model_extra["attempts"] for r in records] == [3, 1, 1, 1]
        assert all(r.endpoint_response for r in records)


def test_push_gives_up_after_three_attempts_and_moves_on() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, talk_seconds=1) as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        rec.fail_next(3, grpc.StatusCode.INTERNAL)
        sid = client.create_leg(leg_body(rec, custom_param="drop")).leg_sid
        events = rec.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_ringing", "leg_answered", "leg_terminated"]
        assert sim.wait_idle(10)
        first = client.external_events(sid, event_name="leg_connecting")[0]
        assert first.endpoint_response is False and first.model_extra["attempts"] == 3
        assert first.error.startswith("INTERNAL")
        assert rec.calls == 3 + 3


def test_push_deadline_and_unreachable_endpoint() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, push_timeout=0.2, push_backoff=0.01) as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        rec.delay = 0.5  # longer than the push deadline
        sid = client.create_leg(leg_body(rec, "09163811005")).leg_sid
        record = wait_for_records(client, sid)[0]
        assert rec.calls == 3
        assert not record.endpoint_response and record.error.startswith("DEADLINE_EXCEEDED")
        rec.delay = 0
        nowhere = f"grpc://127.0.0.1:{free_port()}"
        sid = client.create_leg({**leg_body(rec, "09163811005"), "leg_event_endpoint": nowhere}).leg_sid
        record = wait_for_records(client, sid)[0]
        assert not record.endpoint_response and record.error.startswith("UNAVAILABLE")
        assert record.model_extra["endpoint"] == nowhere


def test_push_sends_the_bearer_token() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, push_auth_token="s3cret") as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        sid = client.create_leg(leg_body(rec, "09163811005")).leg_sid
        rec.wait_for(sid, "leg_failed_to_create")
        assert rec.metadata[-1]["authorization"] == "Bearer s3cret"


def test_many_legs_each_in_order() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, talk_seconds=1) as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        sids = [client.create_leg(leg_body(rec, f"0916381{i:04d}", custom_param=str(i))).leg_sid for i in range(20)]
        for i, sid in enumerate(sids):
            events = rec.wait_for(sid, "leg_terminated")
            assert [e.event_name for e in events] == ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
            assert {e.custom_param for e in events} == {str(i)}


def test_inbound_call_answered_by_an_action(raw: Raw, recorder: EventRecorder, client: LegsClient) -> None:
    status, env, _ = raw("POST", "/_sim/inbound", {"leg_event_endpoint": recorder.endpoint, "custom_param": "in"})
    assert status == 202
    sid = env["response"]["data"]["leg_sid"]
    first = recorder.wait_for(sid, "leg_incoming")[0]
    assert first.event_name == "leg_incoming"
    assert (first.leg.direction, first.leg.state, first.custom_param) == ("inbound", "ringing", "in")
    client.leg_action(sid, "<Flow><Answer/><Say>welcome</Say><Hangup/></Flow>", "ivr")
    events = recorder.wait_for(sid, "leg_terminated")
    assert [e.event_name for e in events] == [
        "leg_incoming",
        "leg_answered",
        "say_started",
        "say_completed",
        "leg_terminated",
    ]
    assert events[-1].terminal_status == "completed"


def test_inbound_unanswered_and_configured_endpoint(recorder: EventRecorder) -> None:
    with running_simulator(
        time_scale=0.01, inbound_endpoint=recorder.endpoint, inbound_event_name="incoming_leg"
    ) as sim:
        import json
        import urllib.request

        req = urllib.request.Request(f"{sim.base_url}/_sim/inbound", data=b"{}", method="POST")
        with urllib.request.urlopen(req) as resp:
            sid = json.loads(resp.read())["response"]["data"]["leg_sid"]
        events = recorder.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["incoming_leg", "leg_terminated"]
        assert events[-1].terminal_status == "no-answer"


def test_inbound_needs_an_endpoint(raw: Raw) -> None:
    status, env, _ = raw("POST", "/_sim/inbound", {})
    assert status == 400 and "SIM_INBOUND_ENDPOINT" in env["response"]["error_data"]["description"]
    status, env, _ = raw("POST", "/_sim/inbound", {"contact_uri": "x"})
    assert status == 400 and env["response"]["error_data"]["invalid_params"][0]["field"] == "contact_uri"


def test_fault_hook_validation(raw: Raw) -> None:
    status, _env, _ = raw("POST", "/_sim/faults", {"status": 200})
    assert status == 400
    status, _, _ = raw("DELETE", "/_sim/faults")
    assert status == 200


def test_python_m_simulator(recorder: EventRecorder) -> None:
    with simulator_process(time_scale=0.01) as url:
        client = LegsClient(base_url=url, **LOCAL_CREDENTIALS)
        sid = client.create_leg(leg_body(recorder, "09163811002", custom_param="proc")).leg_sid
        assert recorder.wait_for(sid, "leg_terminated")[-1].terminal_status == "busy"
    bad = subprocess.run(
        [sys.executable, "-m", "simulator"],
        cwd=ROOT,
        env={"SIM_TIME_SCALE": "fast", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "SIM_TIME_SCALE" in bad.stderr


def test_push_with_a_customer_proto_to_an_endpoint_without_a_port(tmp_path) -> None:
    """SIM_PUSH_PROTO/SIM_PUSH_RPC: the simulator calls the customer's method with the customer's message,
    and a grpc://host endpoint (Exotel's own examples have no port) is called on SIM_PUSH_DEFAULT_PORT."""
    from legs.wire import load_wire
    from tests.support.customer_protos import SHAPES

    shape = SHAPES[2]  # a descriptor set, two methods, lowerCamelCase fields, RFC 3339 timestamps
    path = str(shape.path(tmp_path))
    wire = load_wire(path, shape.rpc)
    with (
        EventRecorder(wire) as rec,
        running_simulator(
            time_scale=0.01, talk_seconds=1, push_proto=path, push_rpc=shape.rpc, push_default_port=rec.port
        ) as sim,
    ):
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        sid = client.create_leg(leg_body(rec, custom_param="byo", leg_event_endpoint="grpc://127.0.0.1")).leg_sid
        events = rec.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
        assert all(e.custom_param == "byo" and e.event_type == "leg_lifecycle_event" for e in events)
        assert sim.wait_idle(10)
        records = client.external_events(sid)
        assert all(r.model_extra["endpoint"] == "grpc://127.0.0.1" for r in records)
        assert all(r.model_extra["reply"] == {"accepted": True, "duplicate": False} for r in records)


def test_an_endpoint_without_a_port_is_called_on_443_by_default() -> None:
    from simulator.push import grpc_target

    assert grpc_target("grpc://events.example.com") == "events.example.com:443"
    assert SimulatorConfig().push_default_port == 443
    with running_simulator(time_scale=0.01, push_timeout=0.2, push_backoff=0.01) as sim:
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        body = {"contact_uri": "09163811005", "exophone": "08030752400", "leg_event_endpoint": "grpc://127.0.0.1"}
        sid = client.create_leg(body).leg_sid
        record = wait_for_records(client, sid)[0]
        assert record.endpoint_response is False and record.model_extra["attempts"] == 3  # nothing listens on 443


def test_simulator_refuses_a_push_proto_it_cannot_use() -> None:
    from tests.support.customer_protos import PROTOS

    env = {"SIM_PORT": "0", "SIM_PUSH_PROTO": str(PROTOS / "no_event_name.proto"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "simulator"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "SIM_PUSH_PROTO" in done.stderr and "event_name" in done.stderr
