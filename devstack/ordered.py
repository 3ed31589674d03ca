"""The devstack's ordered mode (``DEVSTACK_BUS_MODE=ordered``): what ``infra/ordered_bus.py`` deploys, made locally.

- the local EventsV2 endpoint (``devstack.eventsv2``) in this process, delivering into the AWS emulator's SQS;
- its bus ``exotel-legs`` (retention as deployed), and per routing-table entry (``lambdas.routing``) a subscriber
  with the entry's pattern as its filter: FIFO entries into a FIFO queue (``MessageGroupId`` = the leg), the others
  UNORDERED into a standard queue; each queue with a dead-letter queue after ``maxReceiveCount`` receives, as the
  deployed queues have;
- the lambda runner drains those queues as SQS event sources (batches; a FIFO batch is processed in order and a
  failure holds back the rest of its group), exactly as the deployed event source mappings do.

The bridge publishes with ``EVENT_BUS_KIND=v2`` to the bus's ARN; the functions get the same two variables (redrive
replays EventsV2 entries from the fallback queue).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel

from contract.bus import DEFAULT_BUS_NAME, V2_DEFAULT_RETENTION_DAYS, BusKind
from contract.env import AwsEnv, Env
from devstack.config import LOCAL_AWS_ACCOUNT, DevstackConfig
from devstack.emulator import AwsEmulator
from devstack.eventsv2.server import EventsV2Endpoint
from devstack.eventsv2.store import EventsV2Store
from devstack.resources import PREFIX, Provisioner, QueueRef
from lambdas.routing import Route, routes
from lambdas.wiring import WIRING

log = logging.getLogger("devstack.ordered")

#: The role a subscriber would assume in AWS (the local endpoint does not check it).
LOCAL_SUBSCRIBER_ROLE = f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:role/{PREFIX}-subscriber"


class OrderedBusRef(BaseModel):
    """The local v2 bus and, per routed function, its subscriber and the queue the subscriber fills."""

    endpoint_url: str
    bus_arn: str
    subscribers: dict[str, str]  # function -> subscriber ARN
    queues: dict[str, QueueRef]  # function -> its subscriber's queue

    def env(self) -> dict[str, str]:
        """What the bridge and the functions need to publish to (and replay onto) the v2 bus."""
        return {
            Env.EVENT_BUS_KIND: BusKind.V2.value,
            Env.EVENT_BUS_ARN: self.bus_arn,
            AwsEnv.endpoint_url_for("eventbridgev2"): self.endpoint_url,
        }


def subscriber_name(route: Route) -> str:
    return f"{PREFIX}-{route.function}"


def subscriber_queue_name(route: Route) -> str:
    return f"{PREFIX}-{route.function}-subscriber" + (".fifo" if route.fifo else "")


class OrderedBus:
    """Starts the local endpoint and provisions bus, subscribers and their queues (idempotent per endpoint)."""

    def __init__(self, config: DevstackConfig, emulator: AwsEmulator, provisioner: Provisioner) -> None:
        self._config = config
        self._emulator = emulator
        self._provisioner = provisioner
        store = EventsV2Store(region=config.aws_region, account=LOCAL_AWS_ACCOUNT)
        self.endpoint = EventsV2Endpoint(
            lambda: emulator.client("sqs"), host=config.host, port=config.eventsv2_port, store=store, idle_wait_s=0.2
        )

    def start(self) -> OrderedBusRef:
        self.endpoint.start()
        client = self.endpoint_client()
        bus_arn = self._bus(client)
        subscribers: dict[str, str] = {}
        queues: dict[str, QueueRef] = {}
        for route in routes(self._config.event_source):
            queue = self._provisioner.queue_for_subscriber(
                subscriber_queue_name(route), route.fifo, WIRING[route.function].timeout_seconds * 6
            )
            subscribers[route.function] = self._subscriber(client, bus_arn, route, queue)
            queues[route.function] = queue
        log.info(
            "ordered mode: EventsV2 bus %s on %s; subscribers %s",
            bus_arn.rsplit("/", 2)[-2], self.endpoint.url,
            ", ".join(f"{name} ({'FIFO' if r.fifo else 'UNORDERED'})" for name, r in _by_function(self._config)),
        )  # fmt: skip
        return OrderedBusRef(endpoint_url=self.endpoint.url, bus_arn=bus_arn, subscribers=subscribers, queues=queues)

    def stop(self) -> None:
        self.endpoint.stop()

    def endpoint_client(self) -> Any:
        import boto3

        from devstack.emulator import DUMMY_KEY, DUMMY_SECRET

        return boto3.session.Session().client(
            "eventbridgev2",
            endpoint_url=self.endpoint.url,
            region_name=self._config.aws_region,
            aws_access_key_id=DUMMY_KEY,
            aws_secret_access_key=DUMMY_SECRET,
        )

    def _bus(self, client: Any) -> str:
        for bus in client.list_event_buses(NamePrefix=DEFAULT_BUS_NAME)["EventBuses"]:
            if bus["Name"] == DEFAULT_BUS_NAME:
                return str(bus["EventBusArn"])
        reply = client.create_event_bus(
            Name=DEFAULT_BUS_NAME,
            Description="Exotel leg events, ordered per leg (local)",
            StorageConfiguration={"RetentionPeriodInDays": V2_DEFAULT_RETENTION_DAYS},
        )
        return str(reply["EventBusArn"])

    def _subscriber(self, client: Any, bus_arn: str, route: Route, queue: QueueRef) -> str:
        name = subscriber_name(route)
        for existing in client.list_subscribers(EventBusArn=bus_arn, NamePrefix=name)["Subscribers"]:
            if existing["Name"] == name:
                return str(existing["SubscriberArn"])
        reply = client.create_subscriber(
            Name=name,
            EventBusArn=bus_arn,
            Description=route.description[:512],
            Type="FIFO" if route.fifo else "UNORDERED",
            InvokeConfiguration={"RoleArn": LOCAL_SUBSCRIBER_ROLE, "TargetArn": queue.arn},
            FilterConfiguration={"Filters": [{"Pattern": json.dumps(route.pattern), "Scope": "DATA"}]},
            Transformer={"Type": "RAW"},
            StartingPosition="LATEST",
            OnFailureConfiguration={"Arn": queue.dlq_arn} if queue.dlq_arn else {},
        )
        return str(reply["SubscriberArn"])


def _by_function(config: DevstackConfig) -> list[tuple[str, Route]]:
    return [(route.function, route) for route in routes(config.event_source)]
