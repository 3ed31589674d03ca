"""The one place that knows the gRPC message: protobuf ``CallbackEvent`` <-> :class:`LegEvent`.

Swapping in Exotel's private ``.proto`` means changing this module and ``protos/`` only.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf import struct_pb2

from legs.events import LegEvent
from legs.json_types import JsonObject, JsonValue
from legs.pb import exotel_legs_pb2 as pb

_SCALAR_FIELDS = ("event_sid", "event_type", "event_name", "action_sid", "action_custom_parameter")


def _value_to_python(value: struct_pb2.Value) -> JsonValue:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        # Struct carries every number as a double; give integers back their type.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value_to_python(item) for item in value.list_value.values]
    return None


def struct_to_dict(struct: struct_pb2.Struct) -> JsonObject:
    return {key: _value_to_python(item) for key, item in struct.fields.items()}


def event_dict_from_proto(message: pb.CallbackEvent) -> JsonObject:
    """The event as Exotel's JSON (unvalidated): what gets kept when validation fails."""
    raw: JsonObject = {name: getattr(message, name) for name in _SCALAR_FIELDS}
    for optional in ("action_sid", "action_custom_parameter"):
        if not raw[optional]:
            raw.pop(optional)
    if message.HasField("event_timestamp"):
        raw["event_timestamp"] = {
            "seconds": message.event_timestamp.seconds,
            "nanos": message.event_timestamp.nanos,
        }
    if message.HasField("event_data"):
        raw["event_data"] = struct_to_dict(message.event_data)
    if message.HasField("data"):
        raw["data"] = struct_to_dict(message.data)
    return raw


def event_from_proto(message: pb.CallbackEvent) -> LegEvent:
    """Validate a pushed message into a :class:`LegEvent` (raises ``pydantic.ValidationError``)."""
    return LegEvent.model_validate(event_dict_from_proto(message))


def event_to_proto(event: LegEvent | Mapping[str, object]) -> pb.CallbackEvent:
    """Build the message Exotel would send (used by the simulator, tests and benchmarks)."""
    model = event if isinstance(event, LegEvent) else LegEvent.model_validate(event)
    message = pb.CallbackEvent(
        event_sid=model.event_sid,
        event_type=model.event_type,
        event_name=model.event_name,
        action_sid=model.action_sid or "",
        action_custom_parameter=model.action_custom_parameter or "",
    )
    message.event_timestamp.seconds = model.event_timestamp.seconds
    message.event_timestamp.nanos = model.event_timestamp.nanos
    dumped = model.model_dump(mode="json", exclude_unset=True)
    if dumped.get("event_data") is not None:
        message.event_data.update(dumped["event_data"])
    if dumped.get("data") is not None:
        message.data.update(dumped["data"])
    return message
