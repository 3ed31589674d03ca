"""The bridge process: grpc.aio server + publisher + fallback + health + reflection, and its shutdown.

    server = BridgeServer(config, events_client=None, sqs_client=None)
    await server.start(); server.port; await server.stop(grace=5)

``events_client`` may be anything with boto3's ``put_events(Entries=[...])`` (benchmarks inject a
sink: :class:`~bridge.publisher.EventsClient`; with ``EVENT_BUS_KIND=v2``: ``put_events(EventBusArn=...,
Entries=[...])``, :class:`~bridge.eventsv2.EventsV2Client`); ``sqs_client`` anything with
``send_message_batch`` and ``send_message`` (:class:`SqsClient`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2

from bridge import aws, eventsv2
from bridge.auth import BearerTokenInterceptor
from bridge.batcher import Item
from bridge.config import BridgeConfig, ConfigError
from bridge.deadletter import DeadLetters, MessageSender
from bridge.dedup import RecentEvents
from bridge.fallback import BatchSender, FallbackQueue
from bridge.log import logger
from bridge.metrics import BridgeMetrics
from bridge.publisher import BusPublisher, EventsClient, spill_nowhere
from bridge.service import LegEventService
from contract.env import BridgeEnv
from legs.proto_service import ProtoError, describe
from legs.wire import EventWire, load_wire


def event_wire(config: BridgeConfig) -> EventWire:
    """The served method (``BRIDGE_PROTO``/``BRIDGE_RPC``, else protos/exotel_legs.proto); ConfigError if unusable."""
    try:
        return load_wire(str(config.proto) if config.proto else None, config.rpc)
    except ProtoError as exc:
        names = BridgeEnv.PROTO if config.rpc is None else f"{BridgeEnv.PROTO}/{BridgeEnv.RPC}"
        raise ConfigError(f"invalid bridge configuration: {names}: {exc}") from None


class SqsClient(BatchSender, MessageSender, Protocol):
    """The fallback queue's and the dead-letter queue's client (one boto3 SQS client serves both)."""


def server_options(config: BridgeConfig) -> list[tuple[str, int]]:
    """Keepalive below a load balancer's idle time-out (ALB 60 s, NLB 350 s); bounded connection age
    so that long-lived HTTP/2 connections rebalance over new tasks; no SO_REUSEPORT (a second
    bridge on the same port must fail, not share it silently)."""
    options: list[tuple[str, int]] = [
        ("grpc.keepalive_time_ms", int(config.keepalive_time_s * 1000)),
        ("grpc.keepalive_timeout_ms", int(config.keepalive_timeout_s * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        ("grpc.max_receive_message_length", config.max_receive_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    if config.max_connection_age_s > 0:
        options.append(("grpc.max_connection_age_ms", int(config.max_connection_age_s * 1000)))
        options.append(("grpc.max_connection_age_grace_ms", int(max(config.shutdown_grace_s, 5) * 1000)))
    return options


def server_credentials(config: BridgeConfig) -> grpc.ServerCredentials | None:
    if not config.tls:
        return None
    assert config.tls_cert_file is not None and config.tls_key_file is not None
    key = config.tls_key_file.read_bytes()
    cert = config.tls_cert_file.read_bytes()
    client_ca = config.tls_client_ca_file.read_bytes() if config.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


class BridgeServer:
    """Owns every moving part of one bridge process."""

    def __init__(
        self,
        config: BridgeConfig,
        events_client: EventsClient | eventsv2.EventsV2Client | None = None,
        sqs_client: SqsClient | None = None,
        wire: EventWire | None = None,
    ) -> None:
        self.config = config
        self.wire = wire or event_wire(config)  # first: a customer proto that cannot work stops the start here
        self._events_client = events_client
        self._sqs_client = sqs_client
        self.port: int = 0
        self.metrics = BridgeMetrics(config.metrics_namespace, config.service_name)
        self._server: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._publisher: BusPublisher | None = None
        self._fallback: FallbackQueue | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._metrics_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        config = self.config
        if self._events_client is None:
            self._events_client = aws.events_client(config, eventsv2.client_service(config))
        if self._sqs_client is None and (config.fallback_queue_url or config.dead_letter_queue_url):
            self._sqs_client = aws.sqs_client(config)
        self._executor = ThreadPoolExecutor(max_workers=config.max_in_flight + 8, thread_name_prefix="bridge-aws")

        spill: Callable[[Item], None]
        if config.fallback_queue_url:
            assert self._sqs_client is not None  # made above whenever a queue is configured
            self._fallback = FallbackQueue(
                self._sqs_client,
                config.fallback_queue_url,
                executor=self._executor,
                metrics=self.metrics,
                deadline_s=config.fallback_deadline_ms / 1000,
            )
            self._fallback.start()
            spill = self._fallback.spill
        else:
            logger.warning("FALLBACK_QUEUE_URL is not set: events EventBridge refuses will be answered UNAVAILABLE")
            spill = spill_nowhere(self.metrics)
        self._publisher = eventsv2.publisher_for(
            config,
            self._events_client,
            executor=self._executor,
            spill=spill,
            metrics=self.metrics,
            max_entries=config.batch_max_entries,
            linger_s=config.linger_ms / 1000,
            max_in_flight=config.max_in_flight,
        )
        self._publisher.start()
        if not config.dead_letter_queue_url:
            logger.warning("DEAD_LETTER_QUEUE_URL is not set: rejected input will only be logged")
        service = LegEventService(
            publisher=self._publisher,
            dead_letters=DeadLetters(self._sqs_client, config.dead_letter_queue_url, self._executor),
            recent=RecentEvents(config.dedup_size, config.dedup_ttl_s),
            metrics=self.metrics,
            bus_name=config.event_bus_name,
            source=config.event_source,
            max_event_bytes=config.max_event_bytes,
            deadline_s=config.publish_deadline_ms / 1000,
            wire=self.wire,
            entry_builder=eventsv2.entry_builder_for(config),
        )

        interceptors = []
        if config.auth_token is not None:
            interceptors.append(BearerTokenInterceptor(config.auth_token.get_secret_value()))
        server = grpc.aio.server(options=server_options(config), interceptors=interceptors)
        server.add_generic_rpc_handlers((service.handler(),))
        self._health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        served = self.wire.service
        pool = None  # the default pool knows our proto, health and reflection
        if served.source != "built-in":  # the customer's pool: teach it health and reflection too
            served.add_files(health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR)
            pool = served.pool
        reflection.enable_server_reflection(
            (served.service_name, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            server,
            pool=pool,
        )
        address = f"{config.host}:{config.port}"
        credentials = server_credentials(config)
        if credentials is None:
            self.port = server.add_insecure_port(address)
        else:
            self.port = server.add_secure_port(address, credentials)
        if not self.port:
            raise OSError(f"cannot listen on {address}")
        await server.start()
        self._server = server
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(served.service_name, health_pb2.HealthCheckResponse.SERVING)
        self._metrics_task = asyncio.get_running_loop().create_task(self.metrics.run(config.metrics_interval_s))
        logger.info(
            "bridge ready",
            port=self.port,
            host=config.host,
            tls=config.tls,
            mutual_tls=config.tls_client_ca_file is not None,
            auth=config.auth_token is not None,
            event_bus=config.event_bus_arn or config.event_bus_name,
            event_bus_kind=str(config.event_bus_kind),
            source=config.event_source,
            fallback_queue=config.fallback_queue_url,
            dead_letter_queue=config.dead_letter_queue_url,
            **describe(served),
            filled_in=self.wire.derived or None,
        )

    async def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING, refuse new calls, let in-flight calls finish and flush, within ``grace``."""
        grace = self.config.shutdown_grace_s if grace is None else grace
        loop = asyncio.get_running_loop()
        ends = loop.time() + grace
        logger.info("bridge draining", grace_s=grace)
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if self.config.drain_delay_s > 0:  # let load balancers see NOT_SERVING before calls are refused
            await asyncio.sleep(min(self.config.drain_delay_s, grace))
        if self._server is not None:
            # In-flight RPCs wait for their events to be durable; the publisher keeps running meanwhile.
            await self._server.stop(max(0.0, ends - loop.time()))
        for batcher in (self._publisher, self._fallback):
            if batcher is not None:
                await batcher.drain(max(0.0, ends - loop.time()))
        pending = sum(b.pending for b in (self._publisher, self._fallback) if b is not None)
        for batcher in (self._publisher, self._fallback):
            if batcher is not None:
                await batcher.close()
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._metrics_task
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        logger.info("bridge stopped", unflushed=pending, totals=self.metrics.totals)
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
