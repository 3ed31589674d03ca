"""EventBridge ``PutEvents`` for one entry: the redrive function's way back onto the bus."""

from __future__ import annotations

from typing import Any

from lambdas.dal import aws


class EntryRefused(Exception):
    """EventBridge did not accept the entry (its error code and message)."""


def put_entry(entry: dict[str, Any]) -> str | None:
    """Put one entry; returns EventBridge's event id, or raises :class:`EntryRefused`."""
    reply = aws.client("events").put_events(Entries=[entry])
    if reply.get("FailedEntryCount"):
        failed = reply["Entries"][0]
        raise EntryRefused(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    return reply["Entries"][0].get("EventId")
