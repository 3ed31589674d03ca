"""``sweeper``: on a schedule, finds the call plans past a deadline and drives them on.

A plan is past a deadline when an action it decided was never confirmed (the function died
between the plan write and the Legs API call, or the reply was lost and no event carried the
action's key), or when it stayed too long in a state (a dial neither answered nor ended, a re-dial
whose retry message never came, a bridge never joined, an end message whose ``say_completed`` never
came). What happens then is the domain's: ``lambdas.domain.sweep.decide_sweep`` re-issues or gives
up, hangs up whoever is still connected (the first party with the plan's apology) and records the
outcome. Each plan goes through the executor like any event (read, decide, compare-and-swap write,
act), so a sweep that races an event, or another sweep, acts once.

Trigger: a schedule (``lambdas.wiring``: an EventBridge rule with a rate in AWS; the devstack's runner
on the same schedule, scaled). Deadlines: ``PLAN_*`` variables (``lambdas.domain.deadlines``).
"""

from __future__ import annotations

from typing import TypedDict

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.metrics import FunctionMetric
from lambdas.dal.call_plans import PlanStore
from lambdas.domain.sweep import decide_sweep
from lambdas.executor import Executor, Summary
from lambdas.shared.config import at_cold_start
from lambdas.shared.observability import powertools
from legs.json_types import JsonObject

SERVICE = "sweeper"
at_cold_start(SERVICE)  # in Lambda: a missing or malformed variable fails the init phase, named
logger, tracer, metrics = powertools(SERVICE)

#: Plans one run drives on (the rest wait for the next run; the oldest deadlines come first per shard).
MAX_PLANS_PER_RUN = 100
#: Stop taking new plans when less than this is left of the invocation (milliseconds).
RESERVE_MS = 5_000


class SweepSummary(TypedDict):
    """What one run did (the function's result, logged when it did anything)."""

    due: int
    swept: int
    errors: int
    plans: list[Summary]


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: JsonObject, context: LambdaContext) -> SweepSummary:
    """One scheduled run: every plan past a deadline, one at a time; one plan's error does not stop the rest."""
    return sweep(context)


def sweep(context: LambdaContext | None = None) -> SweepSummary:
    executor = Executor.from_env(logger)
    now = executor.clock()
    plan_ids = PlanStore.from_env().due(now, MAX_PLANS_PER_RUN)
    swept: list[Summary] = []
    errors = 0
    for plan_id in plan_ids:
        if context is not None and context.get_remaining_time_in_millis() < RESERVE_MS:
            logger.warning("out of time: the rest waits for the next run", extra={"left": len(plan_ids)})
            break
        try:
            report = executor.run(plan_id, lambda plan: decide_sweep(plan, executor.clock(), executor.deadlines))
        except Exception:  # the next run tries again; the others must not wait for this one
            errors += 1
            logger.exception("sweeping a plan failed", extra={"plan_id": plan_id})
            continue
        if report.actions is None:
            continue
        swept.append(report.summary())
        notes = " ".join([report.result, *report.follow_ups])
        metrics.add_metric(name=FunctionMetric.ACTIONS_REISSUED, unit=MetricUnit.Count, value=notes.count("re-issued"))
        metrics.add_metric(name=FunctionMetric.ACTIONS_GIVEN_UP, unit=MetricUnit.Count, value=notes.count("gave up"))
        metrics.add_metric(name=FunctionMetric.LEGS_API_CALLS, unit=MetricUnit.Count, value=len(report.calls))
    metrics.add_metric(name=FunctionMetric.PLANS_SWEPT, unit=MetricUnit.Count, value=len(swept))
    summary: SweepSummary = {"due": len(plan_ids), "swept": len(swept), "errors": errors, "plans": swept}
    if swept or errors:
        logger.info("sweep done", extra={"summary": summary})
    return summary
