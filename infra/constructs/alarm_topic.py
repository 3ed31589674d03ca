"""The one place alarms go: an SNS topic encrypted with its own key, optionally mailing someone."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.logical_ids import Grouping


class AlarmTopic(Grouping):
    """KMS key (CloudWatch may use it) + topic + e-mail subscription; ``action`` is what alarms add."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the exotel-legs alarm topic; CloudWatch alarms may use it",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="exotel-legs alarms", master_key=self.key, enforce_ssl=True
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.action = cw_actions.SnsAction(self.topic)


def queue_depth_alarm(
    scope: Construct,
    construct_id: str,
    queue: sqs.IQueue,
    threshold: int,
    description: str,
    action: cw_actions.SnsAction,
) -> cloudwatch.Alarm:
    """Alarm when ``queue`` holds ``threshold`` visible messages or more (5-minute maximum)."""
    alarm = cloudwatch.Alarm(
        scope,
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
    alarm.add_alarm_action(action)
    return alarm
