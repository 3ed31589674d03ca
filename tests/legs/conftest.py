"""Fixtures for tests of the shared legs package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from legs.client import LegsClient
from simulator.server import Simulator
from tests.support.simulator import LOCAL_CREDENTIALS, EventRecorder, running_simulator


@pytest.fixture
def valid_leg() -> dict:
    """The seed's own example request."""
    return {
        "contact_uri": "09163816621",
        "exophone": "08030752400",
        "leg_event_endpoint": "grpc://127.0.0.1:9001",
        "network_type": "pstn",
        "timeout": 200,
        "time_limit": 200,
    }


@pytest.fixture(scope="module")
def recorder() -> Iterator[EventRecorder]:
    with EventRecorder() as rec:
        yield rec


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(time_scale=0.01, talk_seconds=300) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[LegsClient]:
    sim.clear_faults()
    c = LegsClient(base_url=sim.base_url, backoff_base=0.01, max_backoff=2.0, **LOCAL_CREDENTIALS)
    yield c
    c.close()
