"""Schemathesis against the api handler (through a WSGI shim): no input makes it answer 5xx or break its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.lambdas.kit import FakeLegs
from tests.lambdas.wsgi import api_wsgi_app

schema = schemathesis.openapi.from_wsgi("/openapi.json", api_wsgi_app)


@pytest.fixture(autouse=True)
def _fake(fake_legs: FakeLegs) -> FakeLegs:
    return fake_legs


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
    case.validate_response(response, checks=[status_code_conformance])
