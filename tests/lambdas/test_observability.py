"""The lazy Tracer: no X-Ray SDK at import; created by the first sampled invocation; nothing when disabled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.imports import LAMBDA_ENV, handler_modules
from lambdas.shared.observability import TRACE_HEADER, LazyTracer

ROOT = Path(__file__).resolve().parents[2]
SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
NOT_SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


def test_no_handler_imports_the_xray_sdk_or_pydantic_settings_at_cold_start() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {handler_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in ('aws_xray_sdk', 'pydantic_settings') if m in sys.modules))\n"
    )
    env = {**os.environ, **LAMBDA_ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"echo": event}


def test_unsampled_invocations_run_undecorated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv(TRACE_HEADER, NOT_SAMPLED)
    tracer = LazyTracer("test")
    wrapped = tracer.capture_lambda_handler(handler)
    assert wrapped({"a": 1}, None) == {"echo": {"a": 1}}
    assert not tracer.created
    tracer.put_annotation(key="k", value="v")  # a no-op, not an error
    assert not tracer.created


def test_disabled_tracing_never_creates_the_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv(TRACE_HEADER, SAMPLED)
    tracer = LazyTracer("test")
    method = tracer.capture_method(lambda x: x + 1)
    assert method(1) == 2 and not tracer.created


def test_a_sampled_invocation_creates_powertools_tracer_and_keeps_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRACE_HEADER, SAMPLED)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")  # Powertools' own switch: dummy segments, nothing sent
    tracer = LazyTracer("test")
    wrapped = tracer.capture_lambda_handler(capture_response=False)(handler)
    traced_method = tracer.capture_method(lambda x: x * 2)
    assert wrapped({"b": 2}, None) == {"echo": {"b": 2}}
    assert traced_method(21) == 42
    assert tracer.created
    from aws_lambda_powertools import Tracer

    assert isinstance(tracer.active(), Tracer)
