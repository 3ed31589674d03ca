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

from boto3.session import Session
from botocore.config import Config
from botocore.exceptions import InvalidRegionError, NoRegionError

from bridge.asyncsdk import AsyncAwsClient
from bridge.config import BridgeConfig, ConfigError
from contract.env import AwsEnv

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

#: The publisher's services: the classic bus, or EventsV2 (``EVENT_BUS_KIND=v2``).
EventsService = Literal["events", "eventbridgev2"]

CONNECT_TIMEOUT_S = 0.5
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
def _client(
    service: Literal["events"], config: BridgeConfig, botocore_config: Config, session: Session | None = None
) -> EventBridgeClient: ...
@overload
def _client(
    service: Literal["eventbridgev2"], config: BridgeConfig, botocore_config: Config, session: Session | None = None
) -> EventBridgeV2Client: ...
@overload
def _client(
    service: Literal["sqs"], config: BridgeConfig, botocore_config: Config, session: Session | None = None
) -> SQSClient: ...
@overload
def _client(
    service: EventsService, config: BridgeConfig, botocore_config: Config, session: Session | None = None
) -> EventBridgeClient | EventBridgeV2Client: ...
def _client(
    service: Literal["events", "eventbridgev2", "sqs"],
    config: BridgeConfig,
    botocore_config: Config,
    session: Session | None = None,
) -> EventBridgeClient | EventBridgeV2Client | SQSClient:
    kwargs: _ClientArgs = {"config": botocore_config}
    if config.aws_region:
        kwargs["region_name"] = config.aws_region
    if config.aws_endpoint_url and not os.environ.get(_SPECIFIC_ENDPOINT[service]):
        kwargs["endpoint_url"] = config.aws_endpoint_url
    try:
        return (session or Session()).client(service, **kwargs)
    except NoRegionError:
        raise ConfigError.listing(
            BridgeConfig.subject, [f"{AwsEnv.REGION}: not set (nor {AwsEnv.DEFAULT_REGION})"]
        ) from None
    except InvalidRegionError as exc:  # botocore read a region of its own (a blank variable, a profile)
        raise ConfigError.listing(BridgeConfig.subject, [f"{AwsEnv.REGION}: {exc}"]) from None


def _events_config(config: BridgeConfig) -> Config:
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=_read_timeout(config),
        max_pool_connections=config.max_in_flight + 2,
        tcp_keepalive=True,
    )


def _read_timeout(config: BridgeConfig) -> float:
    return max(1.0, 2 * config.publish_deadline_ms / 1000)


@overload
def events_client(config: BridgeConfig, service: Literal["events"] = "events") -> EventBridgeClient: ...
@overload
def events_client(config: BridgeConfig, service: Literal["eventbridgev2"]) -> EventBridgeV2Client: ...
@overload
def events_client(config: BridgeConfig, service: EventsService) -> EventBridgeClient | EventBridgeV2Client: ...
def events_client(config: BridgeConfig, service: EventsService = "events") -> EventBridgeClient | EventBridgeV2Client:
    """The publisher's boto3 client: ``events`` (classic bus) or ``eventbridgev2`` (EventsV2), same settings.

    Used as is when ``BRIDGE_PUBLISHER=threads`` (calls in a thread pool)."""
    return _client(service, config, _events_config(config))


def events_async_client(config: BridgeConfig, service: EventsService = "events") -> AsyncAwsClient:
    """The publisher's client on the event loop (``BRIDGE_PUBLISHER=async``, the default): the same endpoint,
    region and credentials as :func:`events_client` resolves, sent with aiohttp (``bridge.asyncsdk``)."""
    session = Session()
    client = _client(service, config, _events_config(config), session)
    return AsyncAwsClient(
        client,
        session.get_credentials(),
        connect_timeout_s=CONNECT_TIMEOUT_S,
        read_timeout_s=_read_timeout(config),
        max_connections=config.max_in_flight + 2,
        http_client=config.http_client,
    )


def sqs_client(config: BridgeConfig) -> SQSClient:
    """For the fallback queue (no SDK retries) and the dead-letter queue."""
    return _client(
        "sqs",
        config,
        Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=2.0,
            max_pool_connections=8,
            tcp_keepalive=True,
        ),
    )
