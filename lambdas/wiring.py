"""How each function is wired: handler, the ``Env`` names it reads, SQS triggers, sizes.

Read by the CDK stacks (``infra/function_specs.py``) and the devstack (``devstack/wiring.py``).
Event-driven functions also have a rule in ``lambdas/routing.py`` (their EventBridge pattern);
nothing here repeats a pattern. Plain Python: no CDK import.

``WIRING`` maps function name -> :class:`FunctionWiring`; ``as_dicts()`` gives the same as plain
dicts (``{"sqs": (QueueDef, ...), "env": (...), "timeout_seconds": ..., ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict

from contract.env import Env, PowertoolsEnv
from contract.resources import FALLBACK_QUEUE, QUEUES, RETRY_QUEUE, TABLES, QueueDef
from lambdas.routing import ROUTED_FUNCTIONS

#: Variables every function may read besides its Env names (all optional).
OPTIONAL_ENV = (
    Env.RETENTION_DAYS,  # TTL of leg-state and plan items, days (default 30)
    PowertoolsEnv.SERVICE_NAME,
    PowertoolsEnv.METRICS_NAMESPACE,  # default contract.metrics.NAMESPACE
    PowertoolsEnv.LOG_LEVEL,
    PowertoolsEnv.IDEMPOTENCY_DISABLED,  # tests only
    Env.EXOTEL_TIMEOUT_S,  # seconds a Legs API request may take (default 10)
    # Call-plan deadlines, seconds (defaults: lambdas/domain/deadlines.py); read by every function that writes plans
    Env.PLAN_PENDING_DEADLINE_S,
    Env.PLAN_HANGUP_DEADLINE_S,
    Env.PLAN_DIAL_DEADLINE_S,
    Env.PLAN_REDIAL_SLACK_S,
    Env.PLAN_BRIDGING_DEADLINE_S,
    Env.PLAN_BRIDGED_DEADLINE_S,
    Env.PLAN_MESSAGE_DEADLINE_S,
    Env.PLAN_MAX_TRIES,
)
_EXOTEL = (Env.EXOTEL_SECRET_NAME, Env.EXOTEL_BASE_URL)
_TABLE_ENVS = frozenset(t.env for t in TABLES)


class Access(StrEnum):
    """What a function may do with a table or a queue; ``infra/constructs/wired_function.py`` turns it into IAM.

    A table: ``read`` (get, query) or ``read_write``. A queue: ``read`` (consume: an SQS trigger),
    ``write`` (send) or ``read_write`` (both).
    """

    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"


class WiringDict(TypedDict):
    """One function's wiring as a plain dict (:meth:`FunctionWiring.as_dict`)."""

    function: str
    handler: str
    env: tuple[str, ...]
    sqs: tuple[QueueDef, ...]
    sends_to: tuple[QueueDef, ...]
    puts_events: bool
    api: bool
    rule: bool
    schedule_seconds: int | None
    calls_exotel: bool
    tables: dict[str, str]
    queues: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    batch_size: int


@dataclass(frozen=True)
class FunctionWiring:
    function: str  # package under lambdas/
    env: tuple[str, ...]  # contract.env.Env names the function reads (all required)
    sqs_triggers: tuple[QueueDef, ...] = ()  # event source mappings (batch, ReportBatchItemFailures)
    sends_to: tuple[QueueDef, ...] = ()  # queues it sends messages to (sqs:SendMessage)
    puts_events: bool = False  # events:PutEvents on the bus
    api: bool = False  # fronted by API Gateway (REST proxy)
    rule: bool = False  # has an EventBridge rule in lambdas/routing.py
    schedule_seconds: int | None = None  # invoked on a schedule, every this many seconds (whole minutes in AWS)
    calls_exotel: bool = False  # reads the Exotel secret and calls the Legs API
    read_only: tuple[str, ...] = ()  # Env names of tables in ``env`` it reads and never writes (least privilege)
    timeout_seconds: int = 30
    memory_mb: int = 256
    batch_size: int = 10  # for the SQS triggers
    description: str = ""  # Lambda description; routed functions take theirs from lambdas/routing.py
    notes: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.function

    @property
    def handler(self) -> str:
        """Dotted path relative to the asset root (which holds ``lambdas/`` and ``legs/``)."""
        return f"lambdas.{self.function}.handler.handler"

    def table_access(self) -> dict[str, Access]:
        """Each table it uses (``TableDef.id``): ``read`` when its Env name is in ``read_only``, else ``read_write``."""
        return {
            table.id: Access.READ if table.env in self.read_only else Access.READ_WRITE
            for table in TABLES
            if table.env in self.env
        }

    def queue_access(self) -> dict[str, Access]:
        """Each queue it consumes (``sqs_triggers``: read) or sends to (``sends_to``: write), by ``QueueDef.id``."""
        access: dict[str, Access] = {}
        for queue in QUEUES:
            consumes, sends = queue in self.sqs_triggers, queue in self.sends_to
            if consumes and sends:
                access[queue.id] = Access.READ_WRITE
            elif consumes or sends:
                access[queue.id] = Access.READ if consumes else Access.WRITE
        return access

    def as_dict(self) -> WiringDict:
        return {
            "function": self.function,
            "handler": self.handler,
            "env": self.env,
            "sqs": self.sqs_triggers,
            "sends_to": self.sends_to,
            "puts_events": self.puts_events,
            "api": self.api,
            "rule": self.rule,
            "schedule_seconds": self.schedule_seconds,
            "calls_exotel": self.calls_exotel,
            "tables": {k: str(v) for k, v in self.table_access().items()},
            "queues": {k: str(v) for k, v in self.queue_access().items()},
            "timeout_seconds": self.timeout_seconds,
            "memory_mb": self.memory_mb,
            "batch_size": self.batch_size,
        }


_ROUTED = set(ROUTED_FUNCTIONS)

WIRING: dict[str, FunctionWiring] = {
    w.function: w
    for w in (
        FunctionWiring(
            function="api",
            description="REST API: create legs and two-party calls, read leg state and events, act on legs",
            env=(Env.LEG_STATE_TABLE, Env.CALL_PLANS_TABLE, Env.IDEMPOTENCY_TABLE, *_EXOTEL, Env.BRIDGE_ENDPOINT),
            read_only=(Env.LEG_STATE_TABLE,),  # legs' state and timelines are leg_state's to write
            api=True,
            calls_exotel=True,
            timeout_seconds=29,  # API Gateway's integration limit
            memory_mb=512,
            notes="REST proxy; BRIDGE_ENDPOINT is the default leg_event_endpoint (grpc://host:port)",
        ),
        FunctionWiring(
            function="leg_state",
            env=(Env.LEG_STATE_TABLE, Env.IDEMPOTENCY_TABLE),
            rule=True,
        ),
        FunctionWiring(
            function="connect",
            env=(Env.CALL_PLANS_TABLE, Env.IDEMPOTENCY_TABLE, *_EXOTEL, Env.RETRY_QUEUE_URL),
            sends_to=(RETRY_QUEUE,),  # a dial the Legs API refuses is retried like a failed one
            rule=True,
            calls_exotel=True,
        ),
        FunctionWiring(
            function="retry",
            env=(Env.CALL_PLANS_TABLE, Env.IDEMPOTENCY_TABLE, *_EXOTEL, Env.RETRY_QUEUE_URL),
            sqs_triggers=(RETRY_QUEUE,),  # the delayed re-dials it sends itself
            sends_to=(RETRY_QUEUE,),
            rule=True,
            calls_exotel=True,
            batch_size=5,
        ),
        FunctionWiring(
            function="amd",
            env=(Env.CALL_PLANS_TABLE, Env.IDEMPOTENCY_TABLE, *_EXOTEL),
            rule=True,
            calls_exotel=True,
        ),
        FunctionWiring(
            function="sweeper",
            description="Drives call plans past a deadline on: re-issues or gives up, hangs up who is left",
            env=(Env.CALL_PLANS_TABLE, *_EXOTEL, Env.RETRY_QUEUE_URL),
            sends_to=(RETRY_QUEUE,),  # a dial given up on is re-dialled like a failed one
            schedule_seconds=60,
            calls_exotel=True,
            timeout_seconds=50,  # below PLAN_PENDING_DEADLINE_S: a sweep never outlives the deadline it acts on
            notes="queries CallPlans' by_due index; PLAN_* deadlines (lambdas/domain/deadlines.py)",
        ),
        FunctionWiring(
            function="redrive",
            description="Replays the bridge fallback queue onto the bus",
            env=(Env.EVENT_BUS_NAME, Env.IDEMPOTENCY_TABLE),
            sqs_triggers=(FALLBACK_QUEUE,),
            puts_events=True,
            notes="message body = the PutEvents entry the bridge spilled; partial batch failures",
        ),
    )
}

assert set(WIRING) >= _ROUTED, f"routed functions without wiring: {_ROUTED - set(WIRING)}"
assert all(set(w.read_only) <= set(w.env) & _TABLE_ENVS for w in WIRING.values()), "read_only names a table it reads"
assert all(WIRING[name].rule for name in _ROUTED)
assert all(w.schedule_seconds is None or w.schedule_seconds % 60 == 0 for w in WIRING.values()), "whole minutes"


def as_dicts() -> dict[str, WiringDict]:
    """``WIRING`` as plain dicts (``sqs`` = the trigger QueueDefs)."""
    return {name: wiring.as_dict() for name, wiring in WIRING.items()}


def env_names() -> tuple[str, ...]:
    """Every Env name some function reads."""
    return tuple(sorted({name for wiring in WIRING.values() for name in wiring.env}))
