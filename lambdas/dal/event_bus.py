"""EventBridge ``PutEvents`` for one entry: the redrive function's way back onto the bus.

A classic entry goes to ``events``; an EventsV2 entry (ordered mode: ``EventBusArn`` and ``SystemMetadata``)
to ``eventbridgev2`` with the same ``EventGroupId`` and ``DeduplicationId``, so the bus drops a copy it
already stored (``legs.eventsv2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdas.dal import aws
from legs.eventsv2 import is_v2_entry, request_entry

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_eventbridgev2.type_defs import PutEventsResponseTypeDef as V2PutEventsResponseTypeDef
    from mypy_boto3_events.type_defs import PutEventsResponseTypeDef

    from legs.eventbridge import BusEntry


class EntryRefused(Exception):
    """EventBridge did not accept the entry (its error code and message)."""


def put_entry(entry: BusEntry) -> str | None:
    """Put one entry; returns EventBridge's event id, or raises :class:`EntryRefused`."""
    reply: PutEventsResponseTypeDef | V2PutEventsResponseTypeDef
    if is_v2_entry(entry):
        reply = aws.client("eventbridgev2").put_events(EventBusArn=entry["EventBusArn"], Entries=[request_entry(entry)])
    else:
        reply = aws.client("events").put_events(Entries=[entry])
    if reply.get("FailedEntryCount"):
        failed = reply["Entries"][0]
        raise EntryRefused(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    return reply["Entries"][0].get("EventId")
