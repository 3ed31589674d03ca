"""``leg_state``: every leg and bridge event -> the LegState table (current state per leg + timeline).

Idempotent on ``event_sid`` twice over: Powertools idempotency skips a repeat, and every write is
itself conditional (see ``lambdas.dal.leg_state``), so a repeat that slips through changes nothing.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import FunctionMetric
from lambdas.dal.idempotency import once
from lambdas.dal.leg_state import LegStateStore, Recorded
from lambdas.shared.bus import LegBusEvent
from lambdas.shared.config import at_cold_start
from lambdas.shared.delivery import handle_bus_events
from lambdas.shared.observability import powertools
from legs.events import LegEvent
from legs.json_types import JsonObject

SERVICE = "leg_state"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)


def record(event: LegEvent) -> Recorded:
    return LegStateStore.from_env().record(event)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> Recorded | PartialItemFailureResponse:
    """One bus event (classic rule), or an SQS batch of them (ordered mode: ``lambdas.shared.delivery``)."""
    return handle_bus_events(event, context, handle, logger=logger)


def handle(event: LegBusEvent, context: LambdaContext) -> Recorded:
    detail = event.detail
    logger.append_keys(leg_sid=detail.leg_sid, bridge_sid=detail.bridge_sid, event_name=detail.event_name)
    result = once(
        record,
        key_prefix=SERVICE,
        data_keyword_argument="event",
        event_key_jmespath="event_sid",
        lambda_context=context,
    )(event=detail)
    metrics.add_metric(name=FunctionMetric.EVENTS_RECORDED, unit=MetricUnit.Count, value=1)
    if result.get("leg_state_moved") is False or result.get("bridge_state_moved") is False:
        metrics.add_metric(name=FunctionMetric.LATE_EVENTS, unit=MetricUnit.Count, value=1)
    logger.info("event recorded", extra={"result": result})
    return result
