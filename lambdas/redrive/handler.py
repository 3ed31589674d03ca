"""``redrive``: replays the bridge's fallback queue onto the bus (SQS batch, partial failures).

A message body is the ``PutEvents`` entry the bridge could not publish, as JSON with ``Time`` as
ISO 8601 text (``bridge/fallback.py``). An EventsV2 entry (ordered mode: ``EventBusArn`` and ``SystemMetadata``)
is replayed on ``eventbridgev2`` with the same ``EventGroupId`` and ``DeduplicationId``, so the bus drops it if
it already stored the event; it joins its leg's group after the events published meanwhile (docs/DEPLOY.md).
Each record is put on its own; a record whose entry EventBridge refuses is reported as a batch item failure,
so SQS redelivers only that one (and dead-letters it after the queue's ``maxReceiveCount``). Powertools
idempotency on the event's ``event_sid`` keeps a redelivered message from being published twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contract.env import Env
from contract.metrics import FunctionMetric
from lambdas.dal.event_bus import EntryRefused, put_entry
from lambdas.dal.idempotency import once
from lambdas.shared.config import at_cold_start, settings
from lambdas.shared.observability import powertools
from legs.eventsv2 import is_v2_entry
from legs.json_types import JsonObject

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_eventbridgev2.type_defs import PutEventsSystemMetadataTypeDef

    from legs.eventbridge import BusEntry

SERVICE = "redrive"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


class FallbackEntry(BaseModel):
    """The PutEvents entry as the bridge wrote it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    Source: str = Field(min_length=1)
    DetailType: str = Field(min_length=1)
    Detail: str = Field(min_length=2)
    EventBusName: str | None = None
    Time: datetime | None = None
    Resources: list[str] | None = None

    @field_validator("Detail")
    @classmethod
    def _json_object(cls, value: str) -> str:
        if not isinstance(json.loads(value), dict):
            raise ValueError("Detail must be a JSON object")
        return value

    @property
    def event_sid(self) -> str:
        return str(json.loads(self.Detail).get("event_sid") or "")

    @property
    def system_metadata(self) -> PutEventsSystemMetadataTypeDef | None:
        """An EventsV2 entry's ``SystemMetadata`` (EventGroupId, DeduplicationId); None for a classic entry."""
        value = (self.model_extra or {}).get("SystemMetadata")
        # Passed on as the bridge wrote it (legs.eventsv2.to_v2_entry); eventbridgev2 validates its keys.
        return cast("PutEventsSystemMetadataTypeDef", dict(value)) if isinstance(value, dict) else None

    def to_entry(self, default_bus: str, default_bus_arn: str | None = None) -> BusEntry:
        """The entry to publish again: a classic one (``EventBusName``) or an EventsV2 one (``EventBusArn``)."""
        extra = self.model_extra or {}
        if is_v2_entry(extra):
            bus_arn = extra.get("EventBusArn") or default_bus_arn
            if not bus_arn:
                raise EntryRefused(f"an EventsV2 entry without EventBusArn, and {Env.EVENT_BUS_ARN} is not set")
            v2: BusEntry = {"EventBusArn": bus_arn, "Source": self.Source, "DetailType": self.DetailType}
            v2["Detail"] = self.Detail
            if self.Time is not None:
                v2["Time"] = self.Time.isoformat()
            if self.Resources:
                v2["Resources"] = self.Resources
            if self.system_metadata:
                v2["SystemMetadata"] = self.system_metadata
            return v2
        entry: BusEntry = {
            "Source": self.Source,
            "DetailType": self.DetailType,
            "Detail": self.Detail,
            "EventBusName": self.EventBusName or default_bus,
        }
        if self.Time is not None:
            entry["Time"] = self.Time.isoformat()  # botocore parses ISO 8601; keeps the data JSON-friendly
        if self.Resources:
            entry["Resources"] = self.Resources
        return entry


class Replay(TypedDict):
    """One entry to put back on the bus, made idempotent on its event's ``event_sid``."""

    event_sid: str
    entry: BusEntry


class Replayed(TypedDict):
    """The replay's result: EventBridge's id for the event."""

    event_sid: str
    event_id: str | None


def publish(entry: Replay) -> Replayed:
    """Put the entry back on the bus; a refusal (``EntryRefused``) sends the record back to the queue."""
    return {"event_sid": entry["event_sid"], "event_id": put_entry(entry["entry"])}


@tracer.capture_method
def record_handler(record: SQSRecord) -> Replayed:
    parsed = FallbackEntry.model_validate_json(record.body)
    config = settings()
    entry = parsed.to_entry(config.event_bus_name, config.event_bus_arn)
    event_sid = parsed.event_sid or record.message_id
    logger.append_keys(event_sid=event_sid)
    data: Replay = {"event_sid": event_sid, "entry": entry}
    result = once(
        publish,
        key_prefix=SERVICE,
        data_keyword_argument="entry",
        event_key_jmespath="event_sid",
        lambda_context=processor.lambda_context,
    )(entry=data)
    metrics.add_metric(name=FunctionMetric.EVENTS_REDRIVEN, unit=MetricUnit.Count, value=1)
    return result


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
