"""boto3 clients, one per (service, endpoint, region), with the SDK's own retry mode.

boto3 is imported lazily: it is in the Lambda runtime, but importing it costs ~100 ms of a cold
start that the API's validation errors, for example, never need.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from contract.env import AwsEnv

#: botocore's standard retry mode (exponential backoff with jitter, throttling-aware).
RETRY_CONFIG = {"mode": "standard", "max_attempts": 5}


@lru_cache(maxsize=32)
def _client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries=dict(RETRY_CONFIG), connect_timeout=5, read_timeout=10)
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def client(service: str) -> Any:
    """A cached boto3 client; honours ``AWS_ENDPOINT_URL`` and ``AWS_REGION`` as they are now."""
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(AwsEnv.ENDPOINT_URL)
    region = os.environ.get(AwsEnv.REGION) or os.environ.get(AwsEnv.DEFAULT_REGION)
    return _client(service, endpoint or None, region or None)


def reset() -> None:
    """Forget cached clients (tests that restart their emulator)."""
    _client.cache_clear()
    _resource.cache_clear()


@lru_cache(maxsize=16)
def _resource(service: str, endpoint_url: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries=dict(RETRY_CONFIG), connect_timeout=5, read_timeout=10)
    return boto3.session.Session().resource(service, endpoint_url=endpoint_url, region_name=region, config=config)


def table(name: str) -> Any:
    """A cached DynamoDB ``Table`` resource."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get(AwsEnv.ENDPOINT_URL)
    region = os.environ.get(AwsEnv.REGION) or os.environ.get(AwsEnv.DEFAULT_REGION)
    return _resource("dynamodb", endpoint or None, region or None).Table(name)
