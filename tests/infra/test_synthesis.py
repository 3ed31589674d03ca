"""Synthesis works with the defaults and with every option; cdk-nag and cfn-lint find nothing unexplained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Assembly, DefaultSynth, FullSynth

pytestmark = pytest.mark.infra

STACK_SUFFIXES = ("Data", "Bridge", "Functions")


def _violations(report: dict | None) -> list[str]:
    assert report is not None, "no validation-report.json in the cloud assembly"
    found = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                found.append(f"{plugin.get('pluginName')}: {violation['ruleName']} at {construct['constructPath']}")
    return found


def test_default_synth_succeeds_as_make_synth_runs_it(default: DefaultSynth) -> None:
    assert default.returncode == 0, default.output[-4000:]
    assert default.assembly.outdir.name == "cdk.out" and default.assembly.outdir.is_dir()
    assert sorted(default.assembly.stack_names) == sorted(f"ExotelLegs{s}" for s in STACK_SUFFIXES)


def test_make_synth_prints_its_warnings_and_cdk_nags_verdict_as_text(default: DefaultSynth) -> None:
    """What a person sees: where the assembly went, the construct warnings, cdk-nag's result; no byte reprs."""
    lines = default.output.splitlines()
    assert any(line.startswith("Synthesized 3 stacks into cdk.out/") for line in lines), default.output
    warning = "WARNING ExotelLegsBridge/LoadBalancer/LoadBalancerSg: source_cidrs is empty"
    assert any(line.strip().startswith(warning) for line in lines), default.output
    assert any(line.startswith("cdk-nag (AwsSolutions): passed") for line in lines), default.output
    assert "b'" not in default.output and 'b"' not in default.output, default.output
    assert "end-of-life" not in default.output, default.output  # jsii's Node notice is silenced by app.py itself


def test_full_synth_succeeds(full: FullSynth) -> None:
    assert full.error is None, full.error
    assert len(full.assembly.templates) == 3


@pytest.mark.parametrize("which", ["full", "default"])
def test_cdk_nag_reports_no_unacknowledged_finding(both: dict[str, Assembly], which: str) -> None:
    report = both[which].report
    assert _violations(report) == []
    plugin_names = {p.get("pluginName") for p in (report or {}).get("pluginReports", [])}
    assert plugin_names <= {"AwsSolutions", "CloudFormation Validate"}


def test_cdk_nag_is_really_checking(tmp_path: Path) -> None:
    """Control: the same registration fails a synthesis with an unencrypted, DLQ-less queue."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from infra import nag

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Control")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    nag.register(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    rules = {v.split(":")[1].strip().split(" ")[0] for v in _violations(Assembly.load(tmp_path).report)}
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules
    # ... and what app.py prints about it names each finding and its construct
    from infra.synth_report import read

    report = read(tmp_path)
    assert not report.ok
    text = "\n".join(report.lines())
    assert "cdk-nag: 3 unacknowledged finding(s)" in text, text
    assert "  AwsSolutions-SQS3 at Control/Plain/Resource: " in text, text


def test_every_acknowledgement_has_a_written_reason(full: FullSynth) -> None:
    from infra.nag import ACKNOWLEDGED

    assert ACKNOWLEDGED, "expected some acknowledged findings"
    for path, rule, reason in ACKNOWLEDGED:
        assert rule.startswith("AwsSolutions-"), (path, rule)
        assert len(reason.split()) >= 8, (path, rule, reason)
        assert "/" in path, f"{rule} acknowledged at the app level instead of on a construct"


@pytest.mark.parametrize("which", ["full", "default"])
def test_cfn_lint_finds_no_errors(both: dict[str, Assembly], which: str) -> None:
    assembly = both[which]
    templates = [str(assembly.outdir / f"{name}.template.json") for name in assembly.stack_names]
    assert len(templates) == 3
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *templates],
        capture_output=True,
        text=True,
        timeout=180,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f.get("Level") == "Error"]
    assert errors == [], json.dumps(errors, indent=1)[:4000]
    assert result.returncode & 2 == 0  # cfn-lint's exit bit for errors
