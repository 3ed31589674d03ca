"""TLS in the process, with and without client certificates, and the container's health-check script."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.bridge.conftest import ROOT, AwsStack, bridge_env, make_event

pytestmark = pytest.mark.component


def _issue(name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, *, ca: bool = False):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def _write(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca = _issue("test-ca", None, ca=True)
    server = _issue("localhost", ca)
    client = _issue("exotel-client", ca)
    ca_cert, _ = _write(directory, "ca", *ca)
    server_cert, server_key = _write(directory, "server", *server)
    client_cert, client_key = _write(directory, "client", *client)
    return {"ca": ca_cert, "server_cert": server_cert, "server_key": server_key, "client_cert": client_cert,
            "client_key": client_key}  # fmt: skip


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
