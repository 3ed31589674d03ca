"""One dashboard and the alarms an operator needs: bridge health, queues, functions, API.

Bridge numbers come from its EMF metrics (``bridge/metrics.py``: namespace ``POWERTOOLS_METRICS_NAMESPACE``,
dimension ``service``). Queue-depth alarms live with the queues in the stateful stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.metrics import BridgeMetric
from infra.config import DeployConfig
from infra.function_specs import construct_prefix

if TYPE_CHECKING:
    from infra.stateful import StatefulStack

FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class BridgeAlarmDef:
    metric: BridgeMetric  # EMF metric emitted by the bridge
    description: str
    threshold: int = 1


#: What pages someone: events that did not reach the bus directly, or were refused.
BRIDGE_ALARMS: tuple[BridgeAlarmDef, ...] = (
    BridgeAlarmDef(BridgeMetric.SPILLED, "The bridge spilled events to the fallback queue (EventBridge failing)"),
    BridgeAlarmDef(BridgeMetric.REJECTED, "The bridge rejected events as invalid (INVALID_ARGUMENT; kept in the DLQ)"),
    BridgeAlarmDef(
        BridgeMetric.UNAVAILABLE, "The bridge answered UNAVAILABLE: neither the bus nor the fallback queue took events"
    ),
)


class Monitoring(Construct):
    """Dashboard ``<bus>-<environment>`` and alarms, all sending to the stateful stack's alarm topic.

    A plain construct, not a grouping: its alarms have carried ``Monitoring`` in their logical IDs from the start.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        data: StatefulStack,
        functions: dict[str, lambda_.Function],
        api: apigw.RestApi | None,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.action = data.alarm_action
        self.alarms: list[cloudwatch.Alarm] = []
        self._bridge_alarms(load_balancer, target_group)
        self._function_alarms(functions)
        if api is not None:
            self._alarm(
                "Api5xxAlarm", api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"), 1, "The API answered 5xx"
            )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.bus_name}-{config.environment}")
        self._bridge_widgets(dashboard, target_group)
        self._queue_and_function_widgets(dashboard, data, functions)
        if api is not None:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="API",
                    left=[api.metric_count(period=FIVE_MINUTES), api.metric_client_error(period=FIVE_MINUTES)],
                    right=[api.metric_server_error(period=FIVE_MINUTES)],
                    width=24,
                )
            )

    def _bridge_metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.config.bridge_metrics_namespace,
            metric_name=str(name),
            dimensions_map={"service": self.config.bridge_service_name},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.action)
        self.alarms.append(alarm)

    def _bridge_alarms(
        self, load_balancer: elbv2.ApplicationLoadBalancer, target_group: elbv2.ApplicationTargetGroup
    ) -> None:
        for definition in BRIDGE_ALARMS:
            self._alarm(
                f"Bridge{definition.metric}Alarm",
                self._bridge_metric(definition.metric),
                definition.threshold,
                definition.description,
            )
        self._alarm(
            "BridgeUnhealthyTasksAlarm",
            target_group.metrics.unhealthy_host_count(period=FIVE_MINUTES, statistic="Maximum"),
            1,
            "A bridge task fails its gRPC health check",
        )
        self._alarm(
            "BridgeTarget5xxAlarm",
            target_group.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES),
            10,
            "Bridge tasks answered HTTP 5xx to the load balancer",
        )
        self._alarm(
            "BridgeLoadBalancer5xxAlarm",
            load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES),
            10,
            "The load balancer answered 5xx itself (no healthy bridge task?)",
        )

    def _function_alarms(self, functions: dict[str, lambda_.Function]) -> None:
        for name, function in functions.items():
            self._alarm(
                f"{construct_prefix(name)}ErrorsAlarm",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {name} function raised errors",
            )
            self._alarm(
                f"{construct_prefix(name)}ThrottlesAlarm",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                10,
                f"The {name} function was throttled (reserved concurrency or account limit)",
            )

    def _bridge_widgets(self, dashboard: cloudwatch.Dashboard, target_group: elbv2.ApplicationTargetGroup) -> None:
        metric = self._bridge_metric
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Bridge: events",
                left=[metric(BridgeMetric.RECEIVED), metric(BridgeMetric.PUBLISHED), metric(BridgeMetric.DUPLICATES)],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Bridge: problems", left=[metric(d.metric) for d in BRIDGE_ALARMS], width=12),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Bridge: publish latency (ms)",
                left=[metric(BridgeMetric.PUBLISH_LATENCY, "p50"), metric(BridgeMetric.PUBLISH_LATENCY, "p99")],
                right=[metric(BridgeMetric.BATCH_SIZE, "Average")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Bridge: load balancer",
                left=[
                    target_group.metrics.request_count(period=FIVE_MINUTES),
                    target_group.metrics.healthy_host_count(period=FIVE_MINUTES),
                ],
                right=[target_group.metrics.target_response_time(period=FIVE_MINUTES, statistic="p99")],
                width=12,
            ),
        )

    @staticmethod
    def _queue_and_function_widgets(
        dashboard: cloudwatch.Dashboard, data: StatefulStack, functions: dict[str, lambda_.Function]
    ) -> None:
        queues: dict[str, sqs.IQueue] = {**data.queues, "ReactorFailures": data.reactor_failures}
        queues.update({f"{k}DLQ": v for k, v in data.queue_dlqs.items()})
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queues: visible messages",
                left=[
                    q.metric_approximate_number_of_messages_visible(label=n, period=FIVE_MINUTES)
                    for n, q in queues.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Functions: errors",
                left=[f.metric_errors(label=n, period=FIVE_MINUTES) for n, f in functions.items()],
                right=[f.metric_throttles(label=f"{n} throttles", period=FIVE_MINUTES) for n, f in functions.items()],
                width=12,
            ),
        )
