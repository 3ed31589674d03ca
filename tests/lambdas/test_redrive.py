"""redrive: SQS batch from the bridge's fallback queue -> PutEvents on the bus (moto over HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lambdas.redrive.handler import handler
from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from tests.lambdas.kit import Context, drain, leg_event, sid, sqs_event


def fallback_body(event: dict[str, Any], bus: str) -> str:
    """What the bridge writes to the fallback queue (bridge/fallback.py): the entry, Time as ISO text."""
    entry = to_put_events_entry(LegEvent.model_validate(event), bus_name=bus, received_at=datetime.now(UTC))
    entry["Time"] = entry["Time"].isoformat()
    return json.dumps(entry)


def test_replays_entries_onto_the_bus_and_reports_bad_records(lambda_env: Any, sqs: Any) -> None:
    events = [leg_event("leg_ringing", sid("L")), leg_event("leg_answered", sid("L"), answered_by="HUMAN")]
    bodies = [fallback_body(e, lambda_env.bus_name) for e in events] + ["{not json", json.dumps({"Source": "x"})]
    batch = sqs_event(bodies)
    reply = handler(batch, Context("redrive"))
    failed = {f["itemIdentifier"] for f in reply["batchItemFailures"]}
    assert failed == {batch["Records"][2]["messageId"], batch["Records"][3]["messageId"]}
    arrived = [json.loads(m["Body"]) for m in drain(sqs, lambda_env.events_queue_url, wait=5.0, expect=2)]
    by_sid = {a["detail"]["event_sid"]: a for a in arrived}
    for event in events:
        got = by_sid[event["event_sid"]]
        assert got["source"] == "exotel.legs" and got["detail-type"] == event["event_name"]
        assert got["detail"]["data"]["leg_sid"] == event["data"]["leg_sid"]


def test_a_redelivered_message_is_published_once(lambda_env: Any, sqs: Any) -> None:
    body = fallback_body(leg_event("leg_terminated", sid("L"), terminal_status="completed"), lambda_env.bus_name)
    assert handler(sqs_event([body]), Context("redrive")) == {"batchItemFailures": []}
    assert handler(sqs_event([body]), Context("redrive")) == {"batchItemFailures": []}
    assert len(drain(sqs, lambda_env.events_queue_url, wait=2.0)) == 1


def test_entry_without_bus_name_goes_to_the_configured_bus(lambda_env: Any, sqs: Any) -> None:
    entry = json.loads(fallback_body(leg_event("leg_ringing", sid("L")), "ignored"))
    del entry["EventBusName"]
    assert handler(sqs_event([json.dumps(entry)]), Context("redrive")) == {"batchItemFailures": []}
    assert len(drain(sqs, lambda_env.events_queue_url, wait=2.0)) == 1


def test_bus_refusing_the_entry_is_a_batch_item_failure(lambda_env: Any, sqs: Any) -> None:
    good = fallback_body(leg_event("leg_ringing", sid("L")), lambda_env.bus_name)
    bad = fallback_body(leg_event("leg_ringing", sid("L")), "no-such-bus")
    batch = sqs_event([good, bad])
    reply = handler(batch, Context("redrive"))
    assert reply == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    with pytest.raises(BatchProcessingError):  # all failed: Powertools fails the invocation, SQS retries it
        handler(sqs_event([bad]), Context("redrive"))
    drain(sqs, lambda_env.events_queue_url, wait=1.0)
