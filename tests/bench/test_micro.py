"""``bench.micro``: each lever's row times the code before and after on the benchmark's own event, and the two
sides of the Struct row give the same dict (a faster conversion that changed the event would not be a lever)."""

from __future__ import annotations

from google.protobuf import struct_pb2

from bench.micro import _struct_via_list_fields, run_micro
from legs.wire import struct_to_dict


def test_the_struct_rows_before_and_after_agree_on_every_kind_of_member() -> None:
    values = {"s": "x", "blank": "", "n": 3, "f": 0.5, "b": False, "null": None, "o": {"l": [1, "a"]}}
    struct = struct_pb2.Struct()
    struct.update(values)
    assert _struct_via_list_fields(struct) == struct_to_dict(struct) == values


def test_every_row_is_timed() -> None:
    figures = run_micro(quick=True)
    assert [figure.unit for figure in figures] == ["per event", "per event", "per event", "per call", "per call"]
    assert "legs.checked" in figures[1].after
    assert "16 members" in figures[2].step
    assert all(figure.before_us > 0 and figure.after_us > 0 for figure in figures)
