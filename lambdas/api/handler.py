"""``api``: API Gateway REST proxy -> the resolver in :mod:`lambdas.api.app`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from lambdas.api.app import app
from lambdas.shared.observability import powertools

logger, tracer, metrics = powertools("api")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
