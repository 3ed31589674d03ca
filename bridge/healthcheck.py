"""``python -m bridge.healthcheck``: exit 0 when the local bridge's gRPC health service says SERVING.

For the container's HEALTHCHECK (no grpc_health_probe binary needed). Reads the bridge's own
variables (``BRIDGE_PORT``, TLS files). With TLS, the server certificate is verified against
``BRIDGE_HEALTHCHECK_CA_FILE`` (default: the server's own certificate, right for a self-signed one)
under the name ``BRIDGE_HEALTHCHECK_SERVER_NAME`` (default ``localhost``); with mutual TLS, a client
certificate from ``BRIDGE_HEALTHCHECK_CLIENT_CERT_FILE`` / ``BRIDGE_HEALTHCHECK_CLIENT_KEY_FILE``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from contract.env import BridgeEnv


def _read(var: str, default: str | None = None) -> bytes | None:
    path = os.environ.get(var) or default
    return Path(path).read_bytes() if path else None


def check(timeout: float = 3.0) -> bool:
    target = f"127.0.0.1:{os.environ.get(BridgeEnv.PORT) or 50051}"
    cert = os.environ.get(BridgeEnv.TLS_CERT_FILE)
    if cert:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(BridgeEnv.HEALTHCHECK_CA_FILE, cert),
            private_key=_read(BridgeEnv.HEALTHCHECK_CLIENT_KEY_FILE),
            certificate_chain=_read(BridgeEnv.HEALTHCHECK_CLIENT_CERT_FILE),
        )
        name = os.environ.get(BridgeEnv.HEALTHCHECK_SERVER_NAME) or "localhost"
        channel = grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", name)])
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
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
