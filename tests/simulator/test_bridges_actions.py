"""Bridges and actions: the events each produces, in order, on the right endpoints."""

from __future__ import annotations

import pytest

from legs.client import LegsApiError, LegsClient
from legs.examples import bus_detail
from tests.simulator.conftest import Raw, leg_body
from tests.support.simulator import LOCAL_CREDENTIALS, EventRecorder, running_simulator

pytestmark = pytest.mark.component


def _connected(client: LegsClient, recorder: EventRecorder, number: str, custom: str) -> str:
    sid = client.create_leg(leg_body(recorder, number, custom_param=custom)).leg_sid
    recorder.wait_for(sid, "leg_answered")
    return sid


def _after(recorder: EventRecorder, sid: str, marker: str) -> list[str]:
    names = recorder.names(sid)
    return names[names.index(marker) + 1 :]


def test_bridge_life_cycle_and_stop(client: LegsClient, recorder: EventRecorder) -> None:
    a = _connected(client, recorder, "09163812001", "A")
    b = _connected(client, recorder, "09163812002", "B")
    bridge = client.create_bridge({"leg_sids": [a, b], "bridge_event_endpoint": recorder.endpoint})
    assert bridge.leg_sids == [a, b] and len(bridge.bridge_sid) == 32
    recorder.wait_for(a, "leg_joined_bridge")
    recorder.wait_for(b, "leg_joined_bridge")
    joined = next(e for e in recorder.for_sid(a) if e.event_name == "leg_joined_bridge")
    assert joined.bridge_sid == bridge.bridge_sid and joined.custom_param == "A"
    assert client.stop_bridge(bridge.bridge_sid).bridge_sid == bridge.bridge_sid
    bridge_events = recorder.wait_for(bridge.bridge_sid, "bridge_terminated")
    assert [e.event_name for e in bridge_events] == ["bridge_created", "bridge_terminated"]
    assert all(e.event_type == "bridge_lifecycle_event" for e in bridge_events)
    assert bridge_events[0].bridge_resource.leg_sids == [a, b]
    assert bridge_events[0].bridge_resource.state == "active"
    assert bridge_events[-1].bridge_resource.state == "terminal"
    recorder.wait_for(a, "leg_left_bridge")
    recorder.wait_for(b, "leg_left_bridge")
    assert client.get_bridge(bridge.bridge_sid).state == "terminal"
    # stopping a bridge disconnects the legs from it; it does not hang them up
    assert client.get_leg(a).state == "connected" and client.get_leg(b).state == "connected"
    with pytest.raises(LegsApiError) as info:
        client.stop_bridge(bridge.bridge_sid)
    assert info.value.http_code == 409
    client.hangup(a)
    client.hangup(b)


def test_a_leg_ending_ends_the_bridge(client: LegsClient, recorder: EventRecorder) -> None:
    a = _connected(client, recorder, "09163812011", "A")
    b = _connected(client, recorder, "09163812012", "B")
    bridge = client.create_bridge({"leg_sids": [a, b], "bridge_event_endpoint": recorder.endpoint})
    recorder.wait_for(b, "leg_joined_bridge")
    client.hangup(a)
    recorder.wait_for(bridge.bridge_sid, "bridge_terminated")
    recorder.wait_for(a, "leg_terminated")
    assert _after(recorder, a, "leg_joined_bridge") == ["leg_left_bridge", "leg_terminated"]
    assert recorder.wait_for(b, "leg_left_bridge")[-1].event_name == "leg_left_bridge"
    assert client.get_leg(b).state == "connected"
    client.hangup(b)


def test_bridge_rules(client: LegsClient, recorder: EventRecorder, raw: Raw) -> None:
    a = _connected(client, recorder, "09163812021", "A")
    ringing = client.create_leg(
        leg_body(recorder, "09163811003", custom_param="R", ring_timeout=3000, timeout=3000)
    ).leg_sid
    recorder.wait_for(ringing, "leg_ringing")
    endpoint = recorder.endpoint
    cases = [
        ({"leg_sids": [a, ringing]}, 409, "only connected legs can be bridged"),
        ({"leg_sids": [a, "nope"]}, 400, "no leg with sid"),
        ({"leg_sids": [a, a]}, 400, "must not repeat"),
        ({"leg_sids": [a]}, 400, "at least two legs"),
        ({"leg_sids": [a, ringing], "max_participants": 1}, 400, "max_participants"),
    ]
    for body, status, reason in cases:
        with pytest.raises(LegsApiError) as info:
            client.create_bridge({**body, "bridge_event_endpoint": endpoint})
        assert info.value.http_code == status, body
        assert reason in info.value.error_data.description, body
    # what the client refuses to send, the simulator refuses too (Exotel requires bridge_event_endpoint)
    for body, reason in [
        ({"leg_sids": [], "bridge_event_endpoint": endpoint}, "leg_sids"),
        ({"leg_sids": [a, ringing], "bridge_event_endpoint": "http://x"}, "grpc://host"),
        ({"leg_sids": [a, ringing]}, "bridge_event_endpoint"),
    ]:
        with pytest.raises(ValueError, match=reason):
            client.create_bridge(body)
        status, env, _ = raw("POST", "/bridges", body)
        assert status == 400 and reason in env["response"]["error_data"]["description"], body
    b = _connected(client, recorder, "09163812022", "B")
    c = _connected(client, recorder, "09163812023", "C")
    client.create_bridge({"leg_sids": [a, b], "bridge_event_endpoint": endpoint})
    with pytest.raises(LegsApiError) as info:
        client.create_bridge({"leg_sids": [b, c], "bridge_event_endpoint": endpoint})
    assert info.value.http_code == 409 and "already in bridge" in info.value.error_data.description
    for sid in (a, b, c, ringing):
        client.hangup(sid)


def test_exoml_flow_events(client: LegsClient, recorder: EventRecorder) -> None:
    sid = _connected(client, recorder, "09163812031", "flow")
    flow = "<Flow><Say>hello</Say><StartPlay loop='2'>https://example.com/hold.wav</StartPlay></Flow>"
    action = client.leg_action(sid, flow, action_custom_param="acp-1")
    events = recorder.wait_for(sid, "play_completed")
    tail = [e for e in events if e.action_sid == action.action_sid]
    assert [e.event_name for e in tail] == ["say_started", "say_completed", "play_started", "play_completed"]
    assert all(e.event_type == "leg_action_event" for e in tail)
    assert all(e.action_custom_parameter == "acp-1" and e.custom_param == "flow" for e in tail)
    assert tail[2].event_data.data == {"url": "https://example.com/hold.wav", "loop": 2}
    # StartPlay then StopPlay: interrupted, attributed to the action that started it
    started = client.leg_action(sid, "<Flow><StartPlay>https://x/music.wav</StartPlay></Flow>", "music")
    recorder.wait_for(sid, "play_started")
    client.leg_shortcut(sid, "stop_play")
    events = recorder.wait_for(sid, "play_interrupted")
    interrupted = events[-1]
    assert interrupted.action_sid == started.action_sid and interrupted.action_custom_parameter == "music"
    hang = client.leg_action(sid, "<Flow><Say>bye</Say><Hangup/></Flow>", "bye")
    events = recorder.wait_for(sid, "leg_terminated")
    assert [e.event_name for e in events][-3:] == ["say_started", "say_completed", "leg_terminated"]
    assert events[-2].action_sid == hang.action_sid
    with pytest.raises(LegsApiError) as info:
        client.hangup(sid)
    assert info.value.http_code == 409


def test_json_shortcuts(client: LegsClient, recorder: EventRecorder) -> None:
    sid = _connected(client, recorder, "09163812041", "sc")
    client.leg_shortcut(sid, "start_stream", {"url": "wss://x/stream", "direction": "unidirectional"})
    client.leg_shortcut(sid, "stop_stream")
    client.leg_shortcut(sid, "start_recording")
    client.leg_shortcut(sid, "start_play", {"url": "https://x/a.wav", "action_custom_param": "sp"})
    client.leg_shortcut(sid, "stop_say")  # nothing to stop: no event
    client.leg_shortcut(sid, "stop_play")
    names = [e.event_name for e in recorder.wait_for(sid, "play_interrupted")]
    marker = names.index("leg_answered")
    assert names[marker + 1 :] == [
        "stream_started",
        "stream_stopped",
        "recording_started",
        "play_started",
        "play_interrupted",
    ]
    client.hangup(sid)


def test_media_on_a_ringing_leg_fails_to_start(client: LegsClient, recorder: EventRecorder) -> None:
    sid = client.create_leg(
        leg_body(recorder, "09163811003", custom_param="r", ring_timeout=3000, timeout=3000)
    ).leg_sid
    recorder.wait_for(sid, "leg_ringing")
    action = client.say(sid, "too early")
    failed = recorder.wait_for(sid, "play_failed_to_start")[-1]
    assert failed.action_sid == action.action_sid and failed.error.message == "StartSay needs a connected leg"
    client.hangup(sid)


def test_bridge_action_plays_on_every_leg(client: LegsClient, recorder: EventRecorder) -> None:
    a = _connected(client, recorder, "09163812051", "A")
    b = _connected(client, recorder, "09163812052", "B")
    bridge = client.create_bridge({"leg_sids": [a, b], "bridge_event_endpoint": recorder.endpoint})
    recorder.wait_for(b, "leg_joined_bridge")
    action = client.bridge_action(bridge.bridge_sid, "<Flow><Say>to you both</Say></Flow>", "both")
    for sid in (a, b):
        done = [e for e in recorder.wait_for(sid, "say_completed") if e.action_sid == action.action_sid]
        assert [e.event_name for e in done] == ["say_started", "say_completed"]
    with pytest.raises(LegsApiError) as info:
        client.bridge_action(bridge.bridge_sid, "<Flow><Nope/></Flow>")
    assert info.value.http_code == 400
    client.hangup(a)
    client.hangup(b)


def test_the_schema_examples_carry_every_field_the_simulator_sends(client: LegsClient, recorder: EventRecorder) -> None:
    """``legs.examples`` (the JSON Schemas' ``examples``) against what the simulator really pushed in this module:
    every field of a real event of a name is in that name's example, at the top, in ``data`` and in ``event_data``.
    """
    if not recorder.events:  # this test alone: make some events of its own
        sid = _connected(client, recorder, "09163812051", "examples")
        client.hangup(sid)
        recorder.wait_for(sid, "leg_terminated")
    checked: set[str] = set()
    for event in list(recorder.events):
        real, example = event.to_detail(), bus_detail(event.event_name)
        assert set(real) <= set(example), (event.event_name, set(real) - set(example))
        for part in ("data", "event_data"):
            extra = set(real.get(part) or {}) - set(example.get(part) or {})
            assert not extra, (event.event_name, part, extra)
            inner = (real.get(part) or {}).get("data")
            if isinstance(inner, dict):
                assert set(inner) <= set(example[part]["data"]), (event.event_name, part, inner)
        checked.add(event.event_name)
    assert {"leg_connecting", "leg_answered", "leg_terminated"} <= checked, checked


def test_start_say_plays_in_the_background_and_loop_zero_repeats_until_stopped(
    client: LegsClient, recorder: EventRecorder
) -> None:
    # developer.exotel.com exoml/actions: <StartSay> is Exotel's text-to-speech verb; it does not hold the
    # flow, so the <Hangup/> after it runs at once and cuts it short.
    sid = _connected(client, recorder, "09163812061", "ss")
    cut = client.leg_action(sid, "<Flow><StartSay>goodbye</StartSay><Hangup/></Flow>", "cut")
    events = recorder.wait_for(sid, "leg_terminated")
    tail = [e.event_name for e in events if e.action_sid == cut.action_sid or e.event_name == "leg_terminated"]
    assert tail == ["say_started", "leg_terminated"]  # never completed: ending on say_completed is the caller's job

    sid = _connected(client, recorder, "09163812062", "loop0")
    forever = client.leg_action(sid, '<Flow><StartPlay loop="0">https://x/hold.wav</StartPlay></Flow>', "hold")
    default = client.leg_action(sid, "<Flow><StartSay>short</StartSay></Flow>", "once")
    done = recorder.wait_for(sid, "say_completed")
    names = [(e.event_name, e.action_custom_parameter) for e in done if e.event_type == "leg_action_event"]
    # the looping play is interrupted by the say (one media at a time); the say (loop 1) completes by itself
    assert names == [
        ("play_started", "hold"),
        ("play_interrupted", "hold"),
        ("say_started", "once"),
        ("say_completed", "once"),
    ]
    assert forever.action_sid != default.action_sid
    client.hangup(sid)


def test_say_blocking_is_a_setting() -> None:
    with EventRecorder() as rec, running_simulator(time_scale=0.01, talk_seconds=400, say_blocks=False) as sim:
        client = LegsClient(base_url=sim.base_url, max_retries=0, **LOCAL_CREDENTIALS)
        sid = client.create_leg(leg_body(rec, "09163812071")).leg_sid
        rec.wait_for(sid, "leg_answered")
        client.leg_action(sid, "<Flow><Say>bye</Say><Hangup/></Flow>")
        names = [e.event_name for e in rec.wait_for(sid, "leg_terminated")]
        assert names[-2:] == ["say_started", "leg_terminated"]  # <Say> no longer holds the <Hangup/>
