"""legs/wire.py + legs/proto_service.py on definitions written here: how fields map, and what refuses to load."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

from legs.events import LegEvent
from legs.proto_service import ProtoError, load_service
from legs.wire import EventWire, builtin_wire, load_wire, struct_to_dict
from tests.support.customer_protos import descriptor_set
from tests.support.samples import LEG_TERMINATED, SEED_LEG_CONNECTING

HEADER = 'syntax = "proto3";\npackage t.v1;\n'


def _proto(tmp_path: Path, body: str, name: str = "svc.proto") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def test_typed_messages_enums_bytes_maps_and_repeated_fields_become_json(tmp_path: Path) -> None:
    path = _proto(
        tmp_path,
        """
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
enum Kind { KIND_UNSET = 0; PSTN = 1; VOIP = 2; }
message Leg {
  string leg_sid = 1; Kind network = 2; bytes token = 3; repeated string tags = 4;
  map<string, int32> counters = 5; google.protobuf.Timestamp date_created = 6;
  google.protobuf.StringValue note = 7; Leg parent = 8;
}
message Ev {
  string event_sid = 1; string event_name = 2; string event_type = 3; int64 event_timestamp_unused = 9;
  google.protobuf.Timestamp event_timestamp = 4; Leg data = 5; repeated int32 priorities = 6;
}
message Ack { bool accepted = 1; }
service S { rpc Push(Ev) returns (Ack); }
""",
    )
    wire = load_wire(str(path))
    message = wire.service.request_class()
    message.event_sid, message.event_name, message.event_type = "e1", "leg_ringing", "leg_lifecycle_event"
    message.event_timestamp.seconds, message.event_timestamp.nanos = 1_700_000_000, 5
    message.data.leg_sid = "L1"
    message.data.network = 2
    message.data.token = b"\x00\xff"
    message.data.tags.extend(["a", "b"])
    message.data.counters["x"] = 3
    message.data.date_created.seconds = 1_700_000_000
    message.data.note.value = "hi"
    message.data.parent.leg_sid = "L0"
    message.priorities.extend([1, 2])
    event = wire.decode(message.SerializeToString())
    assert event == {
        "event_sid": "e1",
        "event_type": "leg_lifecycle_event",
        "event_name": "leg_ringing",
        "event_timestamp": {"seconds": 1_700_000_000, "nanos": 5},
        "data": {
            "leg_sid": "L1",
            "network": "VOIP",
            "token": base64.b64encode(b"\x00\xff").decode(),
            "tags": ["a", "b"],
            "counters": {"x": 3},
            "date_created": "2023-11-14T22:13:20.000000000Z",
            "note": "hi",
            "parent": {"leg_sid": "L0"},
        },
        "priorities": [1, 2],  # not an event field: kept under its own name
    }
    assert LegEvent.model_validate(event).to_detail()["priorities"] == [1, 2]
    assert wire.accepted_reply == b"\x08\x01" and wire.duplicate_reply == b"\x08\x01"  # no duplicate field


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("message Ev { string event_sid = 1; }", "has no field event_name"),
        ("message Ev { string event_name = 1; }", "has no field event_sid"),
        ("message Ev { string event_sid = 1; string event_name = 2; int64 event_timestamp = 3; }", "RFC 3339"),
        ("message Ev { int64 event_sid = 1; string event_name = 2; }", "event_sid must be a string field"),
        ("message Ev { string event_sid = 1; string event_name = 2; string data = 3; }", "data must be"),
        ("message Ev { string event_sid = 1; string EventSid = 2; string event_name = 3; }", "both map"),
    ],
)
def test_a_request_type_that_cannot_carry_events_is_refused_with_the_reason(
    tmp_path: Path, body: str, reason: str
) -> None:
    path = _proto(tmp_path, body + "\nmessage Ack {}\nservice S { rpc Push(Ev) returns (Ack); }\n")
    with pytest.raises(ProtoError, match=reason):
        load_wire(str(path))


def test_methods_are_found_by_name_in_every_spelling(tmp_path: Path) -> None:
    path = _proto(
        tmp_path,
        """
message Ev { string event_sid = 1; string event_name = 2; }
message Ack {}
service A { rpc One(Ev) returns (Ack); rpc Stream(stream Ev) returns (Ack); }
service B { rpc Two(Ev) returns (Ack); }
""",
    )
    for rpc in ("t.v1.B/Two", "/t.v1.B/Two", "t.v1.B.Two"):
        assert load_service(path, rpc).method_path == "/t.v1.B/Two"
    for rpc, reason in [
        (None, "2 unary methods"),
        ("t.v1.C/Two", "no service 't.v1.C'"),
        ("t.v1.A/Three", "no method 'Three'"),
        ("t.v1.A/Stream", "streaming"),
    ]:
        with pytest.raises(ProtoError, match=reason):
            load_service(path, rpc)
    with pytest.raises(ProtoError, match="without a proto"):
        load_wire(None, "t.v1.B/Two")


def test_a_descriptor_set_without_its_imports_still_loads_the_well_known_types(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _proto(
        tmp_path,
        """
import "google/protobuf/struct.proto";
import "google/protobuf/empty.proto";
message Ev { string event_sid = 1; string event_name = 2; string event_type = 3; google.protobuf.Struct data = 4; }
service S { rpc Push(Ev) returns (google.protobuf.Empty); }
""",
    )
    bare = tmp_path / "bare.pb"  # made without --include_imports
    done = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp_path}", f"--descriptor_set_out={bare}", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wire = load_wire(str(bare))
    event = {**SEED_LEG_CONNECTING}
    assert LegEvent.model_validate(wire.decode(wire.encode(event))).data.leg_sid == event["data"]["leg_sid"]
    assert wire.accepted_reply == b""
    full = descriptor_set(path, tmp_path / "full.pb")
    assert load_wire(str(full)).method_path == "/t.v1.S/Push"


def test_files_that_are_not_definitions_are_refused(tmp_path: Path) -> None:
    for content, reason in [(b"", "is empty"), (b"syntax = 'proto3'; message {", "protoc can compile")]:
        path = tmp_path / "x.bin"
        path.write_bytes(content)
        with pytest.raises(ProtoError, match=reason):
            load_service(path)
    with pytest.raises(ProtoError, match="cannot read"):
        load_service(tmp_path / "absent.proto")


def test_the_builtin_wire_is_the_committed_proto() -> None:
    wire = builtin_wire()
    assert wire.method_path == "/exotel.legs.v1.LegEventService/TriggerCallbackEvent"
    assert wire.derived == [] and wire.request_name == "CallbackEvent"
    assert wire.read_reply(wire.duplicate_reply) == {"accepted": True, "duplicate": True}
    assert isinstance(wire, EventWire) and load_wire(None) is wire
    raw = wire.encode(LEG_TERMINATED)
    assert wire.event(raw).to_detail() == LegEvent.model_validate(LEG_TERMINATED).to_detail()


def test_struct_values_become_json_with_their_types() -> None:
    """Every ``google.protobuf.Value`` member: strings, booleans, integral doubles as ints (below 2**53), other
    doubles, null, nested structs and lists (the hot path tells them apart by the value's type)."""
    values = {
        "text": "ü→x",
        "blank": "",
        "zero": 0,
        "yes": True,
        "no": False,
        "count": 14400,
        "ratio": 0.25,
        "huge": float(2**53),
        "nothing": None,
        "nested": {"a": {"b": [1, "two", None, False, {"c": 3.5}]}},
        "empty": {},
        "list": [],
    }
    struct = struct_pb2.Struct()
    struct.update(values)
    converted = struct_to_dict(struct)
    assert converted == values
    assert type(converted["count"]) is int and type(converted["huge"]) is float and type(converted["yes"]) is bool
    assert converted["blank"] == "" and type(converted["zero"]) is int  # an empty string is a string, not unset
