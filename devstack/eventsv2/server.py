"""The HTTP side of the local EventsV2 endpoint: Smithy RPC v2 CBOR in and out, plus a few local-only routes.

botocore's ``eventbridgev2`` client (protocol ``smithy-rpc-v2-cbor``) sends ``POST /service/AWSEventsV2/
operation/<Operation>`` with a CBOR map body and the header ``smithy-protocol: rpc-v2-cbor``; it expects a CBOR
map back (timestamps as tag 1, epoch seconds) and, on an error, an HTTP error status with a CBOR body
``{"__type": "<namespace>#<ErrorShape>", "message": ...}``. That is all this server speaks to SDKs.

Local-only routes (JSON, for tests and operators; never part of AWS's API):

- ``GET /_local/health``: 200 when serving;
- ``GET /_local/subscribers``: each subscriber's cursor and delivered / dead-lettered counts;
- ``POST /_local/faults`` ``{"operation": "PutEvents", "code": "ThrottlingException", "count": 2,
  "per_entry": false}``: the next ``count`` calls fail (``per_entry``: every entry fails, the call succeeds);
  ``DELETE /_local/faults`` clears them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cbor2

from devstack.eventsv2.delivery import Deliverers, SqsDelivery
from devstack.eventsv2.store import EventsV2Store, Fault, ServiceError

log = logging.getLogger("devstack.eventsv2")

#: ``targetPrefix`` of the service model: the path is ``/service/<prefix>/operation/<name>``.
TARGET_PREFIX = "AWSEventsV2"
ERROR_NAMESPACE = "com.amazonaws.eventsv2"
OPERATIONS = (
    "CreateEventBus",
    "DescribeEventBus",
    "UpdateEventBus",
    "ListEventBuses",
    "DeleteEventBus",
    "PutEvents",
    "CreateSubscriber",
    "DescribeSubscriber",
    "ListSubscribers",
    "UpdateSubscriber",
    "DeleteSubscriber",
)


def encode(value: Any) -> bytes:
    return cbor2.dumps(value, datetime_as_timestamp=True, timezone=UTC)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, content_type: str, smithy: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if smithy:
            self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error: ServiceError) -> None:
        body = encode({"__type": f"{ERROR_NAMESPACE}#{error.code}", "message": error.message})
        self._reply(error.status, body, "application/cbor")

    def _json(self, status: int, value: Any) -> None:
        self._reply(status, json.dumps(value, default=str).encode(), "application/json", smithy=False)

    def do_POST(self) -> None:
        raw = self._body()
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if parts[:1] == ["_local"]:
            self._local("POST", parts[1:], raw)
            return
        if len(parts) != 4 or parts[0] != "service" or parts[2] != "operation" or parts[1] != TARGET_PREFIX:
            self._error(ServiceError("InvalidInputException", f"not an EventsV2 operation path: {self.path}"))
            return
        operation = parts[3]
        if operation not in OPERATIONS:
            self._error(ServiceError("InvalidInputException", f"{operation} is not emulated by the local endpoint"))
            return
        try:
            params = cbor2.loads(raw) if raw else {}
            if not isinstance(params, dict):
                raise ServiceError("InvalidInputException", "the request body must be a CBOR map")
            store = self.server.store
            if operation != "PutEvents":  # PutEvents consumes its faults under the store's lock
                with store.changed:
                    store.check_fault(operation)
            result = getattr(store, operation)(params)
        except ServiceError as exc:
            self._error(exc)
            return
        except (cbor2.CBORDecodeError, ValueError, TypeError, KeyError) as exc:
            self._error(ServiceError("InvalidInputException", f"malformed request: {exc}"))
            return
        except Exception as exc:  # a bug here must answer, not hang the SDK
            log.exception("local EventsV2 endpoint failed on %s", operation)
            self._error(ServiceError("InternalException", f"{type(exc).__name__}: {exc}"))
            return
        self._reply(200, encode(result), "application/cbor")

    def do_GET(self) -> None:
        self._local("GET", self.path.split("?", 1)[0].strip("/").split("/")[1:], b"")

    def do_DELETE(self) -> None:
        self._body()
        self._local("DELETE", self.path.split("?", 1)[0].strip("/").split("/")[1:], b"")

    def _local(self, method: str, parts: list[str], raw: bytes) -> None:
        store = self.server.store
        route = (method, "/".join(parts))
        if route == ("GET", "health"):
            self._json(200, {"status": "ok", "buses": len(store.buses), "subscribers": len(store.subscribers)})
        elif route == ("GET", "subscribers"):
            with store.changed:
                self._json(
                    200,
                    [
                        {"name": s.name, "arn": s.arn, "cursor": s.cursor, "delivered": s.delivered}
                        | {"dead_lettered": s.dead_lettered, "state": s.state}
                        for s in store.subscribers.values()
                    ],
                )
        elif route == ("POST", "faults"):
            try:
                spec = json.loads(raw or b"{}")
                fault = Fault(
                    str(spec["operation"]), str(spec["code"]), int(spec.get("count", 1)), bool(spec.get("per_entry"))
                )
            except (ValueError, KeyError, TypeError) as exc:
                self._json(400, {"error": f"fault needs operation, code, count: {exc}"})
                return
            with store.changed:
                store.faults.append(fault)
            self._json(200, {"ok": True})
        elif route == ("DELETE", "faults"):
            with store.changed:
                store.faults.clear()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": f"no local route {method} /_local/{'/'.join(parts)}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: EventsV2Store) -> None:
        super().__init__(address, _Handler)
        self.store = store


class EventsV2Endpoint:
    """The store, its delivery threads and the HTTP server; ``start()`` binds (port 0 = any free port)."""

    def __init__(
        self,
        sqs_client_factory: Callable[[], Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: EventsV2Store | None = None,
        idle_wait_s: float = 0.5,
    ) -> None:
        self.store = store or EventsV2Store()
        self._host = host
        self._port = port
        self._deliverers = Deliverers(self.store, SqsDelivery(sqs_client_factory), idle_wait_s)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EventsV2Endpoint:
        self._server = _Server((self._host, self._port), self.store)
        self._thread = threading.Thread(target=self._server.serve_forever, name="eventsv2-http", daemon=True)
        self._thread.start()
        self._deliverers.start()
        log.info("local EventsV2 endpoint listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._deliverers.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1]) if self._server is not None else 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def __enter__(self) -> EventsV2Endpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
