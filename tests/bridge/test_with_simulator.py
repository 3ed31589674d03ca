"""The Exotel simulator pushes a whole call's events to the bridge (with the shared token); all land on the bus."""

from __future__ import annotations

import time

import pytest

from legs.client import LegsClient
from tests.bridge.conftest import AwsStack, bridge_env
from tests.support.simulator import LOCAL_CREDENTIALS, running_simulator

pytestmark = pytest.mark.component


def test_simulated_call_events_all_arrive_on_the_bus(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_AUTH_TOKEN="sim-token"))
    with (
        running_simulator(time_scale=0.01, talk_seconds=2, push_auth_token="sim-token") as sim,
        stack.drain(stack.subscriber_url) as subscriber,
    ):
        client = LegsClient(base_url=sim.base_url, **LOCAL_CREDENTIALS)
        try:
            created = client.create_leg(
                {
                    "contact_uri": "09163816621",
                    "exophone": "08030752400",
                    "leg_event_endpoint": f"grpc://{bridge.target}",
                    "custom_param": "bridge-test",
                }
            )
        finally:
            client.close()
        leg_sid = created.leg_sid
        deadline = time.monotonic() + 30
        mine: list[dict] = []
        while time.monotonic() < deadline:
            mine = [b for b in subscriber.bodies if (b["detail"].get("data") or {}).get("leg_sid") == leg_sid]
            if any(b["detail-type"] == "leg_terminated" for b in mine):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # a late duplicate would show up now
        mine = [b for b in subscriber.bodies if (b["detail"].get("data") or {}).get("leg_sid") == leg_sid]

    names = [b["detail-type"] for b in sorted(mine, key=lambda b: b["detail"]["event_timestamp"])]
    assert names == ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
    assert len({b["detail"]["event_sid"] for b in mine}) == len(mine)  # each event once
    assert all(b["source"] == "exotel.legs" and b["detail"]["data"]["custom_param"] == "bridge-test" for b in mine)
    terminated = next(b for b in mine if b["detail-type"] == "leg_terminated")
    assert terminated["detail"]["data"]["terminal_status"] == "completed"
    assert bridge.terminate() == 0
