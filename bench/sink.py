"""Minimal ``PutEvents`` sinks for the bridge: the bus replaced by something that costs ~nothing.

The bridge's EventBridge client is injectable (``BridgeServer(config, events_client=...)``), so
the benchmark gives it an **in-process client object** (``MemorySink``): it answers exactly as
EventBridge's ``PutEvents`` does (``FailedEntryCount``, one ``EventId`` per entry) after an
optional fixed service time, and counts calls and entries so the report can give mean entries per
call. ``CountingClient`` wraps a real boto3 client (the moto-server sink) the same way.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any


class _Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.entries = 0
        self.max_entries = 0

    def add(self, entries: int) -> None:
        with self._lock:
            self.calls += 1
            self.entries += entries
            self.max_entries = max(self.max_entries, entries)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"calls": self.calls, "entries": self.entries, "max_entries": self.max_entries}


class MemorySink(_Counts):
    """A ``put_events`` that accepts everything (after ``latency_s``, to mimic a network round trip)."""

    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__()
        self.latency_s = latency_s
        self._prefix = uuid.uuid4().hex[:8]

    def put_events(self, *, Entries: list[dict[str, Any]], EventBusArn: str | None = None) -> dict[str, Any]:
        """Classic ``PutEvents``; with ``EventBusArn``, EventsV2's (each entry ``PUBLISHED``, with a sequence)."""
        if self.latency_s:
            time.sleep(self.latency_s)
        self.add(len(Entries))
        v2 = {"SuccessCode": "PUBLISHED", "SequenceNumber": "1"} if EventBusArn else {}
        return {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": f"{self._prefix}-{self.calls}-{i}", **v2} for i in range(len(Entries))],
        }


class CountingClient(_Counts):
    """Wraps a boto3 EventBridge client; counts ``put_events`` calls and entries, passes all else on."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client

    def put_events(self, *, Entries: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        self.add(len(Entries))
        return self._client.put_events(Entries=Entries, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
