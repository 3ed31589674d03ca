"""A loopback HTTP reverse proxy in front of the AWS emulator that injects faults on command.

Point a process's ``AWS_ENDPOINT_URL`` at ``proxy.url`` and steer the faults from the test::

    proxy = FaultProxy(moto.url).start()
    proxy.throttle(count=3, target="PutEvents")          # 400 ThrottlingException, not forwarded
    proxy.fail(status=503, count=2, target="AWSEvents")  # 500/503 with an AWS-style error body
    proxy.partial_failures(count=5, fail_ratio=0.5)      # PutEvents: some entries fail (FailedEntryCount > 0)
    proxy.close_connections(count=-1, target="AWSEvents")  # read the request, close without replying
    proxy.delay(seconds=2.0, count=1)                    # hold the request, then forward it
    proxy.refuse(); proxy.accept()                       # stop listening (connection refused) / listen again
    proxy.clear()

Faults match a request by a substring of its ``X-Amz-Target`` header (``AWSEvents.PutEvents``,
``AmazonSQS.SendMessageBatch``; the URL path when there is no such header); ``target=None``
matches everything. ``count`` is how many matching requests a fault affects (``-1``: until
cleared). Injected failures are never forwarded: a failed entry or request really did not reach
the emulator, as with AWS, so a client that retries correctly ends with each event exactly once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support.ports import free_port

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_JSON = "application/x-amz-json-1.1"


@dataclass
class Fault:
    kind: str  # throttle | status | partial | close | delay
    count: int = 1
    target: str | None = None
    status: int = 500
    error_code: str = "ThrottlingException"
    fail_ratio: float = 0.5
    seconds: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def matches(self, target: str) -> bool:
        return self.target is None or self.target in target


class FaultProxy:
    """Reverse proxy to ``upstream_url``; thread-based, loopback only, controllable from the test."""

    def __init__(self, upstream_url: str, port: int | None = None) -> None:
        parts = urlsplit(upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.stats: Counter[str] = Counter()  # "forwarded:<target>", "injected:<kind>:<target>", "entries_failed"
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---- life cycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self.accept()
        return self

    def accept(self) -> None:
        """Listen (again) on the same port."""
        if self._server is not None:
            return
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"faultproxy-{self.port}", daemon=True)
        self._thread.start()

    def refuse(self) -> None:
        """Stop listening and cut open connections: clients get 'connection refused' until accept()."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        self.refuse()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- fault control ------------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def throttle(self, count: int = 1, target: str | None = "PutEvents") -> Fault:
        return self.add(Fault("throttle", count=count, target=target, status=400))

    def fail(self, status: int = 500, count: int = 1, target: str | None = "PutEvents") -> Fault:
        return self.add(Fault("status", count=count, target=target, status=status))

    def partial_failures(
        self,
        count: int = 1,
        fail_ratio: float = 0.5,
        error_code: str = "ThrottlingException",
        target: str | None = "PutEvents",
        seed: int = 7,
    ) -> Fault:
        """The next ``count`` PutEvents (or SendMessageBatch) calls fail some of their entries."""
        return self.add(
            Fault(
                "partial",
                count=count,
                target=target,
                error_code=error_code,
                fail_ratio=fail_ratio,
                rng=random.Random(seed),
            )
        )

    def close_connections(self, count: int = 1, target: str | None = None) -> Fault:
        return self.add(Fault("close", count=count, target=target))

    def delay(self, seconds: float, count: int = 1, target: str | None = None) -> Fault:
        return self.add(Fault("delay", count=count, target=target, seconds=seconds))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count != 0 and fault.matches(target):
                    if fault.count > 0:
                        fault.count -= 1
                    return fault
            self._faults = [f for f in self._faults if f.count != 0]
        return None

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._track(self.connection, False)
            if self._upstream is not None:
                self._upstream.close()

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # ---- the request path ---------------------------------------------------------------------
    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target") or self.path
        fault = self.owner._take(target)
        stats = self.owner.stats
        if fault is not None:
            stats[f"injected:{fault.kind}:{target}"] += 1
        if fault is None or fault.kind == "delay":
            if fault is not None:
                time.sleep(fault.seconds)
            self._forward(body, target)
        elif fault.kind == "throttle":
            self._reply_error(400, "ThrottlingException", "Rate exceeded")
        elif fault.kind == "status":
            code = "ServiceUnavailable" if fault.status == 503 else "InternalFailure"
            self._reply_error(fault.status, code, "injected by faultproxy")
        elif fault.kind == "close":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "partial":
            self._partial(body, target, fault)

    def _forward(self, body: bytes, target: str) -> tuple[int, dict[str, str], bytes] | None:
        status, headers, payload = self._upstream_call(body)
        self.owner.stats[f"forwarded:{target}"] += 1
        self._reply(status, headers, payload)
        return status, headers, payload

    def _upstream_call(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    self.owner.upstream_host, self.owner.upstream_port, timeout=30
                )
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                response = self._upstream.getresponse()
                payload = response.read()
                reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
                return response.status, reply_headers, payload
            except (OSError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt:
                    return 502, {"Content-Type": _JSON}, b'{"__type":"BadGateway","message":"upstream unreachable"}'
        raise AssertionError("unreachable")

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reply_error(self, status: int, code: str, message: str) -> None:
        payload = json.dumps({"__type": code, "message": message}).encode()
        self._reply(
            status,
            {"Content-Type": _JSON, "x-amzn-RequestId": "faultproxy", "x-amzn-query-error": f"{code};Sender"},
            payload,
        )

    def _partial(self, body: bytes, target: str, fault: Fault) -> None:
        """Fail a random subset of the entries; forward only the rest, then splice the replies."""
        request = json.loads(body or b"{}")
        entries = request.get("Entries") or []
        failed = {i for i in range(len(entries)) if fault.rng.random() < fault.fail_ratio}
        if entries and len(failed) == len(entries) and fault.fail_ratio < 1.0:
            failed.discard(len(entries) - 1)  # keep at least one moving unless everything must fail
        self.owner.stats["entries_failed"] += len(failed)
        kept = [entry for i, entry in enumerate(entries) if i not in failed]
        upstream: dict[str, Any] = {}
        status = 200
        headers = {"Content-Type": _JSON}
        if kept:
            status, headers, payload = self._upstream_call(json.dumps({**request, "Entries": kept}).encode())
            self.owner.stats[f"forwarded:{target}"] += 1
            if status != 200:
                self._reply(status, headers, payload)
                return
            upstream = json.loads(payload)
        if "SendMessageBatch" in target:
            reply = self._splice_sqs(entries, failed, upstream, fault)
        else:
            reply = self._splice_put_events(entries, failed, upstream, fault)
        self._reply(200, {"Content-Type": headers.get("Content-Type", _JSON)}, json.dumps(reply).encode())

    @staticmethod
    def _splice_put_events(entries: list[Any], failed: set[int], upstream: dict[str, Any], fault: Fault) -> dict:
        results = iter(upstream.get("Entries") or [])
        spliced = []
        for i in range(len(entries)):
            if i in failed:
                spliced.append({"ErrorCode": fault.error_code, "ErrorMessage": "injected by faultproxy"})
            else:
                spliced.append(next(results))
        return {
            "FailedEntryCount": sum(1 for e in spliced if "ErrorCode" in e),
            "Entries": spliced,
        }

    @staticmethod
    def _splice_sqs(entries: list[Any], failed: set[int], upstream: dict[str, Any], fault: Fault) -> dict:
        injected = [
            {
                "Id": entries[i]["Id"],
                "SenderFault": False,
                "Code": fault.error_code,
                "Message": "injected by faultproxy",
            }
            for i in sorted(failed)
        ]
        return {"Successful": upstream.get("Successful") or [], "Failed": [*(upstream.get("Failed") or []), *injected]}
