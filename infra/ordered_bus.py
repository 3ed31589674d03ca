"""The ordered mode (context ``bus_mode=ordered``): an EventBridge EventsV2 bus and subscribers instead of rules.

- :class:`OrderedBus` (stateful stack): ``AWS::EventsV2::EventBus`` with storage (``ordered_retention_days``), the
  bus's ARN as an output for other teams, and how the bridge is wired to it (``EVENT_BUS_KIND=v2``,
  ``EVENT_BUS_ARN``, ``events:PutEvents`` on the bus).
- :class:`OrderedSubscribers` (functions stack): per routing-table entry (``lambdas.routing``) an
  ``AWS::EventsV2::Subscriber`` whose filter is the entry's pattern, delivering into the function's own SQS queue —
  FIFO for the entries that need each leg's order (``Route.fifo``: leg_state, connect), standard for the others —
  read by an event source mapping (batches, partial failures; a FIFO batch is processed in order, see
  ``lambdas/shared/delivery.py``). Each queue has a dead-letter queue and alarms; a delivery the subscriber gives
  up on goes to the ``ReactorFailures`` queue, like a rule target's.

Why a queue between subscriber and function rather than a Lambda target: SQS FIFO + Lambda's event source mapping
has documented per-group ordering and retry semantics; a subscriber's Lambda invocation batch format and retry
behaviour are not documented in the service model (docs/DEPLOY.md lists the assumptions).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eventsv2 as eventsv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.bus import BusKind
from contract.env import Env
from infra.config import DeployConfig
from infra.function_specs import FunctionSpec, construct_prefix

#: ASSUMPTION: EventsV2 signs as ``events`` (service model ``signingName``), so its IAM actions are ``events:*``.
PUT_EVENTS_ACTION = "events:PutEvents"
#: ASSUMPTION: the service principal a subscriber's role trusts (EventBridge's own).
SUBSCRIBER_PRINCIPAL = "events.amazonaws.com"
#: The SQS target's largest batch (CloudFormation: 10 for Amazon SQS targets).
SQS_TARGET_BATCH = 10
#: A FIFO group whose oldest message is this old is stuck behind an event its function keeps failing.
STUCK_GROUP_SECONDS = 300


class OrderedBus(Construct):
    """The EventsV2 bus (stateful: retained when the stack is deleted)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.bus = eventsv2.CfnEventBus(
            self,
            "Bus",
            name=config.bus_name,
            description="Exotel leg events, ordered per leg (EventGroupId) and deduplicated by event_sid",
            storage_configuration=eventsv2.CfnEventBus.StorageConfigurationProperty(
                retention_period_in_days=config.ordered_retention_days
            ),
        )
        self.bus.apply_removal_policy(RemovalPolicy.RETAIN)
        self.bus_arn: str = self.bus.attr_event_bus_arn
        CfnOutput(
            scope,
            "OrderedBusArn",
            value=self.bus_arn,
            description="EventsV2 bus of Exotel leg events: subscribe with AWS::EventsV2::Subscriber (docs/DEPLOY.md)",
            export_name=f"{config.stack_prefix}-OrderedBusArn",
        )

    def grant_put_events(self, principal: iam.IGrantable, sid: str = "PutEventsOnTheOrderedBus") -> None:
        principal.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=[PUT_EVENTS_ACTION], resources=[self.bus_arn])
        )

    def wire_bridge(self, task_role: iam.IRole, container: ecs.ContainerDefinition) -> None:
        """The bridge publishes here: ``EVENT_BUS_KIND=v2`` and the bus's ARN, and may put events on it."""
        container.add_environment(Env.EVENT_BUS_KIND, BusKind.V2.value)
        container.add_environment(Env.EVENT_BUS_ARN, self.bus_arn)
        self.grant_put_events(task_role)

    def wire_redrive(self, function: lambda_.Function) -> None:
        """The redrive function replays EventsV2 entries from the fallback queue onto this bus."""
        function.add_environment(Env.EVENT_BUS_ARN, self.bus_arn)
        self.grant_put_events(function)


class OrderedSubscribers(Construct):
    """One subscriber (+ its queue, DLQ, role, alarms) per routed function; the function reads the queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bus: OrderedBus,
        specs: list[FunctionSpec],
        functions: dict[str, lambda_.Function],
        failures_queue_arn: str,
        alarm_action: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.subscribers: dict[str, eventsv2.CfnSubscriber] = {}
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm_action = alarm_action
        for spec in specs:
            if spec.route is None:
                continue
            self._subscribe(spec, bus, functions[spec.name], failures_queue_arn)
        for spec in specs:
            if spec.wiring.puts_events:  # redrive
                bus.wire_redrive(functions[spec.name])

    def _subscribe(self, spec: FunctionSpec, bus: OrderedBus, function: lambda_.Function, failures_arn: str) -> None:
        assert spec.route is not None
        name, fifo, prefix = spec.name, spec.route.fifo, construct_prefix(spec.name)
        stack = Stack.of(self)
        dlq = sqs.Queue(
            self,
            f"{prefix}SubscriberDLQ",
            fifo=fifo or None,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        queue = sqs.Queue(
            self,
            f"{prefix}SubscriberQueue",
            fifo=fifo or None,
            content_based_deduplication=None,  # the subscriber sets a MessageDeduplicationId (ASSUMPTION, DEPLOY.md)
            visibility_timeout=Duration.seconds(6 * spec.wiring.timeout_seconds),  # Lambda's advice for SQS sources
            retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
        )
        role = iam.Role(
            self,
            f"{prefix}SubscriberRole",
            assumed_by=iam.ServicePrincipal(
                SUBSCRIBER_PRINCIPAL,
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=f"EventsV2 subscriber of {name}: delivers into its queue, failures to ReactorFailures",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeliverToTheQueue", actions=["sqs:SendMessage"], resources=[queue.queue_arn, failures_arn]
            )
        )
        sqs_parameters = None
        if fifo and self.config.ordered_message_group_id:
            sqs_parameters = eventsv2.CfnSubscriber.SqsParametersProperty(
                message_group_id=self.config.ordered_message_group_id
            )
        subscriber = eventsv2.CfnSubscriber(
            self,
            f"{prefix}Subscriber",
            name=f"{self.config.bus_name}-{name}"[:256],
            event_bus_arn=bus.bus_arn,
            description=spec.route.description[:512],
            type="FIFO" if fifo else "UNORDERED",
            filter_configuration=eventsv2.CfnSubscriber.FilterConfigurationProperty(
                language="EVENT_BRIDGE_PATTERN",
                filters=[eventsv2.CfnSubscriber.FilterProperty(pattern=json.dumps(spec.route.pattern), scope="DATA")],
            ),
            invoke_configuration=eventsv2.CfnSubscriber.InvokeConfigurationProperty(
                role_arn=role.role_arn, target_arn=queue.queue_arn, sqs_parameters=sqs_parameters
            ),
            transformer=eventsv2.CfnSubscriber.TransformerProperty(type="RAW"),
            starting_position="LATEST",
            batch_configuration=eventsv2.CfnSubscriber.BatchConfigurationProperty(max_batch_size=SQS_TARGET_BATCH),
            retry_policy=eventsv2.CfnSubscriber.RetryPolicyProperty(
                max_retry_attempts=self.config.rule_retry_attempts,
                max_event_age_in_seconds=self.config.rule_max_event_age_seconds,
                retry_strategy="ALL",
            ),
            on_failure_configuration=eventsv2.CfnSubscriber.OnFailureConfigurationProperty(arn=failures_arn),
            log_configuration=eventsv2.CfnSubscriber.LogConfigurationProperty(level="ERROR"),
            state="RUNNING",
        )
        subscriber.node.add_dependency(role.node.find_child("DefaultPolicy"))  # policy in place before deliveries
        function.add_event_source(
            sources.SqsEventSource(queue, batch_size=SQS_TARGET_BATCH, report_batch_item_failures=True)
        )
        self.queues[name], self.dead_letter_queues[name], self.subscribers[name] = queue, dlq, subscriber
        self._alarm(
            f"{prefix}SubscriberDLQDepthAlarm",
            dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
            1,
            f"The {name} function failed on an event from its subscriber queue 5 times (now in the DLQ)",
        )
        if fifo:
            self._alarm(
                f"{prefix}SubscriberStuckGroupAlarm",
                queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(5), statistic="Maximum"),
                STUCK_GROUP_SECONDS,
                f"A leg's events wait behind one {name} keeps failing (FIFO group held back)",
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
        alarm.add_alarm_action(self._alarm_action)
        self.alarms.append(alarm)
