#!/usr/bin/env python3
"""CDK entry point: ``python app.py`` (or ``cdk synth``) writes the cloud assembly to cdk.out/ (or $CDK_OUTDIR).

Configuration comes from cdk.json context (docs/DEPLOY.md lists every key). cdk-nag checks each
synthesis; an unacknowledged finding fails it and validation-report.json in the assembly says which.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from infra.app_builder import build_app, new_app


def main() -> int:
    # cdk.json's context first; the CDK CLI's own context (CDK_CONTEXT_JSON, -c key=value) overrides it.
    app = new_app()
    build_app(app)
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag / validation failure: the report names each finding
        print(f"synthesis failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
