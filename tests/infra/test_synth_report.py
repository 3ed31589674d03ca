"""``infra.synth_report`` on hand-made assembly folders: what ``make synth`` prints in each case."""

from __future__ import annotations

import json
from pathlib import Path

from infra.synth_report import NODE_NOTICE_SILENCERS, read, silence_node_notices


def _assembly(tmp_path: Path, metadata: dict, report: dict | None) -> Path:
    manifest = {
        "artifacts": {
            "Stack.assets": {"type": "cdk:asset-manifest"},
            "Stack": {"type": "aws:cloudformation:stack", "additionalMetadataFile": "Stack.metadata.json"},
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "Stack.metadata.json").write_text(json.dumps(metadata))
    if report is not None:
        (tmp_path / "validation-report.json").write_text(json.dumps(report))
    return tmp_path


def test_messages_by_level_and_acknowledged_nag_rules_are_counted(tmp_path: Path) -> None:
    metadata = {
        "/Stack/B": [{"type": "aws:cdk:warning", "data": "second warning"}],
        "/Stack/A": [
            {"type": "aws:cdk:warning", "data": "first warning"},
            {"type": "aws:cdk:info", "data": "for your information"},
            {"type": "aws:cdk:logicalId", "data": "ALogicalId"},
            {"type": "aws:cdk:acknowledged-rules", "data": {"Annotation::AwsSolutions-S1": "why", "CFN::W1": "x"}},
        ],
        "/Stack/C": [{"type": "aws:cdk:acknowledged-rules", "data": {"Annotation::AwsSolutions-L1": "why"}}],
    }
    report = read(_assembly(tmp_path, metadata, {"pluginReports": []}))
    assert report.ok and report.stacks == ["Stack"] and report.acknowledged == 2
    lines = report.lines(12.4)
    assert lines[0] == f"Synthesized 1 stacks into {tmp_path}/ in 12 s: Stack"
    assert lines[1:5] == [
        "warnings (2):",
        "  WARNING Stack/A: first warning",
        "  WARNING Stack/B: second warning",
        "info (1):",
    ]
    assert lines[-1].startswith("cdk-nag (AwsSolutions): passed, no unacknowledged finding; 2 acknowledged")


def test_an_error_annotation_or_a_nag_violation_fails_and_is_named(tmp_path: Path) -> None:
    metadata = {"/Stack/Q": [{"type": "aws:cdk:error", "data": "broken"}]}
    violation = {
        "ruleName": "AwsSolutions-SQS3",
        "description": "The SQS queue is not used\n   as a DLQ.",
        "violatingConstructs": [{"constructPath": "Stack/Q/Resource"}],
    }
    report = read(_assembly(tmp_path, metadata, {"pluginReports": [{"pluginName": "p", "violations": [violation]}]}))
    assert not report.ok
    text = "\n".join(report.lines())
    assert "  ERROR   Stack/Q: broken" in text
    assert "cdk-nag: 1 unacknowledged finding(s)" in text
    assert "  AwsSolutions-SQS3 at Stack/Q/Resource: The SQS queue is not used as a DLQ." in text


def test_an_empty_folder_says_nothing_was_written(tmp_path: Path) -> None:
    report = read(tmp_path)
    assert not report.ok
    assert report.lines() == [
        f"No stack was written to {tmp_path}/",
        "cdk-nag: no validation-report.json: the checks did not run",
    ]


def test_node_notice_switches_are_set_unless_the_caller_chose() -> None:
    environ = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    silence_node_notices(environ)
    assert environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "18,20"
    assert set(NODE_NOTICE_SILENCERS) <= set(environ)
