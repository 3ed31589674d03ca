"""``connect``: the two-party call. First leg answered (by a human, when AMD is on) -> hold message ->
second leg with ``reference_leg_sid`` -> second answered -> bridge; either side ends -> end the
other and the bridge, record the outcome. Ownership versus ``retry``/``amd``: see ``lambdas.domain.decisions``.
"""

from __future__ import annotations

from typing import Any

from lambdas.domain.decisions import decide_connect
from lambdas.reactor import react
from lambdas.shared.bus import LegBusEvent
from lambdas.shared.config import at_cold_start
from lambdas.shared.delivery import handle_bus_events
from lambdas.shared.observability import powertools

SERVICE = "connect"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One bus event (classic rule), or an SQS batch of them (ordered mode: ``lambdas.shared.delivery``)."""
    return handle_bus_events(event, context, handle, logger=logger)


def handle(event: LegBusEvent, context: Any) -> dict[str, Any]:
    return react(event.detail, context, service=SERVICE, decide=decide_connect, logger=logger, metrics=metrics)
