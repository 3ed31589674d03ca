"""Bring your own proto: the bridge serves Exotel's (here: customer-shaped) service definition from
``BRIDGE_PROTO``/``BRIDGE_RPC`` without a code change, and the bus sees the same events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from legs.wire import EventWire, event_to_proto, load_wire
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, stub
from tests.support.customer_protos import PROTOS, SHAPES, Shape
from tests.support.samples import ALL_SAMPLES, BRIDGE_CREATED, SEED_LEG_CONNECTING

pytestmark = pytest.mark.component


def _env(stack: AwsStack, shape: Shape, workdir: Path) -> dict[str, str]:
    extra = {"BRIDGE_PROTO": str(shape.path(workdir))}
    if shape.rpc:
        extra["BRIDGE_RPC"] = shape.rpc
    return bridge_env(stack, stack.url, **extra)


def _call(target: str, wire: EventWire, payload: bytes) -> bytes:
    with grpc.insecure_channel(target) as channel:
        method = channel.unary_unary(wire.method_path, request_serializer=None, response_deserializer=None)
        return method(payload, timeout=10)


def _details(stack: AwsStack, count: int) -> dict[str, dict]:
    """Detail by event_sid, without the per-delivery ``bridge`` block (received_at differs by nature)."""
    bodies = stack.receive(stack.subscriber_url, expected=count)
    assert len(bodies) == count
    details = {}
    for body in bodies:
        detail = dict(body["detail"])
        assert detail.pop("bridge")["schema_version"] == "1"
        details[detail["event_sid"]] = {"detail-type": body["detail-type"], "time": body["time"], **detail}
    return details


def test_three_customer_protos_put_the_same_detail_on_the_bus_as_ours(
    stack: AwsStack, start_bridge, tmp_path: Path
) -> None:
    ours = start_bridge(bridge_env(stack, stack.url))
    client = stub(ours.target)
    for sample in ALL_SAMPLES:
        assert client.TriggerCallbackEvent(event_to_proto(sample), timeout=10).accepted
    expected = _details(stack, len(ALL_SAMPLES))
    ours.terminate()

    for shape in SHAPES:
        bridge = start_bridge(_env(stack, shape, tmp_path))
        ready = next(doc for doc in bridge.logs() if doc.get("message") == "bridge ready")
        assert ready["rpc"].startswith(f"/{shape.service}/") and ready["proto"].endswith(shape.path(tmp_path).name)
        wire = load_wire(str(shape.path(tmp_path)), shape.rpc)  # the same definition, as Exotel would encode
        for sample in shape.samples:
            _call(bridge.target, wire, wire.encode(sample))
        got = _details(stack, len(shape.samples))
        assert got == {sid: expected[sid] for sid in got}, shape.name
        assert set(got) == {s["event_sid"] for s in shape.samples}
        assert bridge.terminate() == 0
    # the seed's two events went through every shape
    assert {s["event_sid"] for s in SHAPES[1].samples} >= {SEED_LEG_CONNECTING["event_sid"]}


def test_replies_are_the_methods_own_type_and_extra_fields_reach_the_bus(
    stack: AwsStack, start_bridge, tmp_path: Path
) -> None:
    acme, typed, camel = SHAPES
    bridge = start_bridge(_env(stack, camel, tmp_path))
    wire = load_wire(str(camel.path(tmp_path)), camel.rpc)
    event = {**BRIDGE_CREATED, "event_sid": "with-region-1", "region": "ap-south-1"}
    first = wire.read_reply(_call(bridge.target, wire, wire.encode(event)))
    again = wire.read_reply(_call(bridge.target, wire, wire.encode(event)))  # Exotel retrying a lost reply
    assert first == {"accepted": True, "duplicate": False} and again == {"accepted": True, "duplicate": True}
    (detail,) = _details(stack, 1).values()
    assert detail["region"] == "ap-south-1"  # a field the event model does not know, under its own name
    bridge.terminate()

    bridge = start_bridge(_env(stack, acme, tmp_path))
    wire = load_wire(str(acme.proto))
    assert wire.read_reply(_call(bridge.target, wire, wire.encode(SEED_LEG_CONNECTING))) == {
        "note": "",
        "accepted": True,
    }
    bridge.terminate()

    bridge = start_bridge(_env(stack, typed, tmp_path))
    wire = load_wire(str(typed.proto), typed.rpc)
    assert _call(bridge.target, wire, wire.encode(SEED_LEG_CONNECTING)) == b""  # google.protobuf.Empty
    with pytest.raises(grpc.RpcError) as garbage:
        _call(bridge.target, wire, b"\xff\xfe not a protobuf")
    assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a TriggerCallbackEventRequest protobuf message" in garbage.value.details()
    # our own method is not served alongside: only the customer's
    with pytest.raises(grpc.RpcError) as ours:
        stub(bridge.target).TriggerCallbackEvent(event_to_proto(SEED_LEG_CONNECTING), timeout=10)
    assert ours.value.code() == grpc.StatusCode.UNIMPLEMENTED
    bridge.terminate()


def test_health_and_reflection_describe_the_served_service(stack: AwsStack, start_bridge, tmp_path: Path) -> None:
    shape = SHAPES[2]
    bridge = start_bridge(_env(stack, shape, tmp_path))
    with grpc.insecure_channel(bridge.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", shape.service):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="exotel.legs.v1.LegEventService"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        def ask(**request: str) -> reflection_pb2.ServerReflectionResponse:
            replies = list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(**request)])))
            return replies[0]

        names = {s.name for s in ask(list_services="").list_services_response.service}
        assert names == {shape.service, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
        for symbol in (shape.service, "grpc.health.v1.Health", "vendor.events.v3.Callback"):
            described = ask(file_containing_symbol=symbol)
            assert described.file_descriptor_response.file_descriptor_proto, symbol
        assert ask(file_containing_symbol="exotel.legs.v1.LegEventService").HasField("error_response")


@pytest.mark.parametrize(
    ("proto", "rpc", "named"),
    [
        ("no_event_name.proto", None, "no field event_name"),
        ("camel.proto", None, "2 unary methods"),
        ("camel.proto", "vendor.events.v3.Events/Nope", "no method 'Nope'"),
        ("missing.proto", None, "BRIDGE_PROTO: no readable file"),
        ("broken_syntax", None, "neither a descriptor set nor a .proto protoc can compile"),
    ],
)
def test_a_proto_that_cannot_work_stops_the_start(
    stack: AwsStack, tmp_path: Path, proto: str, rpc: str | None, named: str
) -> None:
    path = PROTOS / proto
    if proto == "broken_syntax":
        path = tmp_path / "broken.txt"
        path.write_text('syntax = "proto3";\nmessage {\n')
    extra = {"BRIDGE_PROTO": str(path), **({"BRIDGE_RPC": rpc} if rpc else {})}
    done = subprocess.run(
        [sys.executable, "-m", "bridge"],
        cwd=ROOT,
        env=bridge_env(stack, stack.url, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "invalid bridge configuration" in done.stderr and "BRIDGE_PROTO" in done.stderr
    assert named in done.stderr
    if proto == "no_event_name.proto":
        assert "broken.v1.Event" in done.stderr  # names the message, and what it has instead
        assert "name" in done.stderr.split("it has:")[1]
