"""``api``: API Gateway REST proxy -> the resolver in :mod:`lambdas.api.app`."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import http_status_metric
from lambdas.api.app import app
from lambdas.shared.config import at_cold_start
from lambdas.shared.observability import powertools
from legs.json_types import JsonObject

at_cold_start("api")  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools("api")


def unsupported_media_type(event: JsonObject) -> JsonObject | None:
    """A body that is not JSON gets 415 here (Powertools' form parsing can raise on a malformed header)."""
    if not event.get("body"):
        return None
    given = event.get("headers")
    headers = {str(k).lower(): str(v) for k, v in given.items()} if isinstance(given, Mapping) else {}
    media = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    body = {"error": {"code": "unsupported_media_type", "message": f"send JSON (application/json), not {media!r}"}}
    return {
        "statusCode": 415,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> JsonObject:
    response = unsupported_media_type(event) or app.resolve(event, context)
    given = response.get("statusCode", 0)
    status = int(given) if isinstance(given, int | float | str) else 0
    metrics.add_metric(name=http_status_metric(status), unit=MetricUnit.Count, value=1)
    return response
