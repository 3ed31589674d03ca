"""The stateful stack: what holds data and must survive a redeploy of the service.

Bus + archive + schema registry, the DynamoDB tables of ``contract.resources.TABLES``, the queues
of ``QUEUES`` (each with a dead-letter queue where something consumes it), the queue that keeps
events the reactors failed on, the Exotel credentials secret, the optional bridge token, and the
alarm topic. Everything is retained on stack deletion.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.bus import BusMode
from contract.deployment import EXOTEL_SECRET_NAME
from contract.resources import QUEUES, RETRY_QUEUE, TABLES, QueueDef
from infra.config import DeployConfig
from infra.nag import acknowledge
from infra.ordered_bus import OrderedBus
from infra.schemas import load_schemas

#: Bridge dead-letter queue: input the bridge rejected. It is the end of the line, read by people.
TERMINAL_QUEUES = ("BridgeDeadLetter",)
#: The bridge's optional shared token (``BRIDGE_AUTH_TOKEN``).
BRIDGE_TOKEN_SECRET_NAME = "exotel-legs/bridge-token"


class StatefulStack(Stack):
    """Data that outlives the compute: replace the stateless stacks freely, never this one lightly."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        # ---- alarms go to one encrypted topic --------------------------------------------------
        self.alarm_key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the exotel-legs alarm topic; CloudWatch alarms may use it",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.alarm_key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.alarm_topic = sns.Topic(
            self, "AlarmTopic", display_name="exotel-legs alarms", master_key=self.alarm_key, enforce_ssl=True
        )
        if config.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarm_action = cw_actions.SnsAction(self.alarm_topic)

        # ---- the bus, its archive and the schemas of what is on it -----------------------------
        self.bus = events.EventBus(self, "Bus", event_bus_name=config.bus_name, description="Exotel leg events")
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"{config.bus_name}-archive"[:48],
            description="Every Exotel event, for replay",
            event_pattern=events.EventPattern(source=[config.event_source]),
            retention=Duration.days(config.archive_retention_days) if config.archive_retention_days else None,
        )
        self.ordered = OrderedBus(self, "OrderedBus", config=config) if config.bus_mode is BusMode.ORDERED else None
        registry = eventschemas.CfnRegistry(
            self, "SchemaRegistry", registry_name=config.bus_name, description="Schemas of Exotel leg events"
        )
        self.schema_names: list[str] = []
        for index, schema in enumerate(load_schemas(config.event_source)):
            cfn_schema = eventschemas.CfnSchema(
                self,
                f"Schema{index}",
                registry_name=registry.registry_name or config.bus_name,
                schema_name=schema.name,
                type="JSONSchemaDraft4",
                content=schema.content,
                description=schema.description,
            )
            cfn_schema.node.add_dependency(registry)  # registry first
            self.schema_names.append(schema.name)

        # ---- tables -----------------------------------------------------------------------------
        self.tables: dict[str, dynamodb.Table] = {}
        for table_def in TABLES:
            table = dynamodb.Table(
                self,
                table_def.id,
                partition_key=dynamodb.Attribute(name=table_def.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(
                    dynamodb.Attribute(name=table_def.sort_key, type=dynamodb.AttributeType.STRING)
                    if table_def.sort_key
                    else None
                ),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=table_def.ttl_attribute,
                deletion_protection=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.tables[table_def.id] = table

        # ---- queues -----------------------------------------------------------------------------
        self.queues: dict[str, sqs.Queue] = {}
        self.queue_dlqs: dict[str, sqs.Queue] = {}
        for queue_def in QUEUES:
            self.queues[queue_def.id] = self._queue(queue_def)
        #: What EventBridge could not deliver to a reactor, and what a reactor failed on (on-failure).
        self.reactor_failures = sqs.Queue(
            self,
            "ReactorFailures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.reactor_failures,
            "AwsSolutions-SQS3",
            "This queue is a dead-letter queue: the EventBridge rule targets' DLQ and the functions' on-failure "
            "destination (wired in the functions stack, so cdk-nag cannot see it from here).",
        )
        # Rules live in the stateless stack; let EventBridge rules on this bus use the queue as DLQ.
        self.reactor_failures.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRuleDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.reactor_failures.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": self._rule_arns(config.bus_name)}},
            )
        )

        # ---- secrets ----------------------------------------------------------------------------
        self.exotel_secret = secretsmanager.Secret(
            self,
            "ExotelCredentials",
            secret_name=EXOTEL_SECRET_NAME,
            description='Exotel API credentials: {"account_sid": ..., "api_key": ..., "api_token": ...}',
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"account_sid": "REPLACE_ME", "api_key": "REPLACE_ME"}',
                generate_string_key="api_token",
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.exotel_secret,
            "AwsSolutions-SMG4",
            "Exotel issues the API key and token; they are rotated in Exotel's dashboard and then here, "
            "so a Lambda rotation schedule cannot rotate them.",
        )
        self.bridge_token_secret: secretsmanager.Secret | None = None
        if config.bridge_auth_token:
            self.bridge_token_secret = secretsmanager.Secret(
                self,
                "BridgeToken",
                secret_name=BRIDGE_TOKEN_SECRET_NAME,
                description="Shared token the bridge requires as 'authorization: Bearer <token>'",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=48
                ),
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                self.bridge_token_secret,
                "AwsSolutions-SMG4",
                "The token is also configured at Exotel's side; rotating it means changing both ends together, "
                "which is a manual, coordinated step (docs/DEPLOY.md).",
            )

        self._queue_alarms()

    # ------------------------------------------------------------------------------------------
    def _queue(self, queue_def: QueueDef) -> sqs.Queue:
        dead_letter = None
        if queue_def.id not in TERMINAL_QUEUES:
            dlq = sqs.Queue(
                self,
                f"{queue_def.id}DLQ",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.queue_dlqs[queue_def.id] = dlq
            dead_letter = sqs.DeadLetterQueue(queue=dlq, max_receive_count=5)
        queue = sqs.Queue(
            self,
            queue_def.id,
            fifo=queue_def.fifo or None,
            visibility_timeout=Duration.seconds(queue_def.visibility_timeout_seconds),
            retention_period=Duration.days(queue_def.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=dead_letter,
            removal_policy=RemovalPolicy.RETAIN,
        )
        if queue_def.id in TERMINAL_QUEUES:
            acknowledge(
                queue,
                "AwsSolutions-SQS3",
                "This queue is itself the dead-letter store of input the bridge rejected (kept with the reason "
                "for people to inspect); nothing consumes it automatically, so it needs no DLQ of its own.",
            )
        return queue

    def _depth_alarm(self, construct_id: str, queue: sqs.IQueue, threshold: int, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)

    def _queue_alarms(self) -> None:
        self._depth_alarm(
            "BridgeFallbackDepthAlarm",
            self.queues["BridgeFallback"],
            self.config.fallback_alarm_threshold,
            "Events are piling up in the bridge fallback queue: EventBridge is failing or redrive is not keeping up",
        )
        self._depth_alarm(
            "BridgeDeadLetterDepthAlarm",
            self.queues["BridgeDeadLetter"],
            1,
            "The bridge rejected input from Exotel (kept with the reason in the dead-letter queue)",
        )
        self._depth_alarm(
            "RetryDelayDepthAlarm",
            self.queues[RETRY_QUEUE.id],
            self.config.fallback_alarm_threshold,
            "Re-dials are piling up in the retry queue: the retry function is not consuming it",
        )
        for queue_id, dlq in self.queue_dlqs.items():
            self._depth_alarm(f"{queue_id}DLQDepthAlarm", dlq, 1, f"Messages of {queue_id} failed repeatedly")
        self._depth_alarm(
            "ReactorFailuresDepthAlarm",
            self.reactor_failures,
            1,
            "A reactor function failed on an event, or EventBridge could not deliver one to it",
        )

    def _rule_arns(self, bus_name: str) -> str:
        """Every rule on this bus (rules on a custom bus have ARNs ``rule/<bus>/<name>``)."""
        return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{bus_name}/*"

    @property
    def retry_queue(self) -> sqs.Queue:
        return self.queues[RETRY_QUEUE.id]
