"""Creates, in the emulator, what the CDK stacks deploy: from ``contract.resources`` and ``lambdas.routing``.

Every name is fixed, and every step tolerates "already exists", so running it twice against the same
emulator gives the same resources (the devstack's own reruns, and tests that provision again).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from pydantic import BaseModel

from contract.bus import DEFAULT_BUS_NAME, DEFAULT_SOURCE
from contract.deployment import EXOTEL_SECRET_NAME, PROJECT_TAG
from contract.env import Env
from contract.resources import QUEUES, TABLES, QueueDef, TableDef
from devstack.config import LOCAL_ACCOUNT_SID, LOCAL_API_KEY, LOCAL_API_TOKEN
from devstack.emulator import AwsEmulator
from lambdas.routing import Route, routes
from lambdas.wiring import WIRING

log = logging.getLogger("devstack.resources")

PREFIX = PROJECT_TAG  # every local resource name starts with it
BUS_NAME = DEFAULT_BUS_NAME
RULE_TARGET_ID = "devstack-lambda-runner"


class QueueRef(BaseModel):
    name: str
    url: str
    arn: str
    dlq_url: str | None = None
    dlq_arn: str | None = None
    max_receive_count: int | None = None


class RuleRef(BaseModel):
    function: str
    name: str
    arn: str
    pattern: dict[str, Any]
    queue: QueueRef


class Provisioned(BaseModel):
    """Names, URLs and ARNs of the local resources; ``env()`` is what the functions get."""

    bus_name: str
    bus_arn: str
    rules: dict[str, RuleRef]  # by function
    queues: dict[str, QueueRef]  # by QueueDef.id
    tables: dict[str, str]  # TableDef.id -> table name
    secret_name: str
    secret_arn: str
    env_by_name: dict[str, str]  # contract.env.Env name -> value

    def env(self) -> dict[str, str]:
        return dict(self.env_by_name)


def table_name(table: TableDef) -> str:
    return f"{PREFIX}-{table.id}"


def table_schema(table: TableDef) -> dict[str, Any]:
    """``create_table``'s keys, attribute definitions and (keys-only) global secondary indexes for ``table``."""
    keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
    types = {name: "S" for name, _ in keys}
    indexes = []
    for index in table.indexes:
        types.setdefault(index.partition_key, "S")
        types[index.sort_key] = index.sort_key_type
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        )
    schema: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": kind} for key, kind in types.items()],
        "KeySchema": [{"AttributeName": key, "KeyType": kind} for key, kind in keys],
    }
    if indexes:
        schema["GlobalSecondaryIndexes"] = indexes
    return schema


def queue_name(queue: QueueDef) -> str:
    return f"{PREFIX}-{queue.id}" + (".fifo" if queue.fifo else "")


def rule_name(route: Route) -> str:
    return f"{PREFIX}-{route.function}"


class Provisioner:
    """Idempotent creation of bus, rules (+ queue and DLQ each), tables, queues and the Exotel secret."""

    def __init__(
        self,
        emulator: AwsEmulator,
        *,
        max_receive_count: int = 3,
        dlq_for: frozenset[str] = frozenset(),
        event_source: str = DEFAULT_SOURCE,
    ) -> None:
        self._events = emulator.client("events")
        self._sqs = emulator.client("sqs")
        self._ddb = emulator.client("dynamodb")
        self._secrets = emulator.client("secretsmanager")
        self._max_receive = max_receive_count
        self._dlq_for = dlq_for  # QueueDef ids that trigger a function: they get a DLQ like the rule queues
        self._source = event_source  # rules match what the bridge publishes

    def provision(self, secret_values: dict[str, str] | None = None) -> Provisioned:
        bus_arn = self._bus()
        tables = {table.id: self._table(table) for table in TABLES}
        queues = {
            queue.id: self._queue(
                queue_name(queue),
                queue.fifo,
                queue.visibility_timeout_seconds,
                queue.retention_days,
                with_dlq=queue.id in self._dlq_for,
            )
            for queue in QUEUES
        }
        rules = {route.function: self._rule(route) for route in routes(self._source)}
        secret_arn = self._secret(secret_values)
        env = {table.env: tables[table.id] for table in TABLES if table.env}
        env.update({queue.env: queues[queue.id].url for queue in QUEUES if queue.env})
        env[Env.EVENT_BUS_NAME] = BUS_NAME
        env[Env.EXOTEL_SECRET_NAME] = EXOTEL_SECRET_NAME
        log.info(
            "resources ready: bus %s, %d rules, %d tables, %d queues, secret %s",
            BUS_NAME, len(rules), len(tables), len(queues), EXOTEL_SECRET_NAME,
        )  # fmt: skip
        return Provisioned(
            bus_name=BUS_NAME,
            bus_arn=bus_arn,
            rules=rules,
            queues=queues,
            tables=tables,
            secret_name=EXOTEL_SECRET_NAME,
            secret_arn=secret_arn,
            env_by_name=env,
        )

    # ---- one resource kind each ----------------------------------------------------------------
    def _bus(self) -> str:
        try:
            return str(self._events.create_event_bus(Name=BUS_NAME)["EventBusArn"])
        except self._events.exceptions.ResourceAlreadyExistsException:
            return str(self._events.describe_event_bus(Name=BUS_NAME)["Arn"])

    def _table(self, table: TableDef) -> str:
        name = table_name(table)
        with contextlib.suppress(self._ddb.exceptions.ResourceInUseException):
            self._ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **table_schema(table))
        if table.ttl_attribute:
            current = self._ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") != "ENABLED":
                self._ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
                )
        return name

    def _queue(self, name: str, fifo: bool, visibility: int, retention_days: int, *, with_dlq: bool) -> QueueRef:
        attributes = {
            "VisibilityTimeout": str(visibility),
            "MessageRetentionPeriod": str(retention_days * 86400),
        }
        if fifo:
            attributes.update({"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        dlq: QueueRef | None = None
        if with_dlq:
            base = name.removesuffix(".fifo")
            dlq = self._queue(f"{base}-dlq" + (".fifo" if fifo else ""), fifo, visibility, 14, with_dlq=False)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": str(self._max_receive)}
            )
        try:
            url = self._sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except self._sqs.exceptions.QueueNameExists:  # same name, other attributes: bring it in line
            url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self._sqs.set_queue_attributes(
                QueueUrl=url, Attributes={k: v for k, v in attributes.items() if k != "FifoQueue"}
            )
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return QueueRef(
            name=name,
            url=url,
            arn=arn,
            dlq_url=dlq.url if dlq else None,
            dlq_arn=dlq.arn if dlq else None,
            max_receive_count=self._max_receive if dlq else None,
        )

    def _rule(self, route: Route) -> RuleRef:
        name = rule_name(route)
        queue = self._queue(f"{name}-rule", False, WIRING[route.function].timeout_seconds * 6, 14, with_dlq=True)
        self._sqs.set_queue_attributes(
            QueueUrl=queue.url, Attributes={"Policy": json.dumps(_events_may_send(queue.arn))}
        )
        arn = self._events.put_rule(
            Name=name,
            EventBusName=BUS_NAME,
            EventPattern=json.dumps(route.pattern),
            State="ENABLED",
            Description=route.description[:512],
        )["RuleArn"]
        self._events.put_targets(Rule=name, EventBusName=BUS_NAME, Targets=[{"Id": RULE_TARGET_ID, "Arn": queue.arn}])
        return RuleRef(function=route.function, name=name, arn=arn, pattern=route.pattern, queue=queue)

    def queue_for_subscriber(self, name: str, fifo: bool, visibility: int) -> QueueRef:
        """The queue an EventsV2 subscriber fills (ordered mode: ``devstack.ordered``), with a DLQ as a rule's has."""
        return self._queue(name, fifo, visibility, 14, with_dlq=True)

    def _secret(self, values: dict[str, str] | None) -> str:
        secret = json.dumps(
            values or {"account_sid": LOCAL_ACCOUNT_SID, "api_key": LOCAL_API_KEY, "api_token": LOCAL_API_TOKEN}
        )
        try:
            return str(self._secrets.create_secret(Name=EXOTEL_SECRET_NAME, SecretString=secret)["ARN"])
        except self._secrets.exceptions.ResourceExistsException:
            return str(self._secrets.put_secret_value(SecretId=EXOTEL_SECRET_NAME, SecretString=secret)["ARN"])


def _events_may_send(queue_arn: str) -> dict[str, Any]:
    """The queue policy CDK's ``SqsQueue`` target adds (moto does not enforce it; kept for fidelity)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }
