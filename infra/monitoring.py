"""One dashboard and the alarms an operator needs: bridge health, queues, functions, API.

Bridge numbers come from its EMF metrics (``bridge/metrics.py``: namespace ``POWERTOOLS_METRICS_NAMESPACE``,
dimension ``service``). Queue-depth alarms live with the queues in the stateful stack.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """Dashboard ``exotel-legs`` and alarms, all sending to the stateful stack's alarm topic."""

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
        self.alarms: list[cloudwatch.Alarm] = []
        action = data.alarm_action

        def bridge_metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=config.bridge_metrics_namespace,
                metric_name=str(name),
                dimensions_map={"service": config.bridge_service_name},
                statistic=statistic,
                period=FIVE_MINUTES,
            )

        def alarm(construct: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                construct,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        # ---- bridge ----------------------------------------------------------------------------
        for definition in BRIDGE_ALARMS:
            alarm(
                f"Bridge{definition.metric}Alarm",
                bridge_metric(definition.metric),
                definition.threshold,
                definition.description,
            )
        alarm(
            "BridgeUnhealthyTasksAlarm",
            target_group.metrics.unhealthy_host_count(period=FIVE_MINUTES, statistic="Maximum"),
            1,
            "A bridge task fails its gRPC health check",
        )
        alarm(
            "BridgeTarget5xxAlarm",
            target_group.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES),
            10,
            "Bridge tasks answered HTTP 5xx to the load balancer",
        )
        alarm(
            "BridgeLoadBalancer5xxAlarm",
            load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES),
            10,
            "The load balancer answered 5xx itself (no healthy bridge task?)",
        )

        # ---- functions ---------------------------------------------------------------------------
        for name, function in functions.items():
            alarm(
                f"{construct_prefix(name)}ErrorsAlarm",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {name} function raised errors",
            )
            alarm(
                f"{construct_prefix(name)}ThrottlesAlarm",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                10,
                f"The {name} function was throttled (reserved concurrency or account limit)",
            )

        # ---- API -----------------------------------------------------------------------------------
        if api is not None:
            alarm(
                "Api5xxAlarm", api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"), 1, "The API answered 5xx"
            )

        # ---- the dashboard ------------------------------------------------------------------------
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.bus_name}-{config.environment}")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Bridge: events",
                left=[
                    bridge_metric(BridgeMetric.RECEIVED),
                    bridge_metric(BridgeMetric.PUBLISHED),
                    bridge_metric(BridgeMetric.DUPLICATES),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Bridge: problems",
                left=[bridge_metric(d.metric) for d in BRIDGE_ALARMS],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Bridge: publish latency (ms)",
                left=[
                    bridge_metric(BridgeMetric.PUBLISH_LATENCY, "p50"),
                    bridge_metric(BridgeMetric.PUBLISH_LATENCY, "p99"),
                ],
                right=[bridge_metric(BridgeMetric.BATCH_SIZE, "Average")],
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
        if api is not None:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="API",
                    left=[api.metric_count(period=FIVE_MINUTES), api.metric_client_error(period=FIVE_MINUTES)],
                    right=[api.metric_server_error(period=FIVE_MINUTES)],
                    width=24,
                )
            )
