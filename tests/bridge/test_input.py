"""Rejected input (INVALID_ARGUMENT + dead-letter record), authentication, configuration errors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import grpc
import pytest

from contract.bus import DEFAULT_SOURCE
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, make_event, stub

pytestmark = pytest.mark.component

METHOD = "/exotel.legs.v1.LegEventService/TriggerCallbackEvent"


def raw_call(target: str, payload: bytes, metadata: list[tuple[str, str]] | None = None) -> bytes:
    """Send arbitrary bytes as the request (what a broken or foreign client could do)."""
    channel = grpc.insecure_channel(target)
    call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
    return call(payload, timeout=10, metadata=metadata)


def test_invalid_events_are_rejected_with_reason_and_dead_lettered(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url))
    client = stub(bridge.target)

    no_sid = make_event(1)
    no_sid.event_sid = ""
    bad_name = make_event(2)
    bad_name.event_name = "leg answered!"
    no_time = make_event(3)
    no_time.ClearField("event_timestamp")
    oversized = make_event(4)
    oversized.data["custom_param"] = "x" * (300 * 1024)
    cases = {
        no_sid.event_sid or "(empty)": (no_sid, "event_sid"),
        bad_name.event_sid: (bad_name, "event_name"),
        no_time.event_sid: (no_time, "event_timestamp"),
        oversized.event_sid: (oversized, "too large"),
    }
    for message, expected in cases.values():
        with pytest.raises(grpc.RpcError) as rejected:
            client.TriggerCallbackEvent(message, timeout=10)
        assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert expected in rejected.value.details()

    with pytest.raises(grpc.RpcError) as garbage:
        raw_call(bridge.target, b"\xff\xfe not a protobuf")
    assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a CallbackEvent" in garbage.value.details()

    records = stack.receive(stack.dead_letter_url, expected=5)
    assert len(records) == 5
    by_reason = {r["reason"]: r for r in records}
    assert all(r["reason"] and r["received_at"].endswith("Z") and r["peer"] for r in records)
    named = {r["event_sid"]: r for r in records if r["event_sid"]}
    assert named[bad_name.event_sid]["event"]["event_name"] == "leg answered!"
    assert "event_name" in named[bad_name.event_sid]["reason"]
    assert named[no_time.event_sid]["event"]["data"]["leg_sid"] == no_time.data["leg_sid"]
    big = named[oversized.event_sid]
    assert big["event"] is None and big["truncated"] is True and big["raw_size"] > 300 * 1024
    assert oversized.SerializeToString().startswith(base64.b64decode(big["raw_base64"]))
    undecodable = next(r for reason, r in by_reason.items() if "not a CallbackEvent" in reason)
    assert base64.b64decode(undecodable["raw_base64"]) == b"\xff\xfe not a protobuf"
    assert undecodable["event"] is None
    empty_sid = next(r for r in records if r["event"] and r["event"]["event_sid"] == "")
    assert "event_sid" in empty_sid["reason"]
    # Nothing rejected reached the bus.
    assert stack.receive(stack.subscriber_url, expected=0, settle=0.5) == []


def test_invalid_input_without_a_dead_letter_queue_is_still_rejected_and_logged(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url, DEAD_LETTER_QUEUE_URL="http://127.0.0.1:9/nowhere/dlq"))
    message = make_event(1)
    message.event_type = ""
    with pytest.raises(grpc.RpcError) as rejected:
        stub(bridge.target).TriggerCallbackEvent(message, timeout=15)
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bridge.terminate() == 0
    loud = [doc for doc in bridge.logs() if "NOT kept" in str(doc.get("message"))]
    assert loud and loud[0]["level"] == "ERROR" and "event_type" in loud[0]["reason"]


def test_token_is_required_when_configured(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_AUTH_TOKEN="s3cret-token"))
    client = stub(bridge.target)
    for metadata in (None, [("authorization", "Bearer wrong")], [("authorization", "s3cret-token")]):
        with pytest.raises(grpc.RpcError) as denied:
            client.TriggerCallbackEvent(make_event(1), timeout=10, metadata=metadata)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as garbage:
        raw_call(bridge.target, b"\x00junk")  # unauthenticated junk is refused before anything else
    assert garbage.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert stack.receive(stack.dead_letter_url, expected=0, settle=0.2) == []

    message = make_event(2)
    reply = client.TriggerCallbackEvent(message, timeout=10, metadata=[("authorization", "Bearer s3cret-token")])
    assert reply.accepted
    received = stack.receive(stack.subscriber_url, expected=1, settle=0.5)
    assert [b["detail"]["event_sid"] for b in received] == [message.event_sid]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BRIDGE_PORT": "99999"}, "BRIDGE_PORT"),
        ({"BRIDGE_BATCH_MAX_ENTRIES": "11"}, "BRIDGE_BATCH_MAX_ENTRIES"),
        ({"BRIDGE_TLS_CERT_FILE": "/nonexistent.pem"}, "BRIDGE_TLS_KEY_FILE"),
        ({"FALLBACK_QUEUE_URL": "sqs://nope"}, "FALLBACK_QUEUE_URL"),
        ({"BRIDGE_LINGER_MS": "soon"}, "BRIDGE_LINGER_MS"),
        ({"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL"),
        ({"AWS_REGION": "Mumbai, India"}, "AWS_REGION"),
        ({"BRIDGE_AUTH_TOKEN": "s3cret", "BRIDGE_TLS_CLIENT_CA_FILE": "/ca.pem"}, "BRIDGE_TLS_CLIENT_CA_FILE"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(stack: AwsStack, env: dict[str, str], named: str) -> None:
    done = _run_bridge(bridge_env(stack, stack.url, **env))
    assert done.returncode == 2
    assert "invalid bridge configuration" in done.stderr and f"{named}" in done.stderr
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


def test_no_region_anywhere_exits_2_before_serving(stack: AwsStack) -> None:
    """The one setting without a default (the SDK needs a region): missing, the bridge stops at start."""
    env = bridge_env(stack, stack.url, AWS_REGION="", AWS_DEFAULT_REGION=" ", AWS_CONFIG_FILE="/nonexistent")
    env.pop("AWS_ENDPOINT_URL")  # with an endpoint of its own, botocore makes do without a region
    done = _run_bridge(env)
    assert done.returncode == 2
    assert "invalid bridge configuration" in done.stderr and "AWS_REGION: " in done.stderr


def test_every_configuration_problem_gets_its_own_line(stack: AwsStack) -> None:
    env = bridge_env(stack, stack.url, BRIDGE_PORT="-1", BRIDGE_MAX_IN_FLIGHT="many", DEAD_LETTER_QUEUE_URL="q")
    done = _run_bridge(env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "invalid bridge configuration:"
    named = sorted(line.split(":")[0].strip() for line in lines[1:])
    assert named == ["BRIDGE_MAX_IN_FLIGHT", "BRIDGE_PORT", "DEAD_LETTER_QUEUE_URL"]


def test_empty_values_count_as_unset(stack: AwsStack, start_bridge) -> None:
    """A blank variable (as a template leaves it) means the default, not an error or an empty setting."""
    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_LINGER_MS="", BRIDGE_AUTH_TOKEN=" ", EVENT_SOURCE=""))
    reply = stub(bridge.target).TriggerCallbackEvent(make_event(1), timeout=10)  # no token needed
    assert reply.accepted
    received = stack.receive(stack.subscriber_url, expected=1, settle=0.5)
    assert [body["source"] for body in received] == [DEFAULT_SOURCE]


def _run_bridge(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_ready_line_is_json_with_the_port(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url))
    ready = next(json.loads(line) for line in bridge.lines if "bridge ready" in line)
    assert ready["port"] == bridge.port > 0 and ready["level"] == "INFO" and ready["service"] == "bridge"
