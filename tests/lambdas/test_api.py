"""The api function: API Gateway REST proxy events in, moto (DynamoDB, over HTTP) behind, a fake Legs API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.api.handler import handler
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.leg_state import LegStateStore
from legs.events import LegEvent
from tests.lambdas.kit import BRIDGE_ENDPOINT, Context, FakeLegs, api_event, api_json, exotel_error, leg_event, sid

LEG = {"contact_uri": "09163816621", "exophone": "08030752400"}


def call(method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, dict[str, Any]]:
    response = handler(api_event(method, path, body, **kw), Context("api"))
    headers = dict(response.get("headers") or {})
    headers.update({k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items() if v})
    return response["statusCode"], api_json(response), headers


def test_create_leg_defaults_the_endpoint_to_the_bridge(fake_legs: FakeLegs) -> None:
    status, body, _ = call("POST", "/legs", {**LEG, "custom_param": "order-42"})
    assert status == 202
    assert body["leg_sid"].startswith("L")
    request = fake_legs.created[0]
    assert request.leg_event_endpoint == BRIDGE_ENDPOINT
    assert request.network_type == "pstn" and request.custom_param == "order-42"


@pytest.mark.parametrize("endpoint", ["grpc://10.0.0.1:9001", "grpc://events.example.com"])
def test_create_leg_keeps_an_explicit_endpoint(fake_legs: FakeLegs, endpoint: str) -> None:
    # Exotel's examples write grpc://host (port 443): accepted as well (docs.exotel.com create-a-leg)
    status, _, _ = call("POST", "/legs", {**LEG, "leg_event_endpoint": endpoint})
    assert status == 202
    assert fake_legs.created[0].leg_event_endpoint == endpoint


def test_async_amd_alone_is_passed_on_not_refused(fake_legs: FakeLegs) -> None:
    status, _, _ = call("POST", "/legs", {**LEG, "async_amd": True})
    assert status == 202 and fake_legs.created[0].async_amd and not fake_legs.created[0].amd_enable


def test_idempotency_key_gives_the_same_answer_without_a_second_call(fake_legs: FakeLegs) -> None:
    key = sid("K")
    first = call("POST", "/legs", LEG, headers={"Idempotency-Key": key})
    second = call("POST", "/legs", LEG, headers={"idempotency-key": key})
    assert first[0] == second[0] == 202
    assert first[1] == second[1]
    assert fake_legs.names() == ["create_leg"]
    other = call("POST", "/legs", LEG, headers={"Idempotency-Key": sid("K")})
    assert other[1]["leg_sid"] != first[1]["leg_sid"]
    reused = call("POST", "/legs", {**LEG, "custom_param": "different"}, headers={"Idempotency-Key": key})
    assert reused[0] == 422 and reused[1]["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"exophone": "08030752400"}, "body.contact_uri", "Field required"),
        ({**LEG, "contact_uri": "12345"}, "body.contact_uri", "must be a sip: URI or an Indian number"),
        ({**LEG, "network_type": "voip"}, "body", "network_type must be 'pstn'"),
        ({**LEG, "leg_event_endpoint": "http://x:1"}, "body.leg_event_endpoint", "grpc://host or grpc://host:port"),
        ({**LEG, "priority": "urgent"}, "body.priority", "'normal' or 'high'"),
        ({**LEG, "colour": "red"}, "body.colour", "Extra inputs are not permitted"),
        ({**LEG, "timeout": 0}, "body.timeout", "greater than 0"),
    ],
)
def test_create_leg_validation_names_field_and_reason(fake_legs: FakeLegs, body: Any, field: str, reason: str) -> None:
    status, reply, _ = call("POST", "/legs", body)
    assert status == 422, reply
    fields = reply["error"]["fields"]
    assert any(f["field"] == field and reason in f["reason"] for f in fields), fields
    assert fake_legs.calls == []


def test_malformed_json_is_a_client_error(fake_legs: FakeLegs) -> None:
    status, reply, _ = call("POST", "/legs", raw_body="{not json")
    assert status in (400, 422)
    assert reply["error"]["code"] == "validation_error"


@pytest.mark.parametrize("media", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(fake_legs: FakeLegs, media: str) -> None:
    status, reply, _ = call("POST", "/legs", raw_body="contact_uri=1", headers={"Content-Type": media})
    assert status == 415 and reply["error"]["code"] == "unsupported_media_type"
    assert fake_legs.calls == []


def test_missing_default_endpoint_is_a_clear_400(fake_legs: FakeLegs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGE_ENDPOINT")
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 400
    assert reply["error"]["fields"][0]["field"] == "body.leg_event_endpoint"


@pytest.mark.parametrize("exotel_status", [400, 401, 403, 404, 409])
def test_exotel_4xx_comes_back_with_exotels_message(fake_legs: FakeLegs, exotel_status: int) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(exotel_status, "Exophone not assigned to account")]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == exotel_status
    assert reply["error"]["message"] == "Exophone not assigned to account"
    assert reply["error"]["code"] == exotel_status * 10
    assert reply["error"]["request_id"] == "req-1"


def test_exotel_429_keeps_retry_after(fake_legs: FakeLegs) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(429, "Too many requests", retry_after=2.2)]
    status, reply, headers = call("POST", "/legs", LEG)
    assert status == 429
    assert headers["Retry-After"] == "3"
    assert "Too many" in reply["error"]["message"]


@pytest.mark.parametrize("exotel_status", [0, 500, 503])
def test_exotel_down_is_a_502_not_a_500(fake_legs: FakeLegs, exotel_status: int) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(exotel_status, "upstream trouble")]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 502
    assert reply["error"]["code"] == "exotel_unavailable"


def test_failed_request_with_key_is_not_remembered(fake_legs: FakeLegs) -> None:
    key = sid("K")
    fake_legs.fail["create_leg"] = [exotel_error(503)]
    assert call("POST", "/legs", LEG, headers={"Idempotency-Key": key})[0] == 502
    assert call("POST", "/legs", LEG, headers={"Idempotency-Key": key})[0] == 202
    assert fake_legs.names() == ["create_leg", "create_leg"]


def test_get_leg_and_events_come_from_the_recorded_state(fake_legs: FakeLegs) -> None:
    leg = sid("L")
    store = LegStateStore.from_env()
    names = ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
    events = [leg_event(n, leg, seconds=1_700_000_100 + i, custom_param="cp") for i, n in enumerate(names)]
    events[2]["data"]["answered_by"] = "HUMAN"
    events[3]["data"]["terminal_status"] = "completed"
    for event in reversed(events):
        store.record(LegEvent.model_validate(event))
    status, body, _ = call("GET", f"/legs/{leg}")
    assert status == 200
    assert body["state"] == "terminal" and body["terminal_status"] == "completed"
    assert body["answered_by"] == "HUMAN" and body["custom_param"] == "cp" and body["direction"] == "outbound"
    assert body["answered_at"].startswith("2023-11-14T22:15:02") and body["ended_at"]
    status, body, _ = call("GET", f"/legs/{leg}/events")
    assert status == 200
    assert [e["event_name"] for e in body["events"]] == names
    assert body["events"][0]["detail"]["event_sid"] == events[0]["event_sid"]


def test_unknown_leg_is_404(fake_legs: FakeLegs) -> None:
    assert call("GET", f"/legs/{sid('L')}")[0] == 404
    assert call("GET", f"/legs/{sid('L')}/events")[0] == 404


def test_bad_path_parameter_is_422_and_unknown_route_404(fake_legs: FakeLegs) -> None:
    status, reply, _ = call("GET", "/legs/bad!sid")
    assert status == 422
    assert reply["error"]["fields"][0]["field"] == "path.leg_sid"
    status, reply, _ = call("GET", "/nothing-here")
    assert status == 404 and reply["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"exoml": "<Flow><Hangup/></Flow>"}, ("leg_action", "<Flow><Hangup/></Flow>")),
        ({"action": "hangup"}, ("hangup",)),
        ({"action": "say", "text": "hello", "loop": 2}, ("say", "hello")),
        ({"action": "say", "text": "hold on", "loop": 0}, ("say", "hold on")),
        ({"action": "play", "url": "https://x.example/a.wav"}, ("leg_shortcut", "start_play")),
        ({"action": "play", "url": "https://x.example/a.wav", "loop": 10}, ("leg_shortcut", "start_play")),
        (
            {"action": "stream", "url": "wss://bot.example/s", "direction": "bidirectional"},
            ("leg_shortcut", "start_stream", {"url": "wss://bot.example/s", "direction": "bidirectional"}),
        ),
    ],
)
def test_leg_actions(fake_legs: FakeLegs, body: Any, expected: tuple[str, ...]) -> None:
    leg = sid("L")
    status, reply, _ = call("POST", f"/legs/{leg}/actions", body)
    assert status == 202, reply
    assert reply["action_sid"]
    name, args = fake_legs.calls[0]
    assert name == expected[0] and args[0] == leg
    assert all(part in args for part in expected[1:])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"exoml": "<Say>hi</Say>"}, "root element is <Flow>"),
        ({"action": "say"}, "Field required"),
        ({"action": "dance"}, "expected tags: 'exoml', 'hangup', 'say', 'play', 'stream'"),
        ({"action": "play", "url": "ftp://x"}, "pattern"),
        ({"action": "play", "url": "https://x/a.wav", "loop": 11}, "less than or equal to 10"),
        ({"action": "say", "text": "x", "loop": -1}, "greater than or equal to 0"),
        ({"action": "stream", "url": "wss://x/s", "direction": "both"}, "'unidirectional' or 'bidirectional'"),
        ({"action": "hangup", "extra": 1}, "Extra inputs"),
    ],
)
def test_leg_action_validation(fake_legs: FakeLegs, body: Any, reason: str) -> None:
    status, reply, _ = call("POST", f"/legs/{sid('L')}/actions", body)
    assert status == 422, reply
    assert any(reason in f["reason"] for f in reply["error"]["fields"]), reply
    assert fake_legs.calls == []


def test_leg_action_on_unknown_leg_is_exotels_404(fake_legs: FakeLegs) -> None:
    fake_legs.fail["hangup"] = [exotel_error(404, "Leg not found")]
    status, reply, _ = call("POST", f"/legs/{sid('L')}/actions", {"action": "hangup"})
    assert status == 404 and reply["error"]["message"] == "Leg not found"


CALL = {"customer": "09163811000", "agent": "09163812000", "exophone": "08030752400"}


def test_create_call_stores_the_plan_and_dials_the_first_party(fake_legs: FakeLegs) -> None:
    body = {**CALL, "hold_message": "please hold", "retry": {"max_attempts": 3, "delay_seconds": 5}}
    status, reply, _ = call("POST", "/calls", body)
    assert status == 202, reply
    plan_id = reply["plan_id"]
    request = fake_legs.created[0]
    assert request.contact_uri == CALL["customer"]
    assert request.custom_param == f"call:{plan_id}:customer:1"
    assert request.leg_event_endpoint == BRIDGE_ENDPOINT
    plan = PlanStore.from_env().get(plan_id)
    assert plan is not None and plan.attempts[0].leg_sid == reply["leg_sid"]
    status, view, _ = call("GET", f"/calls/{plan_id}")
    assert status == 200
    assert view["status"] == "dialing_first" and view["legs"][0]["leg_sid"] == reply["leg_sid"]
    assert view["retry"] == {"max_attempts": 3, "delay_seconds": 5}


def test_create_call_with_amd_enables_it_on_the_customer_leg_only(fake_legs: FakeLegs) -> None:
    status, _, _ = call("POST", "/calls", {**CALL, "dial_first": "agent", "amd": {"behaviour": "hangup"}})
    assert status == 202
    assert fake_legs.created[0].contact_uri == CALL["agent"] and fake_legs.created[0].amd_enable is False


def test_create_call_idempotency(fake_legs: FakeLegs) -> None:
    key = sid("K")
    a = call("POST", "/calls", CALL, headers={"Idempotency-Key": key})
    b = call("POST", "/calls", CALL, headers={"Idempotency-Key": key})
    assert a[1] == b[1] and fake_legs.names() == ["create_leg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CALL, "agent": "123"}, "body.agent"),
        ({**CALL, "retry": {"max_attempts": 0}}, "body.retry.max_attempts"),
        ({**CALL, "retry": {"delay_seconds": 901}}, "body.retry.delay_seconds"),
        ({**CALL, "amd": {"behaviour": "message"}}, "body.amd"),
        ({**CALL, "dial_first": "nobody"}, "body.dial_first"),
        ({**CALL, "agent_fallbacks": ["x"]}, "body.agent_fallbacks.0"),
    ],
)
def test_create_call_validation(fake_legs: FakeLegs, body: Any, field: str) -> None:
    status, reply, _ = call("POST", "/calls", body)
    assert status == 422, reply
    assert any(f["field"] == field for f in reply["error"]["fields"]), reply
    assert fake_legs.calls == []


def test_create_call_refused_by_exotel_marks_the_plan_failed(fake_legs: FakeLegs) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(402, "Insufficient balance")]
    status, reply, _ = call("POST", "/calls", CALL)
    assert status == 402 and reply["error"]["message"] == "Insufficient balance"


def test_unknown_call_is_404(fake_legs: FakeLegs) -> None:
    assert call("GET", f"/calls/{sid('P')}")[0] == 404


def test_openapi_is_served(fake_legs: FakeLegs) -> None:
    status, doc, _ = call("GET", "/openapi.json")
    assert status == 200
    assert {"/legs", "/legs/{leg_sid}", "/legs/{leg_sid}/events", "/legs/{leg_sid}/actions", "/calls"} <= set(
        doc["paths"]
    )
    response = handler(api_event("GET", "/swagger"), Context("api"))
    assert response["statusCode"] == 200 and "swagger" in response["body"].lower()


def test_openapi_document_in_docs_is_fresh() -> None:
    from pathlib import Path

    from lambdas.api.openapi import DEFAULT_PATH, render

    assert Path(DEFAULT_PATH).exists(), "run: python -m lambdas.api.openapi"
    assert json.loads(Path(DEFAULT_PATH).read_text()) == json.loads(render()), (
        "stale: run python -m lambdas.api.openapi"
    )
