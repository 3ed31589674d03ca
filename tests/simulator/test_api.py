"""The REST surface: Exotel's envelope on every reply, validation as 400 with error_data, never a 500."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.simulator.conftest import AUTH, Raw, leg_body
from tests.support.simulator import EventRecorder

pytestmark = pytest.mark.component


def _is_envelope(status: int, envelope: dict, method: str) -> None:
    assert set(envelope) == {"request_id", "method", "http_code", "response"}
    assert envelope["http_code"] == status and envelope["method"] == method
    assert len(envelope["request_id"]) == 32
    assert set(envelope["response"]) == {"error_data", "data"}


def test_create_leg_reply_matches_the_seed(raw: Raw, recorder: EventRecorder) -> None:
    status, env, _ = raw("POST", "/legs", leg_body(recorder, custom_param=None))
    _is_envelope(status, env, "POST")
    assert status == 202 and env["response"]["error_data"] is None
    data = env["response"]["data"]
    assert set(data) == {
        "leg_sid",
        "created_at",
        "account_sid",
        "contact_uri",
        "network_type",
        "exophone",
        "custom_param",
        "leg_event_endpoint",
    }
    assert data["leg_event_endpoint"] == recorder.endpoint.removeprefix("grpc://")  # as in the seed's reply
    assert data["custom_param"] is None and data["network_type"] == "pstn"
    assert data["created_at"].endswith(" +0000 UTC") and len(data["created_at"].split(".")[1].split()[0]) == 9


@pytest.mark.parametrize(
    "body,field",
    [
        ({"contact_uri": "12"}, "contact_uri"),
        ({"exophone": "sip:"}, "exophone"),
        ({"leg_event_endpoint": "127.0.0.1:9001"}, "leg_event_endpoint"),
        ({"network_type": "voip"}, "body"),
        ({"timeout": "soon"}, "timeout"),
        ({"time_limit": -1}, "time_limit"),
        ({"ring_timeout": True}, "ring_timeout"),
        ({"priority": "urgent"}, "priority"),
        ({"amd_enable": "perhaps"}, "amd_enable"),
        ({"custom_param": ["a"]}, "custom_param"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_validation_errors_name_the_field(raw: Raw, recorder: EventRecorder, body: dict, field: str) -> None:
    status, env, _ = raw("POST", "/legs", {**leg_body(recorder), **body})
    _is_envelope(status, env, "POST")
    assert status == 400 and env["response"]["data"] is None
    error = env["response"]["error_data"]
    assert error["code"] == "invalid_request" and error["message"] == "Invalid create-leg request"
    assert [p["field"] for p in error["invalid_params"]] == [field]
    assert error["description"].startswith(f"{field}: ")


def test_missing_fields_are_all_reported(raw: Raw) -> None:
    status, env, _ = raw("POST", "/legs", {})
    assert status == 400
    fields = [p["field"] for p in env["response"]["error_data"]["invalid_params"]]
    assert fields == ["contact_uri", "exophone", "leg_event_endpoint"]


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (b"null", "must be a JSON object"),
    ],
)
def test_malformed_bodies(raw: Raw, body: bytes, reason: str) -> None:
    status, env, _ = raw("POST", "/legs", body)
    _is_envelope(status, env, "POST")
    assert status == 400 and reason in env["response"]["error_data"]["description"]


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Bearer abc",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"local-key:wrong").decode(),
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ],
)
def test_401_without_valid_basic_auth(raw: Raw, auth: str | None) -> None:
    status, env, headers = raw("GET", "/legs/x", auth=auth)
    _is_envelope(status, env, "GET")
    assert status == 401 and env["response"]["error_data"]["message"] == "Authentication failed"
    assert env["response"]["error_data"]["code"] == 1010  # developer.exotel.com references/error-codes
    assert headers["WWW-Authenticate"].startswith("Basic")


def test_404s(raw: Raw) -> None:
    for method, path in [
        ("GET", "/legs/nope"),
        ("GET", "/bridges/nope"),
        ("POST", "/legs/nope/actions"),
        ("GET", "/nothing"),
    ]:
        status, env, _ = raw(method, path, {"exoml": "<Flow><Hangup/></Flow>"} if method == "POST" else None)
        _is_envelope(status, env, method)
        assert status == 404 and env["response"]["error_data"]["code"] == "not_found"


def test_unknown_account_is_404(sim, raw: Raw) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("GET", "/v2/accounts/other/legs/x", headers={"Authorization": AUTH})
    resp = conn.getresponse()
    assert resp.status == 404 and b"Account not found" in resp.read()


def test_405_wrong_method(raw: Raw) -> None:
    status, env, _ = raw("DELETE", "/legs/abc")
    assert status == 405 and "GET, PUT" in env["response"]["error_data"]["description"]


def test_unknown_shortcut_and_bad_exoml(raw: Raw, recorder: EventRecorder) -> None:
    _, env, _ = raw("POST", "/legs", leg_body(recorder))
    sid = env["response"]["data"]["leg_sid"]
    status, env, _ = raw("POST", f"/legs/{sid}/actions/explode", {})
    assert status == 404 and "explode" in env["response"]["error_data"]["description"]
    for exoml, reason in [
        ("<Flow><Hangup></Flow>", "not well-formed"),
        ("<Response><Hangup/></Response>", "root element is <Flow>"),
        ("<Flow><Dance/></Flow>", "unsupported ExoML verb <Dance>"),
        ("<Flow></Flow>", "empty"),
        ("<Flow><Say/></Flow>", "needs the text"),
        ('<Flow><Say loop="x">hi</Say></Flow>', "loop must be an integer"),
        ('<Flow><StartSay loop="-1">hi</StartSay></Flow>', "loop must be 0"),
        ('<Flow><StartPlay loop="11">https://x/a.wav</StartPlay></Flow>', "at most 10"),
        ('<Flow><StartStream url="wss://x" direction="both"/></Flow>', "unidirectional or bidirectional"),
        ("<Flow><JoinBridge/></Flow>", "needs the bridge"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Flow><Say>&a;</Say></Flow>', "DOCTYPE"),
    ]:
        status, env, _ = raw("POST", f"/legs/{sid}/actions", {"exoml": exoml})
        assert status == 400, exoml
        assert reason in env["response"]["error_data"]["description"], exoml
    status, env, _ = raw("POST", f"/legs/{sid}/actions/start_say", {"text": "", "loop": -1})
    assert status == 400
    assert {p["field"] for p in env["response"]["error_data"]["invalid_params"]} == {"text", "loop"}
    status, env, _ = raw("POST", f"/legs/{sid}/actions/start_play", {"url": "https://x/a.wav", "loop": 11})
    assert status == 400 and env["response"]["error_data"]["invalid_params"][0]["field"] == "loop"
    status, env, _ = raw("POST", f"/legs/{sid}/actions/start_stream", {"url": "wss://x", "direction": "both"})
    assert status == 400 and env["response"]["error_data"]["invalid_params"][0]["field"] == "direction"
    raw("POST", f"/legs/{sid}/actions/hangup", {})


def test_fields_query(raw: Raw, recorder: EventRecorder) -> None:
    _, env, _ = raw("POST", "/legs", leg_body(recorder))
    sid = env["response"]["data"]["leg_sid"]
    fields = "bridge_status,recording_status,tx_audio_status,rx_audio_status"
    status, env, _ = raw("GET", f"/legs/{sid}?fields={fields}")
    info = env["response"]["data"]["additional_info"]  # developer.exotel.com api/get-leg: blocks as strings
    assert status == 200 and set(info) == set(fields.split(","))
    assert all(isinstance(value, str) for value in info.values())
    assert info["bridge_status"] == "not_bridged" and info["recording_status"] == "not_recording"
    status, env, _ = raw("GET", f"/legs/{sid}")
    assert "additional_info" not in env["response"]["data"]
    status, env, _ = raw("GET", f"/legs/{sid}?fields=mood")
    assert status == 400 and "mood" in env["response"]["error_data"]["description"]
    raw("POST", f"/legs/{sid}/actions/hangup", {})


def test_update_leg_validation(raw: Raw, recorder: EventRecorder) -> None:
    _, env, _ = raw("POST", "/legs", leg_body(recorder))
    sid = env["response"]["data"]["leg_sid"]
    status, env, _ = raw("PUT", f"/legs/{sid}", {"time_limit": "forever"})
    assert status == 400 and env["response"]["error_data"]["invalid_params"][0]["field"] == "time_limit"
    status, env, _ = raw("PUT", f"/legs/{sid}", {"time_limit": 99, "custom_param": "new"})
    assert status == 202 and env["response"]["data"]["time_limit"] == 99
    raw("POST", f"/legs/{sid}/actions/hangup", {})


def test_oversized_and_bad_length_bodies(raw: Raw) -> None:
    status, env, _ = raw("POST", "/legs", b"x", headers={"Content-Length": str(10 * 1024 * 1024)})
    assert status == 413 and env["response"]["error_data"]["message"] == "Request too large"
    status, env, _ = raw("POST", "/legs", b"x", headers={"Content-Length": "abc"})
    assert status == 400 and env["response"]["error_data"]["message"] == "Invalid Content-Length"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(
                [
                    "contact_uri",
                    "exophone",
                    "leg_event_endpoint",
                    "network_type",
                    "timeout",
                    "time_limit",
                    "amd_enable",
                    "async_amd",
                    "priority",
                    "custom_param",
                    "x",
                ]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(-5, 10**12),
                st.floats(allow_nan=False),
                st.text(max_size=30),
                st.lists(st.integers(), max_size=2),
            ),
            max_size=8,
        ),
    )
)
def test_fuzzed_create_leg_never_500(raw: Raw, body) -> None:
    status, env, _ = raw("POST", "/legs", body)
    assert status in (202, 400), env
    if status == 400:
        assert env["response"]["error_data"]["description"]


def test_garbage_request_line_still_gets_an_envelope(sim) -> None:
    import json
    import socket

    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.0 400")
    envelope = json.loads(body)
    assert envelope["http_code"] == 400 and envelope["response"]["error_data"]["code"] == "invalid_request"


def test_answer_does_not_pick_up_an_outbound_leg(raw: Raw, recorder: EventRecorder) -> None:
    _, env, _ = raw("POST", "/legs", leg_body(recorder, "09163811003", ring_timeout=3000, timeout=3000))
    sid = env["response"]["data"]["leg_sid"]
    recorder.wait_for(sid, "leg_ringing")
    status, _, _ = raw("POST", f"/legs/{sid}/actions", {"exoml": "<Flow><Answer/></Flow>"})
    assert status == 202
    _, env, _ = raw("GET", f"/legs/{sid}")
    assert env["response"]["data"]["state"] == "ringing"
    raw("POST", f"/legs/{sid}/actions/hangup", {})


def test_async_amd_without_amd_enable_is_ignored_not_refused(raw: Raw, recorder: EventRecorder) -> None:
    # docs.exotel.com create-a-leg: async_amd applies only with amd_enable; alone it changes nothing.
    status, env, _ = raw("POST", "/legs", leg_body(recorder, "09163811004", async_amd=True))
    assert status == 202
    sid = env["response"]["data"]["leg_sid"]
    answered = recorder.wait_for(sid, "leg_answered")[-1]
    assert answered.answered_by == "MACHINE"  # the verdict is in leg_answered, no amd_result_success follows
    raw("POST", f"/legs/{sid}/actions/hangup", {})
    assert "amd_result_success" not in recorder.names(sid)


def test_endpoint_without_a_port_is_accepted(raw: Raw, recorder: EventRecorder) -> None:
    # Exotel's own examples write grpc://host; the port is 443 then.
    status, env, _ = raw("POST", "/legs", leg_body(recorder, leg_event_endpoint="grpc://127.0.0.1"))
    assert status == 202 and env["response"]["data"]["leg_event_endpoint"] == "127.0.0.1"
    raw("POST", f"/legs/{env['response']['data']['leg_sid']}/actions/hangup", {})
