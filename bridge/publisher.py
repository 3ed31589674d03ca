"""The hot path: PutEvents entries -> EventBridge in batches, retried per entry inside a deadline.

An entry is resolved ``"bus"`` when EventBridge accepted it. Throttling, 5xx, connection errors
and per-entry failures (``FailedEntryCount``) are retried with jittered exponential backoff
while the entry's deadline allows; then, or at once for errors that retrying cannot fix, the
entry is handed to the fallback queue (or failed with :class:`Unavailable` when there is none).

The call itself goes one of two ways: on the event loop through :class:`bridge.asyncsdk.AsyncAwsClient`
(the default: botocore's serializer and signer over aiohttp, no thread hop), or, for a blocking client
(boto3's, with ``BRIDGE_PUBLISHER=threads``, or a benchmark's in-process sink), in a thread pool. Either way
the SDK's own retries are off (we retry per entry, which the SDK cannot do for a partial failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

from bridge.batcher import Batcher, Item, Unavailable, backoff_delay
from bridge.config import DEFAULT_LINGER_MS
from bridge.metrics import BridgeMetrics
from contract.bus import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES

#: Errors where a retry within the deadline cannot help: spill to the fallback queue at once.
PERMANENT_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "InvalidArgument",
        "MalformedDetail",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
        "ResourceNotFoundException",
        "ValidationException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "KmsDisabledException",
        "KMSAccessDeniedException",
    }
)


class EventsClient(Protocol):
    """A blocking EventBridge client (boto3's, or a benchmark sink): called in the thread pool."""

    def put_events(self, **params: Any) -> dict[str, Any]: ...


@runtime_checkable
class AsyncOperations(Protocol):
    """A client whose operations are coroutines (:class:`bridge.asyncsdk.AsyncAwsClient`)."""

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]: ...


class EventBusPublisher(Batcher):
    """Batches entries into PutEvents calls; hands what it cannot publish in time to ``spill``."""

    #: Error codes that no retry within the deadline fixes (a subclass for another API has its own).
    permanent_errors: frozenset[str] = PERMANENT_ERRORS
    #: The API's limits per call.
    limit_entries = MAX_ENTRIES_PER_CALL
    limit_bytes = MAX_REQUEST_BYTES
    batcher_name = "eventbridge"

    def __init__(
        self,
        client: EventsClient | AsyncOperations,
        *,
        executor: Executor | None = None,
        spill: Callable[[Item], None],
        metrics: BridgeMetrics,
        max_entries: int = MAX_ENTRIES_PER_CALL,
        linger_s: float = DEFAULT_LINGER_MS / 1000,
        max_in_flight: int = 16,
    ) -> None:
        super().__init__(
            name=self.batcher_name,
            max_entries=min(max_entries, self.limit_entries),
            max_bytes=self.limit_bytes,
            linger_s=linger_s,
            max_in_flight=max_in_flight,
        )
        self._client = client
        self._async = client if isinstance(client, AsyncOperations) else None
        self._executor = executor  # None: the loop's default pool (blocking clients only)
        self._spill = spill
        self._metrics = metrics

    def expired(self, item: Item) -> None:
        item.last_error = item.last_error or "deadline passed before a PutEvents slot was free"
        self._spill(item)

    async def send(self, batch: list[Item]) -> None:
        metrics = self._metrics
        metrics.put_events_calls += 1
        metrics.batch_size.add(len(batch))
        entries = [item.entry for item in batch]
        call = asyncio.ensure_future(self._call(entries))
        timeout_at = max(item.deadline for item in batch)
        try:
            async with asyncio.timeout_at(timeout_at):
                reply = await asyncio.shield(call)
        except TimeoutError:
            # The call may still succeed later; the fallback copy then makes a duplicate, which
            # consumers tolerate (idempotent on event_sid). Losing the event would be worse.
            for item in batch:
                item.last_error = "PutEvents did not answer before the deadline"
                self._spill(item)
            await asyncio.wait([call])  # hold the slot until the call is over (its own read time-out bounds it)
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            self._retry_all(batch, code, f"{code}: {exc.response.get('Error', {}).get('Message', '')}")
            return
        except (BotoCoreError, OSError) as exc:  # connection refused/reset, read time-out, ...
            self._retry_all(batch, "", f"{type(exc).__name__}: {exc}")
            return
        results = reply.get("Entries") or []
        if not reply.get("FailedEntryCount"):
            for index, item in enumerate(batch):
                item.resolve("bus")
                self.stored(results[index] if index < len(results) else {})
            metrics.published += len(batch)
            return
        for index, item in enumerate(batch):
            result = results[index] if index < len(results) else {"ErrorCode": "MissingResult"}
            code = result.get("ErrorCode")
            if not code:
                item.resolve("bus")
                self.stored(result)
                metrics.published += 1
            else:
                self._retry(item, code, f"{code}: {result.get('ErrorMessage', '')}")

    def request(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """The PutEvents parameters for a batch: the classic bus takes the entries as they are."""
        return {"Entries": entries}

    async def _call(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        params = self.request(entries)
        if self._async is not None:
            return await self._async.call("PutEvents", params)
        return await self._loop.run_in_executor(self._executor, self.put_events, params)

    def put_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """One blocking PutEvents call (runs in the executor)."""
        client = self._client
        assert not isinstance(client, AsyncOperations)
        return client.put_events(**params)

    def stored(self, result: dict[str, Any]) -> None:
        """An entry the bus accepted (its per-entry result); a subclass may count what the result says."""

    def _retry_all(self, batch: list[Item], code: str, error: str) -> None:
        for item in batch:
            self._retry(item, code, error)

    def _retry(self, item: Item, code: str, error: str) -> None:
        item.last_error = error
        if item.future.done():
            return
        if code in self.permanent_errors:
            self._spill(item)
            return
        item.attempts += 1
        delay = backoff_delay(item.attempts)
        if self._loop.time() + delay >= item.deadline:
            self._spill(item)
            return
        self._metrics.retries += 1
        self.retry_later(item, delay)


def spill_nowhere(metrics: BridgeMetrics) -> Callable[[Item], None]:
    """The spill target when no fallback queue is configured: the event is not durable."""

    def spill(item: Item) -> None:
        if not item.future.done():
            metrics.unavailable += 1
            item.fail(Unavailable(f"event bus failed ({item.last_error}) and no fallback queue is configured"))

    return spill
