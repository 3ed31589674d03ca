"""``python -m bridge``: configure from the environment, serve, drain on SIGTERM/SIGINT, exit 0.

One process per CPU the task has (``BRIDGE_WORKERS``, see :mod:`bridge.workers`); with one, the bridge is
this process. Exit status 2 means the configuration is wrong (the message says which variable and why).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

from bridge.config import BridgeConfig, ConfigError
from bridge.heap import settle_heap
from bridge.log import logger
from bridge.loop import run
from bridge.server import BridgeServer, event_wire


async def serve(config: BridgeConfig, reuse_port: bool = False, on_ready: Callable[[int], None] | None = None) -> None:
    server = BridgeServer(config, reuse_port=reuse_port)
    await server.start()
    logger.info("start-up heap frozen", objects=settle_heap())  # no collector pauses over it (bridge/heap.py)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if on_ready is not None:
        on_ready(server.port)
    await stop.wait()
    logger.info("signal received; shutting down")
    await server.stop()


def main() -> int:
    try:
        config = BridgeConfig.from_env()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    from bridge.workers import Supervisor, available_cpus

    workers = config.workers or available_cpus()
    try:
        if workers > 1:
            event_wire(config)  # a customer proto that cannot work stops the start here, once
            return Supervisor(config, workers).run()
        run(serve(config), config.event_loop)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        logger.error("bridge could not start", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
