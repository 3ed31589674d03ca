"""boto3 clients, one per (service, endpoint, region), with the SDK's own retry mode.

boto3 is imported lazily: it is in the Lambda runtime, but importing it costs ~100 ms of a cold
start that the API's validation errors, for example, never need.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, TypedDict, overload

from contract.env import AwsEnv

if TYPE_CHECKING:  # boto3-stubs (a development dependency): the clients' typed interfaces
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

#: The services the functions call through :func:`client` (add one here and an overload below).
Service = Literal["dynamodb", "events", "eventbridgev2", "sqs"]


class RetrySettings(TypedDict, total=False):
    """botocore's ``retries`` setting of a client ``Config``."""

    total_max_attempts: int
    max_attempts: int
    mode: Literal["legacy", "standard", "adaptive"]


#: botocore's standard retry mode (exponential backoff with jitter, throttling-aware).
RETRY_CONFIG: RetrySettings = {"mode": "standard", "max_attempts": 5}


@lru_cache(maxsize=32)
def _client(
    service: Service, endpoint_url: str | None, region: str | None
) -> DynamoDBClient | EventBridgeClient | EventBridgeV2Client | SQSClient:
    import boto3
    from botocore.config import Config

    config = Config(retries=RETRY_CONFIG.copy(), connect_timeout=5, read_timeout=10)
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, region_name=region, config=config)


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["eventbridgev2"]) -> EventBridgeV2Client: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
def client(service: Service) -> DynamoDBClient | EventBridgeClient | EventBridgeV2Client | SQSClient:
    """A cached boto3 client; honours ``AWS_ENDPOINT_URL`` and ``AWS_REGION`` as they are now."""
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(AwsEnv.ENDPOINT_URL)
    region = os.environ.get(AwsEnv.REGION) or os.environ.get(AwsEnv.DEFAULT_REGION)
    return _client(service, endpoint or None, region or None)


def reset() -> None:
    """Forget cached clients (tests that restart their emulator)."""
    _client.cache_clear()
    _resource.cache_clear()


@lru_cache(maxsize=16)
def _resource(service: Literal["dynamodb"], endpoint_url: str | None, region: str | None) -> DynamoDBServiceResource:
    import boto3
    from botocore.config import Config

    config = Config(retries=RETRY_CONFIG.copy(), connect_timeout=5, read_timeout=10)
    return boto3.session.Session().resource(service, endpoint_url=endpoint_url, region_name=region, config=config)


def table(name: str) -> Table:
    """A cached DynamoDB ``Table`` resource."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get(AwsEnv.ENDPOINT_URL)
    region = os.environ.get(AwsEnv.REGION) or os.environ.get(AwsEnv.DEFAULT_REGION)
    return _resource("dynamodb", endpoint or None, region or None).Table(name)
