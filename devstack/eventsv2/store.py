"""The state behind the local EventsV2 endpoint: buses, stored events, deduplication, subscribers.

One lock (a ``threading.Condition``) guards everything; delivery threads wait on it for new events. Each
operation is a method named as the API names it (``CreateEventBus``…) taking and returning the plain dicts
botocore sends and expects, so :mod:`devstack.eventsv2.server` only decodes, dispatches and encodes.

Semantics chosen where the service model is silent (docs/DEVSTACK.md lists them):

- ``PutEvents`` stores an entry as an ``application/eventbridge+json`` document, i.e. the classic event envelope
  (``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``,
  ``detail``). Filters of scope ``DATA`` match that document (classic EventBridge patterns work as they are);
  ``SYSTEM_METADATA`` matches ``{"EventGroupId", "DeduplicationId", "ContentType"}``; ``METADATA`` the
  customer metadata (none for ``PutEvents``).
- Every stored event gets the bus's next sequence number; FIFO order within a group is that order.
- A ``DeduplicationId`` (or, with ``CONTENT_BASED``, a hash of Source, DetailType, Detail and Resources) seen
  on the same bus within the window is answered ``DEDUPLICATED`` with the first event's id and sequence number,
  and stored once.
- ``StartingPosition`` ``LATEST``: events stored after the subscriber was created; ``POINT_IN_TIME`` with
  ``HORIZON``: everything retained; with ``TIMESTAMP``: events stored at or after ``StartingPoint`` (ingestion
  time, not the entry's ``Time``), up to (not including) ``EndPoint`` if given.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from contract.bus import V2_ASSUMED_DEDUP_WINDOW_S, V2_MAX_ENTRIES_PER_CALL, V2_MAX_REQUEST_BYTES

#: Error shapes of the service model and their HTTP status.
ERROR_STATUS: dict[str, int] = {
    "AccessDeniedException": 403,
    "ConcurrentModificationException": 409,
    "ConflictException": 409,
    "IdempotentParameterMismatchException": 409,
    "InternalException": 500,
    "InvalidInputException": 400,
    "InvalidStateException": 409,
    "LimitExceededException": 400,
    "ResourceAlreadyExistsException": 409,
    "ResourceInUseException": 409,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][.\-_A-Za-z0-9]{0,255}$")
SQS_ARN = re.compile(r"^arn:aws[a-z0-9-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$")
#: Per target kind, the largest batch the service accepts (CloudFormation docs of BatchConfiguration).
SQS_MAX_BATCH = 10
DEFAULT_RETRY_ATTEMPTS = 5
DEFAULT_MAX_EVENT_AGE_S = 300
CONTENT_TYPE = "application/eventbridge+json"
PUBLISHED, DEDUPLICATED = "PUBLISHED", "DEDUPLICATED"


class ServiceError(Exception):
    """An error answer: ``code`` is the shape name (botocore's ``Error.Code``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_STATUS.get(code, 400)


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidInputException", message)


def _not_found(what: str, arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"{what} {arn} does not exist")


def _resource_id() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=25))


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float):
        return float(value)
    raise _invalid(f"not a timestamp: {value!r}")


@dataclass
class StoredEvent:
    """One event on a bus: what subscribers filter and receive."""

    seq: int
    event_id: str
    ingested_at: float
    group_id: str | None
    dedup_id: str | None
    document: dict[str, Any]  # the application/eventbridge+json envelope

    @property
    def sequence_number(self) -> str:
        return f"{self.seq:020d}"

    @property
    def system_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"ContentType": CONTENT_TYPE}
        if self.group_id is not None:
            meta["EventGroupId"] = self.group_id
        if self.dedup_id is not None:
            meta["DeduplicationId"] = self.dedup_id
        return meta

    def scope(self, name: str) -> dict[str, Any]:
        """The document a filter of scope ``name`` matches."""
        if name == "DATA":
            return self.document
        if name == "SYSTEM_METADATA":
            return self.system_metadata
        return {}  # METADATA: customer metadata, which PutEvents entries do not carry


@dataclass
class Bus:
    name: str
    arn: str
    description: str
    retention_days: int
    created: float
    modified: float
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None
    events: deque[StoredEvent] = field(default_factory=deque)
    next_seq: int = 1
    dedup: dict[str, StoredEvent] = field(default_factory=dict)
    dedup_expiry: deque[tuple[float, str]] = field(default_factory=deque)

    @property
    def first_seq(self) -> int:
        return self.events[0].seq if self.events else self.next_seq

    def event_at(self, seq: int) -> StoredEvent | None:
        index = seq - self.first_seq
        return self.events[index] if 0 <= index < len(self.events) else None

    def describe(self) -> dict[str, Any]:
        window_start = self.events[0].ingested_at if self.events else self.created
        return {
            "EventBusArn": self.arn,
            "Name": self.name,
            "Description": self.description,
            "StorageConfiguration": {
                "RetentionPeriodInDays": self.retention_days,
                "RetentionWindowStartTime": _utc(window_start),
            },
            "State": "ACTIVE",
            "CreationTime": _utc(self.created),
            "LastModifiedTime": _utc(self.modified),
        }


@dataclass
class Subscriber:
    name: str
    arn: str
    bus_arn: str
    target_arn: str
    invoke: dict[str, Any]
    filter_config: dict[str, Any]
    filters: list[tuple[str, EventPattern]]
    type: str
    starting_position: str
    point_in_time: dict[str, Any] | None
    batch_size: int
    batch_window_s: int
    transformer: str
    retry_attempts: int
    max_event_age_s: int
    on_failure_arn: str | None
    state: str
    created: float
    modified: float
    description: str = ""
    log_config: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    cursor: int = 1  # the next sequence number to consider
    end_at: float | None = None  # PointInTimeConfiguration.EndPoint
    delivered: int = 0
    dead_lettered: int = 0

    @property
    def fifo(self) -> bool:
        return self.type == "FIFO"

    def matches(self, event: StoredEvent) -> bool:
        return all(pattern.matches_event(event.scope(scope)) for scope, pattern in self.filters)

    def describe(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "SubscriberArn": self.arn,
            "Name": self.name,
            "EventBusArn": self.bus_arn,
            "InvokeConfiguration": self.invoke,
            "Description": self.description,
            "FilterConfiguration": self.filter_config,
            "Type": self.type,
            "StartingPosition": self.starting_position,
            "BatchConfiguration": {"MaxBatchSize": self.batch_size, "MaxBatchWindowInSeconds": self.batch_window_s},
            "Transformer": {"Type": self.transformer},
            "RetryPolicy": {
                "MaxRetryAttempts": self.retry_attempts,
                "MaxEventAgeInSeconds": self.max_event_age_s,
                "RetryStrategy": "ALL",
            },
            "State": self.state,
            "CreationTime": _utc(self.created),
            "LastModifiedTime": _utc(self.modified),
        }
        if self.point_in_time:
            reply["PointInTimeConfiguration"] = self.point_in_time
        if self.on_failure_arn:
            reply["OnFailureConfiguration"] = {"Arn": self.on_failure_arn}
        if self.log_config:
            reply["LogConfiguration"] = self.log_config
        return reply

    def summary(self, account: str) -> dict[str, Any]:
        return {
            "SubscriberArn": self.arn,
            "Name": self.name,
            "EventBusArn": self.bus_arn,
            "TargetArn": self.target_arn,
            "Type": self.type,
            "State": self.state,
            "CreationTime": _utc(self.created),
            "LastModifiedTime": _utc(self.modified),
            "SubscriberAccountId": account,
        }


class Fault:
    """A test hook: the next ``count`` calls of ``operation`` fail with ``code`` (whole call or per entry)."""

    def __init__(self, operation: str, code: str, count: int, per_entry: bool = False) -> None:
        self.operation = operation
        self.code = code
        self.count = count
        self.per_entry = per_entry


class EventsV2Store:
    """Every bus and subscriber of one local endpoint (one region, one account)."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        dedup_window_s: float = V2_ASSUMED_DEDUP_WINDOW_S,
        max_stored_events: int = 200_000,
        clock: Any = time.time,
    ) -> None:
        self.region = region
        self.account = account
        self.dedup_window_s = dedup_window_s
        self.max_stored_events = max_stored_events
        self.clock = clock
        self.changed = threading.Condition()  # the one lock; notified on every new event or subscriber change
        self.buses: dict[str, Bus] = {}  # by ARN
        self.subscribers: dict[str, Subscriber] = {}  # by ARN
        self.faults: list[Fault] = []

    # ---- helpers -------------------------------------------------------------------------------------
    def _bus(self, arn: str) -> Bus:
        bus = self.buses.get(arn)
        if bus is None:
            raise _not_found("event bus", arn)
        return bus

    def _subscriber(self, arn: str) -> Subscriber:
        subscriber = self.subscribers.get(arn)
        if subscriber is None:
            raise _not_found("subscriber", arn)
        return subscriber

    def check_fault(self, operation: str) -> Fault | None:
        """Consume one matching fault (test hook); a whole-call fault raises here."""
        for fault in self.faults:
            if fault.operation == operation and fault.count != 0:
                if fault.count > 0:
                    fault.count -= 1
                if not fault.per_entry:
                    raise ServiceError(fault.code, f"injected fault: {fault.code}")
                return fault
        return None

    # ---- buses ---------------------------------------------------------------------------------------
    def CreateEventBus(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("Name", ""))
        if not NAME_PATTERN.match(name):
            raise _invalid(f"invalid event bus name {name!r}")
        retention = int((params.get("StorageConfiguration") or {}).get("RetentionPeriodInDays") or 1)
        if not 1 <= retention <= 365:
            raise _invalid("RetentionPeriodInDays must be between 1 and 365")
        with self.changed:
            for bus in self.buses.values():
                if bus.name == name:
                    if params.get("ClientToken") and params.get("ClientToken") == bus.client_token:
                        return bus.describe()
                    raise ServiceError("ResourceAlreadyExistsException", f"event bus {name} already exists")
            now = self.clock()
            arn = f"arn:aws:events:{self.region}:{self.account}:event-busv2/{name}/{_resource_id()}"
            bus = Bus(
                name=name,
                arn=arn,
                description=str(params.get("Description") or ""),
                retention_days=retention,
                created=now,
                modified=now,
                tags=dict(params.get("Tags") or {}),
                client_token=params.get("ClientToken"),
            )
            self.buses[arn] = bus
            return bus.describe()

    def DescribeEventBus(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            return self._bus(str(params.get("EventBusArn"))).describe()

    def UpdateEventBus(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            bus = self._bus(str(params.get("EventBusArn")))
            if "Description" in params:
                bus.description = str(params["Description"])
            storage = params.get("StorageConfiguration") or {}
            if "RetentionPeriodInDays" in storage:
                retention = int(storage["RetentionPeriodInDays"])
                if not 1 <= retention <= 365:
                    raise _invalid("RetentionPeriodInDays must be between 1 and 365")
                bus.retention_days = retention
            bus.modified = self.clock()
            return bus.describe()

    def ListEventBuses(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = str(params.get("NamePrefix") or "")
        with self.changed:
            found = [b for b in self.buses.values() if b.name.startswith(prefix)]
        summaries = []
        for bus in sorted(found, key=lambda b: b.name):
            described = bus.describe()
            summaries.append(
                {k: described[k] for k in ("Name", "EventBusArn", "Description", "CreationTime", "State")}
                | {"LastModifiedTime": described["LastModifiedTime"], "EventBusAccountId": self.account}
            )
        return _page(summaries, params, "EventBuses")

    def DeleteEventBus(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = str(params.get("EventBusArn"))
        with self.changed:
            self._bus(arn)
            if any(s.bus_arn == arn for s in self.subscribers.values()):
                raise ServiceError(
                    "ResourceInUseException", f"event bus {arn} still has subscribers: delete them first"
                )
            del self.buses[arn]
            self.changed.notify_all()
        return {}

    # ---- events --------------------------------------------------------------------------------------
    def PutEvents(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("Entries") or []
        if not 1 <= len(entries) <= V2_MAX_ENTRIES_PER_CALL:
            raise _invalid(f"Entries must hold 1 to {V2_MAX_ENTRIES_PER_CALL} entries, got {len(entries)}")
        size = sum(_entry_size(entry) for entry in entries)
        if size > V2_MAX_REQUEST_BYTES:
            raise _invalid(f"the request's entries total {size} bytes; the limit is {V2_MAX_REQUEST_BYTES}")
        content_based = (params.get("DeduplicationConfiguration") or {}).get("DeduplicationType") == "CONTENT_BASED"
        with self.changed:
            bus = self._bus(str(params.get("EventBusArn")))
            fault = self.check_fault("PutEvents")
            now = self.clock()
            self._expire(bus, now)
            results: list[dict[str, Any]] = []
            failed = 0
            for entry in entries:
                if fault is not None:
                    results.append({"ErrorCode": fault.code, "ErrorMessage": "injected per-entry fault"})
                    failed += 1
                    continue
                try:
                    results.append(self._put_one(bus, entry, content_based, now))
                except ServiceError as exc:
                    results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
                    failed += 1
            self.changed.notify_all()
        return {"FailedEntryCount": failed, "Entries": results}

    def _put_one(self, bus: Bus, entry: dict[str, Any], content_based: bool, now: float) -> dict[str, Any]:
        source, detail_type = str(entry.get("Source") or ""), str(entry.get("DetailType") or "")
        if not source or not detail_type:
            raise _invalid("Source and DetailType are required")
        if source.startswith("aws."):
            raise _invalid(f"Source {source!r}: the aws. prefix is reserved for AWS services")
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError as exc:
            raise ServiceError("MalformedDetail", f"Detail is not valid JSON: {exc}") from None
        if not isinstance(detail, dict):
            raise ServiceError("MalformedDetail", "Detail must be a JSON object")
        system = entry.get("SystemMetadata") or {}
        group_id = system.get("EventGroupId")
        dedup_id = system.get("DeduplicationId")
        if content_based:
            content = json.dumps(
                [source, detail_type, entry.get("Detail") or "", entry.get("Resources") or []], separators=(",", ":")
            )
            dedup_id = hashlib.sha256(content.encode("utf-8")).hexdigest()
        if dedup_id is not None:
            first = bus.dedup.get(dedup_id)
            if first is not None:
                return {
                    "EventId": first.event_id,
                    "SequenceNumber": first.sequence_number,
                    "SuccessCode": "DEDUPLICATED",
                }
        event_time = _epoch(entry["Time"]) if entry.get("Time") is not None else now
        event_id = str(uuid.uuid4())
        document = {
            "version": "0",
            "id": event_id,
            "detail-type": detail_type,
            "source": source,
            "account": self.account,
            "time": _utc(event_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": list(entry.get("Resources") or []),
            "detail": detail,
        }
        stored = StoredEvent(bus.next_seq, event_id, now, group_id, dedup_id, document)
        bus.next_seq += 1
        bus.events.append(stored)
        while len(bus.events) > self.max_stored_events:
            bus.events.popleft()
        if dedup_id is not None:
            bus.dedup[dedup_id] = stored
            bus.dedup_expiry.append((now + self.dedup_window_s, dedup_id))
        return {"EventId": event_id, "SequenceNumber": stored.sequence_number, "SuccessCode": PUBLISHED}

    def _expire(self, bus: Bus, now: float) -> None:
        while bus.dedup_expiry and bus.dedup_expiry[0][0] <= now:
            _, key = bus.dedup_expiry.popleft()
            bus.dedup.pop(key, None)
        horizon = now - bus.retention_days * 86400
        while bus.events and bus.events[0].ingested_at < horizon:
            bus.events.popleft()

    # ---- subscribers ---------------------------------------------------------------------------------
    def CreateSubscriber(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("Name", ""))
        if not NAME_PATTERN.match(name):
            raise _invalid(f"invalid subscriber name {name!r}")
        invoke = dict(params.get("InvokeConfiguration") or {})
        target = str(invoke.get("TargetArn") or "")
        if not SQS_ARN.match(target):
            raise _invalid(
                f"TargetArn {target!r}: the local EventsV2 endpoint delivers to Amazon SQS queues only "
                "(the devstack's functions read theirs); other targets are not emulated"
            )
        _refuse_jsonata(invoke.get("SqsParameters") or {})
        filter_config = params.get("FilterConfiguration") or {}
        filters = _filters(filter_config)
        if not filters:
            raise _invalid("FilterConfiguration.Filters must contain at least one filter with a non-empty Pattern")
        kind = str(params.get("Type") or "UNORDERED")
        if kind not in ("FIFO", "UNORDERED"):
            raise _invalid(f"Type must be FIFO or UNORDERED, got {kind!r}")
        position = str(params.get("StartingPosition") or "LATEST")
        point = params.get("PointInTimeConfiguration")
        if position not in ("LATEST", "POINT_IN_TIME"):
            raise _invalid(f"StartingPosition must be LATEST or POINT_IN_TIME, got {position!r}")
        if position == "POINT_IN_TIME" and not point:
            raise _invalid("StartingPosition POINT_IN_TIME needs PointInTimeConfiguration")
        if position == "LATEST" and point:
            raise _invalid("PointInTimeConfiguration applies only when StartingPosition is POINT_IN_TIME")
        batch = params.get("BatchConfiguration") or {}
        batch_size = int(batch.get("MaxBatchSize") or SQS_MAX_BATCH)
        if not 1 <= batch_size <= SQS_MAX_BATCH:
            raise _invalid(f"MaxBatchSize {batch_size} is above the SQS target's maximum of {SQS_MAX_BATCH}")
        batch_window = int(batch.get("MaxBatchWindowInSeconds") or 0)
        transformer = (params.get("Transformer") or {}).get("Type") or "RAW"
        if transformer == "JSONATA":
            raise _invalid(
                "Transformer JSONATA is not emulated by the local EventsV2 endpoint (RAW, WITH_METADATA are)"
            )
        retry = params.get("RetryPolicy") or {}
        on_failure = (params.get("OnFailureConfiguration") or {}).get("Arn")
        if on_failure and not SQS_ARN.match(on_failure):
            raise _invalid(f"OnFailureConfiguration.Arn {on_failure!r} is not an SQS queue ARN")
        state = str(params.get("State") or "RUNNING")
        with self.changed:
            bus = self._bus(str(params.get("EventBusArn")))
            for existing in self.subscribers.values():
                if existing.bus_arn == bus.arn and existing.name == name:
                    raise ServiceError("ResourceAlreadyExistsException", f"subscriber {name} already exists on the bus")
            now = self.clock()
            subscriber = Subscriber(
                name=name,
                arn=f"arn:aws:events:{self.region}:{self.account}:subscriber/{name}/{_resource_id()}",
                bus_arn=bus.arn,
                target_arn=target,
                invoke=invoke,
                filter_config=filter_config,
                filters=filters,
                type=kind,
                starting_position=position,
                point_in_time=point,
                batch_size=batch_size,
                batch_window_s=batch_window,
                transformer=transformer,
                retry_attempts=int(retry.get("MaxRetryAttempts", DEFAULT_RETRY_ATTEMPTS)),
                max_event_age_s=int(retry.get("MaxEventAgeInSeconds") or DEFAULT_MAX_EVENT_AGE_S),
                on_failure_arn=on_failure,
                state=state,
                created=now,
                modified=now,
                description=str(params.get("Description") or ""),
                log_config=params.get("LogConfiguration"),
                tags=dict(params.get("Tags") or {}),
            )
            subscriber.cursor, subscriber.end_at = _start(bus, position, point)
            self.subscribers[subscriber.arn] = subscriber
            self.changed.notify_all()
            return {
                k: v
                for k, v in subscriber.describe().items()
                if k
                in (
                    "SubscriberArn",
                    "Name",
                    "EventBusArn",
                    "Type",
                    "StartingPosition",
                    "PointInTimeConfiguration",
                    "State",
                    "CreationTime",
                )
            }

    def DescribeSubscriber(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            return self._subscriber(str(params.get("SubscriberArn"))).describe()

    def ListSubscribers(self, params: dict[str, Any]) -> dict[str, Any]:
        bus_arn, prefix = params.get("EventBusArn"), str(params.get("NamePrefix") or "")
        with self.changed:
            if bus_arn:
                self._bus(str(bus_arn))
            found = [
                s.summary(self.account)
                for s in self.subscribers.values()
                if (not bus_arn or s.bus_arn == bus_arn) and s.name.startswith(prefix)
            ]
        return _page(sorted(found, key=lambda s: s["Name"]), params, "Subscribers")

    def UpdateSubscriber(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            subscriber = self._subscriber(str(params.get("SubscriberArn")))
            if "FilterConfiguration" in params:
                config = params["FilterConfiguration"] or {}
                subscriber.filter_config, subscriber.filters = config, _filters(config)
            if "Description" in params:
                subscriber.description = str(params["Description"])
            invoke = params.get("InvokeConfiguration") or {}
            if invoke:
                _refuse_jsonata(invoke.get("SqsParameters") or {})
                subscriber.invoke = {**subscriber.invoke, **invoke}
            if "OnFailureConfiguration" in params:
                subscriber.on_failure_arn = (params["OnFailureConfiguration"] or {}).get("Arn")
            state = params.get("State")
            if state is not None and state not in ("RUNNING", "STOPPED"):
                raise _invalid(f"State must be RUNNING or STOPPED, got {state!r}")
            resume_latest = params.get("ResumePosition") == "LATEST"
            if state == "RUNNING" and subscriber.state == "STOPPED" and resume_latest:
                subscriber.cursor = self._bus(subscriber.bus_arn).next_seq
            if state is not None:
                subscriber.state = str(state)
            subscriber.modified = self.clock()
            self.changed.notify_all()
            described = subscriber.describe()
            return {
                k: described[k]
                for k in (
                    "SubscriberArn",
                    "Name",
                    "EventBusArn",
                    "Type",
                    "StartingPosition",
                    "State",
                    "LastModifiedTime",
                )
            }

    def DeleteSubscriber(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            arn = str(params.get("SubscriberArn"))
            self._subscriber(arn)
            del self.subscribers[arn]
            self.changed.notify_all()
        return {}

    # ---- for the delivery threads (called with the lock held) ----------------------------------------
    def next_batch(self, subscriber: Subscriber) -> list[StoredEvent]:
        """Matching events from the subscriber's cursor, up to its batch size; non-matching ones are passed."""
        bus = self.buses.get(subscriber.bus_arn)
        if bus is None or subscriber.state != "RUNNING":
            return []
        subscriber.cursor = max(subscriber.cursor, bus.first_seq)  # expired from retention: gone
        batch: list[StoredEvent] = []
        seq = subscriber.cursor
        while seq < bus.next_seq and len(batch) < subscriber.batch_size:
            event = bus.event_at(seq)
            if event is None:
                break
            if subscriber.end_at is not None and event.ingested_at >= subscriber.end_at:
                break  # past EndPoint: the subscriber is done
            if subscriber.matches(event):
                batch.append(event)
            elif not batch:
                subscriber.cursor = seq + 1  # nothing pending before it: skip it for good
            seq += 1
        return batch

    def advance(self, subscriber: Subscriber, past: StoredEvent) -> None:
        """Everything up to and including ``past`` is settled (delivered or dead-lettered)."""
        subscriber.cursor = max(subscriber.cursor, past.seq + 1)


def _entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(str(resource).encode("utf-8"))
    return size


def _filters(config: dict[str, Any]) -> list[tuple[str, EventPattern]]:
    if config and config.get("Language", "EVENT_BRIDGE_PATTERN") != "EVENT_BRIDGE_PATTERN":
        raise _invalid(f"unsupported filter Language {config.get('Language')!r}")
    filters = []
    for item in config.get("Filters") or []:
        raw, scope = item.get("Pattern") or "", item.get("Scope") or ""
        if scope not in ("DATA", "METADATA", "SYSTEM_METADATA"):
            raise _invalid(f"filter Scope must be DATA, METADATA or SYSTEM_METADATA, got {scope!r}")
        if not raw.strip():
            raise _invalid("a filter's Pattern must not be empty")
        try:
            filters.append((scope, EventPattern.load(raw)))
        except Exception as exc:  # moto's InvalidEventPatternException, json errors
            raise _invalid(f"invalid event pattern {raw!r}: {getattr(exc, 'message', None) or exc}") from None
    return filters


def _refuse_jsonata(parameters: dict[str, Any]) -> None:
    for key, value in parameters.items():
        if isinstance(value, str) and value.strip().startswith("{%"):
            raise _invalid(f"SqsParameters.{key}: JSONata expressions are not emulated locally; use a literal")


def _start(bus: Bus, position: str, point: dict[str, Any] | None) -> tuple[int, float | None]:
    """The first sequence number a new subscriber considers, and where it stops (EndPoint)."""
    if position == "LATEST" or not point:
        return bus.next_seq, None
    end_at = _epoch(point["EndPoint"]) if point.get("EndPoint") is not None else None
    kind = point.get("PointType")
    if kind == "HORIZON":
        return bus.first_seq, end_at
    if kind == "TIMESTAMP":
        if point.get("StartingPoint") is None:
            raise _invalid("PointType TIMESTAMP needs StartingPoint")
        start = _epoch(point["StartingPoint"])
        for event in bus.events:
            if event.ingested_at >= start:
                return event.seq, end_at
        return bus.next_seq, end_at
    raise _invalid(f"PointType must be HORIZON or TIMESTAMP, got {kind!r}")


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    reply: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        reply["NextToken"] = str(start + size)
    return reply
