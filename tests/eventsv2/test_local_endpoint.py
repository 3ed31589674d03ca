"""The local EventsV2 endpoint through boto3's real ``eventbridgev2`` client (smithy RPC v2 CBOR over HTTP), with
its subscribers delivering into a moto server's SQS queues: groups in order, the deduplication window, pattern
filters, starting positions, stop/resume, on-failure queues and clear errors."""

from __future__ import annotations

import json
import random
import urllib.request
from datetime import UTC, datetime

import boto3
import botocore.exceptions
import cbor2
import pytest
from botocore.config import Config

from tests.eventsv2.conftest import ROLE, Local, entry
from tests.support.moto_server import LOCAL_AWS

pytestmark = pytest.mark.component


def _details(messages: list[dict]) -> list[dict]:
    return [m["body"]["detail"] for m in messages]


def test_a_fifo_subscriber_gets_each_group_in_the_order_the_bus_stored_it(local: Local) -> None:
    url, arn = local.queue(fifo=True)
    local.subscribe(arn, Type="FIFO")
    sent: dict[str, list[int]] = {f"leg-{g}": [] for g in range(4)}
    calls = []
    for i in range(60):  # interleaved groups, in batches of random size
        group = random.choice(list(sent))
        sent[group].append(i)
        calls.append(entry(i, group=group, dedup=f"ev-{i}", leg=group))
    while calls:
        size = random.randint(1, 10)
        reply = local.put(*calls[:size])
        assert reply["FailedEntryCount"] == 0
        assert {e["SuccessCode"] for e in reply["Entries"]} == {"PUBLISHED"}
        calls = calls[size:]

    messages = local.receive(url, expected=60)
    assert len(messages) == 60
    for message in messages:  # the FIFO queue's group is the event's EventGroupId
        assert message["attributes"]["MessageGroupId"] == message["body"]["detail"]["leg"]
    for group, order in sent.items():
        assert [d["i"] for d in _details(messages) if d["leg"] == group] == order


def test_sequence_numbers_grow_and_a_repeat_in_the_window_is_deduplicated_not_stored(local: Local) -> None:
    url, arn = local.queue()
    local.subscribe(arn)
    first = local.put(entry(1, group="g", dedup="ev-1"), entry(2, group="g", dedup="ev-2"))["Entries"]
    assert int(first[0]["SequenceNumber"]) < int(first[1]["SequenceNumber"])

    local.clock.advance(299)  # still inside the (300 s) window
    again = local.put(entry(1, group="g", dedup="ev-1"), entry(3, group="g", dedup="ev-3"))["Entries"]
    assert again[0]["SuccessCode"] == "DEDUPLICATED"
    assert (again[0]["EventId"], again[0]["SequenceNumber"]) == (first[0]["EventId"], first[0]["SequenceNumber"])
    assert again[1]["SuccessCode"] == "PUBLISHED"

    local.clock.advance(2)  # ev-1 is now 301 s old: outside the window, a new event
    late = local.put(entry(1, group="g", dedup="ev-1"))["Entries"][0]
    assert late["SuccessCode"] == "PUBLISHED" and late["EventId"] != first[0]["EventId"]

    assert sorted(d["i"] for d in _details(local.receive(url, expected=4))) == [1, 1, 2, 3]


def test_content_based_deduplication_hashes_the_entry(local: Local) -> None:
    config = {"DeduplicationConfiguration": {"DeduplicationType": "CONTENT_BASED"}}
    one = local.put(entry(7), entry(8), **config)["Entries"]
    two = local.put(entry(7), **config)["Entries"]
    assert [e["SuccessCode"] for e in one] == ["PUBLISHED", "PUBLISHED"]
    assert two[0]["SuccessCode"] == "DEDUPLICATED" and two[0]["EventId"] == one[0]["EventId"]


def test_filters_use_eventbridge_patterns_on_the_envelope_and_every_filter_must_match(local: Local) -> None:
    answered_url, answered_arn = local.queue()
    machine_url, machine_arn = local.queue()
    local.subscribe(answered_arn, {"source": ["exotel.legs"], "detail-type": ["leg_answered"]})
    local.client.create_subscriber(
        Name="machines-of-group-a",
        EventBusArn=local.bus_arn,
        InvokeConfiguration={"RoleArn": ROLE, "TargetArn": machine_arn},
        FilterConfiguration={
            "Filters": [
                {"Pattern": json.dumps({"detail": {"answered_by": ["MACHINE"]}}), "Scope": "DATA"},
                {"Pattern": json.dumps({"EventGroupId": [{"prefix": "a-"}]}), "Scope": "SYSTEM_METADATA"},
            ]
        },
    )
    local.put(
        entry(1, group="a-1", detail_type="leg_answered", answered_by="HUMAN"),
        entry(2, group="a-2", detail_type="leg_answered", answered_by="MACHINE"),
        entry(3, group="b-1", detail_type="leg_answered", answered_by="MACHINE"),
        entry(4, group="a-3", detail_type="leg_ringing"),
    )
    answered = local.receive(answered_url, expected=3)
    assert sorted(d["i"] for d in _details(answered)) == [1, 2, 3]
    body = answered[0]["body"]
    assert body["source"] == "exotel.legs" and body["detail-type"] == "leg_answered"
    assert {"version", "id", "account", "time", "region", "resources"} <= set(body)
    assert [d["i"] for d in _details(local.receive(machine_url, expected=1))] == [2]


def test_starting_positions_latest_horizon_and_a_point_in_time_window(local: Local) -> None:
    local.put(entry(1))
    local.clock.advance(100)
    start = datetime.fromtimestamp(local.clock.now, UTC)
    local.put(entry(2))
    local.clock.advance(100)
    end = datetime.fromtimestamp(local.clock.now, UTC)
    local.put(entry(3))

    latest_url, latest_arn = local.queue()
    horizon_url, horizon_arn = local.queue()
    window_url, window_arn = local.queue()
    local.subscribe(latest_arn)  # LATEST is the default
    local.subscribe(horizon_arn, StartingPosition="POINT_IN_TIME", PointInTimeConfiguration={"PointType": "HORIZON"})
    described = local.client.describe_subscriber(
        SubscriberArn=local.subscribe(
            window_arn,
            StartingPosition="POINT_IN_TIME",
            PointInTimeConfiguration={"PointType": "TIMESTAMP", "StartingPoint": start, "EndPoint": end},
        )
    )
    assert described["PointInTimeConfiguration"]["PointType"] == "TIMESTAMP"
    local.clock.advance(1)
    local.put(entry(4))

    assert [d["i"] for d in _details(local.receive(latest_url, expected=1))] == [4]
    assert [d["i"] for d in _details(local.receive(horizon_url, expected=4))] == [1, 2, 3, 4]
    assert [d["i"] for d in _details(local.receive(window_url, expected=1))] == [
        2
    ]  # [start, end): 3 was stored at EndPoint


def test_retention_drops_old_events_from_a_replay(local: Local) -> None:
    local.put(entry(1))
    local.clock.advance(86400 + 1)  # the bus keeps one day
    local.put(entry(2))
    url, arn = local.queue()
    local.subscribe(arn, StartingPosition="POINT_IN_TIME", PointInTimeConfiguration={"PointType": "HORIZON"})
    assert [d["i"] for d in _details(local.receive(url, expected=1))] == [2]
    window = local.client.describe_event_bus(EventBusArn=local.bus_arn)["StorageConfiguration"]
    assert window["RetentionPeriodInDays"] == 1


def test_a_stopped_subscriber_resumes_where_it_was_or_at_the_latest(local: Local) -> None:
    kept_url, kept_arn = local.queue()
    skip_url, skip_arn = local.queue()
    kept = local.subscribe(kept_arn, State="STOPPED")
    skip = local.subscribe(skip_arn, State="STOPPED")
    local.put(entry(1), entry(2))
    local.client.update_subscriber(SubscriberArn=kept, State="RUNNING")  # LAST_PROCESSED by default
    local.client.update_subscriber(SubscriberArn=skip, State="RUNNING", ResumePosition="LATEST")
    local.put(entry(3))
    assert [d["i"] for d in _details(local.receive(kept_url, expected=3))] == [1, 2, 3]
    assert [d["i"] for d in _details(local.receive(skip_url, expected=1))] == [3]


def test_with_metadata_wraps_the_event_with_its_system_metadata(local: Local) -> None:
    url, arn = local.queue()
    local.subscribe(arn, Transformer={"Type": "WITH_METADATA"})
    stored = local.put(entry(1, group="leg-9", dedup="ev-9"))["Entries"][0]
    body = local.receive(url, expected=1)[0]["body"]
    assert body["data"]["detail"] == {"i": 1}
    assert body["systemMetadata"]["EventGroupId"] == "leg-9"
    assert body["systemMetadata"]["DeduplicationId"] == "ev-9"
    assert body["systemMetadata"]["SequenceNumber"] == stored["SequenceNumber"]


def test_undeliverable_events_go_to_the_on_failure_queue_and_the_subscriber_moves_on(local: Local) -> None:
    dlq_url, dlq_arn = local.queue()
    missing = "arn:aws:sqs:us-east-1:123456789012:no-such-queue"
    arn = local.subscribe(missing, RetryPolicy={"MaxRetryAttempts": 0}, OnFailureConfiguration={"Arn": dlq_arn})
    local.put(entry(1), entry(2))
    failed = local.receive(dlq_url, expected=2)
    assert sorted(d["i"] for d in _details(failed)) == [1, 2]
    described = local.client.describe_subscriber(SubscriberArn=arn)
    assert described["OnFailureConfiguration"]["Arn"] == dlq_arn


def test_entry_errors_are_per_entry_and_call_errors_are_the_service_exceptions(local: Local) -> None:
    reply = local.put(
        entry(1),
        {"Source": "aws.legs", "DetailType": "x", "Detail": "{}"},
        {
            "Source": "exotel.legs",
            "DetailType": "x",
            "Detail": "[1, 2]",
        },
    )
    assert reply["FailedEntryCount"] == 2
    assert [e.get("ErrorCode") for e in reply["Entries"]] == [None, "InvalidInputException", "MalformedDetail"]

    missing_bus = local.bus_arn[:-5] + "zzzzz"
    with pytest.raises(local.client.exceptions.ResourceNotFoundException):
        local.client.put_events(EventBusArn=missing_bus, Entries=[entry(1)])
    with pytest.raises(local.client.exceptions.ResourceAlreadyExistsException):
        local.client.create_event_bus(Name=local.bus_arn.split("/")[1])
    with pytest.raises(local.client.exceptions.InvalidInputException, match="invalid event pattern"):
        local.subscribe(local.queue()[1], {"detail": "not a list"})
    with pytest.raises(local.client.exceptions.InvalidInputException, match="SQS queues only"):
        local.subscribe("arn:aws:lambda:us-east-1:123456789012:function:leg_state")
    with pytest.raises(local.client.exceptions.InvalidInputException, match="JSONATA"):
        local.subscribe(
            local.queue()[1], Transformer={"Type": "JSONATA", "JsonataConfiguration": {"Expression": "{% 1 %}"}}
        )
    with pytest.raises(local.client.exceptions.ResourceInUseException):
        local.subscribe(local.queue()[1])
        local.client.delete_event_bus(EventBusArn=local.bus_arn)
    big = {"Source": "exotel.legs", "DetailType": "x", "Detail": json.dumps({"pad": "x" * 200_000})}
    with pytest.raises(local.client.exceptions.InvalidInputException, match="1048576"):
        local.put(*[big] * 6)


def test_injected_throttling_reaches_the_sdk_as_throttling(local: Local) -> None:
    request = urllib.request.Request(
        f"{local.endpoint.url}/_local/faults",
        data=json.dumps({"operation": "PutEvents", "code": "ThrottlingException", "count": 1}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()
    no_retries = boto3.client(
        "eventbridgev2", endpoint_url=local.endpoint.url, config=Config(retries={"total_max_attempts": 1}), **LOCAL_AWS
    )
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        no_retries.put_events(EventBusArn=local.bus_arn, Entries=[entry(1)])
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert no_retries.put_events(EventBusArn=local.bus_arn, Entries=[entry(1)])["FailedEntryCount"] == 0  # one only


def test_a_malformed_body_gets_a_cbor_error_not_a_crash(local: Local) -> None:
    request = urllib.request.Request(
        f"{local.endpoint.url}/service/AWSEventsV2/operation/PutEvents",
        data=b"\xff\x00 not cbor",
        headers={"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    body = cbor2.loads(caught.value.read())
    assert body["__type"].endswith("#InvalidInputException")
    assert local.client.list_event_buses()["EventBuses"]  # still serving


def test_list_operations_page(local: Local) -> None:
    for _ in range(3):
        local.subscribe(local.queue()[1])
    first = local.client.list_subscribers(EventBusArn=local.bus_arn, MaxResults=2)
    assert len(first["Subscribers"]) == 2 and first["NextToken"]
    rest = local.client.list_subscribers(EventBusArn=local.bus_arn, MaxResults=2, NextToken=first["NextToken"])
    assert len(rest["Subscribers"]) == 1 and "NextToken" not in rest
