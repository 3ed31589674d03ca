"""Synthesize the CDK app once per session (synthesis is slow): two assemblies, checked by every test.

- ``full``: in-process, with every optional feature on (certificate, domain, source CIDRs, bridge
  token, mutual TLS with a pinned subject, API keys, alarm e-mail), so that the assertions see each resource;
- ``default``: ``python app.py`` as a subprocess with cdk.json's defaults, exactly what ``make synth``
  runs (no certificate: the template takes it as a parameter), in a copy of the repository without
  ``CDK_OUTDIR`` or any jsii notice switch: it must leave its assembly in the copy's ``cdk.out/`` and
  print its warnings as text by itself.
Both run at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.synth_report import NODE_NOTICE_SILENCERS, silence_node_notices

silence_node_notices()  # before aws_cdk is imported (the in-process synthesis)

REPO_ROOT = Path(__file__).resolve().parents[2]

FULL_CONTEXT: dict[str, Any] = {
    "certificate_arn": "arn:aws:acm:ap-south-1:111122223333:certificate/0b6e7a0c-1111-2222-3333-444455556666",
    "domain_name": "legs-events.example.com",
    "source_cidrs": ["203.0.113.0/24", "198.51.100.16/28"],
    "bridge_auth_token": True,
    # mutual TLS at the load balancer: a test CA (public certificate only) and one pinned client subject
    "client_ca_bundle": "tests/infra/client-ca.pem",
    "client_subjects": ["CN=exotel-client,O=Exotel,C=IN"],
    "api_keys": True,
    "alarm_email": "oncall@example.com",
    "bridge_min_tasks": 3,
    "bridge_max_tasks": 12,
    "exotel_reserved_concurrency": 4,
    # Not the default: rules must match what this deployment's bridge publishes (a bug once: they did not).
    "event_source": "acme.telephony.exotel",
}


@dataclass
class Assembly:
    """One synthesized cloud assembly: its folder, templates by stack name, and the validation report."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any] | None
    stack_names: list[str]

    @classmethod
    def load(cls, outdir: Path) -> Assembly:
        report_path = outdir / "validation-report.json"
        report = json.loads(report_path.read_text()) if report_path.is_file() else None
        manifest_path = outdir / "manifest.json"
        if not manifest_path.is_file():  # synthesis failed before writing the assembly
            return cls(outdir=outdir, templates={}, report=report, stack_names=[])
        manifest = json.loads(manifest_path.read_text())
        names = [
            name
            for name, artifact in manifest["artifacts"].items()
            if artifact.get("type") == "aws:cloudformation:stack"
        ]
        templates = {name: json.loads((outdir / f"{name}.template.json").read_text()) for name in names}
        return cls(outdir=outdir, templates=templates, report=report, stack_names=names)

    def resources(self, stack: str, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == type_name}


@dataclass
class FullSynth:
    assembly: Assembly
    deployment: Any  # infra.app_builder.Deployment
    error: str | None


_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".checkov-venv", "cdk.out", "__pycache__", "*.pyc", ".*_cache", ".hypothesis"
)


def _start_default_synth(checkout: Path) -> subprocess.Popen[str]:
    """``make synth`` in a fresh copy: no ``CDK_OUTDIR``, no jsii switches; the assembly goes to ``cdk.out/``."""
    shutil.copytree(REPO_ROOT, checkout, ignore=_NOT_COPIED, symlinks=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("CDK_OUTDIR", "CDK_CONTEXT_JSON", *NODE_NOTICE_SILENCERS):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="session")
def synth_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cdk")
    return {"full": base / "full", "default": base / "checkout" / "cdk.out"}


@pytest.fixture(scope="session")
def _default_process(synth_dirs: dict[str, Path]) -> subprocess.Popen[str]:
    return _start_default_synth(synth_dirs["default"].parent)


@pytest.fixture(scope="session")
def full(synth_dirs: dict[str, Path], _default_process: subprocess.Popen[str]) -> FullSynth:
    """The in-process synthesis (started after the subprocess so that both run at once)."""
    from infra.app_builder import build_app, new_app

    app = new_app(outdir=str(synth_dirs["full"]), context=FULL_CONTEXT)
    deployment = build_app(app)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:
        error = str(exc)
    return FullSynth(assembly=Assembly.load(synth_dirs["full"]), deployment=deployment, error=error)


@dataclass
class DefaultSynth:
    assembly: Assembly
    returncode: int
    output: str


@pytest.fixture(scope="session")
def default(synth_dirs: dict[str, Path], _default_process: subprocess.Popen[str], full: FullSynth) -> DefaultSynth:
    output, _ = _default_process.communicate(timeout=240)
    return DefaultSynth(
        assembly=Assembly.load(synth_dirs["default"]), returncode=_default_process.returncode, output=output
    )


@pytest.fixture(scope="session")
def both(full: FullSynth, default: DefaultSynth) -> dict[str, Assembly]:
    return {"full": full.assembly, "default": default.assembly}
