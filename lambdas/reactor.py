"""What ``connect``, ``retry`` and ``amd`` do with one bus event: find the plan, decide, act, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from contract.metrics import FunctionMetric
from lambdas.dal.call_plans import CallPlan
from lambdas.dal.idempotency import once
from lambdas.domain.decisions import Decision, Engine
from lambdas.domain.plan_ref import PlanRef, parse_plan_param
from legs.events import LegEvent

Decide = Callable[[CallPlan, LegEvent, PlanRef], Decision | None]


def react(event: LegEvent, context: Any, *, service: str, decide: Decide, logger: Any, metrics: Any) -> dict[str, Any]:
    """Apply ``decide`` to the event's plan; a repeated ``event_sid`` returns the first answer."""
    ref = parse_plan_param(event.custom_param)
    if ref is None:
        metrics.add_metric(name=FunctionMetric.EVENTS_IGNORED, unit=MetricUnit.Count, value=1)
        return {"result": "not a call-plan leg", "event_sid": event.event_sid}
    logger.append_keys(plan_id=ref.plan_id, leg_sid=event.leg_sid, event_name=event.event_name)

    def process(event: LegEvent) -> dict[str, Any]:
        engine = Engine.from_env(logger)
        summary = engine.run(ref.plan_id, lambda plan: decide(plan, event, ref))
        summary["legs_api_calls"] = list(engine.calls)
        metrics.add_metric(name=FunctionMetric.LEGS_API_CALLS, unit=MetricUnit.Count, value=len(engine.calls))
        return summary

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
