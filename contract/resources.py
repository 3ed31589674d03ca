"""Tables and queues: defined once, created by CDK in AWS and by the devstack in the emulator.

Plain data (no CDK): ``infra/`` turns each definition into a construct, ``devstack/`` creates the
same thing in moto, and the functions find them through the environment variable in ``env``.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.env import Env


@dataclass(frozen=True)
class IndexDef:
    """A global secondary index (keys only projected): ``sort_key_type`` "S" (string) or "N" (number)."""

    name: str
    partition_key: str
    sort_key: str
    sort_key_type: str = "S"


@dataclass(frozen=True)
class TableDef:
    id: str  # construct id / logical name
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    env: str = ""  # the env var that carries its name to functions
    indexes: tuple[IndexDef, ...] = ()


@dataclass(frozen=True)
class QueueDef:
    id: str
    purpose: str
    fifo: bool = False
    visibility_timeout_seconds: int = 60
    retention_days: int = 14
    env: str = ""


LEG_STATE_TABLE = TableDef(
    "LegState", partition_key="pk", sort_key="sk", ttl_attribute="expires_at", env=Env.LEG_STATE_TABLE
)
#: Plans that still need watching (not final, or an action not yet confirmed), by when: the sweeper's query.
#: Sparse: a plan leaves the index when its item has no ``due_at`` (``lambdas/dal/call_plans.py``).
PLANS_BY_DUE = IndexDef("by_due", partition_key="sweep_shard", sort_key="due_at", sort_key_type="N")
CALL_PLANS_TABLE = TableDef(
    "CallPlans", partition_key="plan_id", ttl_attribute="expires_at", env=Env.CALL_PLANS_TABLE, indexes=(PLANS_BY_DUE,)
)
# Powertools idempotency layout: key "id", TTL "expiration".
IDEMPOTENCY_TABLE = TableDef("Idempotency", partition_key="id", ttl_attribute="expiration", env=Env.IDEMPOTENCY_TABLE)
TABLES: tuple[TableDef, ...] = (LEG_STATE_TABLE, CALL_PLANS_TABLE, IDEMPOTENCY_TABLE)

FALLBACK_QUEUE = QueueDef(
    "BridgeFallback", "events the bridge could not put on the bus; replayed by redrive", env=Env.FALLBACK_QUEUE_URL
)
DEAD_LETTER_QUEUE = QueueDef(
    "BridgeDeadLetter", "input the bridge rejected, kept with the reason", env=Env.DEAD_LETTER_QUEUE_URL
)
RETRY_QUEUE = QueueDef(
    "RetryDelay",
    "delayed re-dials of a plan's leg (SQS DelaySeconds)",
    visibility_timeout_seconds=120,
    env=Env.RETRY_QUEUE_URL,
)
QUEUES: tuple[QueueDef, ...] = (FALLBACK_QUEUE, DEAD_LETTER_QUEUE, RETRY_QUEUE)
