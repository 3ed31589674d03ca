"""Every rule of Create Leg (seed) and the other request models: good and bad cases, clear messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from legs.models import (
    ActionRequest,
    CreateBridgeRequest,
    CreateLegRequest,
    Envelope,
    StartPlay,
    StartSay,
    StartStream,
    grpc_target,
)


def _error(body: dict) -> str:
    with pytest.raises(ValidationError) as info:
        CreateLegRequest.model_validate(body)
    return str(info.value)


def test_seed_example_is_valid_and_defaults_apply(valid_leg: dict) -> None:
    request = CreateLegRequest.model_validate(valid_leg)
    assert (request.timeout, request.time_limit) == (200, 200)
    minimal = CreateLegRequest.model_validate(
        {k: valid_leg[k] for k in ("contact_uri", "exophone", "leg_event_endpoint")}
    )
    assert minimal.time_limit == 14400
    assert (minimal.timeout, minimal.setup_timeout, minimal.ring_timeout) == (30, 30, 30)
    assert minimal.network_type == "pstn"
    assert minimal.priority == "normal"
    assert (minimal.amd_enable, minimal.async_amd) == (False, False)


@pytest.mark.parametrize("number", ["09163816621", "919163816621", "+919163816621", "08030752400"])
def test_indian_numbers_accepted(valid_leg: dict, number: str) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "contact_uri": number}).contact_uri == number
    assert CreateLegRequest.model_validate({**valid_leg, "exophone": number}).exophone == number


@pytest.mark.parametrize(
    "number",
    ["9163816621", "0916381662", "091638166211", "+19163816621", "0916-381-6621", "abc", "", "00163816621"],
)
@pytest.mark.parametrize("field", ["contact_uri", "exophone"])
def test_bad_numbers_rejected_with_field_named(valid_leg: dict, number: str, field: str) -> None:
    message = _error({**valid_leg, field: number})
    assert field in message
    assert "sip: URI or an Indian number" in message


@pytest.mark.parametrize("uri", ["sip:agent@example.com", "sip:1000@10.0.0.1:5060", "sip:alice"])
def test_sip_contact_needs_voip(valid_leg: dict, uri: str) -> None:
    body = {**valid_leg, "contact_uri": uri}
    body.pop("network_type")
    assert CreateLegRequest.model_validate(body).network_type == "voip"  # inferred
    assert CreateLegRequest.model_validate({**body, "network_type": "voip"}).network_type == "voip"
    message = _error({**body, "network_type": "pstn"})
    assert "network_type must be 'voip' when contact_uri is a sip: URI" in message


def test_phone_contact_needs_pstn(valid_leg: dict) -> None:
    message = _error({**valid_leg, "network_type": "voip"})
    assert "network_type must be 'pstn' when contact_uri is a phone number" in message


@pytest.mark.parametrize("uri", ["sip:", "sip:a b@host", "sip:a@b@c"])
def test_malformed_sip_uri(valid_leg: dict, uri: str) -> None:
    assert "not a valid sip: URI" in _error({**valid_leg, "contact_uri": uri, "network_type": "voip"})


def test_network_type_values(valid_leg: dict) -> None:
    assert "network_type" in _error({**valid_leg, "network_type": "gsm"})


@pytest.mark.parametrize(
    "endpoint",
    [
        "grpc://127.0.0.1:9001",
        "grpc://bridge.example.com:443",
        "grpc://[::1]:50051",
        "grpc://localhost:1",
        "grpc://your-event-server.example.com",  # Exotel's own example: no port (443)
        "grpc://[::1]",
    ],
)
def test_grpc_endpoint_accepted(valid_leg: dict, endpoint: str) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "leg_event_endpoint": endpoint}).leg_event_endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    ["127.0.0.1:9001", "http://host:80", "grpc://host:", "grpc://host:0", "grpc://host:70000", "grpc://h st:1", ""],
)
def test_grpc_endpoint_rejected(valid_leg: dict, endpoint: str) -> None:
    assert "must be a gRPC endpoint of the form grpc://host or grpc://host:port" in _error(
        {**valid_leg, "leg_event_endpoint": endpoint}
    )


def test_grpc_target_defaults_the_port_to_443() -> None:
    assert grpc_target("grpc://bridge.example.com") == "bridge.example.com:443"
    assert grpc_target("grpc://bridge.example.com:50051") == "bridge.example.com:50051"
    assert grpc_target("grpc://[::1]", default_port=9) == "[::1]:9"
    with pytest.raises(ValueError, match="not a gRPC endpoint"):
        grpc_target("http://x")


@pytest.mark.parametrize("field", ["contact_uri", "exophone", "leg_event_endpoint"])
def test_mandatory_fields(valid_leg: dict, field: str) -> None:
    body = dict(valid_leg)
    body.pop(field)
    message = _error(body)
    assert field in message and "Field required" in message


@pytest.mark.parametrize("field", ["time_limit", "timeout", "setup_timeout", "ring_timeout"])
@pytest.mark.parametrize("value", [0, -5, 1.5, "soon", True, None])
def test_durations_are_positive_integers(valid_leg: dict, field: str, value: object) -> None:
    assert field in _error({**valid_leg, field: value})


def test_numeric_strings_are_read_as_integers(valid_leg: dict) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "ring_timeout": "45"}).ring_timeout == 45


def test_async_amd_without_amd_enable_is_ignored_not_refused(valid_leg: dict) -> None:
    # docs.exotel.com create-a-leg: async_amd is "applicable only when amd_enable is true"; alone it is ignored.
    alone = CreateLegRequest.model_validate({**valid_leg, "async_amd": True})
    assert alone.async_amd and not alone.amd_enable
    both = CreateLegRequest.model_validate({**valid_leg, "async_amd": True, "amd_enable": True})
    assert both.async_amd and both.amd_enable
    assert CreateLegRequest.model_validate({**valid_leg, "amd_enable": True}).async_amd is False


@pytest.mark.parametrize("priority", ["normal", "high"])
def test_priority_values(valid_leg: dict, priority: str) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "priority": priority}).priority == priority


def test_priority_rejects_others(valid_leg: dict) -> None:
    assert "priority" in _error({**valid_leg, "priority": "urgent"})


def test_unknown_fields_rejected(valid_leg: dict) -> None:
    message = _error({**valid_leg, "colour": "blue"})
    assert "colour" in message and "Extra inputs are not permitted" in message


def test_optional_strings(valid_leg: dict) -> None:
    request = CreateLegRequest.model_validate(
        {
            **valid_leg,
            "custom_param": "order-42",
            "requested_dc_code": "101",
            "requested_nso_code": "nso-1",
            "reference_leg_sid": "2QYATxQ9t4UKcUwcqJClSa9OEZ400000",
        }
    )
    assert request.custom_param == "order-42" and request.reference_leg_sid.endswith("00000")
    assert "custom_param" in _error({**valid_leg, "custom_param": 42})
    assert "custom_param" in _error({**valid_leg, "custom_param": "x" * 1025})


def test_whitespace_is_stripped(valid_leg: dict) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "contact_uri": " 09163816621 "}).contact_uri == "09163816621"


def test_bridge_request_rules() -> None:
    ok = CreateBridgeRequest.model_validate({"leg_sids": ["a", "b"], "bridge_event_endpoint": "grpc://h:1"})
    assert ok.leg_sids == ["a", "b"]
    # the bridge-first model (docs.exotel.com post-create-a-bridge)
    first = CreateBridgeRequest.model_validate(
        {"bridge_type": "audio", "max_participants": 10, "recording": False, "bridge_event_endpoint": "grpc://h"}
    )
    assert (first.leg_sids, first.bridge_type, first.max_participants, first.recording) == (None, "audio", 10, False)
    assert CreateBridgeRequest.model_validate({**ok.model_dump(), "future": 1}).model_extra == {"future": 1}
    with pytest.raises(ValidationError, match="leg_sids"):
        CreateBridgeRequest.model_validate({"leg_sids": [], "bridge_event_endpoint": "grpc://h:1"})
    with pytest.raises(ValidationError, match="bridge_event_endpoint"):
        CreateBridgeRequest.model_validate({"leg_sids": ["a"], "bridge_event_endpoint": "http://x:1"})
    with pytest.raises(ValidationError, match="bridge_event_endpoint"):  # Exotel requires it
        CreateBridgeRequest.model_validate({"leg_sids": ["a", "b"]})
    with pytest.raises(ValidationError, match="max_participants"):
        CreateBridgeRequest.model_validate({"max_participants": 0, "bridge_event_endpoint": "grpc://h"})


def test_shortcut_bodies() -> None:
    # developer.exotel.com exoml/verbs/say, exoml/actions; agentstream/programmable-voice
    assert StartSay.model_validate({"text": "hold on", "loop": 0}).loop == 0
    assert StartPlay.model_validate({"url": "https://x/a.wav", "loop": 10}).loop == 10
    with pytest.raises(ValidationError, match="loop"):
        StartPlay.model_validate({"url": "https://x/a.wav", "loop": 11})
    with pytest.raises(ValidationError, match="loop"):
        StartSay.model_validate({"text": "x", "loop": -1})
    stream = StartStream.model_validate({"url": "wss://b/s", "direction": "bidirectional"})
    assert stream.direction == "bidirectional" and stream.content_type is None
    for bad in ({"url": "wss://b/s", "direction": "both"}, {"url": "wss://b/s"}):
        with pytest.raises(ValidationError, match="direction"):
            StartStream.model_validate(bad)


def test_envelope_reads_error_or_error_data() -> None:
    limited = Envelope.model_validate(
        {"request_id": "x", "http_code": 429, "response": {"error": {"code": "rate_limit_exceeded", "message": "m"}}}
    )
    assert limited.response.failure.code == "rate_limit_exceeded" and limited.method is None
    auth = Envelope.model_validate(
        {"request_id": "y", "method": "GET", "http_code": 401, "response": {"error_data": {"code": 1010}}}
    )
    assert auth.response.failure.code == 1010


def test_action_request_rules() -> None:
    assert ActionRequest.model_validate({"exoml": "<Flow><Hangup/></Flow>"}).action_custom_param is None
    with pytest.raises(ValidationError, match="root element is <Flow>"):
        ActionRequest.model_validate({"exoml": "<Response><Hangup/></Response>"})
    with pytest.raises(ValidationError, match="exoml"):
        ActionRequest.model_validate({"exoml": ""})


def test_envelope_parses_seed_reply() -> None:
    envelope = Envelope.model_validate(
        {
            "request_id": "811b113c561a4d35bd8520112eb629f7",
            "method": "POST",
            "http_code": 202,
            "response": {"error_data": None, "data": {"leg_sid": "2QYATxQ9t4UKcUwcqJClSa9OEZ400000"}},
        }
    )
    assert envelope.http_code == 202 and envelope.response.error_data is None
