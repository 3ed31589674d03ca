"""cdk-nag 3 through CDK's own validation API: register the pack once, acknowledge at the narrowest scope."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

#: Every acknowledgement made while building the app: (construct path, rule id, reason). Tests read it.
ACKNOWLEDGED: list[tuple[str, str, str]] = []


def register(app: App) -> None:
    """Every synthesis is checked; an unacknowledged finding fails it (validation-report.json says which)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` with a written reason."""
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule} needs a real reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
    ACKNOWLEDGED.append((scope.node.path, rule, reason))
