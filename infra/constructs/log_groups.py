"""CloudWatch log groups with the deployment's retention (every log group of the stateless stacks)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
}  # fmt: skip


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for ``days`` (one of the values CloudWatch accepts)."""
    try:
        return logs.RetentionDays[_RETENTION[days]]
    except KeyError:
        raise ValueError(f"unsupported log retention: {days} days") from None


def log_group(scope: Construct, construct_id: str, retention_days: int) -> logs.LogGroup:
    """A log group that keeps ``retention_days`` and goes with its stack (logs are not the data we keep)."""
    return logs.LogGroup(
        scope, construct_id, retention=log_retention(retention_days), removal_policy=RemovalPolicy.DESTROY
    )
