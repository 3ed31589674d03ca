"""EventBridge ``PutEvents`` for one entry: the redrive function's way back onto the bus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdas.dal import aws

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef


class EntryRefused(Exception):
    """EventBridge did not accept the entry (its error code and message)."""


def put_entry(entry: PutEventsRequestEntryTypeDef) -> str | None:
    """Put one entry; returns EventBridge's event id, or raises :class:`EntryRefused`."""
    reply = aws.client("events").put_events(Entries=[entry])
    if reply.get("FailedEntryCount"):
        failed = reply["Entries"][0]
        raise EntryRefused(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    return reply["Entries"][0].get("EventId")
