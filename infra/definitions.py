"""Resource definitions shared by the CDK stacks and the devstack (no CDK import here).

CDK turns each definition into a construct; the devstack creates the same thing in the AWS
emulator. Names of environment variables that wire a function to a resource live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from legs.eventbridge import DEFAULT_BUS_NAME, DEFAULT_SOURCE

BUS_NAME = DEFAULT_BUS_NAME
EVENT_SOURCE = DEFAULT_SOURCE


# ---- environment variable names (the contract between infra/devstack and the functions) ----
class Env:
    LEG_STATE_TABLE = "LEG_STATE_TABLE"
    CALL_PLANS_TABLE = "CALL_PLANS_TABLE"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    EXOTEL_SECRET_NAME = "EXOTEL_SECRET_NAME"  # JSON: {account_sid, api_key, api_token}
    EXOTEL_BASE_URL = "EXOTEL_BASE_URL"  # e.g. https://cpaas-api.exotel.com
    BRIDGE_ENDPOINT = "BRIDGE_ENDPOINT"  # grpc://host:port, default leg_event_endpoint
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    EVENT_SOURCE = "EVENT_SOURCE"
    RETRY_QUEUE_URL = "RETRY_QUEUE_URL"
    FALLBACK_QUEUE_URL = "FALLBACK_QUEUE_URL"
    DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"


@dataclass(frozen=True)
class TableDef:
    id: str  # construct id / logical name
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    env: str = ""  # the env var that carries its name to functions


@dataclass(frozen=True)
class QueueDef:
    id: str
    purpose: str
    fifo: bool = False
    visibility_timeout_seconds: int = 60
    retention_days: int = 14
    env: str = ""


TABLES: tuple[TableDef, ...] = (
    TableDef("LegState", partition_key="pk", sort_key="sk", ttl_attribute="expires_at", env=Env.LEG_STATE_TABLE),
    TableDef("CallPlans", partition_key="plan_id", ttl_attribute="expires_at", env=Env.CALL_PLANS_TABLE),
    # Powertools idempotency layout: key "id", TTL "expiration".
    TableDef("Idempotency", partition_key="id", ttl_attribute="expiration", env=Env.IDEMPOTENCY_TABLE),
)

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

#: Secrets Manager secret holding Exotel credentials.
EXOTEL_SECRET_NAME = "exotel-legs/credentials"
