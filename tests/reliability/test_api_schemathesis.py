"""Schemathesis against ``docs/openapi.json`` on the devstack's local API: no input gets a 5xx.

The devstack runs as a subprocess (moto server, simulator, bridge, lambda runner, the local HTTP
front of the ``api`` function), so each generated request crosses real HTTP into the handler,
and from there DynamoDB (moto) and the Legs API (simulator). Examples per operation: 25 bounded,
300 with RELIABILITY_FULL=1. Responses must also match the documented status codes.
"""

from __future__ import annotations

import http.client
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.reliability.conftest import ROOT, size

SPEC = ROOT / "docs" / "openapi.json"
schema = schemathesis.openapi.from_path(SPEC)
STATUSES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    from devstack.launcher import DevstackProcess

    env = {
        "AWS_EMULATOR_PORT": "0",
        "SIM_PORT": "0",
        "BRIDGE_PORT": "0",
        "API_PORT": "0",
        "DEVSTACK_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory(prefix="rel-devstack-") as workdir:
        stack = DevstackProcess(Path(workdir), env=env, start_timeout=120)
        info: dict[str, Any] = stack.start()
        try:
            yield info["api_url"].rstrip("/")
        finally:
            stack.stop()
            print(f"\nschemathesis statuses: {dict(STATUSES)}")


DOCUMENTED = {path: {m.upper() for m in ops} for path, ops in json.loads(SPEC.read_text())["paths"].items()}


@schema.parametrize()
@settings(max_examples=size(25, 300), deadline=None, suppress_health_check=list(HealthCheck))
def test_local_api_never_answers_5xx(case: schemathesis.Case, api_url: str) -> None:
    if case.method.upper() not in DOCUMENTED.get(case.path, set()):
        return  # methods the document does not list: test_undocumented_methods_are_refused_without_5xx
    response = case.call(base_url=api_url, timeout=30)
    STATUSES[f"{case.method} {case.path} {response.status_code}"] += 1
    assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:500])
    case.validate_response(response, checks=[status_code_conformance])


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE", "QUERY", "PROPFIND"])
def test_undocumented_methods_are_refused_without_5xx(method: str, api_url: str) -> None:
    """API Gateway answers a method no resource declares with a 4xx; so must the local front."""
    parts = urlsplit(api_url)
    for path in ("/calls", "/legs", "/legs/some-leg"):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(method, (parts.path or "") + path, headers={"Content-Length": "0"})
            status = connection.getresponse().status
        finally:
            connection.close()
        assert status < 500, f"{method} {path} answered {status} (the local API front must refuse it with a 4xx)"
