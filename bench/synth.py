"""CDK synthesis time: ``python app.py`` into a temporary ``CDK_OUTDIR`` (cdk-nag checks included).

Baseline in the same run: ``import aws_cdk, cdk_nag`` alone (starting the jsii runtime and
loading the library is a fixed cost of every synthesis).
"""

from __future__ import annotations

import tempfile

from pydantic import BaseModel

from bench.imports import measure_subprocess
from bench.procs import REPO, python
from infra.synth_report import NODE_NOTICE_SILENCERS

SYNTH_ENV = dict(NODE_NOTICE_SILENCERS)


class SynthFigure(BaseModel):
    label: str
    seconds: float
    exit_code: int
    tail: str = ""


def run_synth(quick: bool) -> list[SynthFigure]:
    figures: list[SynthFigure] = []
    seconds, code, tail = measure_subprocess(
        [python(), "-c", "import aws_cdk, cdk_nag; aws_cdk.App()"], env=SYNTH_ENV, timeout=300
    )
    figures.append(SynthFigure(label="baseline: import aws_cdk, cdk_nag; App()", seconds=seconds, exit_code=code))
    if not (REPO / "app.py").is_file():
        figures.append(SynthFigure(label="python app.py", seconds=float("nan"), exit_code=-1, tail="app.py not found"))
        return figures
    for attempt in range(1 if quick else 2):
        with tempfile.TemporaryDirectory(prefix="bench-cdk-") as outdir:
            seconds, code, tail = measure_subprocess(
                [python(), "app.py"], env={**SYNTH_ENV, "CDK_OUTDIR": outdir}, timeout=600
            )
        label = "python app.py" + (" (again: caches warm)" if attempt else " (first run)")
        figures.append(SynthFigure(label=label, seconds=seconds, exit_code=code, tail="" if code == 0 else tail))
    return figures
