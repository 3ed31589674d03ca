"""Fixtures for simulator tests: a fast simulator, a real gRPC recorder, raw HTTP for malformed input."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from legs.client import LegsClient
from simulator.server import Simulator
from tests.support.simulator import LOCAL_CREDENTIALS, EventRecorder, running_simulator

AUTH = "Basic " + base64.b64encode(b"local-key:local-token").decode()
PREFIX = "/v2/accounts/local-account"


@pytest.fixture(scope="module")
def recorder() -> Iterator[EventRecorder]:
    with EventRecorder() as rec:
        yield rec


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    # talk_seconds long enough that legs stay connected until a test hangs them up, and
    # play_seconds long enough (1 s real) that a test can stop a play before it completes
    with running_simulator(time_scale=0.01, talk_seconds=400, play_seconds=100) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[LegsClient]:
    sim.clear_faults()
    c = LegsClient(base_url=sim.base_url, max_retries=0, **LOCAL_CREDENTIALS)
    yield c
    c.close()


Raw = Callable[..., tuple[int, dict[str, Any], dict[str, str]]]


@pytest.fixture
def raw(sim: Simulator) -> Raw:
    """Send exactly these bytes; returns (status, parsed envelope, headers)."""

    def send(
        method: str, path: str, body: bytes | str | dict | None = None, *, auth: str | None = AUTH, headers=None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        data = data.encode() if isinstance(data, str) else data
        sent = {"Content-Type": "application/json", **(headers or {})}
        if auth:
            sent["Authorization"] = auth
        conn.request(method, path if path.startswith("/_sim") else PREFIX + path, body=data, headers=sent)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, json.loads(payload), dict(resp.getheaders())

    return send


def leg_body(recorder: EventRecorder, number: str = "09163810001", **extra: Any) -> dict[str, Any]:
    return {"contact_uri": number, "exophone": "08030752400", "leg_event_endpoint": recorder.endpoint, **extra}
