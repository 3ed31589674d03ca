"""boto3 clients for the bridge, configured for a deadline-driven caller.

The SDK's own retries are off for the hot path (the publisher retries per entry inside its
deadline; botocore's standard backoff alone can exceed it) and time-outs are short. Endpoints
follow the SDK's own variables (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_EVENTBRIDGE``,
``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL_EVENTBRIDGEV2``); an endpoint given in :class:`BridgeConfig`
applies where no service-specific variable is set.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, TypedDict, overload

import boto3
from botocore.config import Config
from botocore.exceptions import InvalidRegionError, NoRegionError

from bridge.config import BridgeConfig, ConfigError
from contract.env import AwsEnv

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

#: The publisher's services: the classic bus, or EventsV2 (``EVENT_BUS_KIND=v2``).
EventsService = Literal["events", "eventbridgev2"]

#: botocore's service-specific endpoint variables are named after the service id, not the client name.
_SPECIFIC_ENDPOINT = {
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "sqs": "AWS_ENDPOINT_URL_SQS",
    "eventbridgev2": "AWS_ENDPOINT_URL_EVENTBRIDGEV2",
}


class _ClientArgs(TypedDict, total=False):
    config: Config
    region_name: str
    endpoint_url: str


@overload
def _client(service: Literal["events"], config: BridgeConfig, botocore_config: Config) -> EventBridgeClient: ...
@overload
def _client(
    service: Literal["eventbridgev2"], config: BridgeConfig, botocore_config: Config
) -> EventBridgeV2Client: ...
@overload
def _client(service: Literal["sqs"], config: BridgeConfig, botocore_config: Config) -> SQSClient: ...
def _client(
    service: Literal["events", "eventbridgev2", "sqs"], config: BridgeConfig, botocore_config: Config
) -> EventBridgeClient | EventBridgeV2Client | SQSClient:
    kwargs: _ClientArgs = {"config": botocore_config}
    if config.aws_region:
        kwargs["region_name"] = config.aws_region
    if config.aws_endpoint_url and not os.environ.get(_SPECIFIC_ENDPOINT[service]):
        kwargs["endpoint_url"] = config.aws_endpoint_url
    try:
        return boto3.session.Session().client(service, **kwargs)
    except NoRegionError:
        raise ConfigError.listing(
            BridgeConfig.subject, [f"{AwsEnv.REGION}: not set (nor {AwsEnv.DEFAULT_REGION})"]
        ) from None
    except InvalidRegionError as exc:  # botocore read a region of its own (a blank variable, a profile)
        raise ConfigError.listing(BridgeConfig.subject, [f"{AwsEnv.REGION}: {exc}"]) from None


@overload
def events_client(config: BridgeConfig, service: Literal["events"] = "events") -> EventBridgeClient: ...
@overload
def events_client(config: BridgeConfig, service: Literal["eventbridgev2"]) -> EventBridgeV2Client: ...
@overload
def events_client(config: BridgeConfig, service: EventsService) -> EventBridgeClient | EventBridgeV2Client: ...
def events_client(config: BridgeConfig, service: EventsService = "events") -> EventBridgeClient | EventBridgeV2Client:
    """The publisher's client: ``events`` (classic bus) or ``eventbridgev2`` (EventsV2), same settings."""
    read_timeout = max(1.0, 2 * config.publish_deadline_ms / 1000)
    return _client(
        service,
        config,
        Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=0.5,
            read_timeout=read_timeout,
            max_pool_connections=config.max_in_flight + 2,
            tcp_keepalive=True,
        ),
    )


def sqs_client(config: BridgeConfig) -> SQSClient:
    """For the fallback queue (no SDK retries) and the dead-letter queue."""
    return _client(
        "sqs",
        config,
        Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=0.5,
            read_timeout=2.0,
            max_pool_connections=8,
            tcp_keepalive=True,
        ),
    )
