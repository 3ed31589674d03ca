"""The SQS delay queue that brings a scheduled re-dial back to ``retry`` after the plan's delay."""

from __future__ import annotations

import json

from contract.env import Env
from lambdas.dal import aws
from lambdas.shared.config import ConfigError, settings

#: SQS's longest per-message delay; the API refuses longer re-dial delays.
MAX_DELAY_SECONDS = 900


class RetryQueue:
    """Sends ``{"plan_id", "role", "attempt"}`` with ``DelaySeconds``; the URL is checked when a message is sent."""

    def __init__(self, queue_url: str | None) -> None:
        self.queue_url = queue_url

    @classmethod
    def from_env(cls) -> RetryQueue:
        return cls(settings().retry_queue_url)

    def send(self, plan_id: str, role: str, attempt: int, delay_seconds: int) -> None:
        if not self.queue_url:
            raise ConfigError(f"{Env.RETRY_QUEUE_URL} is not set")
        aws.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"plan_id": plan_id, "role": role, "attempt": attempt}),
            DelaySeconds=max(0, min(MAX_DELAY_SECONDS, delay_seconds)),
        )
