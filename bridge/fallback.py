"""The fallback queue: where an event goes when EventBridge will not take it in time.

Message body = the PutEvents entry as JSON (``Time`` as ISO 8601 text), so the redrive function
replays it verbatim: ``events.put_events(Entries=[json.loads(body)])``. Message attributes
``event_sid`` and ``spill_reason`` say which event and why (for operators; redrive ignores them).
An event is acknowledged OK once SQS has accepted its message; if SQS too fails until the
fallback deadline, the RPC fails with :class:`Unavailable` and the sender retries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from bridge.batcher import Batcher, Item, Unavailable, backoff_delay
from bridge.metrics import BridgeMetrics

if TYPE_CHECKING:  # boto3-stubs (a development dependency)
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef, SendMessageBatchResultTypeDef

    from legs.eventbridge import BusEntry

#: SQS limits: 10 messages per SendMessageBatch, 256 KiB per message and per batch (body + attributes).
SQS_MAX_BATCH = 10
SQS_MAX_BYTES = 256 * 1024
_ATTRIBUTE_ALLOWANCE = 512  # names, types and values of the two message attributes, rounded up


class BatchSender(Protocol):
    """What the fallback queue needs from an SQS client (boto3's, or a test double)."""

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[SendMessageBatchRequestEntryTypeDef]
    ) -> SendMessageBatchResultTypeDef: ...


def fallback_body(entry: BusEntry) -> str:
    """The PutEvents entry as JSON text: what the redrive function replays."""
    time = entry.get("Time")
    record = {**entry, "Time": time.isoformat()} if isinstance(time, datetime) else entry
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def fallback_size(body: str) -> int:
    return len(body.encode("utf-8")) + _ATTRIBUTE_ALLOWANCE


class FallbackQueue(Batcher):
    """SendMessageBatch to the fallback queue, retried per message until its own deadline."""

    def __init__(
        self,
        sqs_client: BatchSender,
        queue_url: str,
        *,
        executor: Executor,
        metrics: BridgeMetrics,
        deadline_s: float = 0.25,
        max_in_flight: int = 4,
    ) -> None:
        super().__init__(
            name="fallback",
            max_entries=SQS_MAX_BATCH,
            max_bytes=SQS_MAX_BYTES,
            linger_s=0.0,
            max_in_flight=max_in_flight,
        )
        self._client = sqs_client
        self._queue_url = queue_url
        self._executor = executor
        self._metrics = metrics
        self._deadline_s = deadline_s

    def spill(self, item: Item) -> None:
        """Take over an item the bus publisher gave up on (its deadline restarts for SQS)."""
        if item.future.done():
            return
        if item.body is None:
            item.body = fallback_body(item.entry)
        item.size = fallback_size(item.body)
        item.attempts = 0
        item.deadline = self._loop.time() + self._deadline_s
        if item.size > SQS_MAX_BYTES:
            self._give_up(item, f"fallback message of {item.size} bytes exceeds the SQS limit")
            return
        self.submit(item)

    def expired(self, item: Item) -> None:
        self._give_up(item, item.last_error or "fallback deadline passed")

    def _give_up(self, item: Item, why: str) -> None:
        if not item.future.done():
            self._metrics.unavailable += 1
            item.fail(Unavailable(f"event bus and fallback queue both failed: {why}"))

    async def send(self, batch: list[Item]) -> None:
        messages: list[SendMessageBatchRequestEntryTypeDef] = [
            {
                "Id": str(index),
                "MessageBody": item.body if item.body is not None else fallback_body(item.entry),
                "MessageAttributes": {
                    "event_sid": {"DataType": "String", "StringValue": item.event_sid or "-"},
                    "spill_reason": {"DataType": "String", "StringValue": (item.last_error or "-")[:200]},
                },
            }
            for index, item in enumerate(batch)
        ]
        call = self._loop.run_in_executor(self._executor, self._send_batch, messages)
        try:
            async with asyncio.timeout_at(max(item.deadline for item in batch)):
                reply = await asyncio.shield(call)
        except TimeoutError:
            for item in batch:
                self._give_up(item, "SendMessageBatch did not answer before the fallback deadline")
            await asyncio.wait([call])  # hold the slot until the thread is free again
            return
        except (ClientError, BotoCoreError, OSError) as exc:
            for item in batch:
                self._retry(item, f"SendMessageBatch: {type(exc).__name__}: {exc}")
            return
        failed = {entry["Id"]: entry for entry in reply.get("Failed") or []}
        for index, item in enumerate(batch):
            failure = failed.get(str(index))
            if failure is None:
                if not item.future.done():
                    self._metrics.spilled += 1
                    item.resolve("fallback")
            else:
                self._retry(item, f"SendMessageBatch entry: {failure.get('Code')}: {failure.get('Message', '')}")

    def _send_batch(self, messages: list[SendMessageBatchRequestEntryTypeDef]) -> SendMessageBatchResultTypeDef:
        return self._client.send_message_batch(QueueUrl=self._queue_url, Entries=messages)

    def _retry(self, item: Item, error: str) -> None:
        item.last_error = error
        item.attempts += 1
        delay = backoff_delay(item.attempts)
        if self._loop.time() + delay >= item.deadline:
            self._give_up(item, error)
        else:
            self.retry_later(item, delay)
