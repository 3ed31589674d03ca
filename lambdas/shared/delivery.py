"""How a bus event reaches a reactor: alone (a classic EventBridge rule invokes the function with it) or in an SQS
batch (ordered mode: an EventsV2 subscriber delivers to the function's queue, an event source mapping reads it).

Each SQS record's body is the event the subscriber delivered: the classic envelope (``detail-type``, ``source``,
``detail``…), so the reactor code is the same in both modes. A batch from a FIFO queue is processed with
Powertools' ``SqsFifoPartialProcessor``: records in order, and after a record fails the rest of *its* group is
reported failed too (``skip_group_on_error``), so SQS hands the group back in order and no later event of a leg
is handled before an earlier one. Other groups in the batch go on. A standard queue's batch (an UNORDERED
subscriber) uses the plain ``BatchProcessor``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse

from lambdas.shared.bus import LegBusEvent
from legs.json_types import JsonObject

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

_Result = TypeVar("_Result")
#: What a function does with one bus event (its result is what the function returns for a lone event).
Handle = Callable[[LegBusEvent, "LambdaContext"], _Result]


def batch_records(event: object) -> list[JsonObject] | None:
    """An SQS batch's ``Records`` (each an SQS message: ``body``, ``eventSourceARN``…); None for one bus event."""
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list):
            return records
    return None


def processor_for(records: list[JsonObject]) -> BatchProcessor:
    """FIFO queue (``.fifo`` source ARN): in order, a failed record holds back the rest of its group."""
    if any(str(record.get("eventSourceARN", "")).endswith(".fifo") for record in records):
        return SqsFifoPartialProcessor(skip_group_on_error=True)
    return BatchProcessor(event_type=EventType.SQS)


def bus_event_of(record: SQSRecord) -> LegBusEvent | None:
    """The bus event a subscriber delivered in this record, or None when the body is something else."""
    try:
        body: object = json.loads(record.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or "detail-type" not in body:
        return None
    return LegBusEvent.model_validate(body)


def handle_bus_events(
    event: JsonObject, context: LambdaContext, handle: Handle[_Result], *, logger: Logger
) -> _Result | PartialItemFailureResponse:
    """``handle`` each bus event: the one event itself, or every record of an SQS batch (partial failures)."""
    records = batch_records(event)
    if records is None:
        bus_event = parse(event=event, model=LegBusEvent)
        logger.set_correlation_id(bus_event.detail.event_sid)
        return handle(bus_event, context)

    def record_handler(record: SQSRecord) -> _Result:
        bus_event = bus_event_of(record)
        if bus_event is None:
            raise ValueError(f"record {record.message_id} is not a bus event")
        logger.set_correlation_id(bus_event.detail.event_sid)
        return handle(bus_event, context)

    processor = processor_for(records)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
