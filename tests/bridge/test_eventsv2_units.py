"""Unit tests of the EventsV2 publisher and its selection by configuration (in-process fakes only; the same path
over HTTP with two bridge processes is tests/bridge/test_ordered.py)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge import eventsv2
from bridge.batcher import Item
from bridge.config import BridgeConfig, ConfigError
from bridge.eventsv2 import EventsV2Publisher
from bridge.metrics import BridgeMetrics
from bridge.publisher import EventBusPublisher
from contract.bus import BusKind
from legs.events import LegEvent
from tests.bridge.test_units import FakeSqs, entry
from tests.support.samples import LEG_TERMINATED

ARN = "arn:aws:events:ap-south-1:111122223333:event-busv2/exotel-legs/abcdefghijklmnopqrstuvwxy"


class FakeV2Bus:
    """Records ``eventbridgev2`` PutEvents calls; ``script(call, index, entry)`` -> None, "DEDUPLICATED" or a code."""

    def __init__(self, script: Any = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script = script or (lambda call, index, entry: None)
        self._lock = threading.Lock()

    def put_events(self, *, EventBusArn: str, Entries: list[dict]) -> dict:
        with self._lock:
            self.calls.append({"EventBusArn": EventBusArn, "Entries": list(Entries)})
            call = len(self.calls)
        results = []
        for index, item in enumerate(Entries):
            outcome = self.script(call, index, item)
            if outcome in (None, "DEDUPLICATED"):
                results.append({"EventId": f"id-{index}", "SequenceNumber": "1", "SuccessCode": outcome or "PUBLISHED"})
            else:
                results.append({"ErrorCode": outcome, "ErrorMessage": "fake"})
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


def v2_entry(i: int) -> dict:
    e = entry(i)
    e.pop("EventBusName")
    return {**e, "EventBusArn": ARN, "SystemMetadata": {"EventGroupId": f"leg-{i % 2}", "DeduplicationId": f"e{i}"}}


async def publish_v2(bus: FakeV2Bus, entries: list[dict], sqs: FakeSqs | None = None) -> tuple[list, BridgeMetrics]:
    from bridge.fallback import FallbackQueue

    loop = asyncio.get_running_loop()
    metrics = BridgeMetrics("Test", "bridge")
    with ThreadPoolExecutor(4) as executor:
        fallback = FallbackQueue(sqs or FakeSqs(), "http://q", executor=executor, metrics=metrics, deadline_s=0.3)
        fallback.start()
        publisher = EventsV2Publisher(bus, bus_arn=ARN, executor=executor, spill=fallback.spill, metrics=metrics)
        publisher.start()
        futures = []
        for i, e in enumerate(entries):
            future = loop.create_future()
            publisher.submit(Item(e, len(e["Detail"]), loop.time() + 5.0, future, f"e{i}"))
            futures.append(future)
        results = await asyncio.gather(*futures, return_exceptions=True)
        await publisher.close()
        await fallback.close()
    return results, metrics


def test_the_call_carries_the_bus_arn_once_and_each_entry_its_system_metadata() -> None:
    bus = FakeV2Bus()
    results, metrics = asyncio.run(publish_v2(bus, [v2_entry(i) for i in range(3)]))
    assert results == ["bus"] * 3 and metrics.published == 3
    sent = [e for call in bus.calls for e in call["Entries"]]
    assert {call["EventBusArn"] for call in bus.calls} == {ARN}
    assert all("EventBusArn" not in e and "EventBusName" not in e for e in sent)
    assert [e["SystemMetadata"]["DeduplicationId"] for e in sent] == ["e0", "e1", "e2"]


def test_deduplicated_is_stored_elsewhere_so_acknowledged_and_counted() -> None:
    bus = FakeV2Bus(lambda call, index, e: "DEDUPLICATED" if e["SystemMetadata"]["DeduplicationId"] == "e1" else None)
    results, metrics = asyncio.run(publish_v2(bus, [v2_entry(i) for i in range(2)]))
    assert results == ["bus", "bus"]
    assert metrics.bus_deduplicated == 1 and metrics.spilled == 0


def test_v2_errors_retrying_cannot_fix_go_to_the_fallback_queue_at_once() -> None:
    bus = FakeV2Bus(
        lambda call, index, e: "InvalidStateException" if e["SystemMetadata"]["DeduplicationId"] == "e0" else None
    )
    sqs = FakeSqs()
    results, metrics = asyncio.run(publish_v2(bus, [v2_entry(i) for i in range(2)], sqs=sqs))
    assert results == ["fallback", "bus"]
    assert len(bus.calls) == 1 and metrics.retries == 0
    assert '"SystemMetadata"' in sqs.batches[0][0]["MessageBody"]  # the copy keeps its group and dedup id


def test_throttled_entries_are_retried() -> None:
    bus = FakeV2Bus(lambda call, index, e: "ThrottlingException" if call == 1 else None)
    results, metrics = asyncio.run(publish_v2(bus, [v2_entry(0)]))
    assert results == ["bus"] and metrics.retries >= 1 and len(bus.calls) >= 2


def test_configuration_selects_the_publisher_client_and_entry() -> None:
    classic = BridgeConfig.from_env({})
    assert classic.event_bus_kind is BusKind.CLASSIC
    assert eventsv2.client_service(classic) == "events" and eventsv2.entry_builder_for(classic) is None
    v2 = BridgeConfig.from_env({"EVENT_BUS_KIND": "v2", "EVENT_BUS_ARN": ARN, "EVENT_SOURCE": "acme.exotel"})
    assert eventsv2.client_service(v2) == "eventbridgev2"
    build = eventsv2.entry_builder_for(v2)
    assert build is not None
    built = build(LegEvent.model_validate(LEG_TERMINATED), datetime.now(UTC))
    assert built["EventBusArn"] == ARN and built["Source"] == "acme.exotel"
    assert built["SystemMetadata"]["EventGroupId"] == LEG_TERMINATED["data"]["leg_sid"]

    async def kinds() -> tuple[type, type]:
        with ThreadPoolExecutor(1) as executor:
            kwargs = {"executor": executor, "spill": lambda item: None, "metrics": BridgeMetrics("T", "b")}
            return type(eventsv2.publisher_for(classic, None, **kwargs)), type(
                eventsv2.publisher_for(v2, None, **kwargs)
            )

    assert asyncio.run(kinds()) == (EventBusPublisher, EventsV2Publisher)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"EVENT_BUS_KIND": "v2"}, "EVENT_BUS_ARN"),
        ({"EVENT_BUS_KIND": "v3"}, "EVENT_BUS_KIND"),
        (
            {"EVENT_BUS_KIND": "v2", "EVENT_BUS_ARN": "arn:aws:events:us-east-1:123456789012:event-bus/x"},
            "EVENT_BUS_ARN",
        ),
    ],
)
def test_bad_ordered_configuration_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BridgeConfig.from_env(environ)
