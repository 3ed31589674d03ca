"""The api function: API Gateway REST proxy events in, moto (DynamoDB, over HTTP) behind, a fake Legs API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.api.handler import handler
from lambdas.api.problems import PROBLEM_JSON, ProblemType
from lambdas.dal.call_plans import PlanStore
from lambdas.dal.leg_state import LegStateStore
from legs.events import LegEvent
from tests.lambdas.kit import BRIDGE_ENDPOINT, Context, FakeLegs, api_event, api_json, exotel_error, leg_event, sid

LEG = {"contact_uri": "09163816621", "exophone": "08030752400"}
#: What must never be in a body (tests/lambdas/test_api.py: bodies carry no internals).
INTERNALS = (
    "Error:",
    "Exception",
    "Traceback",
    "exotel.com",
    ":443",
    "127.0.0.1",
    "_TABLE",
    "_URL",
    "SECRET",
    "secret",
)


def assert_problem(reply: Any, kind: ProblemType, status: int) -> None:
    """An RFC 9457 problem of ``kind``: type, title, status, detail, instance and request id always there."""
    assert reply["type"] == kind.uri and reply["status"] == status, reply
    assert reply["title"] and reply["detail"] and reply["instance"].startswith("/"), reply
    assert reply["request_id"], reply


def assert_no_internals(reply: Any) -> None:
    text = json.dumps(reply)
    assert not [word for word in INTERNALS if word in text], text


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
    assert reused[0] == 422 and reused[1]["type"] == ProblemType.IDEMPOTENCY_KEY_REUSED.uri
    assert reused[1]["errors"] == [{"field": "header.Idempotency-Key", "reason": reused[1]["detail"]}]


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
    assert_problem(reply, ProblemType.VALIDATION, 422)
    fields = reply["errors"]
    assert any(f["field"] == field and reason in f["reason"] for f in fields), fields
    assert fake_legs.calls == []


def test_malformed_json_is_a_400_about_the_body_as_a_whole(fake_legs: FakeLegs) -> None:
    status, reply, headers = call("POST", "/legs", raw_body="{not json")
    assert status == 400
    assert_problem(reply, ProblemType.MALFORMED, 400)
    (error,) = reply["errors"]
    assert error["field"] == "body" and error["reason"].startswith("invalid JSON")  # not "body.1"
    assert headers["Content-Type"] == PROBLEM_JSON


@pytest.mark.parametrize("media", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415_in_the_same_format(fake_legs: FakeLegs, media: str) -> None:
    status, reply, headers = call("POST", "/legs", raw_body="contact_uri=1", headers={"Content-Type": media})
    assert status == 415
    assert_problem(reply, ProblemType.UNSUPPORTED_MEDIA_TYPE, 415)
    assert reply["instance"] == "/legs" and media in reply["detail"]
    assert reply["errors"][0]["field"] == "header.Content-Type"
    assert headers["Content-Type"] == PROBLEM_JSON
    assert fake_legs.calls == []


def test_missing_default_endpoint_is_a_validation_problem(fake_legs: FakeLegs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGE_ENDPOINT")
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 422
    assert_problem(reply, ProblemType.VALIDATION, 422)
    assert reply["errors"][0]["field"] == "body.leg_event_endpoint"
    assert "BRIDGE_ENDPOINT" not in json.dumps(reply)  # no variable names in a body


@pytest.mark.parametrize("exotel_status", [400, 402, 403, 409])
def test_exotel_4xx_comes_back_with_exotels_status_message_and_code(fake_legs: FakeLegs, exotel_status: int) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(exotel_status, "Exophone not assigned to account")]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == exotel_status
    assert_problem(reply, ProblemType.EXOTEL_REJECTED, exotel_status)
    assert "Exophone not assigned to account" in reply["detail"]
    assert reply["exotel"] == {"code": exotel_status * 10, "request_id": "req-1"}  # Exotel's code, kept


def test_exotel_refusing_our_credentials_is_not_the_callers_401(fake_legs: FakeLegs) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(401, "Authentication failed")]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 502
    assert_problem(reply, ProblemType.EXOTEL_UNAVAILABLE, 502)
    assert reply["exotel"]["code"] == 4010


def test_exotel_429_keeps_retry_after(fake_legs: FakeLegs) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(429, "Too many requests", retry_after=2.2)]
    status, reply, headers = call("POST", "/legs", LEG)
    assert status == 429
    assert headers["Retry-After"] == "3"
    assert_problem(reply, ProblemType.THROTTLED, 429)
    assert "Too many" in reply["detail"] and reply["exotel"]["code"] == 4290


@pytest.mark.parametrize("exotel_status", [0, 500, 503])
def test_exotel_down_is_a_502_without_internals(fake_legs: FakeLegs, exotel_status: int) -> None:
    error = exotel_error(exotel_status, "upstream trouble")
    error.detail = (
        "NewConnectionError: <urllib3.connection.HTTPSConnection object>: Failed to resolve cpaas-api.in.exotel.com:443"
    )
    fake_legs.fail["create_leg"] = [error]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 502
    assert_problem(reply, ProblemType.EXOTEL_UNAVAILABLE, 502)
    assert_no_internals(reply)


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


def test_an_unknown_leg_is_the_same_problem_on_get_and_on_post_actions(fake_legs: FakeLegs) -> None:
    leg = sid("L")
    fake_legs.fail["hangup"] = [exotel_error(404, "Leg not found")]
    answers = {
        "GET": call("GET", f"/legs/{leg}"),
        "GET events": call("GET", f"/legs/{leg}/events"),
        "POST actions": call("POST", f"/legs/{leg}/actions", {"action": "hangup"}),
    }
    for status, reply, headers in answers.values():
        assert status == 404 and headers["Content-Type"] == PROBLEM_JSON
        assert_problem(reply, ProblemType.NOT_FOUND, 404)
    details = {reply["detail"] for _, reply, _ in answers.values()}
    assert details == {f"no leg {leg}: no event of it was recorded"}
    assert answers["POST actions"][1]["exotel"] == {"code": 4040, "request_id": "req-1"}  # Exotel's own, alongside
    assert {k for k in answers["GET"][1]} == {"type", "title", "status", "detail", "instance", "request_id"}


def test_bad_path_parameter_is_422_and_unknown_route_404(fake_legs: FakeLegs) -> None:
    status, reply, _ = call("GET", "/legs/bad!sid")
    assert status == 422
    assert reply["errors"][0]["field"] == "path.leg_sid"
    status, reply, _ = call("GET", "/nothing-here")
    assert status == 404
    assert_problem(reply, ProblemType.NOT_FOUND, 404)


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
    assert any(reason in f["reason"] for f in reply["errors"]), reply
    assert fake_legs.calls == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "say"}, "body.text"),
        ({"action": "play", "url": "ftp://x"}, "body.url"),
        ({"exoml": "x"}, "body.exoml"),
    ],
)
def test_leg_action_fields_are_named_as_sent(fake_legs: FakeLegs, body: Any, field: str) -> None:
    """The action union's tag is not part of a field's name (pydantic puts it in: body.say.text)."""
    status, reply, _ = call("POST", f"/legs/{sid('L')}/actions", body)
    assert status == 422 and [e["field"] for e in reply["errors"]] == [field], reply


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
    assert any(f["field"] == field for f in reply["errors"]), reply
    assert fake_legs.calls == []


def test_create_call_refused_by_exotel_marks_the_plan_failed(fake_legs: FakeLegs) -> None:
    fake_legs.fail["create_leg"] = [exotel_error(402, "Insufficient balance")]
    status, reply, _ = call("POST", "/calls", CALL)
    assert status == 402 and "Insufficient balance" in reply["detail"]
    assert_problem(reply, ProblemType.EXOTEL_REJECTED, 402)


def test_unknown_call_is_404(fake_legs: FakeLegs) -> None:
    assert call("GET", f"/calls/{sid('P')}")[0] == 404


def test_openapi_is_served(fake_legs: FakeLegs) -> None:
    status, doc, _ = call("GET", "/openapi.json")
    assert status == 200
    assert {"/legs", "/legs/{leg_sid}", "/legs/{leg_sid}/events", "/legs/{leg_sid}/actions", "/calls"} <= set(
        doc["paths"]
    )
    response = handler(api_event("GET", "/swagger"), Context("api"))
    assert response["statusCode"] == 200 and response["multiValueHeaders"]["Content-Type"] == ["text/html"]
    assert "swagger-ui" in response["body"].lower() and '"awsSigv4"' in response["body"]  # the document, inline
    as_json = handler({**api_event("GET", "/swagger"), "queryStringParameters": {"format": "json"}}, Context("api"))
    spec = json.loads(as_json["body"])
    assert spec["servers"] == [{"url": "/prod"}]  # the stage: "Try it out" reaches the API
    assert (
        spec["paths"] == doc["paths"] and spec["components"]["securitySchemes"] == doc["components"]["securitySchemes"]
    )
    redirect = {**api_event("GET", "/swagger"), "queryStringParameters": {"format": "oauth2-redirect"}}
    assert "oauth2" in handler(redirect, Context("api"))["body"].lower()


def test_a_cold_start_does_not_import_the_openapi_models() -> None:
    """Powertools' OpenAPI models cost ~350 ms to import; only a request for the document or the UI needs them."""
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import sys, lambdas.api.handler; print('aws_lambda_powertools.event_handler.openapi.models' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_openapi_document_in_docs_is_fresh() -> None:
    from pathlib import Path

    from lambdas.api.openapi import DEFAULT_PATH, render

    assert Path(DEFAULT_PATH).exists(), "run: python -m lambdas.api.openapi"
    assert json.loads(Path(DEFAULT_PATH).read_text()) == json.loads(render()), (
        "stale: run python -m lambdas.api.openapi"
    )


# ---- one error format, documented -----------------------------------------------------------------
def _as(caller_arn: str, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, dict[str, Any]]:
    event = api_event(method, path, body, **kw)
    event["requestContext"]["identity"].update(
        {"userArn": caller_arn, "caller": caller_arn.rsplit("/", 1)[-1], "accountId": "123456789012"}
    )
    response = handler(event, Context("api"))
    return response["statusCode"], api_json(response), dict(response.get("headers") or {})


def test_idempotency_keys_are_scoped_to_the_signed_caller(fake_legs: FakeLegs) -> None:
    key = sid("K")
    alice, bob = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"
    first = _as(alice, "POST", "/legs", LEG, headers={"Idempotency-Key": key})
    again = _as(alice, "POST", "/legs", LEG, headers={"Idempotency-Key": key})
    other = _as(bob, "POST", "/legs", LEG, headers={"Idempotency-Key": key})  # the same key, someone else
    assert first[0] == again[0] == other[0] == 202
    assert again[1] == first[1]  # alice's repeat: her first answer
    assert other[1]["leg_sid"] != first[1]["leg_sid"]  # bob's request is his own, never alice's answer
    assert fake_legs.names() == ["create_leg", "create_leg"]
    # bob may even send another body under the same key: it is not alice's key
    assert _as(bob, "POST", "/legs", {**LEG, "custom_param": "x"}, headers={"Idempotency-Key": sid("K")})[0] == 202


def test_two_callers_one_key_on_calls_place_two_calls(fake_legs: FakeLegs) -> None:
    """A call's plan id derives from the key (a retry after a crash finds its plan): it must be the caller's key."""
    key = sid("K")
    alice, bob = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"
    first = _as(alice, "POST", "/calls", CALL, headers={"Idempotency-Key": key})
    other = _as(bob, "POST", "/calls", CALL, headers={"Idempotency-Key": key})
    assert first[0] == other[0] == 202
    assert other[1]["plan_id"] != first[1]["plan_id"]  # bob's call is his own plan, never alice's
    assert fake_legs.names() == ["create_leg", "create_leg"]


def test_an_assumed_roles_sessions_share_its_keys(fake_legs: FakeLegs) -> None:
    key = sid("K")
    role = "arn:aws:sts::123456789012:assumed-role/dialer"
    first = _as(f"{role}/session-1", "POST", "/calls", CALL, headers={"Idempotency-Key": key})
    again = _as(f"{role}/session-2", "POST", "/calls", CALL, headers={"Idempotency-Key": key})
    assert first[1] == again[1] and fake_legs.names() == ["create_leg"]


@pytest.mark.parametrize("custom_param", ["call:P123:customer:1", "call:anything", "call:"])
def test_a_plans_custom_param_is_refused_on_post_legs(fake_legs: FakeLegs, custom_param: str) -> None:
    status, reply, _ = call("POST", "/legs", {**LEG, "custom_param": custom_param})
    assert status == 422
    assert_problem(reply, ProblemType.VALIDATION, 422)
    assert reply["errors"][0]["field"] == "body.custom_param" and "POST /calls" in reply["errors"][0]["reason"]
    assert fake_legs.calls == []
    assert call("POST", "/legs", {**LEG, "custom_param": "recall:me"})[0] == 202  # only the prefix is reserved


def test_created_at_is_rfc3339_in_the_post_reply_as_in_get(fake_legs: FakeLegs) -> None:
    original = fake_legs.create_leg

    def exotel_style(request: Any) -> Any:
        created = original(request)
        return created.model_copy(update={"created_at": "2023-05-31 08:02:32.608752571 +0000 UTC"})

    fake_legs.create_leg = exotel_style  # type: ignore[method-assign]
    status, reply, _ = call("POST", "/legs", LEG)
    assert status == 202 and reply["created_at"] == "2023-05-31T08:02:32.608752571Z"


def test_not_configured_is_a_503_without_variable_names(
    fake_legs: FakeLegs, monkeypatch: pytest.MonkeyPatch, api_logs: list[str]
) -> None:
    monkeypatch.delenv("LEG_STATE_TABLE")
    status, reply, _ = call("GET", f"/legs/{sid('L')}")
    assert status == 503
    assert_problem(reply, ProblemType.NOT_CONFIGURED, 503)
    assert_no_internals(reply)
    assert "LEG_STATE_TABLE" in "\n".join(api_logs)  # ... which the logs name, under the request id


def test_an_unexpected_error_is_a_500_problem_and_the_logs_have_it(
    fake_legs: FakeLegs, monkeypatch: pytest.MonkeyPatch, api_logs: list[str]
) -> None:
    from lambdas.api import service

    def broken(self: Any, leg_sid: str) -> None:
        raise KeyError("secret internals at 10.0.0.7:5432")

    monkeypatch.setattr(service.CallService, "get_leg", broken)
    status, reply, _ = call("GET", f"/legs/{sid('L')}")
    assert status == 500
    assert_problem(reply, ProblemType.INTERNAL, 500)
    assert "10.0.0.7" not in json.dumps(reply) and "KeyError" not in json.dumps(reply)
    logged = "\n".join(api_logs)
    assert "KeyError" in logged and reply["request_id"] in logged


def test_openapi_documents_the_problem_for_every_error_and_sigv4() -> None:
    from lambdas.api.app import openapi_schema

    doc = openapi_schema()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["awsSigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert schemes["awsSigv4"]["type"] == "apiKey" and schemes["awsSigv4"]["name"] == "Authorization"
    assert doc["security"] == [{"awsSigv4": []}]
    errors = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    errors += 1
                    assert response["content"] == {
                        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, (
                        path,
                        method,
                        code,
                    )
            assert {"422", "500", "503"} <= set(operation["responses"]), (path, method)
    assert errors > 30
    text = json.dumps(doc["paths"])
    unused = [name for name in doc["components"]["schemas"] if f"#/components/schemas/{name}" not in json.dumps(doc)]
    assert unused == [] and "HTTPValidationError" not in text
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def test_a_calls_legs_updated_at_moves_with_the_legs_events(fake_legs: FakeLegs) -> None:
    status, created, _ = call("POST", "/calls", CALL)
    assert status == 202
    plan_id, leg = created["plan_id"], created["leg_sid"]
    _, before, _ = call("GET", f"/calls/{plan_id}")
    dialled_at = before["legs"][0]["updated_at"]
    assert dialled_at.endswith("Z")
    store = LegStateStore.from_env()
    later = int(time.time()) + 5  # the leg rings (and is answered) after the dial was stored
    for offset, name in enumerate(["leg_ringing", "leg_answered"]):
        store.record(LegEvent.model_validate(leg_event(name, leg, seconds=later + offset, custom_param="x")))
    _, after, _ = call("GET", f"/calls/{plan_id}")
    (dial,) = after["legs"]
    assert dial["updated_at"] == LegStateStore.from_env().get_leg(leg)["updated_at"]  # the answer's time
    answered = datetime.fromtimestamp(later + 1, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert dial["updated_at"] > dialled_at and dial["updated_at"].startswith(answered)
    assert after["updated_at"] == before["updated_at"]  # the plan itself did not change


def test_the_api_only_reads_leg_state_as_its_iam_policy_allows(fake_legs: FakeLegs) -> None:
    """lambdas/wiring.py says the api reads LegState only (IAM: infra/constructs/wired_function.py); every route
    is exercised with DynamoDB's calls watched: none of them writes that table."""
    import os

    from infra.constructs.wired_function import TABLE_READ_ACTIONS
    from lambdas.dal import aws

    leg = sid("L")
    LegStateStore.from_env().record(LegEvent.model_validate(leg_event("leg_ringing", leg)))
    table = os.environ["LEG_STATE_TABLE"]
    calls: list[tuple[str, Any]] = []

    def watch(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params.get("TableName") or sorted(params.get("RequestItems") or {})))

    clients = {id(c): c for c in (aws.table(table).meta.client, aws.client("dynamodb"))}
    for client in clients.values():
        client.meta.events.register("before-parameter-build.dynamodb", watch)
    try:
        status, created, _ = call("POST", "/calls", CALL, headers={"Idempotency-Key": sid("K")})
        assert status == 202
        for method, path, body in [
            ("POST", "/legs", LEG),
            ("GET", f"/legs/{leg}", None),
            ("GET", f"/legs/{leg}/events", None),
            ("GET", f"/calls/{created['plan_id']}", None),
            ("POST", f"/legs/{leg}/actions", {"action": "hangup"}),
            ("GET", f"/legs/{sid('L')}", None),
        ]:
            assert call(method, path, body)[0] < 500
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-parameter-build.dynamodb", watch)
    on_leg_state = {name for name, target in calls if target == table or table in target}
    assert on_leg_state, calls  # the reads were seen
    assert {f"dynamodb:{name}" for name in on_leg_state} <= set(TABLE_READ_ACTIONS), on_leg_state
