"""``python -m bridge.healthcheck``: exit 0 when the local bridge's gRPC health service says SERVING.

For the container's HEALTHCHECK (no grpc_health_probe binary needed). Reads the bridge's own
variables (``BRIDGE_PORT``, TLS files) through :class:`HealthcheckConfig`. With TLS, the server
certificate is verified against ``BRIDGE_HEALTHCHECK_CA_FILE`` (default: the server's own
certificate, right for a self-signed one) under the name ``BRIDGE_HEALTHCHECK_SERVER_NAME`` (default
``localhost``); with mutual TLS, a client certificate from ``BRIDGE_HEALTHCHECK_CLIENT_CERT_FILE`` /
``BRIDGE_HEALTHCHECK_CLIENT_KEY_FILE``. A configuration it cannot use is reported (variable named) as
unhealthy: exit 1, since Docker reserves 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import Field

from bridge.config import DEFAULT_PORT
from contract.env import BridgeEnv
from legs.settings import ConfigError, EnvSettings


class HealthcheckConfig(EnvSettings):
    """Where the local bridge listens and how to reach it over TLS (names in ``contract.env.BridgeEnv``)."""

    subject = "health check configuration"

    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, validation_alias=BridgeEnv.PORT)
    tls_cert_file: Path | None = Field(default=None, validation_alias=BridgeEnv.TLS_CERT_FILE)
    ca_file: Path | None = Field(default=None, validation_alias=BridgeEnv.HEALTHCHECK_CA_FILE)
    client_cert_file: Path | None = Field(default=None, validation_alias=BridgeEnv.HEALTHCHECK_CLIENT_CERT_FILE)
    client_key_file: Path | None = Field(default=None, validation_alias=BridgeEnv.HEALTHCHECK_CLIENT_KEY_FILE)
    server_name: str = Field(default="localhost", min_length=1, validation_alias=BridgeEnv.HEALTHCHECK_SERVER_NAME)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def check(timeout: float = 3.0, config: HealthcheckConfig | None = None) -> bool:
    try:
        config = config or HealthcheckConfig.from_env()
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False
    if config.tls_cert_file is not None:
        try:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(config.ca_file or config.tls_cert_file),
                private_key=_read(config.client_key_file),
                certificate_chain=_read(config.client_cert_file),
            )
        except OSError as exc:
            print(f"unhealthy: cannot read a TLS file: {exc}", file=sys.stderr)
            return False
        options = [("grpc.ssl_target_name_override", config.server_name)]
        channel = grpc.secure_channel(config.target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(config.target)
    with channel:
        try:
            stub = health_pb2_grpc.HealthStub(channel)
            # types-grpcio-health-checking declares HealthStub without the methods its __init__ sets.
            check_rpc = stub.Check  # type: ignore[attr-defined]
            reply: health_pb2.HealthCheckResponse = check_rpc(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError as exc:
            print(f"unhealthy: {exc.code().name} {exc.details()}", file=sys.stderr)
            return False
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    if not serving:
        print(f"unhealthy: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}", file=sys.stderr)
    return serving


if __name__ == "__main__":
    sys.exit(0 if check() else 1)
