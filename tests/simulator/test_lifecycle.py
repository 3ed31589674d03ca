"""Every outcome by magic number, observed by a real gRPC server on loopback, in order."""

from __future__ import annotations

import functools
import json

import jsonschema
import pytest

from legs import schemas
from legs.client import LegsClient
from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from simulator.engine import outcome_for
from tests.simulator.conftest import leg_body
from tests.support.simulator import EventRecorder, running_simulator

pytestmark = pytest.mark.component

LIFECYCLE = "leg_lifecycle_event"


def _check_common(events: list[LegEvent], sid: str, custom: str) -> None:
    assert events, "no events"
    assert all(e.leg_sid == sid for e in events)
    assert all(e.custom_param == custom for e in events), "custom_param must be echoed in every event"
    stamps = [e.event_timestamp.sort_key for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert len({e.event_sid for e in events}) == len(events)
    assert all(len(e.event_sid) == 32 for e in events)
    for event in events:  # what the bridge would put on the bus matches the published schema
        detail = json.loads(to_put_events_entry(event)["Detail"])
        jsonschema.Draft4Validator(schema_for(event.event_name)).validate(detail)


@functools.cache
def schema_for(name: str) -> dict:
    return json.loads((schemas.DEFAULT_DIR / "events" / f"{name}.json").read_text())


@pytest.mark.parametrize(
    "number,expected,status,cause,answered_by",
    [
        ("09163811234", ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"], "completed", 16, "HUMAN"),
        ("09163811002", ["leg_connecting", "leg_terminated"], "busy", 17, None),
        ("09163811003", ["leg_connecting", "leg_ringing", "leg_terminated"], "no-answer", 19, None),
        (
            "09163811004",
            ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"],
            "completed",
            16,
            "MACHINE",
        ),
        ("09163811005", ["leg_failed_to_create"], "failed", None, None),
        ("09163811006", ["leg_connecting", "leg_terminated"], "failed", 102, None),
        (
            "sip:agent1004@pbx.example.com",
            ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"],
            "completed",
            16,
            "MACHINE",
        ),
    ],
)
def test_outcomes(
    recorder: EventRecorder, number: str, expected: list[str], status: str, cause: int | None, answered_by: str | None
) -> None:
    # A short talk time and ring_timeout so every outcome ends quickly.
    with running_simulator(time_scale=0.01, talk_seconds=3) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        custom = f"outcome-{number}"
        body = leg_body(recorder, number, custom_param=custom, ring_timeout=8, setup_timeout=5)
        sid = client.create_leg(body).leg_sid
        final = expected[-1]
        events = recorder.wait_for(sid, final)
        assert [e.event_name for e in events] == expected
        _check_common(events, sid, custom)
        assert all(e.event_type == LIFECYCLE for e in events)
        state_of = {"leg_connecting": "connecting", "leg_ringing": "ringing", "leg_answered": "connected"}
        assert [e.leg.state for e in events] == [state_of.get(name, "terminal") for name in expected]
        last = events[-1]
        assert last.terminal_status == status
        assert last.hangup_cause_code == cause
        if status != "completed":
            assert last.error is not None and last.error.message
        answered = [e for e in events if e.event_name == "leg_answered"]
        if answered_by:
            assert answered[0].leg.state == "connected" and answered[0].answered_by == answered_by
        assert client.get_leg(sid).terminal_status == status


def test_states_follow_the_events(recorder: EventRecorder, sim, client: LegsClient) -> None:
    sid = client.create_leg(leg_body(recorder, custom_param="states")).leg_sid
    events = recorder.wait_for(sid, "leg_answered")
    assert [(e.event_name, e.leg.state) for e in events] == [
        ("leg_connecting", "connecting"),
        ("leg_ringing", "ringing"),
        ("leg_answered", "connected"),
    ]
    assert client.get_leg(sid).state == "connected"
    client.hangup(sid)
    last = recorder.wait_for(sid, "leg_terminated")[-1]
    assert last.terminal_status == "completed" and last.event_data.data["hangup_reason"] == "api"


def test_no_answer_respects_ring_timeout(recorder: EventRecorder) -> None:
    # ring_seconds (2) is longer than ring_timeout (1): even a human number goes unanswered.
    with running_simulator(time_scale=0.01) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        sid = client.create_leg(leg_body(recorder, ring_timeout=1, custom_param="rt")).leg_sid
        events = recorder.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_connecting", "leg_ringing", "leg_terminated"]
        assert events[-1].terminal_status == "no-answer"
        assert events[-1].event_data.data["hangup_reason"] == "ring_timeout"


def test_timeout_from_initiation_limits_ringing(recorder: EventRecorder) -> None:
    # setup takes 1 s, ringing 2 s; timeout 2 s (initiation to pick-up) expires first.
    with running_simulator(time_scale=0.01) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        sid = client.create_leg(leg_body(recorder, timeout=2, custom_param="t")).leg_sid
        events = recorder.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_connecting", "leg_ringing", "leg_terminated"]
        assert events[-1].terminal_status == "no-answer"


def test_setup_timeout(recorder: EventRecorder) -> None:
    # setup takes 1 s; setup_timeout 1 s: the leg never rings.
    with running_simulator(time_scale=0.01, setup_seconds=3) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        sid = client.create_leg(leg_body(recorder, setup_timeout=2, custom_param="st")).leg_sid
        events = recorder.wait_for(sid, "leg_terminated")
        assert [e.event_name for e in events] == ["leg_connecting", "leg_terminated"]
        assert events[-1].terminal_status == "failed"
        assert events[-1].event_data.data["hangup_reason"] == "setup_timeout"


def test_time_limit_ends_an_answered_leg(recorder: EventRecorder, client: LegsClient) -> None:
    # the module simulator talks for 400 s; time_limit 2 s ends the call first.
    sid = client.create_leg(leg_body(recorder, time_limit=2, custom_param="tl")).leg_sid
    events = recorder.wait_for(sid, "leg_terminated")
    assert [e.event_name for e in events][-2:] == ["leg_answered", "leg_terminated"]
    assert events[-1].terminal_status == "completed"
    assert events[-1].event_data.data["hangup_reason"] == "time_limit"


def test_talk_time_ends_with_callee_hangup(recorder: EventRecorder) -> None:
    with running_simulator(time_scale=0.01, talk_seconds=1) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        sid = client.create_leg(leg_body(recorder, custom_param="talk")).leg_sid
        last = recorder.wait_for(sid, "leg_terminated")[-1]
        assert last.event_data.data["hangup_reason"] == "callee_hangup"
        assert client.get_leg(sid).on_call_duration_ms > 0


@pytest.mark.parametrize("number,verdict", [("09163811004", "MACHINE"), ("09163811234", "HUMAN")])
def test_async_amd(recorder: EventRecorder, client: LegsClient, number: str, verdict: str) -> None:
    sid = client.create_leg(leg_body(recorder, number, amd_enable=True, async_amd=True, custom_param="amd")).leg_sid
    events = recorder.wait_for(sid, "amd_result_success")
    names = [e.event_name for e in events]
    assert names == ["leg_connecting", "leg_ringing", "leg_answered", "amd_result_success"]
    assert events[2].answered_by is None  # the verdict comes later
    assert events[3].event_type == "leg_action_event" and events[3].answered_by == verdict
    _check_common(events, sid, "amd")
    client.hangup(sid)
    recorder.wait_for(sid, "leg_terminated")


def test_sync_amd(recorder: EventRecorder, client: LegsClient) -> None:
    sid = client.create_leg(leg_body(recorder, "09163811004", amd_enable=True, custom_param="amd")).leg_sid
    events = recorder.wait_for(sid, "leg_answered")
    assert events[-1].answered_by == "MACHINE"
    client.hangup(sid)
    assert "amd_result_success" not in [e.event_name for e in recorder.wait_for(sid, "leg_terminated")]


def test_hangup_while_ringing(recorder: EventRecorder) -> None:
    with running_simulator(time_scale=0.01) as sim:
        client = LegsClient(
            base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="local-token"
        )
        body = leg_body(recorder, "09163811003", custom_param="hr", ring_timeout=3000, timeout=3000)
        sid = client.create_leg(body).leg_sid
        recorder.wait_for(sid, "leg_ringing")
        client.hangup(sid)
        events = recorder.wait_for(sid, "leg_terminated")
        assert events[-1].terminal_status == "no-answer" and events[-1].event_data.data["hangup_reason"] == "api"
        assert [e.event_name for e in events].count("leg_terminated") == 1


@pytest.mark.parametrize(
    "uri,outcome",
    [("09163811002", "busy"), ("+919163811005", "fail"), ("sip:u1006@h", "no-ring"), ("09163810002", "human")],
)
def test_outcome_table(uri: str, outcome: str) -> None:
    assert outcome_for(uri) == outcome
