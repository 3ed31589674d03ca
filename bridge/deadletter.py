"""Rejected input is kept, never dropped: one SQS message per rejection, with the reason.

Message body (JSON)::

    {"reason": "...", "received_at": "2026-01-01T00:00:00.000000Z", "peer": "ipv4:10.0.0.7:51234",
     "event_sid": "..." | null, "event": {...} | null, "raw_base64": "..." | null,
     "raw_size": 1234, "truncated": false}

``event`` is the message as Exotel's JSON (unvalidated) when the protobuf could be read;
otherwise ``raw_base64`` holds the serialized bytes. A record that would exceed the SQS size
limit keeps a prefix of the raw bytes and says ``"truncated": true``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Protocol

from bridge.log import logger

SQS_MAX_BYTES = 256 * 1024
_HEADROOM = 2048  # reason, peer and the JSON around the raw bytes


def dead_letter_record(
    reason: str, *, raw: bytes, event: Mapping[str, object] | None = None, peer: str | None = None
) -> str:
    """The JSON body kept for rejected input (see module docstring): ``event`` as decoded, JSON-dumped with
    ``str`` for what JSON has no type for."""
    record: dict[str, object] = {
        "reason": reason,
        "received_at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "peer": peer,
        "event_sid": (event or {}).get("event_sid") or None,
        "event": event,
        "raw_base64": None,
        "raw_size": len(raw),
        "truncated": False,
    }
    if event is not None:
        body = json.dumps(record, ensure_ascii=False, default=str)
        if len(body.encode("utf-8")) <= SQS_MAX_BYTES:
            return body
        record["event"] = None
    room = (SQS_MAX_BYTES - _HEADROOM - len(reason.encode("utf-8"))) * 3 // 4
    record["raw_base64"] = base64.b64encode(raw[:room]).decode("ascii")
    record["truncated"] = len(raw) > room
    return json.dumps(record, ensure_ascii=False, default=str)


class MessageSender(Protocol):
    """What dead-lettering needs from an SQS client (boto3's, or a test double)."""

    def send_message(self, *, QueueUrl: str, MessageBody: str) -> object: ...


class DeadLetters:
    """Sends dead-letter records; logs loudly when there is no queue or it cannot be reached."""

    def __init__(
        self, sqs_client: MessageSender | None, queue_url: str | None, executor: Executor, timeout_s: float = 2.0
    ) -> None:
        self._client = sqs_client
        self._queue_url = queue_url
        self._executor = executor
        self._timeout_s = timeout_s

    async def keep(self, body: str, reason: str) -> bool:
        """True when the record is in the dead-letter queue."""
        client, queue_url = self._client, self._queue_url
        if not queue_url or client is None:
            logger.error("rejected input NOT kept: no dead-letter queue configured", reason=reason, record=body[:4096])
            return False
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                await loop.run_in_executor(self._executor, self._send, client, queue_url, body)
        except Exception as exc:
            logger.error(
                "rejected input NOT kept: dead-letter queue unreachable",
                reason=reason,
                error=f"{type(exc).__name__}: {exc}",
                record=body[:4096],
            )
            return False
        return True

    @staticmethod
    def _send(client: MessageSender, queue_url: str, body: str) -> None:
        client.send_message(QueueUrl=queue_url, MessageBody=body)
