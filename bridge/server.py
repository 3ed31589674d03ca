"""The bridge process: grpc.aio server + publisher + fallback + health + reflection, and its shutdown.

    server = BridgeServer(config, events_client=None, sqs_client=None)
    await server.start(); server.port; await server.stop(grace=5)

``events_client`` may be anything with boto3's ``put_events(Entries=[...])`` (benchmarks inject a
sink: :class:`~bridge.publisher.EventsClient`; with ``EVENT_BUS_KIND=v2``: ``put_events(EventBusArn=...,
Entries=[...])``, :class:`~bridge.eventsv2.EventsV2Client`), called in a thread pool, or an
:class:`bridge.asyncsdk.AsyncAwsClient`; left out, the bridge makes its own (on the event loop unless
``BRIDGE_PUBLISHER=threads``). ``sqs_client`` anything with ``send_message_batch`` and ``send_message``
(:class:`SqsClient`). The fallback queue and the dead-letter queue each have their own small thread pool, so
neither a flood of bad input nor a slow fallback queue can take threads the bus publisher needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2

from bridge import aws, eventsv2
from bridge.asyncsdk import AsyncAwsClient
from bridge.auth import BearerTokenInterceptor, ClientSubjects, LoadBalancerSubjectInterceptor, TlsSubjectInterceptor
from bridge.batcher import Item
from bridge.busy import CpuBusy
from bridge.config import BridgeConfig, ConfigError
from bridge.deadletter import DeadLetters, MessageSender
from bridge.dedup import RecentEvents
from bridge.fallback import BatchSender, FallbackQueue
from bridge.log import logger
from bridge.loop import loop_name
from bridge.metrics import BridgeMetrics
from bridge.publisher import AnyPublisher, EventsClient, spill_nowhere
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


#: Threads for the dead-letter queue (one blocking SendMessage per rejected request).
DEAD_LETTER_THREADS = 4
#: SendMessageBatch calls to the fallback queue at once (and its threads).
FALLBACK_IN_FLIGHT = 4
#: Kept aside from the caller's gRPC deadline for the answer to travel back (beyond the fallback's own time).
REPLY_MARGIN_S = 0.02


class SqsClient(BatchSender, MessageSender, Protocol):
    """The fallback queue's and the dead-letter queue's client (one boto3 SQS client serves both)."""


def server_options(config: BridgeConfig, reuse_port: bool = False) -> list[tuple[str, int]]:
    """Keepalive below a load balancer's idle time-out (ALB 60 s, NLB 350 s); bounded connection age
    so that long-lived HTTP/2 connections rebalance over new tasks; SO_REUSEPORT only for the worker
    processes of one bridge (``bridge.workers``, which checks the port is free first): a second bridge
    on the same port must fail, not share it silently."""
    options: list[tuple[str, int]] = [
        ("grpc.keepalive_time_ms", int(config.keepalive_time_s * 1000)),
        ("grpc.keepalive_timeout_ms", int(config.keepalive_timeout_s * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        ("grpc.max_receive_message_length", config.max_receive_message_bytes),
        ("grpc.so_reuseport", 1 if reuse_port else 0),
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


def interceptors(config: BridgeConfig) -> list[grpc.aio.ServerInterceptor]:
    """Token first, then the verified client certificate's subject (from the load balancer, or our own TLS)."""
    chain: list[grpc.aio.ServerInterceptor] = []
    if config.auth_token is not None:
        chain.append(BearerTokenInterceptor(config.auth_token.get_secret_value()))
    if config.lb_mutual_tls:
        chain.append(LoadBalancerSubjectInterceptor(ClientSubjects(config.client_subjects)))
    elif config.tls_client_ca_file is not None:
        chain.append(TlsSubjectInterceptor(ClientSubjects(config.client_subjects)))
    return chain


def warn_if_open(config: BridgeConfig) -> bool:
    """A WARNING at start when nothing authenticates pushes (no token, no client certificates); True if so."""
    if config.authentication:
        return False
    logger.warning(
        "no authentication: anyone who can reach this port may push events",
        remedy=(
            f"set {BridgeEnv.AUTH_TOKEN}, or {BridgeEnv.TLS_CLIENT_CA_FILE} (mutual TLS here), or "
            f"{BridgeEnv.LB_MUTUAL_TLS}=true behind a load balancer that verifies client certificates"
        ),
    )
    return True


class BridgeServer:
    """Owns every moving part of one bridge process."""

    def __init__(
        self,
        config: BridgeConfig,
        events_client: EventsClient | eventsv2.EventsV2Client | AsyncAwsClient | None = None,
        sqs_client: SqsClient | None = None,
        wire: EventWire | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.config = config
        self.wire = wire or event_wire(config)  # first: a customer proto that cannot work stops the start here
        self._events_client = events_client
        self._sqs_client = sqs_client
        self._reuse_port = reuse_port
        self.port: int = 0
        self.metrics = BridgeMetrics(config.metrics_namespace, config.service_name)
        self._server: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._publisher: AnyPublisher | None = None
        self._fallback: FallbackQueue | None = None
        self._executors: list[ThreadPoolExecutor] = []
        self._async_client: AsyncAwsClient | None = None
        self._metrics_task: asyncio.Task[None] | None = None
        self._busy: CpuBusy | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        config = self.config
        if self._events_client is None:
            api = eventsv2.client_service(config)
            if config.publisher == "async":
                self._events_client = aws.events_async_client(config, api)
            else:
                self._events_client = aws.events_client(config, api)
        if isinstance(self._events_client, AsyncAwsClient):
            self._async_client = self._events_client
            await self._async_client.start()
            publish_pool = None
        else:
            publish_pool = self._pool(config.max_in_flight + 2, "bridge-publish")
        if self._sqs_client is None and (config.fallback_queue_url or config.dead_letter_queue_url):
            self._sqs_client = aws.sqs_client(config)

        spill: Callable[[Item], None]
        if config.fallback_queue_url:
            assert self._sqs_client is not None  # made above whenever a queue is configured
            self._fallback = FallbackQueue(
                self._sqs_client,
                config.fallback_queue_url,
                executor=self._pool(FALLBACK_IN_FLIGHT, "bridge-fallback"),
                metrics=self.metrics,
                deadline_s=config.fallback_deadline_ms / 1000,
                max_in_flight=FALLBACK_IN_FLIGHT,
            )
            self._fallback.start()
            spill = self._fallback.spill
        else:
            logger.warning("FALLBACK_QUEUE_URL is not set: events EventBridge refuses will be answered UNAVAILABLE")
            spill = spill_nowhere(self.metrics)
        if config.linger_when == "busy" and config.linger_ms > 0:
            self._busy = CpuBusy(config.busy_percent)
            self._busy.start()
        self._publisher = eventsv2.publisher_for(
            config,
            self._events_client,
            executor=publish_pool,
            spill=spill,
            metrics=self.metrics,
            max_entries=config.batch_max_entries,
            linger_s=config.linger_ms / 1000,
            max_in_flight=config.max_in_flight,
            linger_gate=self._busy,
        )
        self._publisher.start()
        if not config.dead_letter_queue_url:
            logger.warning("DEAD_LETTER_QUEUE_URL is not set: rejected input will only be logged")
        service = LegEventService(
            publisher=self._publisher,
            dead_letters=DeadLetters(
                self._sqs_client, config.dead_letter_queue_url, self._pool(DEAD_LETTER_THREADS, "bridge-deadletter")
            ),
            recent=RecentEvents(config.dedup_size, config.dedup_ttl_s),
            metrics=self.metrics,
            bus_name=config.event_bus_name,
            source=config.event_source,
            max_event_bytes=config.max_event_bytes,
            deadline_s=config.publish_deadline_ms / 1000,
            reserve_s=(config.fallback_deadline_ms / 1000 if config.fallback_queue_url else 0.0) + REPLY_MARGIN_S,
            wire=self.wire,
            entry_builder=eventsv2.entry_builder_for(config),
        )

        server = grpc.aio.server(options=server_options(config, self._reuse_port), interceptors=interceptors(config))
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
        warn_if_open(config)
        logger.info(
            "bridge worker ready" if self._reuse_port else "bridge ready",
            port=self.port,
            host=config.host,
            tls=config.tls,
            mutual_tls=config.tls_client_ca_file is not None,
            auth=config.auth_token is not None,
            authentication=config.authentication or None,
            event_bus=config.event_bus_arn or config.event_bus_name,
            event_bus_kind=str(config.event_bus_kind),
            publisher="async" if self._async_client is not None else "threads",
            http_client=self._async_client.http_client if self._async_client is not None else "boto3",
            event_loop=loop_name(),
            cpus=sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            linger_ms=config.linger_ms,
            linger_when=config.linger_when,
            cpu_source=self._busy.source if self._busy is not None else None,
            source=config.event_source,
            fallback_queue=config.fallback_queue_url,
            dead_letter_queue=config.dead_letter_queue_url,
            **describe(served),
            filled_in=self.wire.derived or None,
        )

    def _pool(self, threads: int, name: str) -> ThreadPoolExecutor:
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._executors.append(pool)
        return pool

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
        if self._busy is not None:
            await self._busy.stop()
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._metrics_task
        if self._async_client is not None:
            await self._async_client.close()
        for pool in self._executors:
            pool.shutdown(wait=False, cancel_futures=True)
        logger.info("bridge stopped", unflushed=pending, totals=self.metrics.totals)
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
