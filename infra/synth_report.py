"""What ``make synth`` tells a person after synthesis: the assembly's own warnings and cdk-nag's verdict, as text.

CDK keeps construct annotations (``Annotations.of(x).add_warning_v2(...)``) in the stacks'
``*.metadata.json`` files and cdk-nag's findings in ``validation-report.json``; the CDK CLI prints
them, ``python app.py`` alone does not. This module reads the cloud assembly folder (plain JSON,
no CDK import, so it also works after a failed synthesis) and turns both into readable lines.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: jsii (CDK's Node bridge) prints a boxed notice when Node is past end-of-life; the Python side shows
#: it as byte-string reprs (``b'!! … !!\n'``). The project's documented Node is 20: silence its notice
#: (the variable lists the silenced major versions) and the older "deprecated" one.
NODE_NOTICE_SILENCERS = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}

#: Where ``python app.py`` writes when neither the CDK CLI nor the caller chose (``CDK_OUTDIR``).
DEFAULT_OUTDIR = "cdk.out"
_LEVELS = {"aws:cdk:error": "error", "aws:cdk:warning": "warning", "aws:cdk:info": "info"}
_ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
_NAG_PREFIX = "AwsSolutions-"


def silence_node_notices(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Before ``aws_cdk`` is imported (the jsii runtime reads them when it starts); a caller's own value wins."""
    for name, value in NODE_NOTICE_SILENCERS.items():
        environ.setdefault(name, value)


@dataclass(frozen=True)
class Message:
    level: str  # error | warning | info
    path: str  # construct path, e.g. ExotelLegsBridge/LoadBalancerSg
    text: str

    def line(self) -> str:
        return f"  {self.level.upper():<7} {self.path}: {self.text}"


@dataclass
class Violation:
    plugin: str
    rule: str
    description: str
    paths: list[str] = field(default_factory=list)


@dataclass
class SynthReport:
    """Everything worth saying about one cloud assembly folder."""

    outdir: Path
    stacks: list[str]
    messages: list[Message]
    acknowledged: int  # cdk-nag findings acknowledged with a reason
    violations: list[Violation]
    validated: bool  # validation-report.json exists: the validation plugins (cdk-nag) ran

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.level == "error"]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.level == "warning"]

    @property
    def ok(self) -> bool:
        return bool(self.stacks) and not self.errors and not self.violations

    def lines(self, seconds: float | None = None) -> list[str]:
        took = f" in {seconds:.0f} s" if seconds is not None else ""
        out: list[str] = []
        if self.stacks:
            out.append(f"Synthesized {len(self.stacks)} stacks into {self.outdir}/{took}: {', '.join(self.stacks)}")
        else:
            out.append(f"No stack was written to {self.outdir}/{took}")
        for level in ("error", "warning", "info"):
            found = [m for m in self.messages if m.level == level]
            if found:
                out.append(f"{level}s ({len(found)}):" if len(found) > 1 else f"{level} (1):")
                out.extend(m.line() for m in found)
        if not self.validated:
            out.append("cdk-nag: no validation-report.json: the checks did not run")
        elif self.violations:
            count = sum(len(v.paths) or 1 for v in self.violations)
            out.append(f"cdk-nag: {count} unacknowledged finding(s) (details: {self.outdir}/validation-report.json):")
            for violation in self.violations:
                for path in violation.paths or ["?"]:
                    out.append(f"  {violation.rule} at {path}: {violation.description}")
        else:
            out.append(
                f"cdk-nag (AwsSolutions): passed, no unacknowledged finding; "
                f"{self.acknowledged} acknowledged with a written reason (infra/nag.py)"
            )
        return out


def read(outdir: Path) -> SynthReport:
    """Read ``manifest.json``, each stack's metadata file and ``validation-report.json`` (each may be missing)."""
    manifest = _json(outdir / "manifest.json") or {}
    stacks: list[str] = []
    messages: list[Message] = []
    acknowledged = 0
    for name, artifact in (manifest.get("artifacts") or {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        stacks.append(name)
        metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata") or {})
        extra = artifact.get("additionalMetadataFile")
        if extra:
            for path, entries in (_json(outdir / extra) or {}).items():
                metadata.setdefault(path, []).extend(entries)
        for path, entries in metadata.items():
            for entry in entries:
                kind = entry.get("type")
                if kind in _LEVELS:
                    messages.append(Message(_LEVELS[kind], path.lstrip("/"), str(entry.get("data", "")).strip()))
                elif kind == _ACKNOWLEDGED and isinstance(entry.get("data"), dict):
                    acknowledged += sum(1 for rule in entry["data"] if _NAG_PREFIX in rule)
    report_path = outdir / "validation-report.json"
    report = _json(report_path) or {}
    violations = [
        Violation(
            plugin=str(plugin.get("pluginName", "")),
            rule=str(item.get("ruleName", "")),
            description=" ".join(str(item.get("description", "")).split()),
            paths=[str(c.get("constructPath", "")) for c in item.get("violatingConstructs", [])],
        )
        for plugin in report.get("pluginReports", [])
        for item in plugin.get("violations", [])
    ]
    order = {"error": 0, "warning": 1, "info": 2}
    messages.sort(key=lambda m: (order[m.level], m.path))
    return SynthReport(
        outdir=outdir,
        stacks=stacks,
        messages=messages,
        acknowledged=acknowledged,
        violations=violations,
        validated=report_path.is_file(),
    )


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
