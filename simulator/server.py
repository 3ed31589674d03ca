"""The simulator's HTTP front: Exotel's paths, envelope, Basic auth and status codes.

Standard library only (``ThreadingHTTPServer``): one thread per connection, keep-alive (HTTP/1.1)
so clients reuse connections as they would with Exotel. Every reply, errors included, is Exotel's
envelope; a bug in a handler becomes a 500 envelope, never a dropped connection.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ValidationError

from legs.models import ActionRequest, CreateBridgeRequest, CreateLegRequest
from simulator.config import SimulatorConfig
from simulator.engine import Engine
from simulator.errors import ApiError, error_code
from simulator.exoml import ExoMLError, parse_flow
from simulator.requests import (
    SHORTCUTS,
    FaultRequest,
    InboundRequest,
    StopBridgeRequest,
    UpdateLegRequest,
    shortcut_verbs,
)
from simulator.sids import request_id

__all__ = ["Simulator", "SimulatorConfig"]

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
_SID = r"(?P<sid>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/legs$"), "create_leg"),
    ("GET", re.compile(rf"^/legs/{_SID}$"), "get_leg"),
    ("PUT", re.compile(rf"^/legs/{_SID}$"), "update_leg"),
    ("POST", re.compile(rf"^/legs/{_SID}/actions$"), "leg_action"),
    ("POST", re.compile(rf"^/legs/{_SID}/actions/(?P<name>[^/]+)$"), "leg_shortcut"),
    ("GET", re.compile(rf"^/legs/{_SID}/external-events$"), "leg_external_events"),
    ("POST", re.compile(r"^/bridges$"), "create_bridge"),
    ("GET", re.compile(rf"^/bridges/{_SID}$"), "get_bridge"),
    ("PUT", re.compile(rf"^/bridges/{_SID}$"), "update_bridge"),
    ("POST", re.compile(rf"^/bridges/{_SID}/actions$"), "bridge_action"),
    ("GET", re.compile(rf"^/bridges/{_SID}/external-events$"), "bridge_external_events"),
]
_PERSON_HANGS_UP = re.compile(r"^/_sim/legs/(?P<sid>[^/]+)/hangup$")
_ACCOUNT_PATH = re.compile(r"^/v2/accounts/(?P<account>[^/]+)(?P<rest>/.*)?$")


@dataclass
class Fault:
    status: int | None
    count: int
    retry_after: float | None
    method: str | None
    delay: float
    when: str = "before"
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and (self.path is None or path.startswith(self.path))

    def error(self) -> ApiError | None:
        if self.status is None:
            return None
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
        return ApiError(self.status, "Simulated fault", "injected by POST /_sim/faults", headers=headers)


def validation_error(exc: ValidationError, what: str) -> ApiError:
    """A pydantic error as Exotel's 400: every problem named, field by field."""
    problems = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append({"field": field, "message": message})
    description = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return ApiError(400, f"Invalid {what}", description, extra={"invalid_params": problems})


class Simulator:
    """``sim = Simulator(SimulatorConfig(port=0)); sim.start(); sim.port; sim.stop()``."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.engine = Engine(self.config)
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("simulator not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> Simulator:
        handler = type("BoundHandler", (_Handler,), {"simulator": self})
        self._httpd = ThreadingHTTPServer((self.config.host, self.config.port), handler)
        self._httpd.daemon_threads = True
        self.engine.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sim-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.engine.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event has been pushed (or given up on)."""
        return self.engine.pusher.wait_idle(timeout)

    # ---- faults ----------------------------------------------------------------------------
    def add_fault(self, fault: FaultRequest) -> None:
        with self._faults_lock:
            self._faults.append(
                Fault(fault.status, fault.count, fault.retry_after, fault.method, fault.delay, fault.when, fault.path)
            )

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str = "/") -> Fault | None:
        """The first fault that applies to ``method`` on ``path`` (below the account), counted down."""
        with self._faults_lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    simulator: Simulator  # bound per server in Simulator.start
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall
    server_version = "ExotelLegsSimulator/0.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the stdlib detects itself (bad request line, huge headers): still Exotel's envelope."""
        self.close_connection = True
        error = {"code": error_code(code), "message": message or "Bad request", "description": explain or message or ""}
        method = getattr(self, "command", None) or "UNKNOWN"
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # unparsable request line: still send a status line
        with contextlib.suppress(OSError):
            self._reply(request_id(), method, code, None, error, {"Connection": "close"})

    # ---- plumbing --------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        rid = request_id()
        try:
            body = self._read_body()
            status, data, headers = self._dispatch(method, body)
        except ApiError as err:
            if err.status == 429:  # docs.exotel.com rate-limits: {request_id, http_code, response: {error}}
                self._send(
                    err.status,
                    {"request_id": rid, "http_code": 429, "response": {"error": err.rate_limit_error()}},
                    err.headers,
                )
                return
            self._reply(rid, method, err.status, None, err.error_data(), err.headers)
            return
        except Exception:  # a simulator bug: still Exotel's envelope, and logged
            log.exception("simulator handler failed")
            error = {"code": 500, "message": "Internal error", "description": "the simulator failed; see its log"}
            self._reply(rid, method, 500, None, error, {})
            return
        self._reply(rid, method, status, data, None, headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(411, "Length required", "send the body with a Content-Length header")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            self.close_connection = True
            raise ApiError(400, "Invalid Content-Length", "Content-Length must be an integer") from exc
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "Request too large", f"bodies are limited to {MAX_BODY} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _reply(
        self,
        rid: str,
        method: str,
        status: int,
        data: Any,
        error: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> None:
        envelope = {
            "request_id": rid,
            "method": method,
            "http_code": status,
            "response": {"error_data": error, "data": data},
        }
        self._send(status, envelope, headers)

    def _send(self, status: int, envelope: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(envelope).encode("utf-8")
        try:
            self._write(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a stalled fault): nobody to tell
            self.close_connection = True

    def _write(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="exotel"')
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "Invalid JSON", f"the request body is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ApiError(400, "Invalid JSON", "the request body must be a JSON object")
        return value

    def _model(self, model: type[BaseModel], body: bytes, what: str) -> Any:
        try:
            return model.model_validate(self._json(body))
        except ValidationError as exc:
            raise validation_error(exc, what) from exc

    def _authorised(self) -> bool:
        cfg = self.simulator.config
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, cfg.api_key) and hmac.compare_digest(password, cfg.api_token)

    def _dispatch(self, method: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(self.path)
        path = unquote(url.path).rstrip("/") or "/"
        query = parse_qs(url.query)
        if path.startswith("/_sim/"):
            return self._sim_hook(method, path, body)
        match = _ACCOUNT_PATH.match(path)
        if not match:
            raise ApiError(404, "Not found", f"no resource at {path}; the API lives under /v2/accounts/<account_sid>/")
        if not self._authorised():
            raise ApiError(401, "Authentication failed", "use HTTP Basic auth with your API key and token")
        if match.group("account") != self.simulator.config.account_sid:
            raise ApiError(404, "Account not found", f"no account {match.group('account')!r} for these credentials")
        self._engine.count_request()
        rest = match.group("rest") or "/"
        fault = self.simulator.take_fault(method, rest)
        if fault is not None and fault.when == "before":
            if fault.delay:
                time.sleep(fault.delay)
            error = fault.error()
            if error is not None:
                raise error
        reply = self._route(method, rest, body, query)
        if fault is not None and fault.when == "after":  # done; now the reply is lost, late, or both
            if fault.delay:
                time.sleep(fault.delay)
            error = fault.error()
            if error is not None:
                raise error
        return reply

    def _route(
        self, method: str, rest: str, body: bytes, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        allowed = []
        for route_method, pattern, name in ROUTES:
            found = pattern.match(rest)
            if found:
                if route_method == method:
                    return getattr(self, f"_api_{name}")(body, query, **found.groupdict())
                allowed.append(route_method)
        if allowed:
            raise ApiError(405, "Method not allowed", f"{method} is not supported here; use {', '.join(allowed)}")
        raise ApiError(404, "Not found", f"no resource at {rest}")

    # ---- Exotel's API ----------------------------------------------------------------------
    @property
    def _engine(self) -> Engine:
        return self.simulator.engine

    def _api_create_leg(self, body: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        request = self._model(CreateLegRequest, body, "create-leg request")
        return 202, self._engine.create_leg(request), {}

    def _api_get_leg(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        fields = [f.strip() for raw in query.get("fields", []) for f in raw.split(",") if f.strip()]
        with self._engine.lock:
            return 200, self._engine.leg_resource(self._engine.get_leg(sid), fields), {}

    def _api_update_leg(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            leg = self._engine.get_leg(sid)
            update = self._model(UpdateLegRequest, body, "leg update")
            return 202, self._engine.update_leg(leg, update.model_dump(exclude_unset=True)), {}

    def _api_leg_action(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            leg = self._engine.get_leg(sid)
            action = self._model(ActionRequest, body, "action")
            verbs = self._verbs(action.exoml)
            return 202, self._engine.leg_action(leg, verbs, action.action_custom_param), {}

    def _api_leg_shortcut(
        self, body: bytes, query: dict[str, list[str]], sid: str, name: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            leg = self._engine.get_leg(sid)
            model = SHORTCUTS.get(name)
            if model is None:
                raise ApiError(404, "Unknown action", f"no action {name!r}; known: {', '.join(SHORTCUTS)}")
            request = self._model(model, body, f"{name} action")
            verbs = shortcut_verbs(name, request)
            return 202, self._engine.leg_action(leg, verbs, request.action_custom_param), {}

    def _api_leg_external_events(
        self, body: bytes, query: dict[str, list[str]], sid: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            leg = self._engine.get_leg(sid)
            records = [d.as_record() for d in leg.deliveries]
        return 200, self._external_events(sid, leg.account_sid, records, query), {}

    def _api_create_bridge(self, body: bytes, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        request = self._model(CreateBridgeRequest, body, "create-bridge request")
        with self._engine.lock:
            status, created = self._engine.create_bridge(request)
        return status, created, {}

    def _api_get_bridge(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            return 200, self._engine.bridge_resource(self._engine.get_bridge(sid)), {}

    def _api_update_bridge(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            bridge = self._engine.get_bridge(sid)
            self._model(StopBridgeRequest, body, "bridge update")
            return 202, self._engine.stop_bridge(bridge), {}

    def _api_bridge_action(self, body: bytes, query: dict[str, list[str]], sid: str) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            bridge = self._engine.get_bridge(sid)
            action = self._model(ActionRequest, body, "action")
            verbs = self._verbs(action.exoml)
            return 202, self._engine.bridge_action(bridge, verbs, action.action_custom_param), {}

    def _api_bridge_external_events(
        self, body: bytes, query: dict[str, list[str]], sid: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._engine.lock:
            bridge = self._engine.get_bridge(sid)
            records = [d.as_record() for d in bridge.deliveries]
        return 200, self._external_events(sid, bridge.account_sid, records, query), {}

    @staticmethod
    def _external_events(
        sid: str, account_sid: str, records: list[dict[str, Any]], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """docs.exotel.com get-get-events-for-a-leg: ``{sid, event_type, account_sid, external_events}``.

        ``event_type`` is the type of the events listed when they share one (e.g. filtered by
        ``event_name``), else null: the page does not say what it is for a mixed list.
        """
        names = set(query.get("event_name", []))
        chosen = [r for r in records if not names or r["event_info"].get("event_name") in names]
        types = {r["event_info"].get("event_type") for r in chosen}
        return {
            "sid": sid,
            "event_type": types.pop() if len(types) == 1 else None,
            "account_sid": account_sid,
            "external_events": chosen,
        }

    @staticmethod
    def _verbs(exoml: str) -> list[Any]:
        try:
            return parse_flow(exoml)
        except ExoMLError as exc:
            raise ApiError(
                400, "Invalid ExoML", str(exc), extra={"invalid_params": [{"field": "exoml", "message": str(exc)}]}
            ) from exc

    # ---- test hooks outside Exotel's paths ---------------------------------------------------
    def _sim_hook(self, method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        sim = self.simulator
        if path == "/_sim/health" and method == "GET":
            return 200, {"status": "ok", "pending_events": sim.engine.pusher.pending()}, {}
        if path == "/_sim/faults" and method == "POST":
            fault = self._model(FaultRequest, body, "fault")
            sim.add_fault(fault)
            return 200, fault.model_dump(), {}
        if path == "/_sim/faults" and method == "DELETE":
            sim.clear_faults()
            return 200, {"cleared": True}, {}
        if path == "/_sim/legs" and method == "GET":
            with sim.engine.lock:
                return 200, [sim.engine.leg_summary(leg) for leg in sim.engine.legs.values()], {}
        hangup = _PERSON_HANGS_UP.match(path)
        if hangup and method == "POST":
            with sim.engine.lock:
                return 200, sim.engine.person_hangs_up(hangup.group("sid")), {}
        if path == "/_sim/inbound" and method == "POST":
            request = self._model(InboundRequest, body, "inbound call")
            endpoint = request.leg_event_endpoint or sim.config.inbound_endpoint
            if not endpoint:
                raise ApiError(400, "No event endpoint", "give leg_event_endpoint or set SIM_INBOUND_ENDPOINT")
            with sim.engine.lock:
                leg = sim.engine.inbound(
                    caller=request.contact_uri,
                    exophone=request.exophone,
                    endpoint=endpoint,
                    custom_param=request.custom_param,
                )
            return 202, leg, {}
        raise ApiError(404, "Not found", f"no simulator hook {method} {path}")
