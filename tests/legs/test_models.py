"""Every rule of Create Leg (seed) and the other request models: good and bad cases, clear messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from legs.models import ActionRequest, CreateBridgeRequest, CreateLegRequest, Envelope


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
    "endpoint", ["grpc://127.0.0.1:9001", "grpc://bridge.example.com:443", "grpc://[::1]:50051", "grpc://localhost:1"]
)
def test_grpc_endpoint_accepted(valid_leg: dict, endpoint: str) -> None:
    assert CreateLegRequest.model_validate({**valid_leg, "leg_event_endpoint": endpoint}).leg_event_endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    ["127.0.0.1:9001", "http://host:80", "grpc://host", "grpc://host:0", "grpc://host:70000", "grpc://h st:1", ""],
)
def test_grpc_endpoint_rejected(valid_leg: dict, endpoint: str) -> None:
    assert "must be a gRPC endpoint of the form grpc://host:port" in _error(
        {**valid_leg, "leg_event_endpoint": endpoint}
    )


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


def test_async_amd_needs_amd_enable(valid_leg: dict) -> None:
    assert "async_amd applies only when amd_enable is true" in _error({**valid_leg, "async_amd": True})
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
    # the other documented shape is accepted loosely
    other = CreateBridgeRequest.model_validate({"leg_sids": ["a", "b"], "bridge_type": "x", "max_participants": 2})
    assert other.model_extra == {"bridge_type": "x", "max_participants": 2}
    with pytest.raises(ValidationError, match="leg_sids"):
        CreateBridgeRequest.model_validate({"leg_sids": []})
    with pytest.raises(ValidationError, match="bridge_event_endpoint"):
        CreateBridgeRequest.model_validate({"leg_sids": ["a"], "bridge_event_endpoint": "http://x:1"})


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
