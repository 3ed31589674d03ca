"""The devstack's own parts against a real emulator over HTTP, with stand-in handlers (no simulator, no bridge).

What is checked here is the devstack's Lambda/API Gateway/EventBridge fidelity: rules with the routing table's
exact patterns, retries then the rule's DLQ, partial batch failures, the proxy event and the proxy response.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from contract.bus import DEFAULT_BUS_NAME as BUS_NAME
from contract.bus import DEFAULT_SOURCE
from contract.deployment import EXOTEL_SECRET_NAME
from contract.env import Env
from contract.resources import RETRY_QUEUE, TABLES
from devstack.api_front import ApiFront, build_proxy_event
from devstack.config import LOCAL_AWS_ACCOUNT, DevstackConfig, check_ports_free
from devstack.emulator import AwsEmulator
from devstack.functions import Invoker, LocalFunction
from devstack.logs import Printer, ThreadStdout, condense
from devstack.ready import READY_PATH, NotReady, ReadyInfo, fetch_ready
from devstack.resources import Provisioned, Provisioner, table_name
from devstack.runner import LambdaRunner, QueueTrigger, ScheduleTrigger
from devstack.stack import deadline_env
from lambdas.domain.deadlines import Deadlines
from lambdas.routing import routes
from lambdas.wiring import OPTIONAL_ENV as WIRING_OPTIONAL_ENV
from legs.settings import ConfigError

ROUTES = routes(DEFAULT_SOURCE)


pytestmark = pytest.mark.component

BOUND = 20.0  # seconds: every wait below is bounded by this


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsEmulator]:
    emu = AwsEmulator(DevstackConfig(aws_emulator_port=0))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def provisioned(emulator: AwsEmulator) -> Provisioned:
    return Provisioner(emulator, max_receive_count=2, dlq_for=frozenset({RETRY_QUEUE.id})).provision()


@pytest.fixture
def invoker() -> Invoker:
    return Invoker(ThreadStdout(Printer(level="ERROR")), "us-east-1")


def _count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _wait(probe: Any, what: str) -> Any:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_resources_follow_the_shared_definitions_and_provisioning_twice_changes_nothing(
    emulator: AwsEmulator, provisioned: Provisioned
) -> None:
    again = Provisioner(emulator, max_receive_count=2, dlq_for=frozenset({RETRY_QUEUE.id})).provision()
    assert again.model_dump(exclude={"secret_arn"}) == provisioned.model_dump(exclude={"secret_arn"})

    events = emulator.client("events")
    rules = events.list_rules(EventBusName=BUS_NAME)["Rules"]
    assert len(rules) == len(ROUTES)
    for route in ROUTES:
        ref = provisioned.rules[route.function]
        rule = events.describe_rule(Name=ref.name, EventBusName=BUS_NAME)
        assert json.loads(rule["EventPattern"]) == route.pattern
        targets = events.list_targets_by_rule(Rule=ref.name, EventBusName=BUS_NAME)["Targets"]
        assert [t["Arn"] for t in targets] == [ref.queue.arn]

    sqs = emulator.client("sqs")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=provisioned.rules["connect"].queue.url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"] == provisioned.rules["connect"].queue.dlq_arn
    assert int(policy["maxReceiveCount"]) == 2

    ddb = emulator.client("dynamodb")
    for table in TABLES:
        described = ddb.describe_table(TableName=table_name(table))["Table"]
        keys = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
        assert keys[table.partition_key] == "HASH"
        assert (table.sort_key is None) == (len(keys) == 1)
        indexes = {i["IndexName"]: i for i in described.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {index.name for index in table.indexes}  # CallPlans' by_due, as CDK builds it
        ttl = ddb.describe_time_to_live(TableName=table_name(table))["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == table.ttl_attribute

    secret = emulator.client("secretsmanager").get_secret_value(SecretId=EXOTEL_SECRET_NAME)
    assert json.loads(secret["SecretString"]) == {
        "account_sid": "local-account",
        "api_key": "local-key",
        "api_token": "local-token",
    }


def test_failing_function_is_retried_then_its_event_lands_in_the_rules_dlq(
    emulator: AwsEmulator, provisioned: Provisioned, invoker: Invoker
) -> None:
    calls: list[tuple[str, str]] = []
    received: list[dict[str, Any]] = []

    def failing(event: dict[str, Any], context: Any) -> None:
        calls.append((event["detail"]["event_sid"], context.aws_request_id))
        raise RuntimeError("downstream is down")

    def recording(event: dict[str, Any], context: Any) -> None:
        received.append(
            {
                "event": event,
                "function_name": context.function_name,
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "remaining": context.get_remaining_time_in_millis(),
            }
        )

    connect = LocalFunction("connect", "test", timeout_seconds=30, memory_mb=256, handler=failing)
    leg_state = LocalFunction("leg_state", "test", timeout_seconds=30, memory_mb=512, handler=recording)
    runner = LambdaRunner(
        emulator,
        invoker,
        [
            QueueTrigger(connect, provisioned.rules["connect"].queue, "eventbridge"),
            QueueTrigger(leg_state, provisioned.rules["leg_state"].queue, "eventbridge"),
        ],
        "us-east-1",
    )
    runner.start()
    try:
        detail = {"event_sid": "ev-dlq-1", "data": {"custom_param": "call:p1:customer:1", "leg_sid": "L-1"}}
        entry = {"Source": "exotel.legs", "DetailType": "leg_answered", "Detail": json.dumps(detail)}
        reply = emulator.client("events").put_events(Entries=[{**entry, "EventBusName": BUS_NAME}])
        assert reply["FailedEntryCount"] == 0
        sqs = emulator.client("sqs")
        _wait(lambda: _count(sqs, provisioned.rules["connect"].queue.dlq_url or "") == 1, "the connect DLQ")
        _wait(lambda: received, "leg_state's invocation")
    finally:
        runner.stop()

    assert [sid for sid, _ in calls] == ["ev-dlq-1", "ev-dlq-1"]  # maxReceiveCount = 2 attempts
    assert len({request_id for _, request_id in calls}) == 2  # a fresh context per attempt
    assert connect.errors == 2
    got = received[0]
    assert got["event"]["detail-type"] == "leg_answered"
    assert got["event"]["source"] == "exotel.legs"
    assert got["event"]["detail"] == detail
    assert got["event"]["account"] and got["event"]["id"] and got["event"]["time"]
    assert got["function_name"] == "leg_state"
    assert got["arn"].endswith(":function:leg_state")
    assert got["memory"] == 512
    assert 0 < got["remaining"] <= 30_000
    assert _count(sqs, provisioned.rules["leg_state"].queue.url) == 0


def test_sqs_trigger_honours_partial_batch_failures(
    emulator: AwsEmulator, provisioned: Provisioned, invoker: Invoker
) -> None:
    seen: list[str] = []

    def partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert record["eventSourceARN"] == provisioned.queues[RETRY_QUEUE.id].arn
            seen.append(record["body"])
            if record["body"] == "bad":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    retry = LocalFunction("retry", "test", handler=partial)
    queue = provisioned.queues[RETRY_QUEUE.id]
    runner = LambdaRunner(emulator, invoker, [QueueTrigger(retry, queue, "sqs")], "us-east-1")
    sqs = emulator.client("sqs")
    sqs.send_message(QueueUrl=queue.url, MessageBody="good")
    sqs.send_message(QueueUrl=queue.url, MessageBody="bad")
    runner.start()
    try:
        _wait(lambda: _count(sqs, queue.dlq_url or "") == 1, "the failed record in the retry queue's DLQ")
    finally:
        runner.stop()
    assert seen.count("good") == 1  # deleted after its first success, never redelivered
    assert seen.count("bad") == 2
    assert _count(sqs, queue.url) == 0


def test_a_scheduled_function_runs_on_its_schedule_with_a_scheduled_event(
    emulator: AwsEmulator, invoker: Invoker
) -> None:
    """The sweeper's trigger locally: the runner invokes it every few seconds, as the deployed rate rule does."""
    runs: list[dict[str, Any]] = []

    def sweeper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(event)
        if len(runs) == 2:
            raise RuntimeError("a failed run is not retried: the next run is the retry")
        return {"swept": 0}

    runner = LambdaRunner(
        emulator,
        invoker,
        [],
        "us-east-1",
        schedules=[ScheduleTrigger(LocalFunction("sweeper", "t", handler=sweeper), 0.2)],
    )
    runner.start()
    try:
        _wait(lambda: len(runs) >= 4, "four scheduled runs")
    finally:
        runner.stop()
    assert {e["detail-type"] for e in runs} == {"Scheduled Event"} and {e["source"] for e in runs} == {"aws.events"}
    assert len({e["id"] for e in runs}) == len(runs)


def test_the_devstack_scales_the_plan_deadlines_with_its_schedules() -> None:
    env = deadline_env(0.25)
    assert float(env[Env.PLAN_DIAL_DEADLINE_S]) == Deadlines().dial * 0.25
    assert float(env[Env.PLAN_PENDING_DEADLINE_S]) == Deadlines().pending * 0.25
    assert set(env) <= set(WIRING_OPTIONAL_ENV)


@pytest.fixture
def api_front(invoker: Invoker) -> Iterator[tuple[ApiFront, list[dict[str, Any]]]]:
    events: list[dict[str, Any]] = []

    def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        if event["path"] == "/boom":
            raise ValueError("bug")
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"X-Seen": ["a", "b"]},
            "body": json.dumps({"ok": True}),
            "isBase64Encoded": False,
        }

    front = ApiFront("127.0.0.1", 0, LocalFunction("api", "test", handler=api), invoker)
    front.start()
    yield front, events
    front.stop()


def test_api_front_builds_rest_proxy_events_and_returns_the_function_reply(
    api_front: tuple[ApiFront, list[dict[str, Any]]],
) -> None:
    front, events = api_front
    req = urllib.request.Request(
        f"http://127.0.0.1:{front.port}/legs/abc/actions?fields=a&fields=b",
        data=b'{"exoml": "<Flow/>"}',
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": "k1"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        assert json.loads(resp.read()) == {"ok": True}
        assert resp.headers.get_all("X-Seen") == ["a", "b"]
    event = events[-1]
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/legs/abc/actions"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "legs/abc/actions"}
    assert event["queryStringParameters"] == {"fields": "b"}
    assert event["multiValueQueryStringParameters"] == {"fields": ["a", "b"]}
    assert event["headers"]["Idempotency-Key"] == "k1"
    assert event["multiValueHeaders"]["Idempotency-Key"] == ["k1"]
    assert json.loads(event["body"]) == {"exoml": "<Flow/>"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] and context["stage"] and context["identity"]["sourceIp"] == "127.0.0.1"
    # unsigned: the local IAM user, as API Gateway's IAM authorization would fill it in
    assert context["identity"]["userArn"] == f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:user/devstack"
    assert context["identity"]["accountId"] == LOCAL_AWS_ACCOUNT and context["identity"]["caller"]

    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(f"http://127.0.0.1:{front.port}/boom", timeout=10)
    assert failed.value.code == 502  # what API Gateway answers when the function raises
    assert failed.value.headers["Content-Type"] == "application/problem+json"
    assert json.loads(failed.value.read())["type"].endswith(":gateway-error")


def test_api_front_names_the_sigv4_signer_and_refuses_in_the_problem_format(
    api_front: tuple[ApiFront, list[dict[str, Any]]],
) -> None:
    front, events = api_front
    signature = (
        "AWS4-HMAC-SHA256 Credential=AKIAALICE0001/20250101/ap-south-1/execute-api/aws4_request, SignedHeaders=host"
    )
    req = urllib.request.Request(f"http://127.0.0.1:{front.port}/legs/x", headers={"Authorization": signature})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
    identity = events[-1]["requestContext"]["identity"]
    assert identity["userArn"] == f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:user/AKIAALICE0001"
    assert identity["accessKey"] == "AKIAALICE0001"

    chunked = urllib.request.Request(
        f"http://127.0.0.1:{front.port}/legs",
        data=iter([b"{}"]),
        method="POST",
        headers={"Transfer-Encoding": "chunked"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(chunked, timeout=10)
    assert refused.value.code == 411 and refused.value.headers["Content-Type"] == "application/problem+json"
    body = json.loads(refused.value.read())
    assert body["status"] == 411 and body["type"].endswith(":request-refused") and body["instance"] == "/legs"


def test_binary_body_is_passed_base64_encoded() -> None:
    event = build_proxy_event("PUT", "/x", [("Content-Type", "application/octet-stream")], b"\x00\xff", "1.2.3.4")
    assert event["isBase64Encoded"] is True
    assert event["body"] == "AP8="
    assert event["queryStringParameters"] is None


def test_json_log_lines_are_condensed_to_one_readable_line() -> None:
    line = json.dumps(
        {
            "level": "ERROR",
            "location": "handler:12",
            "message": "could not bridge",
            "timestamp": "2026-01-01T00:00:00Z",
            "service": "connect",
            "leg_sid": "L-9",
            "exception": "Traceback (most recent call last):\n  ...\nValueError: no leg",
        }
    )
    assert condense(line) == ("ERROR", "could not bridge leg_sid=L-9 !! ValueError: no leg")
    assert condense("2026-11-26 14:36:18,123 simulator.engine leg ringing") == ("INFO", "simulator.engine leg ringing")
    emf = {"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "LegsCreated"}]}]}, "LegsCreated": [1.0]}
    assert condense(json.dumps(emf)) == ("DEBUG", "metrics LegsCreated=[1.0]")


def test_configuration_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="DEVSTACK_LOG_LEVEL"):
        DevstackConfig.from_env({"DEVSTACK_LOG_LEVEL": "chatty"})
    with pytest.raises(ConfigError, match="SIM_TIME_SCALE"):
        DevstackConfig.from_env({"SIM_TIME_SCALE": "0"})
    config = DevstackConfig.from_env({"API_PORT": "0", "SIM_PORT": "0", "AWS_REGION": "eu-west-1"})
    assert (config.api_port, config.aws_region, config.aws_emulator_port) == (0, "eu-west-1", 4566)
    picked = config.with_free_ports()
    assert picked.sim_port > 0 and picked.api_port == 0  # the API binds port 0 itself
    with pytest.raises(ConfigError, match="BRIDGE_PROTO: no readable file"):
        DevstackConfig.from_env({"BRIDGE_PROTO": "no/such/exotel.proto"})
    relative = DevstackConfig.from_env({"BRIDGE_PROTO": "tests/support/protos/camel.proto", "BRIDGE_RPC": "a.B/C"})
    assert relative.bridge_proto is not None and relative.bridge_proto.startswith("/")  # children run elsewhere
    assert relative.bridge_rpc == "a.B/C"


def test_the_emulator_serves_the_ready_record_once_it_is_published(emulator: AwsEmulator) -> None:
    """``GET <emulator>/_devstack/ready``: 503 while starting, then the record; moto still answers the rest; an
    address where no devstack answers gives None (the subscribe helper then assumes the classic bus)."""
    import http.server

    from tests.support.ports import free_port

    with pytest.raises(NotReady, match="still starting"):
        fetch_ready(emulator.endpoint_url)
    info = ReadyInfo(
        pid=1, api_url="http://127.0.0.1:1", sim_url="http://127.0.0.1:2", bridge_endpoint="grpc://127.0.0.1:3",
        aws_endpoint_url=emulator.endpoint_url, aws_region="us-east-1", bus_name=BUS_NAME, api_port=1, sim_port=2,
        bridge_port=3, aws_emulator_port=emulator.port, functions=["api"], child_pids={}, bus_mode="ordered",
        bus_arn="arn:aws:events:us-east-1:123456789012:event-busv2/exotel-legs/x", eventsv2_url="http://127.0.0.1:4",
    )  # fmt: skip
    emulator.publish_ready(info.model_dump_json())
    assert fetch_ready(emulator.endpoint_url) == info
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(emulator.endpoint_url + READY_PATH, data=b"{}"), timeout=5)
    assert refused.value.code == 405
    assert emulator.client("sqs").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200  # moto answers the rest

    class NotADevstack(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotADevstack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert fetch_ready(f"http://127.0.0.1:{server.server_address[1]}") is None
    finally:
        server.shutdown()
        server.server_close()
    assert fetch_ready(f"http://127.0.0.1:{free_port()}") is None


def test_a_taken_port_is_reported_with_its_variable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = DevstackConfig(aws_emulator_port=0, sim_port=0, bridge_port=port, api_port=0)
        with pytest.raises(RuntimeError, match=f"port {port} \\(BRIDGE_PORT\\) is already in use"):
            check_ports_free(config)
    check_ports_free(config)  # free again once closed


def test_a_function_runs_one_invocation_at_a_time_but_functions_run_side_by_side(invoker: Invoker) -> None:
    """One execution environment per function, as Lambda gives each concurrent invocation its own."""
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    both_at_once = threading.Event()
    guard = threading.Lock()

    def make(name: str) -> Any:
        def handler(event: dict[str, Any], context: Any) -> None:
            with guard:
                running[name] += 1
                most[name] = max(most[name], running[name])
                if running["a"] and running["b"]:
                    both_at_once.set()
            time.sleep(0.05)
            with guard:
                running[name] -= 1

        return handler

    functions = {name: LocalFunction(name, "test", handler=make(name)) for name in ("a", "b")}
    threads = [
        threading.Thread(target=invoker.invoke, args=(functions[name], {})) for name in ("a", "b") for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert most == {"a": 1, "b": 1}
    assert both_at_once.is_set()
    assert functions["a"].invocations == functions["b"].invocations == 4


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: nope\r\n", 400),
        ("Content-Length: -5\r\n", 400),
        (f"Content-Length: {20 * 1024 * 1024}\r\n", 413),
        ("Transfer-Encoding: chunked\r\n", 411),
    ],
)
def test_api_front_refuses_malformed_requests_without_calling_the_function(
    api_front: tuple[ApiFront, list[dict[str, Any]]], headers: str, status: int
) -> None:
    front, events = api_front
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as conn:
        conn.sendall(f"POST /legs HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        reply = conn.recv(4096).decode()
    assert reply.startswith(f"HTTP/1.1 {status} "), reply
    assert events == []
