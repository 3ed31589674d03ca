"""The shared test kit itself: moto server restart on the same port; fault proxy refuse/accept and partial failures."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.support.faultproxy import FaultProxy
from tests.support.moto_server import LOCAL_AWS, MotoServer

pytestmark = pytest.mark.component
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def test_moto_server_restarts_on_the_same_port() -> None:
    server = MotoServer()
    try:
        url = server.start()
        sqs = boto3.client("sqs", endpoint_url=url, config=NO_RETRIES, **LOCAL_AWS)
        sqs.create_queue(QueueName="before")
        assert server.restart() == url
        assert "QueueUrls" not in sqs.list_queues()  # fresh state, same address
        server.stop()
        with pytest.raises(EndpointConnectionError):
            sqs.list_queues()
    finally:
        server.stop()


def test_fault_proxy_refuses_splices_and_throttles(moto: MotoServer) -> None:
    with FaultProxy(moto.url) as proxy:
        events = boto3.client("events", endpoint_url=proxy.url, config=NO_RETRIES, **LOCAL_AWS)
        bus = "kit-bus"
        events.create_event_bus(Name=bus)
        entries = [
            {"Source": "kit", "DetailType": "t", "Detail": json.dumps({"i": i}), "EventBusName": bus} for i in range(10)
        ]
        proxy.partial_failures(count=1, fail_ratio=0.5)
        reply = events.put_events(Entries=entries)
        failed = [e for e in reply["Entries"] if "ErrorCode" in e]
        assert reply["FailedEntryCount"] == len(failed) == proxy.stats["entries_failed"] > 0
        assert len(reply["Entries"]) == 10 and all("EventId" in e for e in reply["Entries"] if "ErrorCode" not in e)

        proxy.throttle(count=1)
        with pytest.raises(ClientError) as throttled:
            events.put_events(Entries=entries[:1])
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        proxy.fail(status=503, count=1)
        with pytest.raises(ClientError) as unavailable:
            events.put_events(Entries=entries[:1])
        assert unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert events.put_events(Entries=entries[:1])["FailedEntryCount"] == 0  # faults used up

        proxy.refuse()
        with pytest.raises(EndpointConnectionError):
            events.put_events(Entries=entries[:1])
        proxy.accept()
        assert events.put_events(Entries=entries[:1])["FailedEntryCount"] == 0
