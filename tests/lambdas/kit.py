"""Test kit for the lambdas: AWS resources in a moto server, event shapes, a Lambda context, a fake Legs API."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from contract.catalogue import event_type_for
from contract.env import Env
from contract.resources import FALLBACK_QUEUE, RETRY_QUEUE, TABLES
from devstack.resources import table_schema
from legs.client import LegsApiError
from legs.events import LegEvent
from legs.models import ActionAccepted, BridgeCreated, BridgeStopped, ErrorData, LegCreated
from tests.support.moto_server import LOCAL_AWS, aws_env

SECRET_NAME = "exotel-legs/credentials-test"
BRIDGE_ENDPOINT = "grpc://127.0.0.1:50051"


# ---- AWS resources ------------------------------------------------------------------------
@dataclass
class Resources:
    url: str
    tables: dict[str, str]
    retry_queue_url: str
    fallback_queue_url: str
    bus_name: str
    events_queue_url: str  # a queue subscribed to the bus (sees what redrive puts)

    def env(self, exotel_base_url: str = "http://127.0.0.1:9") -> dict[str, str]:
        env = {
            **aws_env(self.url),
            Env.EXOTEL_SECRET_NAME: SECRET_NAME,
            Env.EXOTEL_BASE_URL: exotel_base_url,
            Env.BRIDGE_ENDPOINT: BRIDGE_ENDPOINT,
            Env.RETRY_QUEUE_URL: self.retry_queue_url,
            Env.FALLBACK_QUEUE_URL: self.fallback_queue_url,
            Env.EVENT_BUS_NAME: self.bus_name,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "ExotelLegsTest",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        for table in TABLES:
            env[table.env] = self.tables[table.id]
        return env

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, **LOCAL_AWS)


def provision(url: str, credentials: dict[str, str]) -> Resources:
    """The tables, queues, bus and secret the functions use, as ``contract.resources`` describes them."""
    ddb = boto3.client("dynamodb", endpoint_url=url, **LOCAL_AWS)
    tables = {}
    for table in TABLES:
        name = f"{table.id}-test"
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **table_schema(table))
        tables[table.id] = name
    sqs = boto3.client("sqs", endpoint_url=url, **LOCAL_AWS)
    retry_url = sqs.create_queue(QueueName=f"{RETRY_QUEUE.id}-test")["QueueUrl"]
    fallback_url = sqs.create_queue(QueueName=f"{FALLBACK_QUEUE.id}-test")["QueueUrl"]
    events_url = sqs.create_queue(QueueName="bus-subscriber-test")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = boto3.client("events", endpoint_url=url, **LOCAL_AWS)
    bus_name = "exotel-legs-test"
    bus.create_event_bus(Name=bus_name)
    bus.put_rule(Name="all", EventBusName=bus_name, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    bus.put_targets(Rule="all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": events_arn}])
    secrets = boto3.client("secretsmanager", endpoint_url=url, **LOCAL_AWS)
    secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps(credentials))
    return Resources(url, tables, retry_url, fallback_url, bus_name, events_url)


def drain(
    sqs: Any, queue_url: str, *, wait: float = 0.0, expect: int = 1, max_messages: int = 100
) -> list[dict[str, Any]]:
    """Receive (and delete) messages until ``expect`` arrived or ``wait`` seconds passed, then what is left."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while len(out) < max_messages:
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        )
        messages = reply.get("Messages", [])
        if not messages:
            if len(out) >= expect or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
            continue
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        out.extend(messages)
    return out


# ---- event shapes -------------------------------------------------------------------------
class Context:
    """What Powertools reads from Lambda's context object."""

    def __init__(self, name: str = "test-function") -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


_seq = itertools.count(1)


def sid(prefix: str = "S") -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def leg_event(
    name: str,
    leg_sid: str,
    *,
    custom_param: str | None = None,
    seconds: int | None = None,
    event_sid: str | None = None,
    action_custom_parameter: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """An Exotel leg event as JSON (what the bridge puts in ``detail``); action events (``say_*`` …) too."""
    state = {
        "leg_connecting": "connecting",
        "leg_ringing": "ringing",
        "leg_answered": "connected",
        "amd_result_success": "connected",
        "leg_joined_bridge": "connected",
        "leg_terminated": "terminal",
        "leg_failed_to_create": "terminal",
    }.get(name)
    leg: dict[str, Any] = {
        "leg_sid": leg_sid,
        "account_sid": "local-account",
        "contact_uri": "09163816621",
        "exophone": "08030752400",
        "direction": "outbound",
        "network_type": "pstn",
        "date_created": "2024-01-01T10:00:00.000000000Z",
    }
    if state:
        leg["state"] = state
    if custom_param:
        leg["custom_param"] = custom_param
    leg.update(data.pop("leg", {}))
    event_data = data.pop("event_data", None)
    leg.update(data)
    ts = seconds if seconds is not None else 1_700_000_000 + next(_seq)
    event: dict[str, Any] = {
        "event_sid": event_sid or sid("E"),
        "event_type": event_type_for(name),
        "event_name": name,
        "event_timestamp": {"seconds": ts, "nanos": 5},
        "data": leg,
    }
    if event_data is not None:
        event["event_data"] = event_data
    if action_custom_parameter is not None:
        event["action_sid"] = sid("A")
        event["action_custom_parameter"] = action_custom_parameter
    return event


def bridge_event(name: str, bridge_sid: str, leg_sids: list[str], *, seconds: int | None = None) -> dict[str, Any]:
    state = {"bridge_created": "active", "bridge_terminal": "terminal"}.get(name, "active")
    return {
        "event_sid": sid("E"),
        "event_type": "bridge_lifecycle_event",
        "event_name": name,
        "event_timestamp": {"seconds": seconds or 1_700_000_000 + next(_seq), "nanos": 0},
        "data": {"sid": bridge_sid, "state": state, "leg_sids": leg_sids},
    }


def eventbridge(detail: dict[str, Any] | LegEvent, source: str = "exotel.legs") -> dict[str, Any]:
    """The event a rule target (Lambda) receives: EventBridge's envelope around the Exotel event."""
    body = detail.to_detail() if isinstance(detail, LegEvent) else LegEvent.model_validate(detail).to_detail()
    body["bridge"] = {"received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "schema_version": "1"}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": body["event_name"],
        "source": source,
        "account": "123456789012",
        "time": body["event_timestamp"][:19] + "Z",
        "region": "us-east-1",
        "resources": [],
        "detail": body,
    }


def sqs_event(bodies: list[str], queue: str = "queue") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def api_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw_body: str | None = None
) -> dict[str, Any]:
    """An API Gateway REST proxy event (``{proxy+}`` resource, as the deployed API uses)."""
    hdrs = {"Content-Type": "application/json", "Host": "api.example", **(headers or {})}
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": False,
    }


def api_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


# ---- a fake Legs API (unit tests only) ----------------------------------------------------
@dataclass
class FakeLegs:
    """Records every call; ``fail[method]`` = a list of LegsApiError to raise on the next calls."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    fail: dict[str, list[LegsApiError]] = field(default_factory=dict)
    created: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))
            queue = self.fail.get(name)
            if queue:
                raise queue.pop(0)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def create_leg(self, request: Any) -> LegCreated:
        self._record("create_leg", request)
        self.created.append(request)
        body = request.model_dump(mode="json", exclude_none=True) if hasattr(request, "model_dump") else dict(request)
        return LegCreated(
            leg_sid=sid("L"),
            account_sid="local-account",
            **{
                k: body.get(k)
                for k in ("contact_uri", "exophone", "custom_param", "network_type", "leg_event_endpoint")
            },
        )

    def get_leg(self, leg_sid: str, fields: list[str] | None = None) -> Any:
        self._record("get_leg", leg_sid)

    def leg_action(self, leg_sid: str, exoml: str, action_custom_param: str | None = None) -> ActionAccepted:
        self._record("leg_action", leg_sid, exoml)
        return ActionAccepted(action_sid=sid("A"))

    def leg_shortcut(self, leg_sid: str, name: str, body: dict[str, Any] | None = None) -> ActionAccepted:
        self._record("leg_shortcut", leg_sid, name, body)
        return ActionAccepted(action_sid=sid("A"))

    def hangup(self, leg_sid: str) -> ActionAccepted:
        self._record("hangup", leg_sid)
        return ActionAccepted(action_sid=sid("A"))

    def say(self, leg_sid: str, text: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted:
        self._record("say", leg_sid, text)
        return ActionAccepted(action_sid=sid("A"))

    def play(self, leg_sid: str, url: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted:
        self._record("play", leg_sid, url)
        return ActionAccepted(action_sid=sid("A"))

    def start_stream(self, leg_sid: str, url: str, direction: str, content_type: str | None = None) -> ActionAccepted:
        self._record("start_stream", leg_sid, url)
        return ActionAccepted(action_sid=sid("A"))

    def create_bridge(self, request: Any) -> BridgeCreated:
        self._record("create_bridge", request)
        return BridgeCreated(bridge_sid=sid("B"), leg_sids=request.get("leg_sids"))

    def stop_bridge(self, bridge_sid: str) -> BridgeStopped:
        self._record("stop_bridge", bridge_sid)
        return BridgeStopped(bridge_sid=bridge_sid)


def exotel_error(status: int, message: str = "nope", retry_after: float | None = None) -> LegsApiError:
    return LegsApiError(
        http_code=status,
        method="POST",
        path="/legs",
        error_data=ErrorData(code=status * 10, message=message, description=f"{message} (description)"),
        request_id="req-1",
        retry_after=retry_after,
    )


class Counting:
    """Wraps the real LegsClient the functions build; counts every method call by name."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return attr(*args, **kwargs)

        return counted
