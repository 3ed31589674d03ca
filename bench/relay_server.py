"""The contract's latency floor: a gRPC server that answers each event only after one PutEvents round trip.

DESIGN.md's delivery contract is "acknowledged = on the bus": no server that keeps it can answer before a
``PutEvents`` call has come back. This server does that and nothing else: no validation, no batching, no
signing, no retries; one JSON ``PutEvents`` with one entry per event, over kept-alive HTTP/1.1 connections to
``bench.instant_sink``, on uvloop (the bridge's loop). Its latency at a fixed load, beside the no-op server's,
is the least any bridge can reach on this machine; the bridge's own cost is what it adds on top.

``python -m bench.relay_server --endpoint http://127.0.0.1:N`` prints ``relay ready <port>`` once serving.
"""

from __future__ import annotations

import argparse
import asyncio
from urllib.parse import urlsplit

import orjson

from bench.noop_server import serve_until_signal
from bridge.loop import run
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Relay:
    """One PutEvents per call over a pool of kept-alive connections (one request per connection at a time)."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._head = (
            f"POST / HTTP/1.1\r\nHost: {parts.netloc}\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
            "Content-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n"
        ).encode()
        self._idle: list[_Connection] = []

    async def put(self, body: bytes) -> None:
        connection = self._idle.pop() if self._idle else await asyncio.open_connection(self._host, self._port)
        reader, writer = connection
        writer.write(self._head % len(body) + body)
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        if not status.startswith(b"HTTP/1.1 200"):
            writer.close()
            raise RuntimeError(f"PutEvents answered {status!r}")
        self._idle.append(connection)


class RelayService(pb_grpc.LegEventServiceServicer):
    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    async def TriggerCallbackEvent(self, request: pb.CallbackEvent, context) -> pb.CallbackEventResponse:
        entry = {
            "Source": "bench.relay",
            "DetailType": "event",
            "Detail": orjson.dumps({"event": request.SerializeToString().hex()}).decode(),
            "EventBusName": "bench",
        }
        await self._relay.put(orjson.dumps({"Entries": [entry]}))
        return pb.CallbackEventResponse(accepted=True)


async def serve(host: str, port: int, endpoint: str) -> None:
    await serve_until_signal(RelayService(Relay(endpoint)), host, port, name="relay")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--endpoint", required=True, help="the PutEvents endpoint (bench.instant_sink's URL)")
    args = parser.parse_args()
    run(serve(args.host, args.port, args.endpoint), "uvloop")


if __name__ == "__main__":
    main()
