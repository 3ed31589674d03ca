"""The console's HTTP side: its page and static files, its JSON API and its event stream (Server-Sent Events).

Everything lives under ``/console`` on the local API's port; nothing here reaches the ``api`` function.
Errors are RFC 9457 problem details (``application/problem+json``). A POST must say
``Content-Type: application/json`` (a form on another site cannot send that without the browser asking
first), so a page elsewhere cannot start calls on a developer's machine.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from devstack.console.runs import Busy
from devstack.scenarios import SCENARIOS

if TYPE_CHECKING:
    from devstack.console.app import Console

log = logging.getLogger("devstack.console")

STATIC_DIR = Path(__file__).resolve().parent / "static"
HEARTBEAT_SECONDS = 10.0
WAKE_SECONDS = 1.0  # an event stream checks for "stopping" at least this often
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript"}

Handler = Callable[[BaseHTTPRequestHandler, dict[str, str], re.Match[str]], None]


class ConsoleHttp:
    def __init__(self, console: Console, prefix: str) -> None:
        self.console = console
        self.prefix = prefix
        api = re.escape(prefix) + "/api"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(re.escape(prefix) + "/?"), self._index),
            ("GET", re.compile(re.escape(prefix) + r"/static/([A-Za-z0-9_.-]+)"), self._static),
            ("GET", re.compile(api + "/info"), self._info),
            ("GET", re.compile(api + "/events"), self._events),
            ("GET", re.compile(api + "/stream"), self._stream),
            ("GET", re.compile(api + "/legs"), self._legs),
            ("GET", re.compile(api + r"/legs/([A-Za-z0-9_-]+)"), self._leg),
            ("GET", re.compile(api + "/calls"), self._calls),
            ("GET", re.compile(api + r"/calls/([A-Za-z0-9_-]+)"), self._call),
            ("GET", re.compile(api + "/queues"), self._queues),
            ("GET", re.compile(api + r"/queues/([A-Za-z0-9_.-]+)/messages"), self._peek),
            ("GET", re.compile(api + "/scenarios"), self._scenarios),
            ("POST", re.compile(api + r"/scenarios/([a-z_]+)"), self._start_scenario),
            ("GET", re.compile(api + "/runs"), self._runs),
        ]

    def owns(self, path: str) -> bool:
        clean = urlsplit(path).path
        return clean == self.prefix or clean.startswith(self.prefix + "/")

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        method = "GET" if request.command == "HEAD" else request.command
        matched_path = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(parts.path)
            if match is None:
                continue
            matched_path = True
            if route_method == method:
                try:
                    handler(request, query, match)
                except (BrokenPipeError, ConnectionResetError):
                    request.close_connection = True  # the browser went away mid-answer
                except Exception as exc:  # a bug or the emulator stopping: a clear 500, the devstack stays up
                    log.exception("console: %s %s failed", request.command, request.path)
                    self.problem(request, 500, f"{type(exc).__name__}: {exc}")
                return
        if matched_path:
            self.problem(request, 405, f"{request.command} is not served on {parts.path}")
        else:
            self.problem(request, 404, f"no console resource at {parts.path}")

    # ---- replies --------------------------------------------------------------------------------
    def json(self, request: BaseHTTPRequestHandler, body: Any, status: int = 200) -> None:
        payload = json.dumps(body, separators=(",", ":"), default=str).encode()
        self._send(request, status, "application/json", payload)

    def problem(self, request: BaseHTTPRequestHandler, status: int, detail: str) -> None:
        body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
        self._send(request, status, "application/problem+json", json.dumps(body).encode())

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, content_type: str, payload: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)

    # ---- page -----------------------------------------------------------------------------------
    def _index(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        if not urlsplit(request.path).path.endswith("/"):  # relative links (static/…, api/…) need the slash
            request.send_response(308)
            request.send_header("Location", self.prefix + "/")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        self._file(request, STATIC_DIR / "index.html")

    def _static(self, request: BaseHTTPRequestHandler, _query: dict[str, str], match: re.Match[str]) -> None:
        path = (STATIC_DIR / match.group(1)).resolve()
        if path.parent != STATIC_DIR or not path.is_file():
            self.problem(request, 404, f"no static file {match.group(1)!r}")
            return
        self._file(request, path)

    def _file(self, request: BaseHTTPRequestHandler, path: Path) -> None:
        content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(request, 200, content_type, path.read_bytes())

    # ---- JSON API -------------------------------------------------------------------------------
    def _info(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {**self.console.about, "feed_last_seq": self.console.feed.last_seq})

    def _events(self, request: BaseHTTPRequestHandler, query: dict[str, str], _match: re.Match[str]) -> None:
        after, limit = _int(query.get("after"), 0), max(1, min(_int(query.get("limit"), 200), 2000))
        items = self.console.feed.since(after, limit)
        self.json(request, {"events": items, "last_seq": self.console.feed.last_seq})

    def _legs(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {"legs": self.console.views.legs()})

    def _leg(self, request: BaseHTTPRequestHandler, _query: dict[str, str], match: re.Match[str]) -> None:
        found = self.console.views.leg(match.group(1))
        if found is None:
            self.problem(request, 404, f"no leg {match.group(1)} (neither recorded nor seen on the bus)")
        else:
            self.json(request, found)

    def _calls(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {"calls": self.console.views.calls()})

    def _call(self, request: BaseHTTPRequestHandler, _query: dict[str, str], match: re.Match[str]) -> None:
        found = self.console.views.call(match.group(1))
        if found is None:
            self.problem(request, 404, f"no call {match.group(1)}")
        else:
            self.json(request, found)

    def _queues(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {"queues": self.console.views.queues()})

    def _peek(self, request: BaseHTTPRequestHandler, _query: dict[str, str], match: re.Match[str]) -> None:
        found = self.console.views.peek(match.group(1))
        if found is None:
            self.problem(request, 404, f"{match.group(1)} is not a queue the console may look into (only DLQs)")
        else:
            self.json(request, found)

    def _scenarios(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {"scenarios": self.console.runs.scenarios()})

    def _runs(self, request: BaseHTTPRequestHandler, _query: dict[str, str], _match: re.Match[str]) -> None:
        self.json(request, {"runs": self.console.runs.runs()})

    def _start_scenario(self, request: BaseHTTPRequestHandler, _query: dict[str, str], match: re.Match[str]) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        if not (request.headers.get("Content-Type") or "").startswith("application/json"):
            self.problem(request, 415, "send Content-Type: application/json (the console's own page does)")
            return
        key = match.group(1)
        if key not in SCENARIOS:
            self.problem(request, 404, f"no scenario {key!r}; there are {', '.join(SCENARIOS)}")
            return
        try:
            run = self.console.runs.start(key)
        except Busy as exc:
            self.problem(request, 429, str(exc))
            return
        self.json(request, {"run": run.view()}, status=202)

    # ---- event stream ---------------------------------------------------------------------------
    def _stream(self, request: BaseHTTPRequestHandler, query: dict[str, str], _match: re.Match[str]) -> None:
        """``text/event-stream``: ``bus`` events (``id`` = feed sequence: a reconnect resumes) and ``run`` updates."""
        console = self.console
        last_seq = _int(request.headers.get("Last-Event-ID") or query.get("after"), console.feed.last_seq)
        run_version = 0
        request.close_connection = True
        request.send_response(200)
        request.send_header("Content-Type", "text/event-stream")
        request.send_header("Cache-Control", "no-store")
        request.send_header("Connection", "close")
        request.end_headers()
        write = request.wfile.write
        write(b"retry: 1500\n\n")
        request.wfile.flush()
        version, last_write = -1, time.monotonic()
        while not console.stopping.is_set():
            version = console.wait(version, WAKE_SECONDS)
            chunks = []
            for item in console.feed.since(last_seq):
                chunks.append(f"id: {item['seq']}\nevent: bus\ndata: {json.dumps(item, separators=(',', ':'))}\n\n")
                last_seq = item["seq"]
            for run in console.runs.changed_since(run_version):
                chunks.append(f"event: run\ndata: {json.dumps(run, separators=(',', ':'))}\n\n")
                run_version = max(run_version, run["version"])
            if not chunks and time.monotonic() - last_write >= HEARTBEAT_SECONDS:
                chunks.append(": keep-alive\n\n")
            if chunks:
                write("".join(chunks).encode())
                request.wfile.flush()
                last_write = time.monotonic()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
