"""Which functions exist, what triggers them and what they need: from ``lambdas/wiring.py`` and the routing table.

``lambdas/routing.py`` gives the event-driven functions and their patterns; ``lambdas/wiring.py``
(when present) adds, per function, its SQS triggers and the ``Env`` names it reads. Without it the
specs are derived from the routing table and ``infra.definitions`` (the documented defaults).
Plain Python, no CDK, so tests can compare the synthesized template with these specs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from infra.definitions import FALLBACK_QUEUE, QUEUES, RETRY_QUEUE, TABLES, Env, QueueDef
from lambdas.routing import ROUTES, Route

#: Every table env name (a function that reads one gets read/write on that table only).
TABLE_ENVS = tuple(t.env for t in TABLES)
#: What a reactor that calls Exotel reads.
_REACTOR_ENV = (
    *TABLE_ENVS,
    Env.EXOTEL_SECRET_NAME,
    Env.EXOTEL_BASE_URL,
    Env.EVENT_BUS_NAME,
    Env.EVENT_SOURCE,
)


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # package under lambdas/
    description: str
    env: tuple[str, ...]
    pattern: dict[str, Any] | None = None  # EventBridge rule on the bus
    sqs_triggers: tuple[QueueDef, ...] = ()
    sends_to: tuple[QueueDef, ...] = ()  # queues it sends messages to
    puts_events: bool = False  # events:PutEvents on the bus
    api: bool = False  # fronted by API Gateway
    calls_exotel: bool = False  # gets reserved concurrency (event-driven functions only)
    timeout_seconds: int = 30
    memory_mb: int = 256
    batch_size: int = 10  # SQS triggers
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def handler(self) -> str:
        return f"lambdas.{self.name}.handler.handler"

    @property
    def reads_secret(self) -> bool:
        return Env.EXOTEL_SECRET_NAME in self.env


def _queue_by(ref: Any) -> QueueDef:
    """A wiring entry may name a queue by QueueDef, its id or its env name."""
    if isinstance(ref, QueueDef):
        return ref
    for queue in QUEUES:
        if ref in (queue.id, queue.env):
            return queue
    raise KeyError(f"unknown queue {ref!r}; known: {[q.id for q in QUEUES]}")


def _from_route(route: Route, wired: Any | None) -> FunctionSpec:
    env = tuple(getattr(wired, "env", None) or _default_env(route.function))
    triggers = getattr(wired, "sqs_triggers", None)
    sends = getattr(wired, "sends_to", None)
    return FunctionSpec(
        name=route.function,
        description=route.description,
        env=env,
        pattern=route.pattern,
        sqs_triggers=tuple(
            _queue_by(q) for q in (triggers if wired is not None else _default_triggers(route.function))
        ),
        sends_to=tuple(_queue_by(q) for q in sends) if wired is not None and sends is not None else _sends_to(env),
        puts_events=bool(getattr(wired, "puts_events", False)),
        calls_exotel=route.calls_exotel,
        timeout_seconds=int(getattr(wired, "timeout_seconds", 0) or route.timeout_seconds),
        memory_mb=int(getattr(wired, "memory_mb", 0) or route.memory_mb),
        batch_size=int(getattr(wired, "batch_size", 0) or 10),
        extra=dict(route.extra),
    )


def _default_env(function: str) -> tuple[str, ...]:
    if function == "leg_state":
        return (*TABLE_ENVS, Env.EVENT_BUS_NAME, Env.EVENT_SOURCE)
    if function == "retry":
        return (*_REACTOR_ENV, Env.RETRY_QUEUE_URL, Env.BRIDGE_ENDPOINT)
    return (*_REACTOR_ENV, Env.RETRY_QUEUE_URL, Env.BRIDGE_ENDPOINT)


def _default_triggers(function: str) -> tuple[QueueDef, ...]:
    return (RETRY_QUEUE,) if function == "retry" else ()


def _sends_to(env: tuple[str, ...]) -> tuple[QueueDef, ...]:
    """A function told a queue's URL may send to it (the fallback queue is only ever read by redrive)."""
    return tuple(q for q in QUEUES if q.env in env and q is not FALLBACK_QUEUE)


def _non_route_specs(wiring: Any | None) -> list[FunctionSpec]:
    """Functions outside the routing table: ``api`` and ``redrive`` (and any other the wiring adds)."""
    wired = _wired(wiring)
    defaults = {
        "api": FunctionSpec(
            name="api",
            description="REST API: create legs and two-party calls, read leg state and events, act on legs",
            env=(*_REACTOR_ENV, Env.BRIDGE_ENDPOINT),
            api=True,
            timeout_seconds=29,
            memory_mb=512,
        ),
        "redrive": FunctionSpec(
            name="redrive",
            description="Replays the bridge fallback queue onto the bus",
            env=(Env.EVENT_BUS_NAME, Env.EVENT_SOURCE),
            sqs_triggers=(FALLBACK_QUEUE,),
            puts_events=True,
        ),
    }
    routed = {route.function for route in ROUTES}
    names = [*defaults, *(n for n in wired if n not in defaults and n not in routed)]
    specs = []
    for name in names:
        entry, default = wired.get(name), defaults.get(name)
        if entry is None and default is not None:
            specs.append(default)
            continue
        env = tuple(entry.env)
        specs.append(
            FunctionSpec(
                name=name,
                description=(default.description if default else (getattr(entry, "notes", "") or name)),
                env=env,
                sqs_triggers=tuple(_queue_by(q) for q in getattr(entry, "sqs_triggers", ())),
                sends_to=tuple(_queue_by(q) for q in getattr(entry, "sends_to", ())),
                puts_events=bool(getattr(entry, "puts_events", False)),
                api=bool(getattr(entry, "api", False)),
                # The API is paced by API Gateway throttling: reserved concurrency would turn a burst into 5xx.
                calls_exotel=False,
                timeout_seconds=int(getattr(entry, "timeout_seconds", 0) or 30),
                memory_mb=int(getattr(entry, "memory_mb", 0) or 256),
                batch_size=int(getattr(entry, "batch_size", 0) or 10),
            )
        )
    return specs


def _wired(wiring: Any | None) -> dict[str, Any]:
    """``lambdas.wiring.WIRING`` as {function: entry}, whatever container shape it uses."""
    if wiring is None:
        return {}
    table = getattr(wiring, "WIRING", None) or getattr(wiring, "FUNCTIONS", None) or {}
    if isinstance(table, dict):
        return {str(k): v for k, v in table.items()}
    return {getattr(entry, "function", getattr(entry, "name", None)): entry for entry in table}


def load_wiring() -> Any | None:
    try:
        return importlib.import_module("lambdas.wiring")
    except ModuleNotFoundError:
        return None


def function_specs() -> list[FunctionSpec]:
    """Every function of the deployment: the routed reactors, then ``api`` and ``redrive``."""
    wiring = load_wiring()
    wired = _wired(wiring)
    specs = [_from_route(route, wired.get(route.function)) for route in ROUTES]
    specs.extend(_non_route_specs(wiring))
    return specs
