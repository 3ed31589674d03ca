"""``connect``: the two-party call. First leg answered (by a human, when AMD is on) -> hold message ->
second leg with ``reference_leg_sid`` -> second answered -> bridge; either side ends -> end the
other and the bridge, record the outcome. Ownership versus ``retry``/``amd``: see ``lambdas.domain.decisions``.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.decisions import decide_connect
from lambdas.executor import Summary
from lambdas.reactor import react
from lambdas.shared.bus import LegBusEvent
from lambdas.shared.config import at_cold_start
from lambdas.shared.observability import powertools

SERVICE = "connect"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="detail.event_sid", clear_state=True)
@event_parser(model=LegBusEvent)
def handler(event: LegBusEvent, context: LambdaContext) -> Summary:
    return react(event.detail, context, service=SERVICE, decide=decide_connect, logger=logger, metrics=metrics)
