"""The bridge process's garbage-collection policy: the start-up heap is frozen once the server is serving.

grpc.aio leaves a few reference cycles behind every call (its method-handler lookup), so the cycle collector's
full collections keep coming under load, and each one walked every object the process had made at start:
botocore's service models, pydantic's validators, grpc's and the SDK's modules, 50 to 80 thousand objects. On
the benchmark machine such a collection held the event loop for 15-40 ms, which made the bridge's p99 at a
moderate load (docs/BRIDGE.md, "Pauses"). ``gc.freeze()`` moves those objects out of the collector's sight;
they are still freed by reference counting, and later garbage is collected as before.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect what start-up left, then freeze the rest; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
