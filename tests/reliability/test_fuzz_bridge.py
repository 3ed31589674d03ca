"""Fuzzing the running bridge: malformed protobuf bytes and extreme field values.

The bridge runs as a subprocess against a moto server (no faults). Properties:
- every call is answered OK or INVALID_ARGUMENT (never INTERNAL/UNKNOWN, never a hang);
- every INVALID_ARGUMENT leaves exactly one record in the dead-letter queue, with a reason;
- every OK'd event is on the bus (the subscriber queue): with a healthy bus, an event that ends
  in the fallback queue is input EventBridge refused, i.e. input the bridge should have rejected;
- the bridge is alive and SERVING afterwards.
Bytes are sent through a raw channel (``unary_unary`` with identity serializers), so the client
never validates them.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from legs.pb import exotel_legs_pb2 as pb
from tests.reliability.conftest import Resources, bridge_env, launch_bridge, size, wait_until
from tests.support.bridge_process import BridgeProcess
from tests.support.moto_server import MotoServer

METHOD = "/exotel.legs.v1.LegEventService/TriggerCallbackEvent"
EXAMPLES = size(150, 2_000)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def target(shared_moto: MotoServer) -> Iterator[tuple[BridgeProcess, Resources]]:
    resources = Resources(shared_moto.url, f"fuzz{uuid.uuid4().hex[:8]}").provision()
    bridge = launch_bridge(bridge_env(resources, shared_moto.url))
    yield bridge, resources
    bridge.kill()


class Caller:
    """A raw channel: bytes in, (status code name, reply bytes) out."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.call = self.channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        self.codes: Counter[str] = Counter()
        self.accepted: set[str] = set()

    def __call__(self, raw: bytes) -> str:
        try:
            self.call(raw, timeout=10)
            code = "OK"
        except grpc.RpcError as exc:
            code = exc.code().name  # type: ignore[attr-defined]
        self.codes[code] += 1
        return code

    def healthy(self) -> bool:
        reply = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def _dead_letters(resources: Resources, expected: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        found.extend(resources.drain(resources.dead_letter_url, quiet_polls=1))
        return len(found) >= expected

    wait_until(enough, timeout=60, interval=0.2)
    found.extend(resources.drain(resources.dead_letter_url, quiet_polls=2))  # any extra
    return found


# ---- strategies --------------------------------------------------------------------------------
def _valid_event(sid: str) -> pb.CallbackEvent:
    message = pb.CallbackEvent(event_sid=sid, event_type="leg_lifecycle_event", event_name="leg_ringing")
    message.event_timestamp.seconds = 1_760_000_000
    message.data.update({"leg_sid": "leg-1", "state": "ringing"})
    return message


def _mutations() -> st.SearchStrategy[bytes]:
    """Valid messages broken in the ways a faulty or hostile sender would break them."""
    base = st.builds(lambda s: _valid_event(f"mut-{s}").SerializeToString(), st.uuids())

    def truncate(data: bytes, cut: int) -> bytes:
        return data[: max(0, min(cut, len(data) - 1))]

    def flip(data: bytes, index: int, value: int) -> bytes:
        i = index % len(data)
        return data[:i] + bytes([value]) + data[i + 1 :]

    return st.one_of(
        st.builds(truncate, base, st.integers(0, 200)),
        st.builds(flip, base, st.integers(0, 500), st.integers(0, 255)),
        st.builds(lambda d, junk: d + junk, base, st.binary(min_size=1, max_size=64)),
    )


RAW_EXAMPLES = [
    b"",  # an empty message: every field missing
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint overflow
    b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 10,  # length prefix far beyond the data
    b"\x0a\x02\xc3\x28",  # event_sid with invalid UTF-8
    b"\x0b",  # start-group wire type (deprecated, unmatched)
    b"\x3a" + b"\x80\x01" + b"\x0a\x7e" * 64,  # nested Struct garbage
    b"\x22\x06\x08\xff\xff\xff\xff\x0f",  # timestamp with a truncated seconds varint
]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _deep_struct(depth: int) -> bytes:
    """A valid event whose ``event_data`` Struct nests ``depth`` levels (protobuf's limit is 100),
    encoded by hand because the library refuses to build what it could not parse."""
    inner = b""
    for _ in range(depth):
        value = b"\x2a" + _varint(len(inner)) + inner  # Value.struct_value
        entry = b"\x0a\x01k" + b"\x12" + _varint(len(value)) + value  # map entry: key "k", value
        inner = b"\x0a" + _varint(len(entry)) + entry  # Struct.fields
    base = _valid_event(f"deep-{depth}-{uuid.uuid4().hex[:6]}").SerializeToString()
    return base + b"\x3a" + _varint(len(inner)) + inner  # CallbackEvent.event_data


def test_malformed_bytes_are_rejected_and_kept(target: tuple[BridgeProcess, Resources]) -> None:
    bridge, resources = target
    caller = Caller(bridge.target)
    before = Counter(caller.codes)

    @SETTINGS
    @given(st.one_of(st.binary(max_size=2048), _mutations()))
    @example(RAW_EXAMPLES[0])
    def check(raw: bytes) -> None:
        code = caller(raw)
        assert code in ("OK", "INVALID_ARGUMENT"), f"{raw[:80]!r} answered {code}"

    check()
    for raw in [*RAW_EXAMPLES, _deep_struct(40), _deep_struct(150), _deep_struct(1000)]:
        assert caller(raw) in ("OK", "INVALID_ARGUMENT"), raw[:80]
    rejected = caller.codes["INVALID_ARGUMENT"] - before["INVALID_ARGUMENT"]
    records = _dead_letters(resources, rejected)
    print(f"\nmalformed bytes: {dict(caller.codes)}; dead letters {len(records)}")
    assert rejected > 0
    assert len(records) == rejected, f"{rejected} rejections but {len(records)} dead-letter records"
    assert all(r.get("reason") for r in records), "every dead-letter record says why"
    assert all(r.get("raw_base64") or r.get("event") for r in records), "every record keeps the input"
    assert bridge.alive() and caller.healthy()


# ---- extreme field values ----------------------------------------------------------------------
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63),
    st.text(max_size=200),
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)


@st.composite
def extreme_events(draw: st.DrawFn) -> pb.CallbackEvent:
    """A valid event in which some fields (each with a fair chance) take extreme values."""
    wild = st.booleans()
    message = pb.CallbackEvent(
        event_sid=draw(st.one_of(st.just(""), st.text(max_size=300))) if draw(wild) else f"x-{draw(st.uuids())}",
        event_type=draw(st.text(max_size=200)) if draw(wild) else "leg_lifecycle_event",
        event_name=draw(st.text(max_size=150))
        if draw(wild)
        else draw(st.sampled_from(["leg_answered", "leg_ringing"])),
        action_sid=draw(st.text(max_size=50)),
        action_custom_parameter=draw(st.text(max_size=500)),
    )
    if draw(wild):
        if draw(st.booleans()):
            message.event_timestamp.seconds = draw(st.integers(-(2**63), 2**63 - 1))
            message.event_timestamp.nanos = draw(st.integers(-(2**31), 2**31 - 1))
    else:
        message.event_timestamp.seconds = draw(st.integers(0, 4_102_444_800))
        message.event_timestamp.nanos = draw(st.integers(0, 999_999_999))
    for field in ("event_data", "data"):
        if draw(st.booleans()):
            values = draw(st.dictionaries(st.text(max_size=30), _json_values, max_size=6))
            getattr(message, field).update(values)
    return message


def test_extreme_field_values(target: tuple[BridgeProcess, Resources]) -> None:
    bridge, resources = target
    caller = Caller(bridge.target)
    accepted: set[str] = set()
    rejected = 0

    @SETTINGS
    @given(extreme_events())
    @example(pb.CallbackEvent(event_sid="no-timestamp", event_type="leg_lifecycle_event", event_name="leg_answered"))
    def check(message: pb.CallbackEvent) -> None:
        nonlocal rejected
        code = caller(message.SerializeToString())
        assert code in ("OK", "INVALID_ARGUMENT"), f"{str(message)[:300]} answered {code}"
        if code == "OK":
            accepted.add(message.event_sid)
        else:
            rejected += 1

    check()
    # sizes around the 256 KiB PutEvents entry limit
    for n in (200 * 1024, 300 * 1024):
        big = _valid_event(f"big-{n}-{uuid.uuid4().hex[:6]}")
        big.data.update({"blob": "x" * n})
        code = caller(big.SerializeToString())
        assert code in ("OK", "INVALID_ARGUMENT")
        if code == "OK":
            accepted.add(big.event_sid)
        else:
            rejected += 1

    records = _dead_letters(resources, rejected)
    on_bus: set[str] = set()
    in_fallback: list[dict[str, Any]] = []

    def delivered() -> bool:
        on_bus.update(b["detail"]["event_sid"] for b in resources.drain(resources.subscriber_url, quiet_polls=1))
        in_fallback.extend(resources.drain(resources.fallback_url, quiet_polls=1))
        return accepted <= on_bus | {json.loads(b["Detail"])["event_sid"] for b in in_fallback}

    wait_until(delivered, timeout=60, interval=0.3)
    print(
        f"\nextreme values: {dict(caller.codes)}; accepted {len(accepted)}, on the bus {len(accepted & on_bus)}, "
        f"in the fallback queue {len(in_fallback)}, dead letters {len(records)}"
    )
    assert len(records) == rejected, f"{rejected} rejections but {len(records)} dead-letter records"
    refused_by_bus = [
        (b.get("_attributes", {}).get("spill_reason"), json.loads(b["Detail"])["event_sid"][:40]) for b in in_fallback
    ]
    assert not refused_by_bus, (
        f"accepted (OK) but refused by EventBridge, so they went to the fallback queue: {refused_by_bus[:5]}"
    )
    missing = accepted - on_bus
    assert not missing, f"{len(missing)} accepted events are not on the bus: {sorted(missing)[:5]}"
    assert bridge.alive() and caller.healthy()
