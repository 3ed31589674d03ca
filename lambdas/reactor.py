"""What ``connect``, ``retry`` and ``amd`` do with one bus event: find the plan, decide, act, once.

The handlers parse the event and name their decision (``lambdas.domain.decisions``); this module
finds the plan the leg belongs to (its ``custom_param``), runs the decision through the executor
once per ``event_sid`` (Powertools idempotency) and records the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from contract.metrics import FunctionMetric
from lambdas.dal.idempotency import once
from lambdas.domain.actions import Decision
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.plan_ref import PlanRef, parse_plan_param
from lambdas.executor import Executor, Summary
from legs.events import LegEvent

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext

Decide = Callable[[CallPlan, LegEvent, PlanRef], Decision | None]


def react(
    event: LegEvent, context: LambdaContext, *, service: str, decide: Decide, logger: Logger, metrics: Metrics
) -> Summary:
    """Apply ``decide`` to the event's plan; a repeated ``event_sid`` returns the first answer."""
    ref = parse_plan_param(event.custom_param)
    if ref is None:
        metrics.add_metric(name=FunctionMetric.EVENTS_IGNORED, unit=MetricUnit.Count, value=1)
        return {"result": "not a call-plan leg", "event_sid": event.event_sid}
    logger.append_keys(plan_id=ref.plan_id, leg_sid=event.leg_sid, event_name=event.event_name)

    def process(event: LegEvent) -> Summary:
        report = Executor.from_env(logger).run(ref.plan_id, lambda plan: decide(plan, event, ref))
        metrics.add_metric(name=FunctionMetric.LEGS_API_CALLS, unit=MetricUnit.Count, value=len(report.calls))
        return report.summary()

    summary = once(
        process,
        key_prefix=service,
        data_keyword_argument="event",
        event_key_jmespath="event_sid",
        lambda_context=context,
    )(event=event)
    metrics.add_metric(name=FunctionMetric.EVENTS_PROCESSED, unit=MetricUnit.Count, value=1)
    logger.info("event handled", extra={"summary": summary})
    return summary
