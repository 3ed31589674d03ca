#!/usr/bin/env python3
"""CDK entry point: ``python app.py`` (or ``cdk synth``) writes the cloud assembly to cdk.out/ (or $CDK_OUTDIR).

Configuration comes from cdk.json context (docs/DEPLOY.md lists every key). cdk-nag checks each
synthesis; an unacknowledged finding fails it and validation-report.json in the assembly says which.
After synthesis the assembly's warnings (e.g. an empty ``source_cidrs``) and cdk-nag's verdict are
printed as text: without the CDK CLI nothing else would show them. A context that cannot work (or that would
open the gRPC listener without authentication, ``infra.config.push_guard``) is refused before synthesis:
the reasons on stderr, exit status 2.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from infra.synth_report import DEFAULT_OUTDIR, read, silence_node_notices

silence_node_notices()  # before aws_cdk is imported: the jsii runtime reads the variables when it starts

from infra.app_builder import build_app, new_app  # noqa: E402
from infra.config import ConfigError  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def main() -> int:
    started = time.monotonic()
    outdir = Path(os.environ.get("CDK_OUTDIR") or REPO_ROOT / DEFAULT_OUTDIR)
    # cdk.json's context first; the CDK CLI's own context (CDK_CONTEXT_JSON, -c key=value) overrides it.
    app = new_app(outdir=str(outdir))
    try:
        build_app(app)
    except ConfigError as exc:  # a setting that cannot work, or a deployment that would be open by accident
        print(f"synthesis refused: {exc}", file=sys.stderr)
        return 2
    failure = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag / validation failure: the report names each finding
        failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    report = read(outdir)
    report.outdir = _shown(outdir)
    for line in report.lines(time.monotonic() - started):
        print(line)
    if failure is not None or not report.ok:
        print(f"synthesis failed{': ' + failure if failure else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
