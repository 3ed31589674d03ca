"""Fixtures for the lambdas' tests: one moto server (over HTTP) per session, env pointing at it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from lambdas.dal import aws
from tests.lambdas.kit import FakeLegs, Resources, provision
from tests.support.moto_server import MotoServer
from tests.support.simulator import LOCAL_CREDENTIALS


@pytest.fixture(scope="session")
def resources() -> Iterator[Resources]:
    with MotoServer() as moto:
        yield provision(moto.url, LOCAL_CREDENTIALS)


@pytest.fixture(autouse=True)
def lambda_env(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> Resources:
    for name, value in resources.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    aws.reset()
    return resources


@pytest.fixture
def fake_legs() -> Iterator[FakeLegs]:
    from lambdas.dal.exotel import use_client

    fake = FakeLegs()
    with use_client(fake):
        yield fake


@pytest.fixture
def sqs(resources: Resources):  # type: ignore[no-untyped-def]
    return resources.client("sqs")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def api_logs() -> Iterator[list[str]]:
    """The api function's log lines, formatted as Powertools writes them (JSON with the correlation id).

    Powertools' handler writes to the stdout it found at import, which pytest may have swapped since: this
    reads the records from the ``api`` logger itself.
    """
    lines: list[str] = []
    target = logging.getLogger("api")

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            formatters = [h.formatter for h in target.handlers if h is not self and h.formatter is not None]
            lines.append(formatters[0].format(record) if formatters else record.getMessage())

    keep = Keep(level=logging.DEBUG)
    target.addHandler(keep)
    try:
        yield lines
    finally:
        target.removeHandler(keep)
