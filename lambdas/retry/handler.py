"""``retry``: a plan's dial that ended busy / no-answer / failed (or failed to create) is dialled again
after the plan's delay, up to its limit.

Two triggers, one function:
* EventBridge (``leg_terminated`` / ``leg_failed_to_create`` of a plan leg): records the end, adds a
  *scheduled* attempt and sends ``{"plan_id", "role", "attempt"}`` to the SQS delay queue
  (``RETRY_QUEUE_URL``, ``DelaySeconds`` = the plan's delay, ≤ 900 s);
* SQS (that queue): the delay is over; dial the scheduled attempt once (partial batch failures);
* SQS, ordered mode: the same bus events as the first trigger, delivered by an EventsV2 subscriber to the
  function's queue (a record whose body is a bus event is handled as the first trigger's event).
"""

from __future__ import annotations

from typing import Literal, TypedDict

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from contract.metrics import FunctionMetric
from lambdas.dal.idempotency import once
from lambdas.domain.decisions import decide_dial_scheduled, decide_retry
from lambdas.executor import Executor, Summary
from lambdas.reactor import react
from lambdas.shared.bus import LegBusEvent
from lambdas.shared.config import at_cold_start
from lambdas.shared.delivery import bus_event_of
from lambdas.shared.observability import powertools
from legs.json_types import JsonObject

SERVICE = "retry"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


class RetryMessage(BaseModel):
    """Body of a retry-queue message."""

    model_config = ConfigDict(extra="ignore")

    plan_id: str = Field(min_length=1)
    role: Literal["customer", "agent"]
    attempt: int = Field(ge=2)


class DialJob(TypedDict):
    """What one scheduled dial is made idempotent on (``key``) and carries (the message)."""

    key: str
    message: JsonObject


def dial_scheduled(job: DialJob) -> Summary:
    message = RetryMessage.model_validate(job["message"])
    report = Executor.from_env(logger).run(
        message.plan_id, lambda plan: decide_dial_scheduled(plan, message.role, message.attempt)
    )
    return report.summary()


@tracer.capture_method
def record_handler(record: SQSRecord) -> Summary:
    bus_event = bus_event_of(record)  # ordered mode: the UNORDERED subscriber's queue delivers bus events
    if bus_event is not None:
        logger.set_correlation_id(bus_event.detail.event_sid)
        return react(
            bus_event.detail,
            processor.lambda_context,
            service=SERVICE,
            decide=decide_retry,
            logger=logger,
            metrics=metrics,
        )
    message = RetryMessage.model_validate_json(record.body)
    logger.append_keys(plan_id=message.plan_id)
    job: DialJob = {"key": f"{message.plan_id}:{message.role}:{message.attempt}", "message": message.model_dump()}
    summary = once(
        dial_scheduled,
        key_prefix="retry-dial",
        data_keyword_argument="job",
        event_key_jmespath="key",
        lambda_context=processor.lambda_context,
    )(job=job)
    metrics.add_metric(name=FunctionMetric.RETRIES_DIALLED, unit=MetricUnit.Count, value=1)
    logger.info("scheduled dial handled", extra={"summary": summary})
    return summary


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> PartialItemFailureResponse | Summary:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    bus_event = parse(event=event, model=LegBusEvent)
    logger.set_correlation_id(bus_event.detail.event_sid)
    return react(bus_event.detail, context, service=SERVICE, decide=decide_retry, logger=logger, metrics=metrics)
