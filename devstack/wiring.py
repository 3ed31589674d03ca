"""Which functions run locally and what feeds each: ``lambdas.wiring.WIRING`` (shared with CDK), nothing repeated.

A function with ``rule`` gets its routing-table rule's queue; ``sqs_triggers`` are polled as SQS event
sources; the one with ``api`` sits behind the local API Gateway.
"""

from __future__ import annotations

from lambdas.wiring import WIRING, FunctionWiring


def functions() -> tuple[FunctionWiring, ...]:
    return tuple(WIRING.values())


def module_of(wiring: FunctionWiring) -> str:
    """The handler's module (``handler`` is the dotted path of the function inside it)."""
    return wiring.handler.rsplit(".", 1)[0]


def api_function() -> str:
    names = [w.function for w in WIRING.values() if w.api]
    if len(names) != 1:
        raise RuntimeError(f"lambdas/wiring.py must mark exactly one function api=True (found {names})")
    return names[0]


def trigger_queue_ids() -> frozenset[str]:
    """QueueDef ids that feed a function: they get a DLQ and a redrive policy like the rule queues."""
    return frozenset(queue.id for wiring in WIRING.values() for queue in wiring.sqs_triggers)
