"""Powertools idempotency on the DynamoDB table named by ``IDEMPOTENCY_TABLE``.

The persistence layer is built on first use (not at import) so that the table name and endpoint
come from the environment as it is when the function runs. Every use passes its own
``key_prefix``: the devstack runs all functions in one process, where Lambda's function name
(Powertools' default prefix) is the same for all of them. A persistence layer keeps the first
configuration it is given (Powertools configures it once), so there is one per ``key_prefix``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from contract.env import AwsEnv
from lambdas.shared.config import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: How long a processed event / API request is remembered.
EVENT_TTL_SECONDS = 24 * 3600
REQUEST_TTL_SECONDS = 24 * 3600


@lru_cache(maxsize=32)
def _persistence(table_name: str, endpoint_key: str | None, key_prefix: str) -> DynamoDBPersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from lambdas.dal import aws

    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.client("dynamodb"))


def persistence_store(key_prefix: str) -> DynamoDBPersistenceLayer:
    import os

    return _persistence(settings().require("idempotency_table"), os.environ.get(AwsEnv.ENDPOINT_URL), key_prefix)


def once(
    function: Callable[_P, _R],
    *,
    key_prefix: str,
    data_keyword_argument: str,
    event_key_jmespath: str,
    payload_validation_jmespath: str = "",
    expires_after_seconds: int = EVENT_TTL_SECONDS,
    lambda_context: LambdaContext | None = None,
) -> Callable[_P, _R]:
    """``function`` wrapped with Powertools' ``idempotent_function`` (same result for a repeated key).

    A repeat gets the first call's result back as stored (JSON), so ``_R`` should be JSON-shaped.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath=event_key_jmespath,
        payload_validation_jmespath=payload_validation_jmespath,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    wrapped: Callable[_P, _R] = idempotent_function(
        data_keyword_argument=data_keyword_argument,
        persistence_store=persistence_store(key_prefix),
        config=config,
        key_prefix=key_prefix,
    )(function)
    return wrapped
