"""The one place that knows the gRPC message: request bytes <-> Exotel's event JSON <-> :class:`LegEvent`.

:class:`EventWire` is compiled once from a request descriptor (ours, ``protos/exotel_legs.proto``, or
the customer's own, see :mod:`legs.proto_service`) and maps fields onto the event model **by name**:

- ``event_sid``, ``event_name`` (required), ``event_type``, ``action_sid``, ``action_custom_parameter``:
  strings. A request without ``event_type`` gets it from the event catalogue; one without
  ``event_timestamp`` gets the time it was decoded.
- ``event_timestamp``: ``google.protobuf.Timestamp``, any message with ``seconds``/``nanos``, or an
  RFC 3339 string.
- ``event_data``, ``data``: ``google.protobuf.Struct`` or a typed message (its fields by their own names).
- Any other field is kept under its own name (it ends up in the bus ``Detail``).

Names match as declared or in lowerCamelCase (``eventSid``). Per message the work is one C-level
parse, ``ListFields()`` and a dict lookup per present field: no descriptor lookups at run time. A
scalar that proto3 cannot tell from "unset" (``0``, ``""``, ``false`` without ``optional``) is left
out, as protobuf's own JSON mapping does.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, TypeAlias

from google.protobuf import json_format, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from contract.catalogue import event_type_for
from legs.events import LegEvent, rfc3339_nanos
from legs.json_types import JsonObject, JsonValue
from legs.pb import exotel_legs_pb2 as pb
from legs.proto_service import EventService, ProtoError, builtin_service

#: Fields every request must have (the bridge refuses to start without them).
REQUIRED_FIELDS = ("event_sid", "event_name")
#: Fields that are strings in Exotel's JSON.
STRING_FIELDS = ("event_sid", "event_type", "event_name", "action_sid", "action_custom_parameter")
#: Fields that are objects in Exotel's JSON.
OBJECT_FIELDS = ("event_data", "data")
TIMESTAMP_FIELD = "event_timestamp"
KNOWN_FIELDS = (*STRING_FIELDS, TIMESTAMP_FIELD, *OBJECT_FIELDS)

_TIMESTAMP = "google.protobuf.Timestamp"
_STRUCT = "google.protobuf.Struct"
_VALUE = "google.protobuf.Value"
_LIST_VALUE = "google.protobuf.ListValue"
_WRAPPERS = frozenset(
    f"google.protobuf.{kind}Value"
    for kind in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
#: Turns one field's value, as ``Message.ListFields()`` gives it, into JSON-like Python. protobuf types those
#: values per field at run time (str, int, float, bool, bytes, a message, a repeated or map container), so the
#: table of converters can only say "one value in"; each converter below is typed for the values of its field.
_Convert: TypeAlias = Callable[..., object]
#: The event as decoded, not yet validated: the request's field names (mapped onto the event's) and their
#: values as JSON-like Python (a map field keeps protobuf's key type, so not every value is strict JSON).
EventDict: TypeAlias = dict[str, object]


class _SecondsNanos(Protocol):
    """``google.protobuf.Timestamp``, or any message with ``seconds`` and ``nanos``."""

    @property
    def seconds(self) -> int: ...
    @property
    def nanos(self) -> int: ...


class _Wrapper(Protocol):
    """``google.protobuf.*Value``: one ``value`` field."""

    @property
    def value(self) -> object: ...


class _BytesWrapper(Protocol):
    """``google.protobuf.BytesValue``."""

    @property
    def value(self) -> bytes: ...


_STRUCT_NAME = struct_pb2.Struct.DESCRIPTOR.full_name
#: 2**53: a double at or above it may not be the integer it reads as
_EXACT_INTEGERS = 9_007_199_254_740_992


# ---- protobuf values -> JSON-like Python ---------------------------------------------------------
def _value_to_python(value: struct_pb2.Value) -> JsonValue:
    # ListFields() gives the one set member and its value in a single C call, and the value's own type says
    # which member it is (the bridge's hot path: faster than WhichOneof() and an attribute read, and than
    # comparing field numbers). A null_value reads as the int 0 of its enum; a message is a Struct or a list.
    present = value.ListFields()
    if not present:
        return None
    item = present[0][1]
    kind = type(item)
    if kind is str or kind is bool:
        return item  # type: ignore[no-any-return]  # ListFields() is untyped: str or bool here
    if kind is float:
        # Struct carries every number as a double; give integers back their type.
        return int(item) if item.is_integer() and abs(item) < _EXACT_INTEGERS else item
    if kind is int:
        return None  # null_value
    # a Struct or a ListValue: by name, since a customer's descriptor pool (BRIDGE_PROTO) has classes of its own
    if item.DESCRIPTOR.full_name == _STRUCT_NAME:
        return struct_to_dict(item)
    return [_value_to_python(element) for element in item.values]


def struct_to_dict(struct: struct_pb2.Struct) -> JsonObject:
    fields = struct.fields
    out: JsonObject = {}
    for key in fields:
        value = fields[key]
        # Most members are strings: one attribute read settles those (a non-empty string_value is the set member:
        # an unset oneof member reads as ""). Anything else, the empty string included, goes the general way.
        # Half the CPU of asking ListFields() first (tests/legs/test_wire.py covers every kind).
        if item := value.string_value:
            out[key] = item
        else:
            out[key] = _value_to_python(value)
    return out


def _list_value(values: struct_pb2.ListValue) -> list[JsonValue]:
    return [_value_to_python(item) for item in values.values]


def _timestamp_pair(value: _SecondsNanos) -> dict[str, int]:
    return {"seconds": value.seconds, "nanos": value.nanos}


def _timestamp_text(value: _SecondsNanos) -> str:
    return rfc3339_nanos(value.seconds, value.nanos)


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _as_json(message: Message) -> EventDict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _wrapped_bytes(wrapped: _BytesWrapper) -> str:
    return _bytes(wrapped.value)


def _wrapped(wrapped: _Wrapper) -> object:
    return wrapped.value


class _Compiler:
    """Builds one converter per message type (cached, so recursive types work)."""

    def __init__(self) -> None:
        self._messages: dict[str, _Convert] = {}

    def message(self, descriptor: Descriptor) -> _Convert:
        name = descriptor.full_name
        if name == _STRUCT:
            return struct_to_dict
        if name == _VALUE:
            return _value_to_python
        if name == _LIST_VALUE:
            return _list_value
        if name == _TIMESTAMP:
            return _timestamp_text
        if name == "google.protobuf.BytesValue":
            return _wrapped_bytes
        if name in _WRAPPERS:
            return _wrapped
        if name.startswith("google.protobuf."):
            return _as_json
        known = self._messages.get(name)
        if known is not None:
            return known
        steps: dict[int, tuple[str, _Convert | None]] = {}

        def convert(message: Message) -> EventDict:
            out: EventDict = {}
            for field, value in message.ListFields():
                step = steps.get(field.number)
                if step is None:  # an extension: not part of the declared type
                    continue
                out[step[0]] = value if step[1] is None else step[1](value)
            return out

        self._messages[name] = convert
        for field in descriptor.fields:
            steps[field.number] = (field.name, self.field(field))
        return convert

    def field(self, field: FieldDescriptor) -> _Convert | None:
        """The converter of one field's value as ``ListFields`` returns it (None: keep it as is)."""
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            each_value = self.single(value_field)
            if each_value is None:
                return dict
            convert_value = each_value

            def map_of(mapping: Mapping[object, object]) -> dict[object, object]:
                return {key: convert_value(item) for key, item in mapping.items()}

            return map_of
        single = self.single(field)
        if _is_repeated(field):
            if single is None:
                return list
            convert_item = single

            def list_of(items: Iterable[object]) -> list[object]:
                return [convert_item(item) for item in items]

            return list_of
        return single

    def single(self, field: FieldDescriptor) -> _Convert | None:
        if field.message_type is not None:
            return self.message(field.message_type)
        if field.enum_type is not None:
            names = {value.number: value.name for value in field.enum_type.values}

            def enum_name(number: int) -> str | int:
                return names.get(number, number)

            return enum_name
        if field.type == FieldDescriptor.TYPE_BYTES:
            return _bytes
        return None


def _is_repeated(field: object) -> bool:
    """A field descriptor (protobuf's Python one or its upb one) of a repeated field."""
    # ``is_repeated`` in newer protobuf, ``label`` in older: looked up by name, whichever this protobuf has.
    repeated: object = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    label: object = getattr(field, "label", None)
    return label == FieldDescriptor.LABEL_REPEATED


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def _kind(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return field.message_type.full_name
    return {
        FieldDescriptor.TYPE_STRING: "string",
        FieldDescriptor.TYPE_BYTES: "bytes",
        FieldDescriptor.TYPE_BOOL: "bool",
        FieldDescriptor.TYPE_ENUM: "enum",
    }.get(field.type, "number")


class EventWire:
    """Request bytes <-> event dict for one service; replies in the method's own response type."""

    def __init__(self, service: EventService) -> None:
        self.service = service
        request = service.method.input_type
        self._parse = service.request_class.FromString
        compiler = _Compiler()
        by_key: dict[str, FieldDescriptor] = {}
        for field in request.fields:
            key = _key(field.name)
            if key in {_key(k) for k in KNOWN_FIELDS} and key in by_key:
                raise ProtoError(
                    f"{request.full_name}: fields {by_key[key].name!r} and {field.name!r} both map to one event field"
                )
            by_key[key] = field
        #: event field name -> the request field that carries it
        self.fields: dict[str, FieldDescriptor] = {
            name: by_key[_key(name)] for name in KNOWN_FIELDS if _key(name) in by_key
        }
        missing = [name for name in REQUIRED_FIELDS if name not in self.fields]
        if missing:
            present = ", ".join(f.name for f in request.fields) or "none"
            raise ProtoError(
                f"request message {request.full_name} has no field {' or '.join(missing)} "
                f"(it has: {present}); the bridge maps fields onto Exotel's events by name"
            )
        for name in STRING_FIELDS:
            carrier = self.fields.get(name)
            if carrier is not None and (_kind(carrier) != "string" or _is_repeated(carrier)):
                raise ProtoError(f"{request.full_name}.{carrier.name} must be a string field, it is {_kind(carrier)}")
        self._always: tuple[tuple[str, str], ...] = tuple(
            (self.fields[name].name, name) for name in ("event_sid", "event_type", "event_name") if name in self.fields
        )
        always = {self.fields[name].number for name in ("event_sid", "event_type", "event_name") if name in self.fields}
        steps: dict[int, tuple[str, _Convert | None]] = {}
        timestamp = self.fields.get(TIMESTAMP_FIELD)
        for field in request.fields:
            if field.number in always:
                continue
            name = next((known for known, f in self.fields.items() if f.number == field.number), field.name)
            if timestamp is not None and field.number == timestamp.number:
                steps[field.number] = (name, self._timestamp_converter(field, request))
            elif name in OBJECT_FIELDS:
                if field.message_type is None or _is_repeated(field):
                    raise ProtoError(
                        f"{request.full_name}.{field.name} must be google.protobuf.Struct or a message, "
                        f"it is {_kind(field)}"
                    )
                steps[field.number] = (name, compiler.field(field))
            else:
                steps[field.number] = (name, compiler.field(field))
        self._steps = steps
        self._derive_type = "event_type" not in self.fields
        self._stamp_now = timestamp is None
        self._builtin = service.request_class is pb.CallbackEvent
        self.accepted_reply = self._reply(accepted=True, duplicate=False)
        self.duplicate_reply = self._reply(accepted=True, duplicate=True)

    # ---- what it serves ------------------------------------------------------------------------
    @property
    def service_name(self) -> str:
        return self.service.service_name

    @property
    def method_name(self) -> str:
        return self.service.method_name

    @property
    def method_path(self) -> str:
        return self.service.method_path

    @property
    def request_name(self) -> str:
        """The request message's short name (``CallbackEvent``): what error messages say was expected."""
        return self.service.method.input_type.name

    @property
    def derived(self) -> list[str]:
        """Event fields this request type does not carry and that are filled in (for a start-up log line)."""
        return [name for name, on in (("event_type", self._derive_type), (TIMESTAMP_FIELD, self._stamp_now)) if on]

    # ---- decoding (the bridge's hot path) ------------------------------------------------------
    def decode(self, raw: bytes) -> EventDict:
        """The event as Exotel's JSON, unvalidated; raises ``google.protobuf.message.DecodeError``."""
        return self.to_event(self._parse(raw))

    def to_event(self, message: Message) -> EventDict:
        event: EventDict = {name: getattr(message, attr) for attr, name in self._always}
        steps = self._steps
        for field, value in message.ListFields():
            step = steps.get(field.number)
            if step is not None:
                event[step[0]] = value if step[1] is None else step[1](value)
        if self._derive_type:
            event_name = event.get("event_name")  # a string field (checked when the wire was built)
            event["event_type"] = event_type_for(event_name if isinstance(event_name, str) else "")
        if self._stamp_now:
            seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
            event[TIMESTAMP_FIELD] = {"seconds": seconds, "nanos": nanos}
        return event

    def event(self, raw: bytes) -> LegEvent:
        """Decode and validate (raises ``DecodeError`` or ``pydantic.ValidationError``)."""
        return LegEvent.model_validate(self.decode(raw))

    # ---- encoding (the simulator, tests, benchmarks) -------------------------------------------
    def to_message(self, event: LegEvent | Mapping[str, object]) -> Message:
        """The request Exotel would send for ``event`` (validated first)."""
        model = event if isinstance(event, LegEvent) else LegEvent.model_validate(event)
        if self._builtin:
            return event_to_proto(model)
        dumped = model.model_dump(mode="json", exclude_unset=True, exclude={"bridge"})
        payload: JsonObject = {}
        for name, value in dumped.items():
            field = self.fields.get(name)
            if field is None:
                field = self.service.method.input_type.fields_by_name.get(name)
            if field is None or value is None:
                continue
            payload[field.name] = self._timestamp_value(field, model) if name == TIMESTAMP_FIELD else value
        message = self.service.request_class()
        try:
            json_format.ParseDict(payload, message, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise ValueError(f"event does not fit {self.service.request_name}: {exc}") from exc
        return message

    def encode(self, event: LegEvent | Mapping[str, object]) -> bytes:
        return self.to_message(event).SerializeToString()

    # ---- replies -------------------------------------------------------------------------------
    def _reply(self, *, accepted: bool, duplicate: bool) -> bytes:
        """The response type with ``accepted``/``duplicate`` set where it has such bool fields (else empty)."""
        message = self.service.response_class()
        fields = message.DESCRIPTOR.fields_by_name
        for name, value in (("accepted", accepted), ("duplicate", duplicate)):
            field = fields.get(name)
            if field is not None and field.type == FieldDescriptor.TYPE_BOOL and not _is_repeated(field):
                setattr(message, name, value)
        return message.SerializeToString()

    def read_reply(self, raw: bytes) -> dict[str, object]:
        """A reply as JSON (every declared field shown): what the simulator records per delivery."""
        message = self.service.response_class.FromString(raw)
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    # ---- compile-time helpers ------------------------------------------------------------------
    @staticmethod
    def _timestamp_converter(field: FieldDescriptor, request: Descriptor) -> _Convert:
        if _is_repeated(field):
            raise ProtoError(f"{request.full_name}.{field.name} must not be repeated")
        if field.message_type is not None:
            names = field.message_type.fields_by_name
            if field.message_type.full_name == _TIMESTAMP or ("seconds" in names and "nanos" in names):
                return _timestamp_pair
        elif field.type == FieldDescriptor.TYPE_STRING:
            return str
        raise ProtoError(
            f"{request.full_name}.{field.name} must be google.protobuf.Timestamp, a message with seconds and "
            f"nanos, or an RFC 3339 string; it is {_kind(field)}"
        )

    @staticmethod
    def _timestamp_value(field: FieldDescriptor, model: LegEvent) -> JsonValue:
        stamp = model.event_timestamp
        if field.message_type is not None and field.message_type.full_name != _TIMESTAMP:
            return {"seconds": stamp.seconds, "nanos": stamp.nanos}
        return stamp.rfc3339()


# ---- the built-in proto (protos/exotel_legs.proto) ----------------------------------------------
_BUILTIN: EventWire | None = None


def builtin_wire() -> EventWire:
    """The codec of ``exotel.legs.v1.LegEventService/TriggerCallbackEvent`` (built once)."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = EventWire(builtin_service())
    return _BUILTIN


def load_wire(proto: str | None, rpc: str | None = None) -> EventWire:
    """The customer's service when ``proto`` is given, else ours; raises :class:`ProtoError`."""
    if not proto:
        if rpc:
            raise ProtoError("an rpc was named without a proto file to find it in")
        return builtin_wire()
    from legs.proto_service import load_service

    return EventWire(load_service(proto, rpc))


def event_dict_from_proto(message: pb.CallbackEvent) -> EventDict:
    """The event as Exotel's JSON (unvalidated): what gets kept when validation fails."""
    return builtin_wire().to_event(message)


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
