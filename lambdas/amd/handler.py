"""``amd``: a plan's customer leg answered by a machine (or a beep) is hung up, or played the plan's
message and then hung up. ``connect`` ignores such answers, so the two never both act.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.decisions import decide_amd
from lambdas.executor import Summary
from lambdas.reactor import react
from lambdas.shared.bus import LegBusEvent
from lambdas.shared.config import at_cold_start
from lambdas.shared.delivery import handle_bus_events
from lambdas.shared.observability import powertools
from legs.json_types import JsonObject

SERVICE = "amd"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> Summary | PartialItemFailureResponse:
    """One bus event (classic rule), or an SQS batch of them (ordered mode: ``lambdas.shared.delivery``)."""
    return handle_bus_events(event, context, handle, logger=logger)


def handle(event: LegBusEvent, context: LambdaContext) -> Summary:
    return react(event.detail, context, service=SERVICE, decide=decide_amd, logger=logger, metrics=metrics)
