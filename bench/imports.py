"""Cold import time of each Lambda handler module, each in a fresh interpreter.

A fresh ``python`` per sample: nothing cached in memory, bytecode of the project's own modules
not written (``PYTHONDONTWRITEBYTECODE=1``, as for a Lambda asset without ``__pycache__``).
Baselines in the same run: the bare interpreter, and ``import boto3`` (which every handler pays
too, and which the Lambda runtime ships).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess

from pydantic import BaseModel, Field

from bench.procs import REPO, python
from bench.servers import LOCAL_AWS_ENV

_PROBE = (
    "import time, sys; t = time.perf_counter(); import {module}; "
    "sys.stdout.write('IMPORT_SECONDS %.6f\\n' % (time.perf_counter() - t))"
)

#: What the Lambda runtime and the stack give every function (names from contract.env.Env).
LAMBDA_ENV = {
    **LOCAL_AWS_ENV,
    "AWS_LAMBDA_FUNCTION_NAME": "bench-import",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "POWERTOOLS_SERVICE_NAME": "exotel-legs",
    "POWERTOOLS_METRICS_NAMESPACE": "ExotelLegs",
    "LEG_STATE_TABLE": "LegState",
    "CALL_PLANS_TABLE": "CallPlans",
    "IDEMPOTENCY_TABLE": "Idempotency",
    "EXOTEL_SECRET_NAME": "exotel-legs/credentials",
    "EXOTEL_BASE_URL": "http://127.0.0.1:9",
    "BRIDGE_ENDPOINT": "grpc://127.0.0.1:50051",
    "EVENT_BUS_NAME": "exotel-legs",
    "EVENT_SOURCE": "exotel.legs",
    "RETRY_QUEUE_URL": "http://127.0.0.1:9/000000000000/retry",
    "FALLBACK_QUEUE_URL": "http://127.0.0.1:9/000000000000/fallback",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1:9/000000000000/dlq",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class ImportFigure(BaseModel):
    module: str
    median_ms: float
    min_ms: float
    samples: int
    error: str | None = None
    top: list[tuple[str, float]] = Field(default_factory=list)  # (package, self ms) from -X importtime


def handler_modules() -> list[str]:
    return sorted(
        f"lambdas.{path.parent.name}.handler" for path in (REPO / "lambdas").glob("*/handler.py") if path.is_file()
    )


def _sample(module: str, importtime: bool = False) -> tuple[float | None, str]:
    argv = [python(), *(["-X", "importtime"] if importtime else []), "-c", _PROBE.format(module=module)]
    env = {**os.environ, **LAMBDA_ENV, "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    match = re.search(r"IMPORT_SECONDS ([0-9.]+)", done.stdout)
    if done.returncode != 0 or not match:
        return None, (done.stderr.strip().splitlines() or ["exit " + str(done.returncode)])[-1]
    return float(match.group(1)) * 1000, done.stderr


def _top_packages(importtime_log: str, limit: int = 6) -> list[tuple[str, float]]:
    """Self import time summed per top-level package (where the time really goes)."""
    totals: dict[str, float] = {}
    for line in importtime_log.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if not match:
            continue
        package = match.group(2).split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:limit]


def measure_module(module: str, samples: int, breakdown: bool) -> ImportFigure:
    times: list[float] = []
    error = None
    for _ in range(samples):
        value, detail = _sample(module)
        if value is None:
            error = detail
            break
        times.append(value)
    if not times:
        return ImportFigure(module=module, median_ms=float("nan"), min_ms=float("nan"), samples=0, error=error)
    figure = ImportFigure(module=module, median_ms=statistics.median(times), min_ms=min(times), samples=len(times))
    if breakdown:
        _, log = _sample(module, importtime=True)
        figure.top = [(name, round(ms, 1)) for name, ms in _top_packages(log)]
    return figure


def run_imports(quick: bool) -> list[ImportFigure]:
    samples = 3 if quick else 5
    figures = [
        measure_module("boto3", samples, False),
        measure_module("aws_lambda_powertools.tracing.tracer", samples, False),
    ]
    for module in handler_modules():
        figures.append(measure_module(module, samples, breakdown=True))
    return figures


def measure_subprocess(
    argv: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[float, int, str]:
    """Wall time of one command (seconds), its exit status and the tail of its output."""
    import time

    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    elapsed = time.perf_counter() - started
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
    return elapsed, done.returncode, tail
