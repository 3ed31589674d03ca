"""moto 5.2 CPU sinks that make EventBridge -> SQS routing superlinear, patched for every local use, and one
FIFO-queue fidelity fix the ordered mode relies on.

Used by the devstack's in-process emulator, the tests' moto server subprocess and the benchmarks.
"""

from __future__ import annotations

import time


def speed_up_moto() -> None:
    """Two CPU sinks in moto 5.2 that make EventBridge -> SQS routing superlinear (idempotent).

    1. moto re-parses 8 jsonpath expressions (building a yacc parser) for every event routed to a
       rule target: cache them.
    2. SQS's send/receive scan every message of the queue, and each message's ``visible`` /
       ``delayed`` check builds datetimes (~10 us): give the SQS module a plain ``time.time()``
       clock (identical values; only freezegun-style time travel, unused here, would differ).
    """
    import functools

    import jsonpath_ng.ext
    import moto.sqs.models as sqs_models

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    if not getattr(sqs_models, "_fast_clock", False):
        original_ms, original_s = sqs_models.unix_time_millis, sqs_models.unix_time

        def unix_time_millis(dt: object = None) -> float:
            return time.time() * 1000.0 if dt is None else original_ms(dt)

        def unix_time(dt: object = None) -> float:
            return time.time() if dt is None else original_s(dt)

        sqs_models.unix_time_millis = unix_time_millis
        sqs_models.unix_time = unix_time
        sqs_models._fast_clock = True
    fix_fifo_message_groups()


def fix_fifo_message_groups() -> None:
    """A FIFO group is locked only while one of its messages is in flight (received, not yet visible again).

    moto 5.2 counts a received message as "pending" until a later receive walks past it, even after its
    visibility timeout has run out. When a consumer fails a group's first two messages and both become visible
    again, moto skips the first (its group still looks locked by the second) and delivers the second: the group
    comes back out of order. SQS delivers it in order; so does the patched property (idempotent).
    """
    import moto.sqs.models as sqs_models

    queue_class = sqs_models.Queue
    if getattr(queue_class, "_fifo_groups_fixed", False):
        return

    def pending_message_groups(self: object) -> set[str]:
        return {
            message.group_id
            for message in self._pending_messages  # type: ignore[attr-defined]
            if message.group_id is not None and not message.visible
        }

    queue_class.pending_message_groups = property(pending_message_groups)  # type: ignore[assignment]
    queue_class._fifo_groups_fixed = True  # type: ignore[attr-defined]
