"""Who may push: the subject of a verified client certificate (from the ALB's mTLS header, or the bridge's own
mutual TLS), pinned with ``BRIDGE_CLIENT_SUBJECTS``; and the WARNING a bridge with no authentication logs."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge.auth import LB_SUBJECT_HEADER
from contract.env import BridgeEnv
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, make_event, stub
from tests.support.pki import issue_certificate, write_pem

pytestmark = pytest.mark.component

EXOTEL = "CN=exotel-client,O=Exotel,C=IN"
OTHER = "CN=someone-else,O=Elsewhere"
NO_AUTH = "no authentication: anyone who can reach this port may push events"


def _push(target: str, index: int, subject: str | None) -> grpc.StatusCode:
    metadata = [(LB_SUBJECT_HEADER, subject)] if subject is not None else None
    try:
        stub(target).TriggerCallbackEvent(make_event(index), timeout=10, metadata=metadata)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def _messages(bridge, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [doc for doc in bridge.logs() if doc.get("message") == text]


def test_behind_the_load_balancer_only_pinned_verified_subjects_may_push(stack: AwsStack, start_bridge) -> None:
    env = {BridgeEnv.LB_MUTUAL_TLS: "true", BridgeEnv.CLIENT_SUBJECTS: json.dumps([EXOTEL])}
    bridge = start_bridge(bridge_env(stack, stack.url, **env))
    assert _push(bridge.target, 1, None) == grpc.StatusCode.UNAUTHENTICATED  # not through the mTLS listener
    assert _push(bridge.target, 2, OTHER) == grpc.StatusCode.UNAUTHENTICATED  # verified, but not pinned
    assert _push(bridge.target, 3, EXOTEL) == grpc.StatusCode.OK
    assert _push(bridge.target, 4, EXOTEL) == grpc.StatusCode.OK
    received = stack.receive(stack.subscriber_url, expected=2, settle=0.5)
    assert len(received) == 2  # only the two pushes from the pinned subject reached the bus
    with grpc.insecure_channel(bridge.target) as channel:  # the ALB's health check carries no certificate
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING

    verified = _messages(bridge, "client certificate verified")
    assert [(d["level"], d["subject"], d["pinned"]) for d in verified] == [("INFO", EXOTEL, True)]  # once per subject
    refused = [d for d in bridge.logs() if str(d.get("message", "")).startswith("push refused")]
    assert [(d["level"], d.get("subject")) for d in refused] == [("WARNING", None), ("WARNING", OTHER)]
    assert _messages(bridge, NO_AUTH) == []


def test_behind_the_load_balancer_any_verified_subject_without_pins(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url, **{BridgeEnv.LB_MUTUAL_TLS: "true"}))
    assert _push(bridge.target, 1, OTHER) == grpc.StatusCode.OK
    assert _push(bridge.target, 2, "  ") == grpc.StatusCode.UNAUTHENTICATED  # an empty header is no subject
    ready = next(d for d in bridge.logs() if d.get("message") == "bridge ready")
    assert ready["authentication"] == ["load_balancer_mutual_tls"]
    assert [d["subject"] for d in _messages(bridge, "client certificate verified")] == [OTHER]


def test_own_mutual_tls_pins_the_peer_certificate_subject(
    stack: AwsStack, start_bridge, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("pins")
    ca = issue_certificate("test-ca", None, ca=True)
    ca_cert, _ = write_pem(directory, "ca", *ca)
    server_cert, server_key = write_pem(directory, "server", *issue_certificate("localhost", ca))
    clients = {
        name: write_pem(directory, name, *issue_certificate(name, ca)) for name in ("exotel-client", "someone-else")
    }
    env = {
        BridgeEnv.TLS_CERT_FILE: str(server_cert),
        BridgeEnv.TLS_KEY_FILE: str(server_key),
        BridgeEnv.TLS_CLIENT_CA_FILE: str(ca_cert),
        BridgeEnv.CLIENT_SUBJECTS: "CN=exotel-client",  # one subject, as is
    }
    bridge = start_bridge(bridge_env(stack, stack.url, **env))

    def push(client: str) -> grpc.StatusCode:
        cert, key = clients[client]
        credentials = grpc.ssl_channel_credentials(ca_cert.read_bytes(), key.read_bytes(), cert.read_bytes())
        with grpc.secure_channel(f"localhost:{bridge.port}", credentials) as channel:
            try:
                pb_grpc.LegEventServiceStub(channel).TriggerCallbackEvent(make_event(1), timeout=10)
            except grpc.RpcError as exc:
                return exc.code()
        return grpc.StatusCode.OK

    assert push("someone-else") == grpc.StatusCode.UNAUTHENTICATED  # the CA signed it, but it is not pinned
    assert push("exotel-client") == grpc.StatusCode.OK
    assert [d["subject"] for d in _messages(bridge, "client certificate verified")] == ["CN=exotel-client"]


def test_a_bridge_without_authentication_says_so_at_start(stack: AwsStack, start_bridge) -> None:
    open_bridge = start_bridge(bridge_env(stack, stack.url))
    (warning,) = _messages(open_bridge, NO_AUTH)
    assert warning["level"] == "WARNING" and BridgeEnv.AUTH_TOKEN in warning["remedy"]
    with_token = start_bridge(bridge_env(stack, stack.url, **{BridgeEnv.AUTH_TOKEN: "s3cret-token"}))
    assert _messages(with_token, NO_AUTH) == []


@pytest.mark.parametrize(
    "env",
    [
        {BridgeEnv.CLIENT_SUBJECTS: EXOTEL},  # nothing verifies a certificate
        {BridgeEnv.LB_MUTUAL_TLS: "true", BridgeEnv.CLIENT_SUBJECTS: '["CN=a", '},  # broken JSON
        {BridgeEnv.LB_MUTUAL_TLS: "true", BridgeEnv.CLIENT_SUBJECTS: '["CN=a", " "]'},  # an empty subject
    ],
)
def test_pinned_subjects_that_cannot_work_stop_the_start(stack: AwsStack, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge"],
        cwd=ROOT,
        env=bridge_env(stack, stack.url, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "invalid bridge configuration" in done.stderr and BridgeEnv.CLIENT_SUBJECTS in done.stderr


def test_subjects_hold_commas_so_the_variable_is_json_or_one_subject() -> None:
    from bridge.config import BridgeConfig

    listed = BridgeConfig.from_env(
        {BridgeEnv.LB_MUTUAL_TLS: "true", BridgeEnv.CLIENT_SUBJECTS: json.dumps([EXOTEL, OTHER])}
    )
    assert listed.client_subjects == (EXOTEL, OTHER)
    single = BridgeConfig.from_env({BridgeEnv.LB_MUTUAL_TLS: "true", BridgeEnv.CLIENT_SUBJECTS: f" {EXOTEL} "})
    assert single.client_subjects == (EXOTEL,)
    assert BridgeConfig().authentication == []
