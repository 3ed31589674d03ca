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

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Protocol,
    Required,
    TypeAlias,
    TypedDict,
    TypeVar,
    cast,
    runtime_checkable,
)

from botocore.exceptions import BotoCoreError, ClientError

from bridge.batcher import Batcher, Item, LingerGate, Unavailable, backoff_delay
from bridge.config import DEFAULT_LINGER_MS
from bridge.metrics import BridgeMetrics
from contract.bus import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES

if TYPE_CHECKING:  # boto3-stubs (a development dependency): PutEvents as botocore defines it
    from mypy_boto3_eventbridgev2.type_defs import PutEventsResponseTypeDef as V2PutEventsResponseTypeDef
    from mypy_boto3_events.type_defs import (
        PutEventsRequestEntryTypeDef,
        PutEventsResponseTypeDef,
        PutEventsResultEntryTypeDef,
    )

    from legs.eventbridge import BusEntry

    #: What one PutEvents call answers on either bus: ``FailedEntryCount`` and one result per entry, in order.
    PutEventsReply: TypeAlias = PutEventsResponseTypeDef | V2PutEventsResponseTypeDef

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

    def put_events(self, *, Entries: Sequence[PutEventsRequestEntryTypeDef]) -> PutEventsResponseTypeDef: ...


@runtime_checkable
class AsyncOperations(Protocol):
    """A client whose operations are coroutines (:class:`bridge.asyncsdk.AsyncAwsClient`): any service's
    operation by name, its parameters as botocore's model names them, its parsed reply."""

    async def call(self, operation: str, params: Mapping[str, object]) -> dict[str, object]: ...


class PublisherOptions(TypedDict, total=False):
    """What every publisher takes besides its client (a subclass passes them through)."""

    executor: Executor | None
    spill: Required[Callable[[Item], None]]
    metrics: Required[BridgeMetrics]
    max_entries: int
    linger_s: float
    max_in_flight: int
    linger_gate: LingerGate | None


#: The blocking client a publisher calls in its executor (the classic bus's or EventsV2's).
BlockingClient = TypeVar("BlockingClient")
#: Any publisher, whichever its client (what the service and the server hold).
AnyPublisher: TypeAlias = "BusPublisher[Any]"


class BusPublisher(Batcher, Generic[BlockingClient]):
    """Batches entries into PutEvents calls; hands what it cannot publish in time to ``spill``.

    The durability rule for both buses; a subclass makes the call (:meth:`put_events`): the classic bus's
    (:class:`EventBusPublisher`) or EventsV2's (``bridge.eventsv2.EventsV2Publisher``). ``client``: an
    :class:`AsyncOperations` client (calls on the event loop) or a blocking one (calls in ``executor``).
    """

    #: Error codes that no retry within the deadline fixes (a subclass for another API has its own).
    permanent_errors: frozenset[str] = PERMANENT_ERRORS
    #: The API's limits per call.
    limit_entries = MAX_ENTRIES_PER_CALL
    limit_bytes = MAX_REQUEST_BYTES
    batcher_name = "eventbridge"

    def __init__(
        self,
        client: BlockingClient | AsyncOperations,
        *,
        executor: Executor | None = None,
        spill: Callable[[Item], None],
        metrics: BridgeMetrics,
        max_entries: int = MAX_ENTRIES_PER_CALL,
        linger_s: float = DEFAULT_LINGER_MS / 1000,
        max_in_flight: int = 16,
        linger_gate: LingerGate | None = None,
    ) -> None:
        super().__init__(
            name=self.batcher_name,
            max_entries=min(max_entries, self.limit_entries),
            max_bytes=self.limit_bytes,
            linger_s=linger_s,
            max_in_flight=max_in_flight,
            linger_gate=linger_gate,
        )
        self._client = client
        self._async = client if isinstance(client, AsyncOperations) else None  # else put_events in the executor
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
        # At the deadline the batch goes to the fallback at once, while the call goes on (holding its slot until
        # its own read time-out ends it); what it answers then is ignored. The call may still have succeeded:
        # the fallback copy is then a duplicate, which consumers tolerate (idempotent on event_sid). Losing the
        # event would be worse. (A timer, not asyncio.timeout around a shielded task: two objects fewer per call.)
        late = _Late(batch, self._spill)
        timer = self._loop.call_at(max(item.deadline for item in batch), late.spill)
        try:
            reply = await self._call(entries)
        except ClientError as exc:
            if late.spilled:
                return
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            self._retry_all(batch, code, f"{code}: {exc.response.get('Error', {}).get('Message', '')}")
            return
        except (BotoCoreError, OSError) as exc:  # connection refused/reset, read time-out, ...
            if not late.spilled:
                self._retry_all(batch, "", f"{type(exc).__name__}: {exc}")
            return
        finally:
            timer.cancel()
        if late.spilled:
            return
        results = reply.get("Entries") or []
        if not reply.get("FailedEntryCount"):
            for index, item in enumerate(batch):
                item.resolve("bus")
                self.stored(results[index] if index < len(results) else {})
            metrics.published += len(batch)
            return
        for index, item in enumerate(batch):
            missing: PutEventsResultEntryTypeDef = {"ErrorCode": "MissingResult"}
            result = results[index] if index < len(results) else missing
            error_code = result.get("ErrorCode")
            if not error_code:
                item.resolve("bus")
                self.stored(result)
                metrics.published += 1
            else:
                self._retry(item, error_code, f"{error_code}: {result.get('ErrorMessage', '')}")

    async def _call(self, entries: list[BusEntry]) -> PutEventsReply:
        if self._async is not None:
            # The service's reply, parsed by botocore's model for it: the shape the stubs name.
            return cast("PutEventsReply", await self._async.call("PutEvents", self.request(entries)))
        return await self._loop.run_in_executor(self._executor, self.put_events, entries)

    @abstractmethod
    def request(self, entries: list[BusEntry]) -> Mapping[str, object]:
        """The PutEvents parameters for a batch (the call on the event loop)."""

    @abstractmethod
    def put_events(self, entries: list[BusEntry]) -> PutEventsReply:
        """One blocking PutEvents call (runs in the executor)."""

    def stored(self, result: Mapping[str, object]) -> None:
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


class EventBusPublisher(BusPublisher[EventsClient]):
    """The classic bus (``events``): the entries go as they are, each naming its bus (``EventBusName``)."""

    def request(self, entries: list[BusEntry]) -> Mapping[str, object]:
        return {"Entries": entries}

    def put_events(self, entries: list[BusEntry]) -> PutEventsResponseTypeDef:
        client = self._client
        assert not isinstance(client, AsyncOperations)  # an async client's calls go through request()
        return client.put_events(Entries=entries)


class _Late:
    """The deadline of one PutEvents call: when it passes first, the batch is spilled and the reply ignored."""

    __slots__ = ("batch", "spill_to", "spilled")

    def __init__(self, batch: list[Item], spill_to: Callable[[Item], None]) -> None:
        self.batch = batch
        self.spill_to = spill_to
        self.spilled = False

    def spill(self) -> None:
        self.spilled = True
        for item in self.batch:
            if not item.future.done():
                item.last_error = "PutEvents did not answer before the deadline"
                self.spill_to(item)


def spill_nowhere(metrics: BridgeMetrics) -> Callable[[Item], None]:
    """The spill target when no fallback queue is configured: the event is not durable."""

    def spill(item: Item) -> None:
        if not item.future.done():
            metrics.unavailable += 1
            item.fail(Unavailable(f"event bus failed ({item.last_error}) and no fallback queue is configured"))

    return spill
