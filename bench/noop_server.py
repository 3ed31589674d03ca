"""The baseline: a grpc.aio server with the same proto that acknowledges and does nothing else.

One asyncio process, the generated servicer (so the request is parsed into a ``CallbackEvent``), asyncio's
own event loop (grpcio's default); the bridge's throughput is reported as a ratio of this. ``--loop uvloop``
serves on uvloop instead (the report's stricter secondary baseline: the bridge's own loop under a no-op).
``python -m bench.noop_server --port N`` prints ``noop ready <port>`` once serving.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc

from bridge.loop import run
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc


class NoopService(pb_grpc.LegEventServiceServicer):
    async def TriggerCallbackEvent(self, request: pb.CallbackEvent, context) -> pb.CallbackEventResponse:
        return pb.CallbackEventResponse(accepted=True)


async def serve(host: str, port: int) -> None:
    await serve_until_signal(NoopService(), host, port, name="noop")


async def serve_until_signal(servicer: pb_grpc.LegEventServiceServicer, host: str, port: int, *, name: str) -> None:
    """Serve ``servicer`` on a grpc.aio server, print ``<name> ready <port>``, stop on SIGTERM/SIGINT."""
    server = grpc.aio.server()
    pb_grpc.add_LegEventServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    print(f"{name} ready {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the event loop to serve on")
    args = parser.parse_args()
    run(serve(args.host, args.port), args.loop)  # the bridge's own way of choosing its loop


if __name__ == "__main__":
    main()
