"""A lean HTTP/1.1 client for the bridge's calls to one AWS endpoint: kept-alive connections, POST only.

Why not aiohttp (what :mod:`bridge.asyncsdk` sent with before, and still does through a proxy): measured per
``PutEvents`` call against an instant endpoint on loopback, aiohttp's client took about 250 µs of CPU where a
bare request over a kept-alive connection takes about 55 µs (docs/BRIDGE.md, "The HTTP client"). At the load
where latency matters (one event per call, 1,000 events/s) that difference was a fifth of the bridge's CPU per
event, and CPU is what the tail waits for on a busy task. The bridge needs little of what aiohttp offers: one
host, POST with a body in memory, small replies, no cookies, redirects or compression.

What it does: one request per connection at a time (no pipelining), at most ``max_connections`` open, idle
ones reused for ``keepalive_s``; TLS with the system's or ``AWS_CA_BUNDLE``'s certificates; replies framed by
``Content-Length``, chunked transfer encoding, or the connection's end. Faults come out as three exceptions,
which :mod:`bridge.asyncsdk` turns into botocore's: :class:`ConnectFailed` (refused, unreachable, DNS, the
connect time-out), :class:`ReadTimedOut` (no whole reply within ``read_timeout_s``), :class:`ConnectionLost`
(closed or reset before the reply was whole, or a reply that is not HTTP).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from bridge.sigv4 import host_header

#: Bounds on what a reply may be (an AWS reply is a few kilobytes): anything larger is not what we asked for.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


class HttpFault(Exception):
    """The request did not get a whole reply."""


class ConnectFailed(HttpFault):
    """No connection could be made (refused, unreachable, name not resolved, connect time-out)."""


class ReadTimedOut(HttpFault):
    """The reply was not whole within the read time-out."""


class ConnectionLost(HttpFault):
    """The connection closed, was reset, or carried something that is not an HTTP/1.1 reply."""


class Reply:
    """A whole reply: status, headers (names in lower case) and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Connection(asyncio.Protocol):
    """One kept-alive connection; parses the reply to the request in flight as bytes arrive."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reusable = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Reply] | None = None
        self._head: tuple[int, dict[str, str]] | None = None
        self._length: int | None = None  # body bytes expected; None: chunked or until the end
        self._chunked = False
        self._keep_alive = True

    # ---- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport: create_connection's

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():  # nothing asked: the server is closing, or misbehaving
            self.close()
            return
        self._buffer += data
        try:
            self._parse()
        except HttpFault as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._length is None and not self._chunked:  # framed by the end
            self._finish(bytes(self._buffer))
            return
        waiter.set_exception(ConnectionLost(f"connection closed before the reply was whole ({exc or 'EOF'})"))

    # ---- one request ---------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Reply]:
        self._buffer.clear()
        self._head = None
        self._length = None
        self._chunked = False
        self._keep_alive = True
        self.reusable = False
        waiter: asyncio.Future[Reply] = self.loop.create_future()
        self._waiter = waiter
        assert self.transport is not None
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: HttpFault) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _parse(self) -> None:
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ConnectionLost("reply head too large")
                return
            self._read_head(bytes(buffer[:end]).decode("latin-1"))
            del buffer[: end + 4]
            if self._head is None:  # an interim (1xx) reply: the real one follows
                self._parse()
                return
        if self._chunked:
            body = _dechunk(buffer)
            if body is not None:
                self._finish(body)
        elif self._length is not None:
            if len(buffer) >= self._length:
                self._finish(bytes(buffer[: self._length]))
        elif len(buffer) > MAX_BODY_BYTES:
            raise ConnectionLost("reply body too large")

    def _read_head(self, text: str) -> None:
        lines = text.split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ConnectionLost(f"not an HTTP/1.1 reply: {lines[0][:80]!r}")
        status = int(code)
        if 100 <= status < 200:
            return
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        connection = headers.get("connection", "").lower()
        self._keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif status in (204, 304):
            self._length = 0
        elif "content-length" in headers:
            try:
                self._length = int(headers["content-length"])
            except ValueError:
                raise ConnectionLost(f"bad Content-Length: {headers['content-length']!r}") from None
            if not 0 <= self._length <= MAX_BODY_BYTES:
                raise ConnectionLost(f"reply body of {self._length} bytes")
        else:
            self._keep_alive = False  # framed by the connection's end
        self._head = (status, headers)

    def _finish(self, body: bytes) -> None:
        assert self._head is not None and self._waiter is not None
        status, headers = self._head
        self.reusable = self._keep_alive and not self.closed
        self._waiter.set_result(Reply(status, headers, body))


def _dechunk(buffer: bytearray) -> bytes | None:
    """The body of a whole chunked reply in ``buffer``, or None while it is not whole yet."""
    body = bytearray()
    at = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ConnectionLost(f"bad chunk size: {size_text[:20]!r}") from None
        at = line_end + 2
        if size == 0:  # the last chunk; trailers (ignored) end with an empty line
            return bytes(body) if buffer.find(b"\r\n\r\n", at - 2) >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        if len(body) > MAX_BODY_BYTES:
            raise ConnectionLost("reply body too large")
        at += size + 2


class Http1Client:
    """POSTs to one endpoint (``https://…`` or ``http://…``) over at most ``max_connections`` connections."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_connections: int,
        keepalive_s: float = 30.0,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._keepalive_s = keepalive_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._start = f"Host: {host_header(endpoint_url)}\r\n"
        self.connections_made = 0  # how many connections were opened (kept-alive ones are reused)

    async def post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        async with self._slots:
            connection = self._idle_connection() or await self._connect()
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            request = f"POST {path} HTTP/1.1\r\n{self._start}{head}Content-Length: {len(body)}\r\n\r\n"
            data = request.encode("latin-1") + body
            try:
                try:
                    waiter = connection.send(data)
                except (OSError, RuntimeError) as exc:  # the transport closed under us (uvloop: RuntimeError)
                    raise ConnectionLost(f"connection closed before the request was sent ({exc})") from exc
                timer = connection.loop.call_later(  # its loop is the running one (no look-up per call)
                    self._read_timeout_s, _time_out, waiter, self._read_timeout_s
                )
                try:
                    reply = await waiter
                finally:
                    timer.cancel()
            except BaseException:
                connection.close()  # mid-reply (a fault, a time-out, a cancelled caller): never reuse it
                self._open.discard(connection)
                raise
            if connection.reusable:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
                self._open.discard(connection)
            return reply

    async def close(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    def _idle_connection(self) -> _Connection | None:
        idle = self._idle
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if connection.closed or transport is None or transport.is_closing():
                self._open.discard(connection)
            elif now - connection.idle_since > self._keepalive_s:  # the server may be closing it right now
                connection.close()
                self._open.discard(connection)
            else:
                return connection
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
        except TimeoutError:
            where = f"{self._host}:{self._port}"
            raise ConnectFailed(f"no connection to {where} within {self._connect_timeout_s} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        self.connections_made += 1
        self._open.add(connection)
        return connection


def _time_out(waiter: asyncio.Future[Reply], after_s: float) -> None:
    if not waiter.done():
        waiter.set_exception(ReadTimedOut(f"no whole reply within {after_s} s"))
