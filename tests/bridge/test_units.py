"""Unit tests of the batcher, publisher, fallback, dedup cache and config (in-process fakes only)."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from pydantic import SecretStr

from bridge.batcher import Item, Unavailable
from bridge.config import DEFAULT_LINGER_MS, BridgeConfig, ConfigError
from bridge.dedup import DELIVERED, RecentEvents
from bridge.fallback import FallbackQueue, fallback_body
from bridge.metrics import BridgeMetrics, Reservoir
from bridge.publisher import EventBusPublisher, spill_nowhere
from bridge.server import BridgeServer
from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.bridge.conftest import make_event


class FakeBus:
    """Records PutEvents calls; ``script`` decides each entry's fate by call number and index."""

    def __init__(self, script: Any = None, delay: float = 0.0) -> None:
        self.calls: list[list[dict]] = []
        self.script = script or (lambda call, index, entry: None)
        self.delay = delay
        self.concurrent = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()

    def put_events(self, *, Entries: list[dict]) -> dict:
        with self._lock:
            self.calls.append(list(Entries))
            call = len(self.calls)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.delay:
                time.sleep(self.delay)
            results = []
            for index, entry in enumerate(Entries):
                outcome = self.script(call, index, entry)
                if isinstance(outcome, Exception):
                    raise outcome
                results.append({"ErrorCode": outcome, "ErrorMessage": "fake"} if outcome else {"EventId": "x"})
            return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}
        finally:
            with self._lock:
                self.concurrent -= 1


class FakeSqs:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[dict]] = []
        self.fail = fail

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict]) -> dict:
        if self.fail:
            raise ConnectionError("sqs down")
        self.batches.append(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def entry(i: int, detail_bytes: int = 100) -> dict:
    return {
        "Source": "exotel.legs",
        "DetailType": "leg_ringing",
        "Detail": json.dumps({"event_sid": f"e{i}", "pad": "x" * detail_bytes}),
        "EventBusName": "b",
        "Time": datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
    }


async def publish(
    bus: FakeBus,
    entries: list[dict],
    sizes: list[int] | None = None,
    *,
    deadline: float = 5.0,
    sqs: FakeSqs | None = None,
    **kwargs: Any,
) -> tuple[list[object], BridgeMetrics]:
    loop = asyncio.get_running_loop()
    metrics = BridgeMetrics("Test", "bridge")
    with ThreadPoolExecutor(8) as executor:
        fallback = None
        if sqs is not None:
            fallback = FallbackQueue(sqs, "http://q", executor=executor, metrics=metrics, deadline_s=0.3)
            fallback.start()
        spill = fallback.spill if fallback else spill_nowhere(metrics)
        publisher = EventBusPublisher(bus, executor=executor, spill=spill, metrics=metrics, **kwargs)
        publisher.start()
        futures = []
        for i, e in enumerate(entries):
            future = loop.create_future()
            size = sizes[i] if sizes else len(e["Detail"])
            publisher.submit(Item(e, size, loop.time() + deadline, future, f"e{i}"))
            futures.append(future)
        results = await asyncio.gather(*futures, return_exceptions=True)
        await publisher.close()
        if fallback:
            await fallback.close()
    return results, metrics


def test_batches_respect_count_and_byte_limits() -> None:
    bus = FakeBus()
    sizes = [100 * 1024] * 5 + [10] * 25
    results, metrics = asyncio.run(publish(bus, [entry(i) for i in range(30)], sizes, linger_s=0.05))
    assert results == ["bus"] * 30
    assert all(len(call) <= 10 for call in bus.calls)
    by_detail = {e["Detail"]: s for e, s in zip([entry(i) for i in range(30)], sizes, strict=True)}
    assert all(sum(by_detail[e["Detail"]] for e in call) <= 256 * 1024 for call in bus.calls)
    assert sum(len(c) for c in bus.calls) == 30
    assert metrics.published == 30 and metrics.put_events_calls == len(bus.calls)


def test_linger_gathers_a_batch_and_batch_size_one_turns_batching_off() -> None:
    bus = FakeBus()
    asyncio.run(publish(bus, [entry(i) for i in range(7)], linger_s=0.2))
    assert [len(c) for c in bus.calls] == [7]
    single = FakeBus()
    asyncio.run(publish(single, [entry(i) for i in range(7)], linger_s=0.0, max_entries=1))
    assert [len(c) for c in single.calls] == [1] * 7


def test_a_lone_event_on_an_idle_publisher_leaves_without_waiting_for_the_dispatchers_turn() -> None:
    sent: list[object] = []

    class Client:  # calls on the event loop, as bridge.asyncsdk's client
        async def call(self, operation: str, params: dict) -> dict:
            sent.append(params)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        metrics = BridgeMetrics("Test", "bridge")
        publisher = EventBusPublisher(Client(), spill=spill_nowhere(metrics), metrics=metrics, linger_s=0.05)
        publisher.start()
        await asyncio.sleep(0)  # the dispatcher parks: nothing queued
        future = loop.create_future()
        publisher.submit(Item(entry(0), 100, loop.time() + 5, future, "e0"))
        await asyncio.sleep(0)  # one turn of the loop: the call has started (through the dispatcher: two turns)
        assert len(sent) == 1
        assert await future == "bus"
        second = loop.create_future()  # the last batch left less than a linger ago, alone: the rule is unchanged
        publisher.submit(Item(entry(1), 100, loop.time() + 5, second, "e1"))
        assert await second == "bus" and len(sent) == 2
        await publisher.close()

    asyncio.run(scenario())


def test_events_that_arrive_while_a_call_is_in_flight_leave_together() -> None:
    batches: list[int] = []

    class SlowClient:
        async def call(self, operation: str, params: dict) -> dict:
            batches.append(len(params["Entries"]))
            await asyncio.sleep(0.05)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}] * len(params["Entries"])}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        metrics = BridgeMetrics("Test", "bridge")
        publisher = EventBusPublisher(SlowClient(), spill=spill_nowhere(metrics), metrics=metrics, linger_s=0)
        publisher.start()
        await asyncio.sleep(0)
        futures = [loop.create_future() for _ in range(4)]
        publisher.submit(Item(entry(0), 100, loop.time() + 5, futures[0], "e0"))  # an idle publisher: straight out
        await asyncio.sleep(0.01)  # that call is in flight
        for n in (1, 2, 3):  # no linger, yet the three that came meanwhile share one call
            publisher.submit(Item(entry(n), 100, loop.time() + 5, futures[n], f"e{n}"))
        assert await asyncio.gather(*futures) == ["bus"] * 4
        await publisher.close()

    asyncio.run(scenario())
    assert batches == [1, 3]


def test_in_flight_calls_are_bounded() -> None:
    bus = FakeBus(delay=0.05)
    results, _ = asyncio.run(publish(bus, [entry(i) for i in range(60)], linger_s=0, max_in_flight=2, max_entries=3))
    assert results == ["bus"] * 60
    assert bus.max_concurrent == 2


def test_only_failed_entries_are_retried() -> None:
    failed_once: set[str] = set()

    def script(call: int, index: int, e: dict) -> str | None:
        sid = json.loads(e["Detail"])["event_sid"]
        if sid in ("e1", "e4") and sid not in failed_once:
            failed_once.add(sid)
            return "ThrottlingException"
        return None

    bus = FakeBus(script)
    results, metrics = asyncio.run(publish(bus, [entry(i) for i in range(6)], linger_s=0.05))
    assert results == ["bus"] * 6
    sent = [json.loads(e["Detail"])["event_sid"] for call in bus.calls for e in call]
    assert sorted(sent) == sorted(["e0", "e1", "e2", "e3", "e4", "e5", "e1", "e4"])
    assert metrics.retries == 2


def test_whole_call_errors_are_retried_then_spilled_after_the_deadline() -> None:
    bus = FakeBus(lambda call, index, e: ConnectionError("refused"))
    sqs = FakeSqs()
    results, metrics = asyncio.run(publish(bus, [entry(i) for i in range(3)], deadline=0.2, sqs=sqs, linger_s=0))
    assert results == ["fallback"] * 3
    assert len(bus.calls) > 1  # retried before giving up
    bodies = [json.loads(m["MessageBody"]) for batch in sqs.batches for m in batch]
    assert sorted(json.loads(b["Detail"])["event_sid"] for b in bodies) == ["e0", "e1", "e2"]
    assert bodies[0]["Time"] == "2024-01-02T03:04:05.600000+00:00"
    assert metrics.spilled == 3


def test_permanent_errors_skip_retries() -> None:
    bus = FakeBus(lambda call, index, e: "MalformedDetail" if index == 0 else None)
    sqs = FakeSqs()
    results, metrics = asyncio.run(publish(bus, [entry(i) for i in range(2)], sqs=sqs, linger_s=0.05))
    assert results == ["fallback", "bus"]
    assert len(bus.calls) == 1 and metrics.retries == 0


def test_nothing_durable_means_unavailable() -> None:
    bus = FakeBus(lambda call, index, e: "InternalFailure")
    results, _ = asyncio.run(publish(bus, [entry(0)], deadline=0.1, sqs=FakeSqs(fail=True), linger_s=0))
    assert isinstance(results[0], Unavailable) and "fallback" in str(results[0])
    results, _ = asyncio.run(publish(bus, [entry(0)], deadline=0.1, linger_s=0))
    assert isinstance(results[0], Unavailable) and "no fallback queue" in str(results[0])


def test_a_hung_call_does_not_hold_events_past_their_deadline() -> None:
    bus = FakeBus(delay=1.0)
    sqs = FakeSqs()
    started = time.monotonic()
    results, _ = asyncio.run(publish(bus, [entry(0)], deadline=0.2, sqs=sqs, linger_s=0))
    assert results == ["fallback"]
    assert time.monotonic() - started < 5  # generous: only proves the reply did not wait for the hung call forever
    reason = sqs.batches[0][0]["MessageAttributes"]["spill_reason"]["StringValue"]
    assert reason == "PutEvents did not answer before the deadline"


def test_fallback_body_is_a_replayable_entry() -> None:
    e = entry(1)
    body = json.loads(fallback_body(e))
    assert body == {**e, "Time": "2024-01-02T03:04:05.600000+00:00"}


def test_recent_events_lru_ttl_and_forget() -> None:
    now = [0.0]
    cache = RecentEvents(max_size=3, ttl_s=10, clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        futures = {k: loop.create_future() for k in "abcd"}
        for key in "abc":
            cache.claim(key, futures[key])
        assert cache.get("a") is futures["a"]
        cache.claim("d", futures["d"])  # over size: the oldest ("a") goes
        assert cache.get("a") is None and len(cache) == 3
        cache.forget("b", futures["c"])  # not b's future: kept
        assert cache.get("b") is futures["b"]
        cache.forget("b", futures["b"])
        assert cache.get("b") is None
        now[0] = 11.0
        assert cache.get("c") is None  # expired
        assert not RecentEvents(0, 10).enabled
    finally:
        loop.close()


def test_recent_events_remember_a_settled_delivery_without_its_future() -> None:
    cache = RecentEvents(max_size=10_000, ttl_s=60)
    loop = asyncio.new_event_loop()
    try:
        failed = loop.create_future()
        cache.claim("failed", failed)
        failed.set_exception(Unavailable("no"))
        cache.settled("failed", failed)
        assert cache.get("failed") is None  # a failed delivery is forgotten: its repeat publishes

        stale = loop.create_future()
        cache.claim("x", stale)
        newer = loop.create_future()
        cache.claim("x", newer)
        stale.set_result("bus")
        cache.settled("x", stale)  # not x's delivery any more: nothing changes
        assert cache.get("x") is newer

        gc.collect()
        tracked_before = len(gc.get_objects())
        for n in range(5_000):
            future = loop.create_future()
            cache.claim(f"k{n}", future)
            future.set_result("bus")
            cache.settled(f"k{n}", future)
        del future
        gc.collect()
        assert cache.get("k0") == DELIVERED and cache.get("k4999") == DELIVERED
        # 5,000 remembered deliveries, none of them an object the cycle collector walks
        assert len(gc.get_objects()) - tracked_before < 100
    finally:
        loop.close()


def test_reservoir_keeps_a_bounded_sample() -> None:
    reservoir = Reservoir(size=10)
    for value in range(1000):
        reservoir.add(float(value))
    assert len(reservoir.values) == 10 and reservoir.count == 1000 and reservoir.maximum == 999.0


def test_config_from_env_reads_names_and_reports_errors() -> None:
    config = BridgeConfig.from_env(
        {"BRIDGE_PORT": "6000", "EVENT_BUS_NAME": "bus", "BRIDGE_AUTH_TOKEN": "hunter2", "AWS_REGION": "eu-west-1"}
    )
    assert (config.port, config.event_bus_name, config.aws_region) == (6000, "bus", "eu-west-1")
    assert config.auth_token is not None and config.auth_token.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config)
    with pytest.raises(ConfigError, match="BRIDGE_MAX_IN_FLIGHT"):
        BridgeConfig.from_env({"BRIDGE_MAX_IN_FLIGHT": "0"})
    with pytest.raises(ConfigError, match="BRIDGE_AUTH_TOKEN"):
        BridgeConfig.from_env({"BRIDGE_AUTH_TOKEN": " ", "BRIDGE_TLS_CLIENT_CA_FILE": ""}, auth_token=" ")
    assert (BridgeConfig().linger_when, BridgeConfig().busy_percent) == ("busy", 85.0)
    assert BridgeConfig.from_env({"BRIDGE_LINGER_WHEN": "always", "BRIDGE_BUSY_PERCENT": "70"}).busy_percent == 70
    with pytest.raises(ConfigError, match="BRIDGE_LINGER_WHEN"):
        BridgeConfig.from_env({"BRIDGE_LINGER_WHEN": "sometimes"})
    with pytest.raises(ConfigError, match="BRIDGE_BUSY_PERCENT"):
        BridgeConfig.from_env({"BRIDGE_BUSY_PERCENT": "150"})


def test_config_keeps_every_old_name() -> None:
    """Each field is read under the name it always had (``contract.env``); blank is unset; values are stripped."""
    env = {
        BridgeEnv.HOST: "127.0.0.2",
        BridgeEnv.LINGER_MS: " 2.5 ",
        Env.EVENT_SOURCE: "acme.legs",
        Env.FALLBACK_QUEUE_URL: "http://q/fallback",
        Env.DEAD_LETTER_QUEUE_URL: "",
        AwsEnv.ENDPOINT_URL: "http://127.0.0.1:4566",
        AwsEnv.DEFAULT_REGION: "ap-south-1",  # the SDK's other name for the region
        PowertoolsEnv.METRICS_NAMESPACE: "Acme",
        PowertoolsEnv.SERVICE_NAME: "edge",
    }
    config = BridgeConfig.from_env(env)
    assert (config.host, config.linger_ms, config.event_source) == ("127.0.0.2", 2.5, "acme.legs")
    assert (config.fallback_queue_url, config.dead_letter_queue_url) == ("http://q/fallback", None)
    assert (config.aws_endpoint_url, config.aws_region) == ("http://127.0.0.1:4566", "ap-south-1")
    assert (config.metrics_namespace, config.service_name) == ("Acme", "edge")
    assert BridgeConfig.from_env({**env, AwsEnv.REGION: "eu-west-1"}).aws_region == "eu-west-1"  # AWS_REGION first
    assert BridgeConfig.from_env({"port": "1", "linger_ms": "1"}) == BridgeConfig()  # field names are not variables


def test_config_errors_name_each_variable_on_its_own_line_and_hide_secrets() -> None:
    with pytest.raises(ConfigError) as refused:
        BridgeConfig.from_env({BridgeEnv.PORT: "http", BridgeEnv.DEDUP_TTL_S: "0", BridgeEnv.AUTH_TOKEN: "hunter2"})
    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid bridge configuration:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [BridgeEnv.PORT, BridgeEnv.DEDUP_TTL_S]
    assert "'http'" in lines[1]  # the value at fault is shown...
    with pytest.raises(ConfigError) as secret:
        BridgeConfig.from_env(auth_token=SecretStr(" "))
    assert "hunter2" not in str(refused.value) and BridgeEnv.AUTH_TOKEN in str(secret.value)  # ...a secret's never


def test_config_built_by_hand_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BridgeEnv.PORT, "6001")
    monkeypatch.setenv(Env.EVENT_BUS_NAME, "from-the-shell")
    assert (BridgeConfig().port, BridgeConfig().event_bus_name) == (50051, "exotel-legs")
    assert BridgeConfig.from_env().port == 6001 and BridgeConfig.from_env(port=0).port == 0  # overrides win
    with pytest.raises(ConfigError, match=BridgeEnv.PORT):
        BridgeConfig(port=70000)


def test_one_linger_default() -> None:
    """The publisher's default linger is the configuration's (BRIDGE_LINGER_MS), not a second number."""
    import inspect

    default_s = inspect.signature(EventBusPublisher.__init__).parameters["linger_s"].default
    assert default_s * 1000 == BridgeConfig().linger_ms == DEFAULT_LINGER_MS


def test_healthcheck_names_a_bad_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.healthcheck import HealthcheckConfig, check

    config = HealthcheckConfig.from_env({BridgeEnv.PORT: "6000", BridgeEnv.HEALTHCHECK_SERVER_NAME: "bridge.local"})
    assert (config.target, config.server_name, config.tls_cert_file) == ("127.0.0.1:6000", "bridge.local", None)
    monkeypatch.setenv(BridgeEnv.PORT, "not-a-port")
    assert check(timeout=1) is False
    assert f"{BridgeEnv.PORT}: " in capsys.readouterr().err


@asynccontextmanager
async def serving(config: BridgeConfig, **clients: Any) -> AsyncIterator[pb_grpc.LegEventServiceStub]:
    """An in-process bridge (``clients``: its injected AWS clients) and a stub over real gRPC on loopback."""
    server = BridgeServer(config, **clients)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield pb_grpc.LegEventServiceStub(channel)
    finally:
        await server.stop(grace=1)


@pytest.mark.parametrize("fallback_works", [True, False])
def test_a_repeat_in_flight_waits_for_the_first_outcome(fallback_works: bool) -> None:
    """In-process server, injected bus whose first call hangs, then refuses the entry: the repeat waits.

    If the first delivery still became durable (fallback), the repeat is a duplicate; if it failed
    (UNAVAILABLE), the repeat is delivered on its own.
    """
    gate = threading.Event()

    def script(call: int, index: int, e: dict) -> str | None:
        if call == 1:
            gate.wait(5)
            return "AccessDeniedException"  # permanent: straight to the fallback queue
        return None

    bus = FakeBus(script)

    async def scenario() -> tuple[object, object]:
        config = BridgeConfig(
            host="127.0.0.1",
            port=0,
            publish_deadline_ms=2000,
            fallback_deadline_ms=100,
            linger_ms=0,
            metrics_interval_s=60,
            fallback_queue_url="http://fallback",
        )
        async with serving(config, events_client=bus, sqs_client=FakeSqs(fail=not fallback_works)) as client:
            message = make_event(1)
            first = asyncio.ensure_future(client.TriggerCallbackEvent(message, timeout=10))
            await asyncio.sleep(0.05)
            second = asyncio.ensure_future(client.TriggerCallbackEvent(message, timeout=10))
            await asyncio.sleep(0.2)
            assert not second.done()  # not acknowledged blindly while the first is in flight
            gate.set()
            outcomes = await asyncio.gather(first, second, return_exceptions=True)
            return outcomes[0], outcomes[1]

    first, second = asyncio.run(scenario())
    if fallback_works:
        assert first.accepted and not first.duplicate  # type: ignore[union-attr]
        assert second.accepted and second.duplicate  # type: ignore[union-attr]
        assert len(bus.calls) == 1
    else:
        assert isinstance(first, grpc.aio.AioRpcError) and first.code() == grpc.StatusCode.UNAVAILABLE
        assert second.accepted and not second.duplicate  # type: ignore[union-attr]
        assert len(bus.calls) == 2


def test_a_caller_that_goes_away_does_not_stop_its_event_and_the_repeat_is_a_duplicate() -> None:
    """The caller cancels while its event is in flight: the delivery goes on (the call's own waiter is what is
    cancelled, not the delivery a repeat shares), so the bus gets the event once and the repeat is a duplicate."""
    gate = threading.Event()
    bus = FakeBus(lambda call, index, e: gate.wait(5) and None)

    async def scenario() -> object:
        config = BridgeConfig(host="127.0.0.1", port=0, publish_deadline_ms=3000, linger_ms=0, metrics_interval_s=60)
        async with serving(config, events_client=bus) as client:
            message = make_event(7)
            first = client.TriggerCallbackEvent(message, timeout=10)
            await asyncio.sleep(0.2)
            assert len(bus.calls) == 1  # in flight
            first.cancel()
            await asyncio.sleep(0.1)
            gate.set()
            return await client.TriggerCallbackEvent(message, timeout=10)

    repeat = asyncio.run(scenario())
    assert repeat.accepted and repeat.duplicate  # type: ignore[attr-defined]
    assert len(bus.calls) == 1


def test_a_failed_delivery_is_not_reported_as_never_retrieved_with_the_dedup_cache_off() -> None:
    """The call awaits its own waiter, so the delivery's failure must still be consumed when nothing is cached."""
    bus = FakeBus(lambda call, index, e: "AccessDeniedException")  # permanent, no fallback queue: UNAVAILABLE
    reported: list[str] = []

    async def scenario() -> grpc.StatusCode:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context["message"]))
        config = BridgeConfig(host="127.0.0.1", port=0, linger_ms=0, metrics_interval_s=60, dedup_size=0)
        async with serving(config, events_client=bus) as client:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await client.TriggerCallbackEvent(make_event(3), timeout=10)
            return failed.value.code()

    assert asyncio.run(scenario()) == grpc.StatusCode.UNAVAILABLE
    gc.collect()
    assert len(bus.calls) == 1
    assert not [message for message in reported if "never retrieved" in message], reported


def test_an_items_waiter_is_settled_with_its_delivery_in_the_same_call() -> None:
    """What the RPC awaits is settled by ``Item.resolve`` / ``Item.fail`` themselves, not a turn of the loop later;
    a waiter the caller cancelled is left alone."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        done, waiter = loop.create_future(), loop.create_future()
        Item(entry(1), 10, loop.time() + 1, done, "a", waiter).resolve("bus")
        assert done.result() == "bus" and waiter.result() == "bus"
        failed, failed_waiter = loop.create_future(), loop.create_future()
        Item(entry(2), 10, loop.time() + 1, failed, "b", failed_waiter).fail(Unavailable("no"))
        assert isinstance(failed_waiter.exception(), Unavailable) and isinstance(failed.exception(), Unavailable)
        kept, gone = loop.create_future(), loop.create_future()
        gone.cancel()
        Item(entry(3), 10, loop.time() + 1, kept, "c", gone).resolve("bus")
        assert kept.result() == "bus" and gone.cancelled()

    asyncio.run(scenario())


def test_service_specific_endpoint_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge import aws

    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", "http://127.0.0.1:1111")
    config = BridgeConfig(aws_endpoint_url="http://127.0.0.1:2222", aws_region="us-east-1")
    assert aws.events_client(config).meta.endpoint_url == "http://127.0.0.1:1111"
    assert aws.sqs_client(config).meta.endpoint_url == "http://127.0.0.1:2222"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigError, match="AWS_REGION"):
        aws.sqs_client(BridgeConfig())


class Gate:
    """A linger gate (``bridge.busy.CpuBusy``'s part the batcher reads) whose answer the test sets."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy


def feed(
    bus: FakeBus, count: int, *, linger_s: float, gap_s: float, wait_each: bool = False, gate: Gate | None = None
) -> EventBusPublisher:
    """Submit ``count`` events to a publisher on ``bus``, ``gap_s`` apart (``wait_each``: each one after the last
    one's answer, as one caller sending one at a time); every one must reach the bus."""

    async def scenario() -> EventBusPublisher:
        loop = asyncio.get_running_loop()
        metrics = BridgeMetrics("Test", "bridge")
        with ThreadPoolExecutor(4) as executor:
            publisher = EventBusPublisher(
                bus,
                executor=executor,
                spill=spill_nowhere(metrics),
                metrics=metrics,
                linger_s=linger_s,
                linger_gate=gate,
            )
            publisher.start()
            futures = []
            for i in range(count):
                future = loop.create_future()
                publisher.submit(Item(entry(i), 100, loop.time() + 5.0, future, f"e{i}"))
                futures.append(future)
                if wait_each:
                    await future
                await asyncio.sleep(gap_s)
            assert await asyncio.gather(*futures) == ["bus"] * count
            await publisher.close()
        return publisher

    return asyncio.run(scenario())


def test_a_steady_stream_gathers_batches_even_when_the_bus_answers_at_once() -> None:
    """Under load the bus may answer before the next event comes (nothing in flight); a batch that left less than
    a linger ago still makes the next wait for company: 60 events, one every 2 ms, leave in a few full batches
    rather than one call each. The first leaves alone (the publisher was idle)."""
    bus = FakeBus()
    feed(bus, 60, linger_s=0.05, gap_s=0.002)
    sizes = [len(call) for call in bus.calls]
    assert sizes[0] == 1 and sum(sizes) == 60
    assert len(sizes) <= 12, sizes  # one call per event without the rule; ~7 with it (1, then ~10 at a time)


def test_a_gate_that_says_the_cpus_are_idle_sends_each_event_at_once_and_a_busy_one_lingers() -> None:
    """BRIDGE_LINGER_WHEN=busy: the same steady stream leaves one event per call while the CPUs are idle (no
    wait for company, no latency added), and in a few full batches while they are busy."""
    idle_bus, busy_bus = FakeBus(), FakeBus()
    feed(idle_bus, 60, linger_s=0.05, gap_s=0.002, gate=Gate(busy=False))
    feed(busy_bus, 60, linger_s=0.05, gap_s=0.002, gate=Gate(busy=True))
    assert [len(call) for call in idle_bus.calls] == [1] * 60
    sizes = [len(call) for call in busy_bus.calls]
    assert sum(sizes) == 60 and len(sizes) <= 12, sizes


def test_one_caller_sending_one_event_at_a_time_waits_for_company_once_at_most() -> None:
    """Its next event comes only after this one's answer, so waiting for company is futile: after one wait that
    found none, its events leave at once (until a batch has company again)."""
    bus = FakeBus()
    publisher = feed(bus, 20, linger_s=0.05, gap_s=0.0, wait_each=True)
    assert [len(call) for call in bus.calls] == [1] * 20 and publisher.idle_waits <= 1


def test_a_lone_event_on_an_idle_publisher_does_not_linger() -> None:
    """Linger applies only while busy: e0 leaves alone (e0 is on its way before e1 arrives), e1..e3 gather behind
    it."""
    bus = FakeBus(delay=0.1)
    feed(bus, 4, linger_s=0.5, gap_s=0.02)
    assert [[json.loads(e["Detail"])["event_sid"] for e in call] for call in bus.calls] == [["e0"], ["e1", "e2", "e3"]]


@pytest.mark.parametrize(("setting", "expected"), [(None, "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_event_loop_is_uvloop_unless_asked_for_asyncio(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: str
) -> None:
    from bridge import loop

    if setting is None:
        monkeypatch.delenv(BridgeEnv.EVENT_LOOP, raising=False)
    else:
        monkeypatch.setenv(BridgeEnv.EVENT_LOOP, setting)
    seen: list[str] = []

    async def main() -> None:
        seen.append(loop.loop_name())

    loop.run(main(), BridgeConfig.from_env().event_loop)
    assert seen == [expected]


def test_an_unknown_event_loop_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BridgeEnv.EVENT_LOOP, "uvlop")
    with pytest.raises(ConfigError, match=BridgeEnv.EVENT_LOOP):
        BridgeConfig.from_env()


def test_the_http_client_is_the_bridges_own_unless_asked_for_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BridgeEnv.HTTP_CLIENT, raising=False)
    assert BridgeConfig.from_env().http_client == "builtin"
    monkeypatch.setenv(BridgeEnv.HTTP_CLIENT, "aiohttp")
    assert BridgeConfig.from_env().http_client == "aiohttp"
    monkeypatch.setenv(BridgeEnv.HTTP_CLIENT, "urllib3")
    with pytest.raises(ConfigError, match=BridgeEnv.HTTP_CLIENT):
        BridgeConfig.from_env()
