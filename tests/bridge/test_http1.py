"""``bridge.http1``: the bridge's HTTP/1.1 client, against scripted servers on loopback (plain and TLS).

Each server answers with bytes a test chooses, so framing (length, chunks, the connection's end), keep-alive
and every fault (refused, reset, time-out, not HTTP, a certificate not trusted) is checked on a real socket.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bridge.http1 import ConnectFailed, ConnectionLost, Http1Client, ReadTimedOut, Reply, _Connection
from tests.support.pki import write_pki
from tests.support.scripted_http import OK, Script, ScriptedServer, answer


def client(url: str, **kwargs: object) -> Http1Client:
    options: dict[str, object] = {
        "ssl_context": None,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "max_connections": 4,
    }
    options.update(kwargs)
    return Http1Client(url, **options)  # type: ignore[arg-type]  # the test's own keyword set


async def with_server(script: Script, body: Callable[[str, ScriptedServer], Awaitable[None]]) -> ScriptedServer:
    server = ScriptedServer(script)
    url = await server.start()
    try:
        await body(url, server)
    finally:
        await server.stop()
    return server


def test_sequential_calls_reuse_one_connection_and_send_what_was_asked() -> None:
    async def body(url: str, server: ScriptedServer) -> None:
        http = client(url + "/prefix")
        for index in range(5):
            reply = await http.post("/prefix/", {"X-Amz-Target": "AWSEvents.PutEvents"}, b'{"n":%d}' % index)
            assert (reply.status, reply.body, reply.headers["content-type"]) == (
                200,
                b"{}",
                "application/x-amz-json-1.1",
            )
        assert http.connections_made == 1
        await http.close()

    server = asyncio.run(with_server(answer(OK), body))
    assert server.connections == 1 and len(server.requests) == 5
    first = server.requests[0]
    assert first.startswith(b"POST /prefix/ HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{first.split(b':')[2].split(b'/')[0].decode()}".encode() in first
    assert b"X-Amz-Target: AWSEvents.PutEvents\r\n" in first and b"Content-Length: 7\r\n" in first
    assert [request.split(b"\r\n\r\n", 1)[1] for request in server.requests] == [b'{"n":%d}' % i for i in range(5)]


def test_chunked_and_close_framed_replies_are_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b'4;ext=1\r\n{"a"\r\n',
        b"5\r\n:123}\r\n",
        b"0\r\nX-Trailer: t\r\n\r\n",
    )

    async def body(url: str, server: ScriptedServer) -> None:
        http = client(url)
        reply = await http.post("/", {}, b"x")
        assert reply.body == b'{"a":123}'
        assert http.connections_made == 1
        await http.close()

    asyncio.run(with_server(answer(*chunked, pause_s=0.02), body))

    async def closing(url: str, server: ScriptedServer) -> None:
        http = client(url)
        for _ in range(2):  # framed by the end: not reusable, a new connection for the next call
            reply = await http.post("/", {}, b"x")
            assert (reply.status, reply.body) == (503, b"slow down")
        assert http.connections_made == 2
        await http.close()

    unframed = b"HTTP/1.1 503 Service Unavailable\r\n\r\nslow "
    server = asyncio.run(with_server(answer(unframed, b"down", keep=False), closing))
    assert server.connections == 2


def test_connection_close_and_a_server_that_drops_idle_connections_get_a_new_connection() -> None:
    async def body(url: str, server: ScriptedServer) -> None:
        http = client(url)
        await http.post("/", {}, b"1")
        await asyncio.sleep(0.1)  # the server has closed it; the client must notice, not write into it
        reply = await http.post("/", {}, b"2")
        assert reply.status == 200 and http.connections_made == 2
        await http.close()

    closing = OK.replace(b"Content-Length: 2", b"Connection: close\r\nContent-Length: 2")
    assert asyncio.run(with_server(answer(closing, keep=True), body)).connections == 2
    assert asyncio.run(with_server(answer(OK, keep=False), body)).connections == 2


def test_no_more_connections_than_the_limit() -> None:
    async def body(url: str, server: ScriptedServer) -> None:
        http = client(url, max_connections=2)
        replies = await asyncio.gather(*(http.post("/", {}, b"x") for _ in range(6)))
        assert [reply.status for reply in replies] == [200] * 6
        assert http.connections_made == 2
        await http.close()

    server = asyncio.run(with_server(answer(OK, pause_s=0.05), body))
    assert server.most_open == 2 and len(server.requests) == 6


def test_faults_raise_one_of_three_errors_and_the_connection_is_not_reused() -> None:
    async def slow(url: str, server: ScriptedServer) -> None:
        http = client(url, read_timeout_s=0.2)
        with pytest.raises(ReadTimedOut):
            await http.post("/", {}, b"x")
        await http.close()

    asyncio.run(with_server(answer(OK[:20], OK[20:], pause_s=1.0), slow))

    async def cut(url: str, server: ScriptedServer) -> None:
        http = client(url)
        with pytest.raises(ConnectionLost, match="before the reply was whole"):
            await http.post("/", {}, b"x")
        with pytest.raises(ConnectionLost):
            await http.post("/", {}, b"x")
        assert http.connections_made == 2
        await http.close()

    asyncio.run(with_server(answer(OK[:-1], keep=False), cut))

    async def garbage(url: str, server: ScriptedServer) -> None:
        http = client(url)
        with pytest.raises(ConnectionLost, match=r"not an HTTP/1\.1 reply"):
            await http.post("/", {}, b"x")
        await http.close()

    asyncio.run(with_server(answer(b"SSH-2.0-OpenSSH\r\n\r\n"), garbage))

    async def refused() -> None:
        async with asyncio.timeout(10):
            server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            server.close()
            await server.wait_closed()
            http = client(f"http://127.0.0.1:{port}")
            with pytest.raises(ConnectFailed, match="cannot connect"):
                await http.post("/", {}, b"x")

    asyncio.run(refused())


def test_tls_with_the_endpoints_ca_and_a_refusal_without_it(tmp_path: Path) -> None:
    pki = write_pki(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(pki["server_cert"], pki["server_key"])

    async def run() -> None:
        server = ScriptedServer(answer(OK))
        url = await server.start(server_side)
        try:
            trusted = client(url, ssl_context=ssl.create_default_context(cafile=str(pki["ca"])))
            for _ in range(3):
                assert (await trusted.post("/", {}, b"x")).body == b"{}"
            assert trusted.connections_made == 1
            await trusted.close()
            untrusted = client(url, ssl_context=ssl.create_default_context())  # the system's CAs only
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusted.post("/", {}, b"x")
        finally:
            await server.stop()

    asyncio.run(run())


def test_a_reply_split_anywhere_parses_the_same() -> None:
    """Byte by byte into the parser (the one place where an in-process feed is the better test)."""
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + OK

    async def feed(step: int) -> Reply:
        loop = asyncio.get_running_loop()
        connection = _Connection(loop)

        class Sink(asyncio.Transport):
            def write(self, data: bytes | bytearray | memoryview) -> None:
                pass

            def is_closing(self) -> bool:
                return False

            def close(self) -> None:
                pass

        connection.connection_made(Sink())
        waiter = connection.send(b"request")
        for at in range(0, len(raw), step):
            assert not waiter.done()
            connection.data_received(raw[at : at + step])
        return await waiter

    for step in (1, 2, 7, len(raw)):
        reply = asyncio.run(feed(step))
        assert (reply.status, reply.body) == (200, b"{}")


def test_only_http_endpoints() -> None:
    with pytest.raises(ValueError, match="not an http"):
        client("ftp://example.com")
