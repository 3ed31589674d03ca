"""The lambda runner: drains each trigger queue and invokes the function, retrying and dead-lettering like AWS.

- Rule queues (one per routing-table entry): the SQS body is the event EventBridge delivered; the function
  gets it as is, one invocation per event (as EventBridge invokes Lambda). A failure leaves the message in the
  queue; it comes back after a short backoff, and after ``maxReceiveCount`` receives SQS moves it to the rule's
  DLQ (the deployed retry policy + DLQ).
- SQS triggers (bridge fallback -> redrive, retry delay queue -> retry): the function gets an SQS batch event;
  ``batchItemFailures`` are honoured (ReportBatchItemFailures), an exception fails the whole batch.
- Schedules (the sweeper): the function gets EventBridge's scheduled event every ``schedule_seconds`` x
  ``DEVSTACK_SCHEDULE_SCALE``; a failed run is not retried (the next run is), as the deployed rule does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from devstack.config import LOCAL_AWS_ACCOUNT
from devstack.emulator import AwsEmulator
from devstack.functions import Invoker, LocalFunction
from devstack.resources import QueueRef

log = logging.getLogger("devstack.runner")

POLL_WAIT_SECONDS = 1  # long poll; bounds how long stop() waits for a poller
RETRY_BACKOFF_SECONDS = (1, 2, 4)  # visibility after a failed attempt (Lambda's async retries, faster)


@dataclass(frozen=True)
class ScheduleTrigger:
    """One function invoked every ``every_seconds`` (a rule with a rate in AWS), with a scheduled event."""

    function: LocalFunction
    every_seconds: float


def scheduled_event(function: str, region: str) -> dict[str, Any]:
    """What EventBridge sends a rule's target on a schedule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_AWS_ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_AWS_ACCOUNT}:rule/{function}-schedule"],
        "detail": {},
    }


@dataclass(frozen=True)
class QueueTrigger:
    """One queue feeding one function."""

    function: LocalFunction
    queue: QueueRef
    kind: Literal["eventbridge", "sqs"]
    batch_size: int = 10


class LambdaRunner:
    """One poller thread per trigger; stop() lets in-flight invocations finish."""

    def __init__(
        self,
        emulator: AwsEmulator,
        invoker: Invoker,
        triggers: list[QueueTrigger],
        region: str,
        schedules: list[ScheduleTrigger] | None = None,
    ) -> None:
        self._emulator = emulator
        self._invoker = invoker
        self._triggers = triggers
        self._schedules = schedules or []
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for trigger in self._triggers:
            thread = threading.Thread(
                target=self._poll, args=(trigger,), name=f"poll-{trigger.function.name}-{trigger.kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        for schedule in self._schedules:
            thread = threading.Thread(
                target=self._tick, args=(schedule,), name=f"schedule-{schedule.function.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info(
            "lambda runner polling %d queues: %s",
            len(self._triggers),
            ", ".join(f"{t.queue.name} -> {t.function.name}" for t in self._triggers),
        )
        for schedule in self._schedules:
            log.info("lambda runner invokes %s every %gs", schedule.function.name, schedule.every_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    # ---- schedules ------------------------------------------------------------------------------
    def _tick(self, schedule: ScheduleTrigger) -> None:
        """Invoke on the schedule; a failed run is logged (by the invoker) and the next run is the retry."""
        while not self._stop.wait(schedule.every_seconds):
            self._invoker.invoke(schedule.function, scheduled_event(schedule.function.name, self._region))

    # ---- polling --------------------------------------------------------------------------------
    def _poll(self, trigger: QueueTrigger) -> None:
        sqs = self._emulator.client("sqs")
        visibility = int(trigger.function.timeout_seconds) + 5
        while not self._stop.is_set():
            try:
                reply = sqs.receive_message(
                    QueueUrl=trigger.queue.url,
                    MaxNumberOfMessages=trigger.batch_size,
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                    VisibilityTimeout=visibility,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning("polling %s failed: %s; retrying", trigger.queue.name, exc)
                self._stop.wait(1.0)
                continue
            messages = reply.get("Messages", [])
            try:
                if trigger.kind == "eventbridge":
                    for message in messages:  # one invocation per event, as EventBridge invokes Lambda
                        self._one_event(sqs, trigger, message)
                elif messages:
                    self._batch(sqs, trigger, messages)
            except Exception as exc:  # the queue keeps the messages: they come back after their visibility timeout
                log.error("%s: could not settle a batch: %s", trigger.queue.name, exc)

    def _one_event(self, sqs: Any, trigger: QueueTrigger, message: dict[str, Any]) -> None:
        try:
            event = json.loads(message["Body"])
        except ValueError:
            log.error("%s: message %s is not JSON", trigger.queue.name, message["MessageId"])
            self._back_off(sqs, trigger, message, what="a non-JSON message")
            return
        # moto's default EventBridge target input leaves out `account`; EventBridge always sends it.
        event.setdefault("account", LOCAL_AWS_ACCOUNT)
        outcome = self._invoker.invoke(trigger.function, event)
        if outcome.error is None:
            sqs.delete_message(QueueUrl=trigger.queue.url, ReceiptHandle=message["ReceiptHandle"])
            log.debug(
                "%s handled %s in %.0f ms",
                trigger.function.name, event.get("detail-type"), outcome.duration_ms,
                extra={"source": trigger.function.name},
            )  # fmt: skip
        else:
            self._back_off(sqs, trigger, message, what=str(event.get("detail-type")))

    def _batch(self, sqs: Any, trigger: QueueTrigger, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._sqs_record(trigger, message) for message in messages]}
        outcome = self._invoker.invoke(trigger.function, event)
        failed: set[str] = set()
        if outcome.error is not None:
            failed = {message["MessageId"] for message in messages}
        elif isinstance(outcome.result, dict) and outcome.result.get("batchItemFailures"):
            failed = {str(item.get("itemIdentifier")) for item in outcome.result["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=trigger.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in messages:
            if message["MessageId"] in failed:
                self._back_off(sqs, trigger, message, what="record")

    def _back_off(self, sqs: Any, trigger: QueueTrigger, message: dict[str, Any], what: str) -> None:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        limit = trigger.queue.max_receive_count
        if limit is not None and attempt >= limit:
            log.warning(
                "%s: %s failed %d times; SQS moves it to %s",
                trigger.function.name, what, attempt, (trigger.queue.dlq_url or "").rsplit("/", 1)[-1],
                extra={"source": trigger.function.name},
            )  # fmt: skip
            delay = 0
        else:
            delay = RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS)) - 1]
            log.info(
                "%s: %s will be retried in %ss (attempt %d of %s)",
                trigger.function.name, what, delay, attempt, limit or "unlimited",
                extra={"source": trigger.function.name},
            )  # fmt: skip
        try:
            sqs.change_message_visibility(
                QueueUrl=trigger.queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
            )
        except Exception as exc:  # the visibility timeout brings it back anyway
            log.debug("could not shorten visibility: %s", exc)

    def _sqs_record(self, trigger: QueueTrigger, message: dict[str, Any]) -> dict[str, Any]:
        """One record of an SQS event, as the Lambda event source mapping builds it."""
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", LOCAL_AWS_ACCOUNT),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
                **{k: v for k, v in attributes.items() if k in ("MessageGroupId", "MessageDeduplicationId")},
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": trigger.queue.arn,
            "awsRegion": self._region,
        }
