"""``bridge.asyncsdk``: PutEvents on the event loop, against moto over real HTTP and through the fault proxy.

The same request botocore would send (body compared with botocore's own serializer), the same errors botocore
would raise (throttling, 5xx, dropped and refused connections, read time-outs), and the publisher on top of it
retrying per entry and spilling to the fallback when the bus is gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.serialize import create_serializer

from bridge import aws
from bridge.asyncsdk import AsyncAwsClient, endpoint_proxy
from bridge.batcher import Item
from bridge.config import BridgeConfig
from bridge.fallback import FallbackQueue
from bridge.metrics import BridgeMetrics
from bridge.publisher import EventBusPublisher
from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from tests.bridge.conftest import AwsStack
from tests.support.faultproxy import FaultProxy
from tests.support.moto_server import LOCAL_AWS, aws_env
from tests.support.scripted_http import ScriptedServer, answer

pytestmark = pytest.mark.component


def entry(stack: AwsStack, index: int, detail_extra: str = "") -> dict[str, Any]:
    event = LegEvent.model_validate(
        {
            "event_sid": f"async-{index}",
            "event_type": "leg_lifecycle_event",
            "event_name": "leg_ringing",
            "event_timestamp": {"seconds": 1_700_000_000 + index, "nanos": 5},
            "data": {"leg_sid": f"leg-{index}", "state": "ringing", "custom_param": f"ü→{detail_extra}"},
        }
    )
    return to_put_events_entry(event, bus_name=stack.bus, received_at=datetime.now(UTC))


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(__import__("os").environ):
        if key.startswith(("AWS_", "BRIDGE_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
            monkeypatch.delenv(key, raising=False)
    yield


def client_for(endpoint: str, monkeypatch: pytest.MonkeyPatch, read_timeout_ms: int = 10_000) -> AsyncAwsClient:
    for key, value in aws_env(endpoint).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BRIDGE_PUBLISH_DEADLINE_MS", str(read_timeout_ms // 2))
    return aws.events_async_client(BridgeConfig.from_env())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def call(client: AsyncAwsClient, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    await client.start()
    try:
        return await client.call(operation, params)
    finally:
        await client.close()


def test_body_is_what_botocores_serializer_writes(stack: AwsStack) -> None:
    boto = boto3.client("events", endpoint_url=stack.url, **LOCAL_AWS)
    sdk = AsyncAwsClient(boto, None, connect_timeout_s=1, read_timeout_s=1, max_connections=1)
    entries = [entry(stack, i, detail_extra='"quoted" \\ and \u2028') for i in range(3)]
    entries[1]["Resources"] = ["arn:aws:a", "arn:aws:b"]
    operation = boto.meta.service_model.operation_model("PutEvents")
    path, headers, body = sdk._encode(operation, {"Entries": entries})
    expected = create_serializer("json").serialize_to_request({"Entries": entries}, operation)
    assert json.loads(body) == json.loads(expected["body"])
    assert headers["X-Amz-Target"] == expected["headers"]["X-Amz-Target"] == "AWSEvents.PutEvents"
    assert headers["Content-Type"] == expected["headers"]["Content-Type"]
    assert path == expected["url_path"] == "/"


def test_put_events_over_http_reaches_the_bus(stack: AwsStack, sdk_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(stack.url, monkeypatch)
    entries = [entry(stack, i) for i in range(5)]
    reply = run(call(client, "PutEvents", {"Entries": entries}))
    assert reply["FailedEntryCount"] == 0 and len(reply["Entries"]) == 5
    received = stack.receive(stack.subscriber_url, expected=5)
    assert sorted(b["detail"]["event_sid"] for b in received) == [f"async-{i}" for i in range(5)]
    assert all(b["detail"]["data"]["custom_param"].startswith("ü→") for b in received)  # UTF-8 intact


def test_service_errors_raise_clienterror_with_the_services_code(
    stack: AwsStack, proxy: FaultProxy, sdk_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(proxy.url, monkeypatch)

    async def scenario() -> list[str]:
        await client.start()
        codes = []
        try:
            proxy.throttle(count=1, target="PutEvents")
            with pytest.raises(ClientError) as throttled:
                await client.call("PutEvents", {"Entries": [entry(stack, 1)]})
            codes.append(throttled.value.response["Error"]["Code"])
            proxy.fail(status=503, count=1, target="PutEvents")
            with pytest.raises(ClientError) as unavailable:
                await client.call("PutEvents", {"Entries": [entry(stack, 2)]})
            codes.append(str(unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"]))
            with pytest.raises(ClientError) as missing:
                await client.call("PutEvents", {"Entries": [{**entry(stack, 3), "EventBusName": "no-such-bus"}]})
            codes.append(missing.value.response["Error"]["Code"])
        finally:
            await client.close()
        return codes

    throttled, status, missing = run(scenario())
    assert throttled == "ThrottlingException"
    assert status == "503"
    assert missing == "ResourceNotFoundException"


def test_connection_faults_raise_botocores_connection_errors(
    stack: AwsStack, proxy: FaultProxy, sdk_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(proxy.url, monkeypatch, read_timeout_ms=1000)

    async def scenario() -> None:
        await client.start()
        try:
            proxy.close_connections(count=1, target="PutEvents")
            with pytest.raises(ConnectionClosedError):
                await client.call("PutEvents", {"Entries": [entry(stack, 1)]})
            proxy.delay(seconds=3.0, count=1, target="PutEvents")
            with pytest.raises(ReadTimeoutError):
                await client.call("PutEvents", {"Entries": [entry(stack, 2)]})
            proxy.refuse()
            with pytest.raises(EndpointConnectionError):
                await client.call("PutEvents", {"Entries": [entry(stack, 3)]})
            proxy.accept()
            reply = await client.call("PutEvents", {"Entries": [entry(stack, 4)]})  # the pool recovers
            assert reply["FailedEntryCount"] == 0
        finally:
            await client.close()

    run(scenario())


def test_publisher_on_the_async_client_retries_per_entry_and_spills_when_the_bus_is_gone(
    stack: AwsStack, proxy: FaultProxy, sdk_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(proxy.url, monkeypatch)
    sqs = boto3.client("sqs", endpoint_url=stack.url, **LOCAL_AWS)
    metrics = BridgeMetrics("Test", "bridge")

    async def scenario() -> tuple[list[str], list[str]]:
        await client.start()
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            fallback = FallbackQueue(sqs, stack.fallback_url, executor=pool, metrics=metrics, deadline_s=10)
            fallback.start()
            publisher = EventBusPublisher(client, spill=fallback.spill, metrics=metrics, linger_s=0.005)
            publisher.start()

            async def publish(first: int, count: int, deadline_s: float) -> list[str]:
                futures = []
                for i in range(first, first + count):
                    future: asyncio.Future[str] = loop.create_future()
                    publisher.submit(Item(entry(stack, i), 900, loop.time() + deadline_s, future, f"async-{i}"))
                    futures.append(future)
                return list(await asyncio.gather(*futures))

            proxy.partial_failures(count=3, fail_ratio=0.5, error_code="ThrottlingException")
            proxy.throttle(count=2, target="PutEvents")
            proxy.fail(status=500, count=1, target="PutEvents")
            stored = await publish(0, 30, deadline_s=10.0)
            proxy.close_connections(count=-1, target="AWSEvents")  # the bus is gone; SQS still answers
            spilled = await publish(100, 5, deadline_s=0.3)
            proxy.clear()
            for batcher in (publisher, fallback):
                await batcher.drain(5)
                await batcher.close()
        await client.close()
        return stored, spilled

    stored, spilled = run(scenario())
    assert stored == ["bus"] * 30 and metrics.retries > 0
    assert spilled == ["fallback"] * 5
    received = stack.receive(stack.subscriber_url, expected=30, settle=1.0)
    assert sorted(b["detail"]["event_sid"] for b in received) == sorted(f"async-{i}" for i in range(30))
    kept = stack.receive(stack.fallback_url, expected=5)
    assert sorted(json.loads(b["Detail"])["event_sid"] for b in kept) == [f"async-{i}" for i in range(100, 105)]


def test_proxy_is_resolved_as_botocore_would(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    assert endpoint_proxy("https://events.us-east-1.amazonaws.com") is None
    monkeypatch.setenv("HTTPS_PROXY", "proxy.internal:3128")
    assert endpoint_proxy("https://events.us-east-1.amazonaws.com") == "http://proxy.internal:3128"
    assert endpoint_proxy("http://127.0.0.1:4566") is None  # only HTTPS_PROXY set
    monkeypatch.setenv("NO_PROXY", ".amazonaws.com")
    assert endpoint_proxy("https://events.us-east-1.amazonaws.com") is None


def test_a_proxy_named_by_the_environment_carries_the_calls(sdk_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``HTTP_PROXY`` the calls go to the proxy (aiohttp, the request in absolute form), signed for the
    endpoint; without one they go straight to the endpoint (``bridge.http1``)."""
    reply = b'HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n{"FailedEntryCount":0,"Entries":[{"x":1}]}'

    async def scenario() -> tuple[ScriptedServer, ScriptedServer]:
        proxy, endpoint = ScriptedServer(answer(reply)), ScriptedServer(answer(reply))
        proxy_url, endpoint_url = await proxy.start(), await endpoint.start()
        try:
            monkeypatch.setenv("HTTP_PROXY", proxy_url)
            through = client_for(endpoint_url, monkeypatch)
            assert through.http_client == "aiohttp"  # whatever BRIDGE_HTTP_CLIENT says: the built-in has no proxy
            assert (await call(through, "PutEvents", {"Entries": [{"Source": "s"}]}))["FailedEntryCount"] == 0
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            direct = client_for(endpoint_url, monkeypatch)
            assert direct.http_client == "builtin"
            assert (await call(direct, "PutEvents", {"Entries": [{"Source": "s"}]}))["FailedEntryCount"] == 0
        finally:
            await proxy.stop()
            await endpoint.stop()
        return proxy, endpoint

    proxy, endpoint = asyncio.run(scenario())
    assert len(proxy.requests) == 1 and len(endpoint.requests) == 1
    assert proxy.requests[0].split(b"\r\n", 1)[0].startswith(b"POST http://127.0.0.1:")
    assert endpoint.requests[0].split(b"\r\n", 1)[0] == b"POST / HTTP/1.1"
    for request in (proxy.requests[0], endpoint.requests[0]):
        assert b"Authorization: AWS4-HMAC-SHA256 Credential=" in request
        assert b"X-Amz-Target: AWSEvents.PutEvents" in request
