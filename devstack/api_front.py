"""A local stand-in for API Gateway (REST API, Lambda proxy integration) in front of the ``api`` function.

Each HTTP request becomes a v1 proxy event (``resource``/``path``/``httpMethod``/``headers``/
``multiValueHeaders``/``queryStringParameters``/``pathParameters``/``body``/``isBase64Encoded``/
``requestContext``), and the function's ``{statusCode, headers, multiValueHeaders, body, isBase64Encoded}``
becomes the HTTP reply. A function error becomes 502, as API Gateway answers.

The deployed API takes only SigV4-signed requests and puts the signer in ``requestContext.identity``;
locally nothing is verified, but the identity is filled in as API Gateway would: an IAM user named after
the access key of a SigV4 ``Authorization`` header when there is one, else ``devstack`` (so that
per-caller behaviour, such as Idempotency-Keys scoped to the caller, works the same locally).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from devstack.config import LOCAL_AWS_ACCOUNT
from devstack.functions import Invoker, LocalFunction
from lambdas.api.problems import PROBLEM_JSON, ProblemType, problem
from lambdas.api.problems import body as problem_body

log = logging.getLogger("devstack.api")

STAGE = "local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/problem+json", "application/yaml")
#: The access key of a SigV4 ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=AKID/date/region/...``).
_SIGV4_KEY = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([A-Za-z0-9]{1,128})/")
#: Who an unsigned local request is (an IAM user of the local account).
LOCAL_CALLER = "devstack"


def caller_identity(headers: dict[str, str], source_ip: str) -> dict[str, Any]:
    """``requestContext.identity`` as API Gateway's IAM authorization fills it for an IAM user."""
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    match = _SIGV4_KEY.match(authorization.strip())
    access_key = match.group(1) if match else None
    user = access_key or LOCAL_CALLER
    return {
        "sourceIp": source_ip,
        "userAgent": headers.get("User-Agent"),
        "accountId": LOCAL_AWS_ACCOUNT,
        "caller": f"AIDA{user.upper()}",
        "user": f"AIDA{user.upper()}",
        "userArn": f"arn:aws:iam::{LOCAL_AWS_ACCOUNT}:user/{user}",
        "apiKey": None,
        "accessKey": access_key,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
    }


def build_proxy_event(
    method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The REST API ``{proxy+}`` event for one request."""
    parts = urlsplit(raw_path)
    path = parts.path or "/"
    query = parse_qs(parts.query, keep_blank_values=True)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value  # the last one wins, as in API Gateway
        multi_headers.setdefault(name, []).append(value)
    content_type = single_headers.get("Content-Type") or single_headers.get("content-type") or ""
    is_text = not body or content_type.startswith(_TEXT_TYPES) or not content_type
    request_id = str(uuid.uuid4())
    now = time.time()
    proxy = path.lstrip("/")
    return {
        "resource": "/{proxy+}" if proxy else "/",
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}" if proxy else "/",
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "accountId": LOCAL_AWS_ACCOUNT,
            "apiId": "devstack",
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": single_headers.get("Host", "localhost"),
            "identity": caller_identity(single_headers, source_ip),
        },
        "body": (body.decode("utf-8", errors="replace") if is_text else base64.b64encode(body).decode())
        if body
        else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


#: How long a refused chunked request's body is read for before the refusal is sent anyway.
DRAIN_TIMEOUT_S = 0.5


def drain_chunked(rfile: BinaryIO, limit: int) -> None:
    """Read a chunked body to its end (at most ``limit`` bytes) before refusing it: a socket closed with unread
    data is reset, and the client would see a broken pipe instead of the refusal."""
    seen = 0
    while seen <= limit:
        line = rfile.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return  # not chunked after all, or the connection ended
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        rfile.read(size + 2)  # the chunk and its CRLF
        seen += size


class ApiFront:
    """``ThreadingHTTPServer`` on ``host:port`` (0 = any free port), invoking the ``api`` function per request."""

    def __init__(self, host: str, port: int, function: LocalFunction, invoker: Invoker) -> None:
        front = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "devstack-api"

            def _serve(self) -> None:
                front.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, PROPFIND, ...): API Gateway refuses it with a 4xx, not http.server's 501.
                if name.startswith("do_"):
                    return lambda: front.refuse(self, 405, f"Method Not Allowed: {self.command}")
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                return  # handle() logs one line per request itself

        self._function = function
        self._invoker = invoker
        self._mounts: list[tuple[str, Callable[[BaseHTTPRequestHandler], None]]] = []
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-front", daemon=True)

    def mount(self, prefix: str, handler: Callable[[BaseHTTPRequestHandler], None]) -> None:
        """Serve ``prefix`` and everything under it with ``handler`` instead of the function (the local console).

        A devstack-only addition: the deployed API Gateway has no such path.
        """
        self._mounts.append((prefix.rstrip("/"), handler))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        for prefix, handler in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                handler(request)
                return
        started = time.monotonic()
        refusal = self._refusal(request)
        if refusal is not None:  # what API Gateway's front door would refuse, before any function runs
            if refusal[0] == 411:  # read what the client sends at once (a body never sent: give up after a moment)
                request.connection.settimeout(DRAIN_TIMEOUT_S)
                with contextlib.suppress(OSError):  # timed out or reset: the connection closes after the refusal
                    drain_chunked(request.rfile, MAX_BODY_BYTES)
            self.refuse(request, *refusal)
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        event = build_proxy_event(
            request.command, request.path, list(request.headers.items()), body, request.client_address[0]
        )
        outcome = self._invoker.invoke(self._function, event)
        status, headers, payload = self._to_http(outcome.result, outcome.error)
        self._reply(request, status, headers, payload)
        log.info(
            "%s %s -> %d (%.0f ms)", request.command, request.path, status, (time.monotonic() - started) * 1000,
            extra={"source": "api-front"},
        )  # fmt: skip

    def refuse(self, request: BaseHTTPRequestHandler, status: int, message: str) -> None:
        """What API Gateway answers itself, in the API's problem format (the deployment's gateway responses)."""
        request.close_connection = True
        kind = ProblemType.TOO_LARGE if status == 413 else ProblemType.REFUSED
        value = problem(
            kind, message, status=status, instance=urlsplit(request.path).path, request_id=str(uuid.uuid4())
        )
        self._reply(request, status, {"Content-Type": PROBLEM_JSON}, problem_body(value).encode())
        log.info("%s %s -> %d (%s)", request.command, request.path, status, message, extra={"source": "api-front"})

    @staticmethod
    def _refusal(request: BaseHTTPRequestHandler) -> tuple[int, str] | None:
        if "chunked" in (request.headers.get("Transfer-Encoding") or "").lower():
            return 411, "Length Required: send the body with a Content-Length"
        raw = request.headers.get("Content-Length") or "0"
        if not raw.strip().isdigit():
            return 400, f"Bad Request: Content-Length {raw!r} is not a number"
        if int(raw) > MAX_BODY_BYTES:
            return 413, "Request Too Long"
        return None

    @staticmethod
    def _to_http(result: Any, error: BaseException | None) -> tuple[int, dict[str, list[str]], bytes]:
        failed = problem(ProblemType.GATEWAY_ERROR, "Internal server error", status=502)
        internal = (502, {"Content-Type": [PROBLEM_JSON]}, problem_body(failed).encode())
        if error is not None or not isinstance(result, dict) or "statusCode" not in result:
            if error is None:
                log.error("api returned %r, not a proxy response: API Gateway answers 502", type(result).__name__)
            return internal
        headers: dict[str, list[str]] = {k: [str(v)] for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = [str(v) for v in values]
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return internal
        return status, headers, payload

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, Any], payload: bytes) -> None:
        request.send_response(status)
        for name, values in headers.items():
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            for value in values if isinstance(values, list) else [values]:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)
