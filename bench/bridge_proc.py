"""The bridge under test, in its own process, with a benchmark sink in place of the bus.

``python -m bench.bridge_proc --sink memory|moto`` builds ``BridgeServer`` exactly as
``python -m bridge`` does (configuration from the same ``BRIDGE_*`` environment variables),
except that the EventBridge client is injected:

- ``memory``: :class:`bench.sink.MemorySink`, an in-process object answering like ``PutEvents``;
- ``none``: nothing injected: the bridge builds its own client from ``AWS_ENDPOINT_URL`` exactly as
  ``python -m bridge`` does (the benchmark's headline: an instant endpoint in its own process, ``bench.instant_sink``);
- ``moto``: a boto3 ``events`` client to ``AWS_ENDPOINT_URL`` (a moto server), wrapped to count; with
  ``EVENT_BUS_KIND=v2`` the ``eventbridgev2`` client instead (``AWS_ENDPOINT_URL_EVENTBRIDGEV2``: the local
  EventsV2 endpoint), the client the bridge itself would make.

Its own process, so that RSS and CPU are the bridge's. It prints ``bench-bridge ready <port>``
once serving, and answers a ``stats`` line on stdin with ``stats {json}`` (sink counters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from typing import Any

from bench.sink import CountingClient, MemorySink
from bridge.loop import run


def _events_client(kind: str, latency_ms: float, config: Any) -> Any:
    if kind == "none":
        return None  # the bridge makes its own client, as ``python -m bridge`` does
    if kind == "memory":
        return MemorySink(latency_s=latency_ms / 1000)
    from bridge import aws, eventsv2

    return CountingClient(aws.events_client(config, eventsv2.client_service(config)))  # the bridge's own, counted


class _NoCounts:
    """``--sink none``: the sink process counts, not the bridge."""

    def snapshot(self) -> dict[str, int]:
        return {}


def _stats_reader(sink: Any, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "stats":
            sys.stdout.write("stats " + json.dumps(sink.snapshot()) + "\n")
            sys.stdout.flush()
    loop.call_soon_threadsafe(stop.set)  # stdin closed: the parent is gone


async def serve(kind: str, latency_ms: float) -> None:
    from bridge.config import BridgeConfig
    from bridge.server import BridgeServer

    config = BridgeConfig.from_env(host="127.0.0.1", port=int(os.environ.get("BRIDGE_PORT", "0")))
    sink = _events_client(kind, latency_ms, config)
    server = BridgeServer(config, events_client=sink)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=_stats_reader, args=(sink or _NoCounts(), loop, stop), daemon=True).start()
    print(f"bench-bridge ready {server.port}", flush=True)
    await stop.wait()
    await server.stop(grace=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sink", choices=("memory", "moto", "none"), default="memory")
    parser.add_argument("--sink-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    from bridge.config import BridgeConfig

    run(serve(args.sink, args.sink_latency_ms), BridgeConfig.from_env().event_loop)  # the deployed bridge's loop


if __name__ == "__main__":
    main()
