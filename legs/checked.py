"""``LegEvent``'s rules applied to a plain dict: the bridge's hot path, without a model built and dumped again.

The bridge needs an event's Detail (JSON) and four of its values, not a ``LegEvent``. Validating into the
model and dumping it back (``LegEvent.to_detail``) cost about 11 µs of the 28 the bridge spends per event in
``legs`` (warm; two to three times that in place). This module validates the same dict with ``TypedDict``
twins of the event's models, which pydantic-core checks with the same validators and hands back as a dict
that already is the Detail: about 4 µs for both steps (``make bench``, "per step").

**The model stays the authority.** The twins are generated from the models' fields (names, types,
constraints, required or not, extra fields kept, ignored or refused), and the two validators the models carry
(``EventTimestamp``'s text form, ``LegEvent.data`` typed by ``event_type``) are applied here by hand.
:func:`check_event` answers None for anything it does not accept or does not handle (a timestamp given as
text, a ``data`` that is not an object): the caller then validates with ``LegEvent`` itself, which gives the
reason a rejection carries. tests/legs/test_checked.py proves, field by field and over every example event,
that an event this accepts is one ``LegEvent`` accepts with the same Detail, and that it adds no rules of its
own; a model that gains a field follows here by itself, one that gains a validator or a setting fails that
test until this module handles it.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, NamedTuple, NotRequired, Required, Union, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from contract.catalogue import EventKind, kind_of
from legs.events import BridgeData, EventTimestamp, LegData, LegEvent, rfc3339_nanos, utc_datetime_micros
from legs.json_types import JsonObject

__all__ = ["CheckedEvent", "check_event"]

#: Model settings the twins reproduce; any other setting in a model is refused at import (see ``_twin``).
HANDLED_SETTINGS = frozenset({"extra", "populate_by_name"})


class Stamp(NamedTuple):
    """An event's time as ``EventTimestamp`` gives it (same text, same datetime), without the model."""

    seconds: int
    nanos: int

    def rfc3339(self) -> str:
        return rfc3339_nanos(self.seconds, self.nanos)

    def to_datetime(self) -> datetime:
        return utc_datetime_micros(self.seconds, self.nanos)


class CheckedEvent:
    """A valid event as the bridge carries it: what ``LegEvent`` offers the bus entry builders, on a dict."""

    __slots__ = ("event_name", "event_sid", "event_timestamp", "fields", "kind")

    def __init__(self, fields: JsonObject, stamp: Stamp, kind: EventKind) -> None:
        self.fields = fields
        self.event_sid = cast(str, fields["event_sid"])  # validated as strings
        self.event_name = cast(str, fields["event_name"])
        self.event_timestamp = stamp
        self.kind = kind  # what ``data`` is: the leg, or (bridge events) the bridge

    def to_detail(self) -> JsonObject:
        """``LegEvent.to_detail``'s JSON (the same members and values; the order of members may differ)."""
        detail = dict(self.fields)
        detail["event_timestamp"] = self.event_timestamp.rfc3339()
        return detail

    @property
    def leg_sid(self) -> str | None:
        data = self.fields.get("data")
        if isinstance(data, dict) and self.kind is EventKind.LEG:
            return cast("str | None", data.get("leg_sid"))  # validated by LegData's twin
        return None

    @property
    def bridge_sid(self) -> str | None:
        data = self.fields.get("data")
        if isinstance(data, dict) and self.kind is EventKind.BRIDGE:  # validated by BridgeData's twin
            return cast("str | None", data.get("bridge_sid") or data.get("sid"))
        event_data = self.fields.get("event_data")
        return cast("str | None", event_data.get("bridge_sid")) if isinstance(event_data, dict) else None


# ---- the twins ------------------------------------------------------------------------------------
_TWINS: dict[type[BaseModel], Any] = {}


def _swap(annotation: Any) -> Any:
    """The annotation with every model in it replaced by its twin."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _twin(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if not args:
        return annotation
    swapped = tuple(_swap(arg) for arg in args)
    if origin is Union or origin is types.UnionType:
        return Union[swapped]  # noqa: UP007  # built from a tuple of types
    if origin is Annotated:
        return Annotated[(swapped[0], *annotation.__metadata__)]
    return origin[swapped]


def _twin(model: type[BaseModel], *, skip: frozenset[str] = frozenset()) -> Any:
    """A ``TypedDict`` that pydantic validates as ``model`` validates (without its validators: see the module)."""
    if model in _TWINS and not skip:
        return _TWINS[model]
    unknown = set(model.model_config) - HANDLED_SETTINGS - {"title"}
    if unknown:
        raise TypeError(f"{model.__name__} has settings legs.checked does not reproduce: {sorted(unknown)}")
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            fields[name] = NotRequired[Any]
            continue
        annotation = _swap(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[name] = Required[annotation] if info.is_required() else NotRequired[annotation]
    twin = TypedDict(f"{model.__name__}Fields", fields)  # type: ignore[misc]  # functional form, built at run time
    # pydantic reads a TypedDict's settings from this attribute (what ``with_config`` sets)
    twin.__pydantic_config__ = ConfigDict(extra=model.model_config.get("extra") or "ignore")  # type: ignore[attr-defined]
    if not skip:
        _TWINS[model] = twin
    return twin


# ``data`` is left to the event's own validator (typed by event_type): checked below with the twin it picks.
_EVENT = TypeAdapter(_twin(LegEvent, skip=frozenset({"data"})))
_LEG = TypeAdapter(_twin(LegData))
_BRIDGE = TypeAdapter(_twin(BridgeData))


def check_event(raw: Mapping[str, object]) -> CheckedEvent | None:
    """The event, checked by ``LegEvent``'s rules; None when it is not valid or is not a shape handled here
    (the caller then validates with ``LegEvent``, which has the last word and the reason)."""
    stamp = raw.get("event_timestamp")
    data = raw.get("data")
    if not isinstance(stamp, dict) or not (data is None or isinstance(data, dict)):
        return None  # EventTimestamp's text and datetime forms, and a data that is not an object: the model's
    try:
        fields: JsonObject = _EVENT.validate_python(raw)
        kind = kind_of(cast(str, fields["event_type"]))  # validated as a string
        if data is not None:
            fields["data"] = (_BRIDGE if kind is EventKind.BRIDGE else _LEG).validate_python(data)
    except ValidationError:
        return None
    timestamp = cast("dict[str, int]", fields["event_timestamp"])  # validated by EventTimestamp's twin
    return CheckedEvent(fields, Stamp(timestamp["seconds"], timestamp.get("nanos", 0)), kind)


#: The validators the models carry, which this module applies by hand (tests/legs/test_checked.py checks that
#: no model has any other, so a validator added to a model cannot be missed here).
HANDLED_VALIDATORS = {EventTimestamp: {"_from_text"}, LegEvent: {"_typed_data"}}
