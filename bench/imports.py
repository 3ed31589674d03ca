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
    return measure_modules([module], samples, {module} if breakdown else set())[0]


def measure_modules(modules: list[str], samples: int, breakdown: set[str]) -> list[ImportFigure]:
    """``samples`` fresh-interpreter imports of each module, interleaved round by round (drift in the
    machine's load hits every module alike); min and median per module."""
    times: dict[str, list[float]] = {module: [] for module in modules}
    errors: dict[str, str] = {}
    for _ in range(samples):
        for module in modules:
            if module in errors:
                continue
            value, detail = _sample(module)
            if value is None:
                errors[module] = detail
            else:
                times[module].append(value)
    figures = []
    for module in modules:
        values = times[module]
        if not values:
            nan = float("nan")
            figures.append(ImportFigure(module=module, median_ms=nan, min_ms=nan, samples=0, error=errors.get(module)))
            continue
        figure = ImportFigure(
            module=module, median_ms=statistics.median(values), min_ms=min(values), samples=len(values)
        )
        if module in breakdown:
            _, log = _sample(module, importtime=True)
            figure.top = [(name, round(ms, 1)) for name, ms in _top_packages(log)]
        figures.append(figure)
    return figures


#: What the first sampled invocation of a function loads (``lambdas.shared.observability.LazyTracer``).
XRAY_SDK = "aws_xray_sdk.core"


def run_imports(quick: bool) -> list[ImportFigure]:
    samples = 3 if quick else 5
    handlers = handler_modules()
    return measure_modules(
        ["boto3", "aws_lambda_powertools.tracing.tracer", XRAY_SDK, *handlers], samples, breakdown=set(handlers)
    )


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
