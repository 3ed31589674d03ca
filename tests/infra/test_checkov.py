"""checkov, a second opinion next to cdk-nag: every failed check is fixed or acknowledged in infra/checkov.py."""

from __future__ import annotations

import pytest

from infra import checkov
from tests.infra.conftest import Assembly

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def findings(both: dict[str, Assembly]) -> dict[str, list[checkov.Finding]]:
    executable = checkov.checkov_executable()  # its own environment (it pins an older boto3): made on first use
    return {name: checkov.scan(assembly.outdir, assembly.stack_names, executable) for name, assembly in both.items()}


@pytest.mark.parametrize("which", ["full", "default"])
def test_every_failed_check_is_acknowledged_with_a_reason(
    findings: dict[str, list[checkov.Finding]], which: str
) -> None:
    assert findings[which], "checkov found nothing at all: is it really scanning the templates?"
    left = [finding.line() for finding in checkov.unexplained(findings[which])]
    assert left == [], "fix these, or acknowledge each in infra/checkov.py with a reason:\n" + "\n".join(left)


def test_no_acknowledgement_outlives_its_finding(findings: dict[str, list[checkov.Finding]]) -> None:
    assert checkov.stale([f for found in findings.values() for f in found]) == []


def test_acknowledgements_are_narrow_and_explained() -> None:
    for check_id, entries in checkov.ACKNOWLEDGED.items():
        for entry in entries:
            assert len(entry.reason.split()) >= 12, (check_id, entry.reason)
            assert all(pattern.startswith("ExotelLegs") and pattern.count("/") >= 1 for pattern in entry.paths)


def test_a_finding_nobody_acknowledged_is_reported() -> None:
    """Control: the triage is not vacuous."""
    new = checkov.Finding("CKV_AWS_999", "a new check", "ExotelLegsData", "X", "ExotelLegsData/Something/Resource")
    known = checkov.Finding("CKV_AWS_27", "SQS encryption", "ExotelLegsData", "Q", "ExotelLegsData/RetryDelay/Resource")
    elsewhere = checkov.Finding("CKV_AWS_27", "SQS encryption", "ExotelLegsBridge", "Q", "ExotelLegsBridge/Q/Resource")
    assert checkov.unexplained([new, known, elsewhere]) == [new, elsewhere]
    assert ("CKV_AWS_21", "ExotelLegsBridge/LoadBalancer/AccessLogs/Resource") in checkov.stale([known])
