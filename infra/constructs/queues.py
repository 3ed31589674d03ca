"""The queues of ``contract.resources.QUEUES`` with dead-letter queues, the reactors' failure queue, depth alarms."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.resources import DEAD_LETTER_QUEUE, FALLBACK_QUEUE, QUEUES, RETRY_QUEUE, QueueDef
from infra.config import DeployConfig
from infra.constructs.alarm_topic import queue_depth_alarm
from infra.logical_ids import Grouping
from infra.nag import acknowledge

#: Bridge dead-letter queue: input the bridge rejected. It is the end of the line, read by people.
TERMINAL_QUEUES = (DEAD_LETTER_QUEUE.id,)
#: How long a dead-letter queue (and the reactors' failure queue) keeps a message.
DEAD_LETTER_RETENTION = Duration.days(14)


class Queues(Grouping):
    """``queues`` and ``dead_letter_queues`` by queue id, and ``reactor_failures``; every one watched by an alarm.

    Encrypted (SQS-managed), TLS only, retained. A queue something consumes gets a dead-letter queue
    after 5 receives; the bridge's own dead-letter queue is the end of the line.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, alarm_action: cw_actions.SnsAction
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.queues: dict[str, sqs.Queue] = {queue_def.id: self._queue(queue_def) for queue_def in QUEUES}
        #: What EventBridge could not deliver to a reactor, and what a reactor failed on (on-failure).
        self.reactor_failures = self._reactor_failures(config.bus_name)
        self._depth_alarms(config.fallback_alarm_threshold, alarm_action)

    def _dead_letter_queue(self, construct_id: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _queue(self, queue_def: QueueDef) -> sqs.Queue:
        dead_letter = None
        if queue_def.id not in TERMINAL_QUEUES:
            dlq = self.dead_letter_queues[queue_def.id] = self._dead_letter_queue(f"{queue_def.id}DLQ")
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

    def _reactor_failures(self, bus_name: str) -> sqs.Queue:
        queue = self._dead_letter_queue("ReactorFailures")
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is a dead-letter queue: the EventBridge rule targets' DLQ and the functions' on-failure "
            "destination (wired in the functions stack, so cdk-nag cannot see it from here).",
        )
        # Rules live in the stateless stack; let EventBridge rules on this bus use the queue as DLQ.
        stack = Stack.of(self)
        every_rule_on_the_bus = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/{bus_name}/*"
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRuleDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": every_rule_on_the_bus}},
            )
        )
        return queue

    def _depth_alarms(self, piling_up: int, action: cw_actions.SnsAction) -> None:
        watched: list[tuple[str, sqs.IQueue, int, str]] = [
            (
                "BridgeFallbackDepthAlarm",
                self.queues[FALLBACK_QUEUE.id],
                piling_up,
                "Events are piling up in the bridge fallback queue: "
                "EventBridge is failing or redrive is not keeping up",
            ),
            (
                "BridgeDeadLetterDepthAlarm",
                self.queues[DEAD_LETTER_QUEUE.id],
                1,
                "The bridge rejected input from Exotel (kept with the reason in the dead-letter queue)",
            ),
            (
                "RetryDelayDepthAlarm",
                self.queues[RETRY_QUEUE.id],
                piling_up,
                "Re-dials are piling up in the retry queue: the retry function is not consuming it",
            ),
            *(
                (f"{queue_id}DLQDepthAlarm", dlq, 1, f"Messages of {queue_id} failed repeatedly")
                for queue_id, dlq in self.dead_letter_queues.items()
            ),
            (
                "ReactorFailuresDepthAlarm",
                self.reactor_failures,
                1,
                "A reactor function failed on an event, or EventBridge could not deliver one to it",
            ),
        ]
        for construct_id, queue, threshold, description in watched:
            queue_depth_alarm(self, construct_id, queue, threshold, description, action)
