"""Delivery: one thread per subscriber moves its matching events, in bus order, to its SQS queue.

A subscriber's events leave in the order the bus stored them, one batch (``MaxBatchSize``, at most 10 for SQS)
at a time; the next batch waits until this one is settled. For a FIFO queue each message gets
``MessageGroupId`` = the event's ``EventGroupId`` (or the literal ``SqsParameters.MessageGroupId``) and
``MessageDeduplicationId`` = the event id, so the queue keeps each leg's order and the consumer (the devstack's
lambda runner, or a test) sees it. A batch SQS refuses is retried with backoff up to the subscriber's
``RetryPolicy`` (attempts, event age); then its events go to ``OnFailureConfiguration.Arn`` (if any) and the
subscriber moves on. A FIFO subscriber therefore stalls behind a failing batch, all groups together (the real
service may block only the failing group: see docs/DEVSTACK.md).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from devstack.eventsv2.store import SQS_ARN, EventsV2Store, StoredEvent, Subscriber

log = logging.getLogger("devstack.eventsv2")

RETRY_BASE_S = 0.2
RETRY_CAP_S = 5.0


def payload(subscriber: Subscriber, event: StoredEvent) -> str:
    """What the target receives: the stored document (RAW), or it wrapped with its metadata (WITH_METADATA)."""
    if subscriber.transformer == "WITH_METADATA":
        system = {
            **event.system_metadata,
            "EventId": event.event_id,
            "SequenceNumber": event.sequence_number,
            "IngestionTime": event.ingested_at,
        }
        return json.dumps({"data": event.document, "metadata": {}, "systemMetadata": system}, separators=(",", ":"))
    return json.dumps(event.document, separators=(",", ":"))


class SqsDelivery:
    """Sends batches to SQS queues named by ARN (URL looked up once per queue)."""

    def __init__(self, sqs_client_factory: Callable[[], Any]) -> None:
        self._factory = sqs_client_factory
        self._local = threading.local()
        self._urls: dict[str, str] = {}

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return client

    def url(self, arn: str) -> str:
        if arn not in self._urls:
            match = SQS_ARN.match(arn)
            if match is None:
                raise ValueError(f"not an SQS queue ARN: {arn}")
            name, account = match.group(3), match.group(2)
            self._urls[arn] = self._client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._urls[arn]

    def send(self, subscriber: Subscriber, events: list[StoredEvent], target_arn: str | None = None) -> list[str]:
        """Send ``events`` as one SendMessageBatch; returns the error of each entry SQS refused."""
        target = target_arn or subscriber.target_arn
        fifo = target.endswith(".fifo")
        parameters = subscriber.invoke.get("SqsParameters") or {}
        messages = []
        for index, event in enumerate(events):
            message: dict[str, Any] = {"Id": str(index), "MessageBody": payload(subscriber, event)}
            if fifo:
                message["MessageGroupId"] = parameters.get("MessageGroupId") or event.group_id or "default"
                message["MessageDeduplicationId"] = parameters.get("MessageDeduplicationId") or event.event_id
            elif parameters.get("DelaySeconds") and target_arn is None:
                message["DelaySeconds"] = int(parameters["DelaySeconds"])
            if parameters.get("MessageAttributes") and target_arn is None:
                message["MessageAttributes"] = parameters["MessageAttributes"]
            messages.append(message)
        reply = self._client().send_message_batch(QueueUrl=self.url(target), Entries=messages)
        return [f"{f.get('Code')}: {f.get('Message', '')}" for f in reply.get("Failed") or []]

    def dead_letter(self, subscriber: Subscriber, events: list[StoredEvent], error: str) -> None:
        assert subscriber.on_failure_arn is not None
        fifo = subscriber.on_failure_arn.endswith(".fifo")
        entries = []
        for index, event in enumerate(events):
            entry: dict[str, Any] = {
                "Id": str(index),
                "MessageBody": payload(subscriber, event),
                "MessageAttributes": {
                    "ERROR_MESSAGE": {"DataType": "String", "StringValue": error[:1000] or "-"},
                    "SUBSCRIBER_ARN": {"DataType": "String", "StringValue": subscriber.arn},
                },
            }
            if fifo:
                entry["MessageGroupId"] = event.group_id or "default"
                entry["MessageDeduplicationId"] = event.event_id
            entries.append(entry)
        self._client().send_message_batch(QueueUrl=self.url(subscriber.on_failure_arn), Entries=entries)


class Deliverers:
    """Keeps one delivery thread per subscriber of ``store`` (started and stopped as subscribers come and go)."""

    def __init__(self, store: EventsV2Store, delivery: SqsDelivery, idle_wait_s: float = 0.5) -> None:
        self._store = store
        self._delivery = delivery
        self._idle_wait_s = idle_wait_s
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._watcher = threading.Thread(target=self._watch, name="eventsv2-subscribers", daemon=True)

    def start(self) -> None:
        self._watcher.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._store.changed:
            self._store.changed.notify_all()
        self._watcher.join(timeout)
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def _watch(self) -> None:
        store = self._store
        while not self._stop.is_set():
            with store.changed:
                arns = set(store.subscribers)
                for arn in arns - set(self._threads):
                    thread = threading.Thread(target=self._run, args=(arn,), name=f"eventsv2-{arn[-12:]}", daemon=True)
                    self._threads[arn] = thread
                    thread.start()
                for arn in set(self._threads) - arns:
                    self._threads.pop(arn)  # its loop sees the subscriber gone and ends
                store.changed.wait(self._idle_wait_s)

    def _run(self, arn: str) -> None:
        store = self._store
        attempts = 0
        while not self._stop.is_set():
            with store.changed:
                subscriber = store.subscribers.get(arn)
                if subscriber is None:
                    return
                batch = store.next_batch(subscriber)
                if not batch:
                    store.changed.wait(self._idle_wait_s)
                    continue
                if _window_open(store, subscriber, batch):
                    store.changed.wait(0.05)
                    continue
            try:
                errors = self._delivery.send(subscriber, batch)
            except Exception as exc:  # the emulator away, the queue missing, ...
                errors = [f"{type(exc).__name__}: {exc}"]
            if not errors:
                attempts = 0
                with store.changed:
                    subscriber.delivered += len(batch)
                    store.advance(subscriber, batch[-1])
                continue
            attempts += 1
            oldest_age = store.clock() - batch[0].ingested_at
            if attempts <= subscriber.retry_attempts and oldest_age < subscriber.max_event_age_s:
                delay = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (attempts - 1))
                log.warning(
                    "subscriber %s: delivery failed (%s); retry %d in %.1fs",
                    subscriber.name,
                    errors[0],
                    attempts,
                    delay,
                )
                self._stop.wait(delay)
                continue
            attempts = 0
            self._give_up(subscriber, batch, "; ".join(errors))

    def _give_up(self, subscriber: Subscriber, batch: list[StoredEvent], error: str) -> None:
        if subscriber.on_failure_arn:
            try:
                self._delivery.dead_letter(subscriber, batch, error)
            except Exception as exc:
                log.error("subscriber %s: on-failure queue refused %d events too: %s", subscriber.name, len(batch), exc)
        log.error("subscriber %s: %d events not delivered (%s)", subscriber.name, len(batch), error)
        with self._store.changed:
            subscriber.dead_lettered += len(batch)
            self._store.advance(subscriber, batch[-1])


def _window_open(store: EventsV2Store, subscriber: Subscriber, batch: list[StoredEvent]) -> bool:
    """MaxBatchWindowInSeconds: a batch short of MaxBatchSize waits until its oldest event is that old."""
    if subscriber.batch_window_s <= 0 or len(batch) >= subscriber.batch_size:
        return False
    return store.clock() - batch[0].ingested_at < subscriber.batch_window_s
