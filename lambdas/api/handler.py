"""``api``: API Gateway REST proxy -> the resolver in :mod:`lambdas.api.app`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.api.app import app
from lambdas.shared.observability import powertools

logger, tracer, metrics = powertools("api")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = app.resolve(event, context)
    status = int(response.get("statusCode", 0))
    metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
    return response
