"""Fault injection (``/_sim/faults``): before the effect or after it, by method and path; and ``GET /_sim/legs``."""

from __future__ import annotations

import pytest

from legs.client import LegsApiError, LegsClient
from simulator.server import Simulator
from tests.simulator.conftest import Raw, leg_body
from tests.support.simulator import EventRecorder


def legs(raw: Raw) -> list[dict[str, object]]:
    status, envelope, _ = raw("GET", "/_sim/legs")
    assert status == 200
    listed = envelope["response"]["data"]
    assert isinstance(listed, list)
    return listed


def test_a_fault_after_the_effect_creates_the_leg_and_loses_the_reply(
    client: LegsClient, raw: Raw, recorder: EventRecorder
) -> None:
    before = {leg["leg_sid"] for leg in legs(raw)}
    status, _, _ = raw("POST", "/_sim/faults", {"status": 502, "when": "after", "path": "/legs", "method": "POST"})
    assert status == 200
    with pytest.raises(LegsApiError) as caught:
        client.create_leg(leg_body(recorder, custom_param="after-fault"))
    assert caught.value.http_code == 502  # the caller cannot tell whether the leg exists ...
    [created] = [leg for leg in legs(raw) if leg["leg_sid"] not in before]
    assert created["custom_param"] == "after-fault"  # ... but it does, and its events flow
    assert set(created) >= {"leg_sid", "contact_uri", "state", "bridge_sid", "custom_param"}
    events = recorder.wait_for(str(created["leg_sid"]), "leg_ringing")
    assert events[0].custom_param == "after-fault"


def test_a_fault_before_the_effect_creates_nothing(client: LegsClient, raw: Raw, recorder: EventRecorder) -> None:
    before = len(legs(raw))
    raw("POST", "/_sim/faults", {"status": 503, "path": "/legs"})
    with pytest.raises(LegsApiError) as caught:
        client.create_leg(leg_body(recorder))
    assert caught.value.http_code == 503 and len(legs(raw)) == before


def test_a_stalled_reply_after_the_effect_times_the_client_out(
    sim: Simulator, raw: Raw, recorder: EventRecorder
) -> None:
    from tests.support.simulator import LOCAL_CREDENTIALS

    impatient = LegsClient(base_url=sim.base_url, max_retries=0, timeout=0.3, **LOCAL_CREDENTIALS)
    before = len(legs(raw))
    raw("POST", "/_sim/faults", {"status": None, "delay": 1.0, "when": "after", "path": "/legs"})
    with pytest.raises(LegsApiError) as caught:
        impatient.create_leg(leg_body(recorder))
    assert caught.value.http_code == 0  # no reply at all
    assert len(legs(raw)) == before + 1
    impatient.close()


def test_the_path_decides_which_request_a_fault_hits(client: LegsClient, raw: Raw, recorder: EventRecorder) -> None:
    sid = client.create_leg(leg_body(recorder)).leg_sid
    recorder.wait_for(sid, "leg_answered")
    raw("POST", "/_sim/faults", {"status": 500, "when": "after", "path": f"/legs/{sid}/actions"})
    client.get_leg(sid)  # another path: untouched, and the fault is still armed
    with pytest.raises(LegsApiError) as caught:
        client.hangup(sid)
    assert caught.value.http_code == 500
    assert recorder.wait_for(sid, "leg_terminated")[-1].event_name == "leg_terminated"  # the hangup was done
    [listed] = [leg for leg in legs(raw) if leg["leg_sid"] == sid]
    assert listed["state"] == "terminal"


def test_the_person_on_a_leg_hangs_up(client: LegsClient, raw: Raw, recorder: EventRecorder) -> None:
    sid = client.create_leg(leg_body(recorder)).leg_sid
    recorder.wait_for(sid, "leg_answered")
    status, envelope, _ = raw("POST", f"/_sim/legs/{sid}/hangup")
    assert status == 200 and envelope["response"]["data"]["state"] == "terminal"
    ended = recorder.wait_for(sid, "leg_terminated")[-1]
    assert ended.terminal_status == "completed" and ended.event_data.data["hangup_reason"] == "callee_hangup"
    status, _, _ = raw("POST", "/_sim/legs/NoSuchLeg/hangup")
    assert status == 404


def test_fault_requests_are_validated(raw: Raw) -> None:
    for bad in ({"when": "during"}, {"path": "legs"}, {"status": 200}):
        status, envelope, _ = raw("POST", "/_sim/faults", bad)
        assert status == 400, bad
        assert envelope["response"]["error_data"]["invalid_params"], bad
