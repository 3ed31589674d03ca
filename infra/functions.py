"""The functions stack (``<prefix>Functions``, stateless): one Lambda asset, the reactors, the REST API, monitoring.

Composed of :class:`~infra.constructs.Reactors` (every event- or queue-driven function with its
rule or SQS trigger), :class:`~infra.constructs.RestApi` (the ``api`` function behind API Gateway)
and :class:`~infra.monitoring.Monitoring` (alarms and the dashboard, bridge included). What each
function gets (env, grants, triggers, sizes) comes from ``infra.function_specs``: ``lambdas/wiring.py``
joined with the routing table built for the configured event source.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.bridge_service import BridgeServiceStack
from infra.bundling import lambda_code
from infra.config import DeployConfig
from infra.constructs import Reactors, RestApi
from infra.constructs.wired_function import deployment_values
from infra.function_specs import function_specs
from infra.logical_ids import GroupedStack
from infra.monitoring import Monitoring
from infra.ordered_bus import OrderedSubscribers
from infra.stateful import StatefulStack


class FunctionsStack(GroupedStack):
    """``functions`` by name (in ``lambdas.wiring.WIRING`` order), ``rules`` by name, ``api``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        data: StatefulStack,
        bridge: BridgeServiceStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.specs = function_specs(config.event_source)
        # An imported view of the stateful queue: targets/destinations in this stack must not try to
        # edit the other stack's queue policy (that would make the stacks depend on each other).
        failures = sqs.Queue.from_queue_attributes(
            self,
            "ReactorFailuresRef",
            queue_arn=data.reactor_failures.queue_arn,
            queue_url=data.reactor_failures.queue_url,
        )
        shared: dict[str, Any] = {
            "config": config,
            "data": data,
            "values": deployment_values(config, data, bridge.endpoint_url),
            "failures": failures,
            "code": lambda_code(keep_sdk=data.ordered is not None),  # ordered: redrive needs eventbridgev2
        }
        (api_spec,) = [spec for spec in self.specs if spec.wiring.api]  # lambdas/wiring.py has one API function
        reactors = Reactors(self, "Reactors", specs=[s for s in self.specs if s is not api_spec], **shared)
        rest_api = RestApi(self, "RestApi", spec=api_spec, **shared)

        functions = {**reactors.functions, api_spec.name: rest_api.function}
        self.functions: dict[str, lambda_.Function] = {spec.name: functions[spec.name] for spec in self.specs}
        self.rules = reactors.rules
        self.api = rest_api.api
        self.ordered = None
        if data.ordered is not None:  # ordered mode: subscribers instead of rules (infra/ordered_bus.py)
            self.ordered = OrderedSubscribers(
                self,
                "Ordered",
                config=config,
                bus=data.ordered,
                specs=self.specs,
                functions=self.functions,
                failures_queue_arn=data.reactor_failures.queue_arn,
                alarm_action=data.alarm_action,
            )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            data=data,
            functions=self.functions,
            api=self.api,
            load_balancer=bridge.load_balancer,
            target_group=bridge.target_group,
        )
