"""checkov on the synthesized templates: a second opinion next to cdk-nag, every finding fixed or acknowledged here.

checkov (pinned in ``requirements-checkov.txt``) cannot share the project's virtual environment: it pins
an older boto3 and other packages. ``make checkov`` and the infra tests run it from its own environment,
``.checkov-venv/`` (created on first use). Findings are matched by check id and *construct path*
(``ExotelLegsFunctions/Reactors/LegState/LegStateFunction/Resource``), read from the assembly's
metadata, so that a grouping's hashed logical ID never has to be written down.

``python -m infra.checkov [cdk.out]`` prints the findings of an assembly and what is left unexplained.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "requirements-checkov.txt"
VENV = REPO_ROOT / ".checkov-venv"


@dataclass(frozen=True)
class Acknowledged:
    """A check that fails on purpose on the constructs matching ``paths`` (globs), and why."""

    paths: tuple[str, ...]
    reason: str


_FUNCTIONS = "ExotelLegsFunctions/*Function/Resource"
_FUNCTION_LOGS = ("ExotelLegsFunctions/*Logs/Resource", "ExotelLegsBridge/*/*Logs/Resource")

#: check id -> where it fails on purpose and why. A finding not listed here fails the infra tests, and so
#: does an entry that no longer matches any finding (fixed: remove it).
ACKNOWLEDGED: dict[str, tuple[Acknowledged, ...]] = {
    "CKV_AWS_27": (
        Acknowledged(
            ("ExotelLegsData/*/Resource",),
            "Every queue is encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled) and refuses plain "
            "HTTP; checkov only counts a KMS key. A customer-managed key would add a key policy for EventBridge "
            "and the functions, and cost, for no reader we do not already trust.",
        ),
    ),
    "CKV_AWS_119": (
        Acknowledged(
            ("ExotelLegsData/*/Resource",),
            "The tables are encrypted at rest with DynamoDB's AWS-owned key; they hold call state (numbers, "
            "sids, timestamps), not credentials. A customer-managed key is a per-organisation choice.",
        ),
    ),
    "CKV_AWS_149": (
        Acknowledged(
            ("ExotelLegsData/*/Resource",),
            "Secrets Manager encrypts both secrets with the account's aws/secretsmanager key; only the roles "
            "named in their grants may read them. A customer-managed key is a per-organisation choice.",
        ),
    ),
    "CKV_AWS_158": (
        Acknowledged(
            (*_FUNCTION_LOGS, "ExotelLegsBridge/Network/FlowLogs/Resource"),
            "CloudWatch Logs encrypts every log group at rest; a KMS key per log group needs a key policy for the "
            "logs service in each region, for logs that hold no secrets (the token and credentials are never logged).",
        ),
    ),
    "CKV_AWS_116": (
        Acknowledged(
            (_FUNCTIONS,),
            "Event-driven functions send a failed event to the ReactorFailures queue through an on-failure "
            "destination (EventInvokeConfig: event and error together), which checkov does not read as a DLQ; "
            "SQS-triggered ones use their queue's redrive policy; the API is invoked synchronously.",
        ),
    ),
    "CKV_AWS_115": (
        Acknowledged(
            (
                "ExotelLegsFunctions/Reactors/LegState/LegStateFunction/Resource",
                "ExotelLegsFunctions/Reactors/Redrive/RedriveFunction/Resource",
                "ExotelLegsFunctions/RestApi/Handler/ApiFunction/Resource",
            ),
            "Reserved concurrency paces only the functions that call Exotel (its per-account rate limit). The "
            "recorder and redrive must keep up with the bus, and the API is throttled by API Gateway's stage "
            "limits: a reserved cap there would turn bursts into errors.",
        ),
    ),
    "CKV_AWS_117": (
        Acknowledged(
            (_FUNCTIONS,),
            "The functions talk only to public AWS endpoints and Exotel's public API; running them in the VPC "
            "would need NAT (or endpoints) for every call and adds cold-start time, for no private resource.",
        ),
    ),
    "CKV_AWS_173": (
        Acknowledged(
            (_FUNCTIONS,),
            "The environment holds names and URLs only (tables, queues, the secret's name, the bridge endpoint); "
            "credentials are read from Secrets Manager at run time, so there is nothing to encrypt with a CMK.",
        ),
    ),
    "CKV_AWS_18": (
        Acknowledged(
            ("ExotelLegsBridge/LoadBalancer/AccessLogs/Resource",),
            "This bucket receives the load balancer's access and connection logs; logging access to the log "
            "bucket itself would need yet another bucket (cdk-nag's S1 is acknowledged the same way).",
        ),
    ),
    "CKV_AWS_21": (
        Acknowledged(
            ("ExotelLegsBridge/LoadBalancer/AccessLogs/Resource",),
            "Log objects are written once by ELB and expire after 90 days; versioning would only keep deleted "
            "copies past that expiry.",
        ),
    ),
    "CKV_AWS_120": (
        Acknowledged(
            ("ExotelLegsFunctions/RestApi/Api/DeploymentStage.v1/Resource",),
            "The API reads live call state and creates calls: a cached GET would show a leg's state from "
            "before its latest event, and POSTs are never cached.",
        ),
    ),
}


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    stack: str
    logical_id: str
    path: str  # construct path (logical ID when the assembly does not say)

    def line(self) -> str:
        return f"{self.check_id} at {self.path}: {self.check_name}"


def checkov_executable(create: bool = True) -> Path:
    """``.checkov-venv/bin/checkov``, created from ``requirements-checkov.txt`` when missing (a minute or two)."""
    executable = VENV / "bin" / "checkov"
    if executable.is_file() or not create:
        return executable
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True, timeout=900
    )
    return executable


def construct_paths(outdir: Path, stack: str) -> dict[str, str]:
    """logical ID -> construct path, from the stack's ``*.metadata.json`` (``aws:cdk:logicalId`` entries)."""
    metadata_file = outdir / f"{stack}.metadata.json"
    if not metadata_file.is_file():
        return {}
    paths: dict[str, str] = {}
    for path, entries in json.loads(metadata_file.read_text(encoding="utf-8")).items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId":
                paths[str(entry["data"])] = path.lstrip("/")
    return paths


def scan(outdir: Path, stacks: list[str], executable: Path | None = None) -> list[Finding]:
    """Every failed check of the stacks' templates in ``outdir``."""
    command = [str(executable or checkov_executable()), "--framework", "cloudformation", "--quiet", "--compact"]
    for stack in stacks:
        command += ["-f", str(outdir / f"{stack}.template.json")]
    done = subprocess.run([*command, "-o", "json"], capture_output=True, text=True, timeout=600)
    if done.returncode not in (0, 1):  # 1: some check failed
        raise RuntimeError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}")
    reports = json.loads(done.stdout)
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            stack = Path(failed["file_path"]).name.removesuffix(".template.json")
            logical_id = str(failed["resource"]).split(".", 1)[-1]
            path = construct_paths(outdir, stack).get(logical_id, f"{stack}/{logical_id}")
            findings.append(Finding(failed["check_id"], failed["check_name"], stack, logical_id, path))
    return findings


def acknowledged(finding: Finding) -> Acknowledged | None:
    for entry in ACKNOWLEDGED.get(finding.check_id, ()):
        if any(fnmatchcase(finding.path, pattern) for pattern in entry.paths):
            return entry
    return None


def unexplained(findings: list[Finding]) -> list[Finding]:
    """Findings no entry of :data:`ACKNOWLEDGED` covers."""
    return [f for f in findings if acknowledged(f) is None]


def stale(findings: list[Finding]) -> list[tuple[str, str]]:
    """(check id, path glob) of acknowledgements that match no finding: the check passes now, drop the entry."""
    return [
        (check_id, pattern)
        for check_id, entries in ACKNOWLEDGED.items()
        for entry in entries
        for pattern in entry.paths
        if not any(f.check_id == check_id and fnmatchcase(f.path, pattern) for f in findings)
    ]


def main(argv: list[str]) -> int:
    outdir = Path(argv[0]) if argv else REPO_ROOT / "cdk.out"
    stacks = sorted(p.name.removesuffix(".template.json") for p in outdir.glob("*.template.json"))
    if not stacks:
        print(f"no templates in {outdir}: run make synth first", file=sys.stderr)
        return 2
    findings = scan(outdir, stacks)
    left = unexplained(findings)
    print(f"checkov: {len(findings)} failed check(s) in {', '.join(stacks)}; {len(findings) - len(left)} acknowledged")
    for finding in left:
        print(f"  UNEXPLAINED {finding.line()}")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
