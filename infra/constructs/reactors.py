"""The functions that react to events: each with its EventBridge rule or SQS trigger, retries and failure queue.

One rule per routing-table entry (``lambdas.routing.routes(source)``) with exactly that pattern;
each target retries and then dead-letters to ``ReactorFailures``, and each function sends what it
finally failed on there too (on-failure destination).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.wired_function import WiredFunction
from infra.function_specs import FunctionSpec, construct_prefix
from infra.logical_ids import Grouping

if TYPE_CHECKING:
    from infra.stateful import StatefulStack


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The routing table's JSON pattern as CDK's EventPattern (``detail-type`` -> ``detail_type``)."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


class Reactors(Grouping):
    """``functions`` and ``rules`` by function name, for every spec that is not the API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        specs: list[FunctionSpec],
        config: DeployConfig,
        data: StatefulStack,
        values: dict[str, str],
        failures: sqs.IQueue,
        code: lambda_.Code,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.failures = failures
        self.functions: dict[str, lambda_.Function] = {}
        self.rules: dict[str, events.Rule] = {}
        self.schedules: dict[str, events.Rule] = {}
        exotel_callers = sum(1 for spec in specs if spec.reserved_concurrency)
        for spec in specs:
            wired = WiredFunction(
                self,
                construct_prefix(spec.name),
                spec=spec,
                config=config,
                data=data,
                values=values,
                failures=failures,
                code=code,
                exotel_callers=exotel_callers,
            )
            self.functions[spec.name] = wired.function
            if spec.pattern is not None and data.ordered is None:  # ordered mode: subscribers (infra/ordered_bus.py)
                self.rules[spec.name] = self._rule(wired, spec, data.bus)
            if spec.wiring.schedule_seconds:
                self.schedules[spec.name] = self._schedule(wired, spec, spec.wiring.schedule_seconds)
            for queue_def in spec.wiring.sqs_triggers:
                wired.function.add_event_source(
                    sources.SqsEventSource(
                        data.queues[queue_def.id],
                        batch_size=spec.wiring.batch_size,
                        report_batch_item_failures=True,
                        enabled=True,
                    )
                )

    def _rule(self, wired: WiredFunction, spec: FunctionSpec, bus: events.IEventBus) -> events.Rule:
        rule = events.Rule(
            wired,
            f"{construct_prefix(spec.name)}Rule",
            event_bus=bus,
            description=f"routing table: {spec.name}",
            event_pattern=event_pattern(spec.pattern or {}),
        )
        rule.add_target(
            targets.LambdaFunction(
                wired.function,
                dead_letter_queue=self.failures,
                retry_attempts=self.config.rule_retry_attempts,
                max_event_age=Duration.seconds(self.config.rule_max_event_age_seconds),
            )
        )
        return rule

    def _schedule(self, wired: WiredFunction, spec: FunctionSpec, seconds: int) -> events.Rule:
        """A rule with a rate on the default bus (no role needed: the target's resource policy allows it)."""
        rule = events.Rule(
            wired,
            f"{construct_prefix(spec.name)}Schedule",
            description=f"wiring: {spec.name} every {seconds} s",
            schedule=events.Schedule.rate(Duration.minutes(seconds // 60)),
        )
        rule.add_target(
            targets.LambdaFunction(
                wired.function,
                dead_letter_queue=self.failures,
                retry_attempts=0,  # the next run is the retry
                max_event_age=Duration.seconds(seconds),
            )
        )
        return rule
