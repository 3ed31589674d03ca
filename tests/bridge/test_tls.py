"""TLS in the process, with and without client certificates, and the container's health-check script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, make_event
from tests.support.pki import write_pki

pytestmark = pytest.mark.component


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_pki(tmp_path_factory.mktemp("pki"))


def _call(target: str, pki: dict[str, Path], with_client_cert: bool) -> bool:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki["ca"].read_bytes(),
        private_key=pki["client_key"].read_bytes() if with_client_cert else None,
        certificate_chain=pki["client_cert"].read_bytes() if with_client_cert else None,
    )
    with grpc.secure_channel(target, credentials) as channel:
        return pb_grpc.LegEventServiceStub(channel).TriggerCallbackEvent(make_event(1), timeout=10).accepted


def _healthcheck(port: int, **env: str) -> int:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "BRIDGE_PORT": str(port), **env}
    return subprocess.run([sys.executable, "-m", "bridge.healthcheck"], cwd=ROOT, env=full, timeout=30).returncode


def test_tls_and_health_check_script(stack: AwsStack, start_bridge, pki: dict[str, Path]) -> None:
    tls = {"BRIDGE_TLS_CERT_FILE": str(pki["server_cert"]), "BRIDGE_TLS_KEY_FILE": str(pki["server_key"])}
    bridge = start_bridge(bridge_env(stack, stack.url, **tls))
    assert _call(f"localhost:{bridge.port}", pki, with_client_cert=False)
    with grpc.insecure_channel(bridge.target) as plain, pytest.raises(grpc.RpcError):
        pb_grpc.LegEventServiceStub(plain).TriggerCallbackEvent(make_event(2), timeout=5)
    assert _healthcheck(bridge.port, **tls, BRIDGE_HEALTHCHECK_CA_FILE=str(pki["ca"])) == 0
    assert bridge.terminate() == 0
    assert _healthcheck(bridge.port, **tls, BRIDGE_HEALTHCHECK_CA_FILE=str(pki["ca"])) != 0  # gone


def test_mutual_tls_requires_a_client_certificate(stack: AwsStack, start_bridge, pki: dict[str, Path]) -> None:
    env = {
        "BRIDGE_TLS_CERT_FILE": str(pki["server_cert"]),
        "BRIDGE_TLS_KEY_FILE": str(pki["server_key"]),
        "BRIDGE_TLS_CLIENT_CA_FILE": str(pki["ca"]),
    }
    bridge = start_bridge(bridge_env(stack, stack.url, **env))
    with pytest.raises(grpc.RpcError) as refused:
        _call(f"localhost:{bridge.port}", pki, with_client_cert=False)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _call(f"localhost:{bridge.port}", pki, with_client_cert=True)


def test_plain_health_check_script(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url))
    assert _healthcheck(bridge.port) == 0
