"""An EventBridge endpoint on loopback that answers ``PutEvents`` at once: the bus as a deployed bridge sees it.

``python -m bench.instant_sink`` prints ``instant-sink ready <port>`` and then serves HTTP/1.1 (keep-alive) in
its own process. It answers exactly what the bridge's SDK path sends:

- the classic bus (``X-Amz-Target: AWSEvents.PutEvents``, JSON 1.1): ``{"FailedEntryCount": 0, "Entries":
  [{"EventId": ...}, ...]}``, one result per entry;
- EventsV2 (``/service/.../operation/PutEvents``, smithy RPC v2 CBOR): the same with ``SuccessCode`` and
  ``SequenceNumber`` per entry.

It reads each body (to count its entries) but verifies no signature and stores nothing, so the bridge pays
what a deployment pays (botocore building, signing and sending the request over a socket and parsing the
answer) while the bus itself costs next to nothing. ``GET /__bench/stats`` answers the counters as JSON
(calls, entries, largest batch). A raw ``asyncio.Protocol``: a web framework here would cost more CPU than the
bridge's share of the work it is meant to measure.

It runs on uvloop. The sink stands in for AWS, whose CPU a deployed bridge does not share; here it shares the
server's CPUs, so what it spends is taken from the server under test (and from the relay floor, which uses it
too). On asyncio's loop it spent 0.10 ms of CPU per event at 1,000 events/s, on uvloop 0.087 ms, and the
bridge's p99 at that load fell by 0.17-0.20 ms in two same-run comparisons (issue 14, closing note of 2026-12-03).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import uuid
from typing import Any, cast

import cbor2
import orjson

from bridge.loop import run

_JSON_TYPE = b"application/x-amz-json-1.1"
_CBOR_TYPE = b"application/cbor"


class Counters:
    """What the sink saw (read by the benchmark between runs)."""

    def __init__(self) -> None:
        self.calls = 0
        self.entries = 0
        self.max_entries = 0

    def add(self, entries: int) -> None:
        self.calls += 1
        self.entries += entries
        self.max_entries = max(self.max_entries, entries)

    def snapshot(self) -> dict[str, int]:
        return {"calls": self.calls, "entries": self.entries, "max_entries": self.max_entries}


class SinkProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: requests parsed by Content-Length (what botocore sends), answered in order."""

    def __init__(self, counters: Counters, prefix: str) -> None:
        self._counters = counters
        self._prefix = prefix
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            length = 0
            content_type = b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"content-type":
                    content_type = value.strip()
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            self._answer(head.split(b" ", 2), content_type, body)

    def _answer(self, request_line: list[bytes], content_type: bytes, body: bytes) -> None:
        assert self._transport is not None
        if request_line[0] == b"GET" and len(request_line) > 1 and request_line[1].startswith(b"/__bench/stats"):
            self._send(200, b"application/json", json.dumps(self._counters.snapshot()).encode())
            return
        call = self._counters.calls
        if content_type.startswith(_CBOR_TYPE):
            entries = cbor2.loads(body).get("Entries") or []
            self._counters.add(len(entries))
            results: list[dict[str, Any]] = [
                {"EventId": f"{self._prefix}-{call}-{i}", "SuccessCode": "PUBLISHED", "SequenceNumber": str(call)}
                for i in range(len(entries))
            ]
            self._send(200, _CBOR_TYPE, cbor2.dumps({"FailedEntryCount": 0, "Entries": results}), cbor=True)
            return
        entries = orjson.loads(body).get("Entries") or [] if body else []
        self._counters.add(len(entries))
        reply = {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": f"{self._prefix}-{call}-{i}"} for i in range(len(entries))],
        }
        self._send(200, _JSON_TYPE, orjson.dumps(reply))

    def _send(self, status: int, content_type: bytes, body: bytes, cbor: bool = False) -> None:
        assert self._transport is not None
        extra = b"smithy-protocol: rpc-v2-cbor\r\n" if cbor else b""
        self._transport.write(
            b"HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-amzn-RequestId: %s\r\n%s\r\n"
            % (status, content_type, len(body), uuid.uuid4().hex.encode(), extra)
            + body
        )


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    counters = Counters()
    prefix = uuid.uuid4().hex[:8]
    server = await loop.create_server(lambda: SinkProtocol(counters, prefix), host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"instant-sink ready {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    run(serve(args.host, args.port), "uvloop")


if __name__ == "__main__":
    main()
