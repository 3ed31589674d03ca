"""``python -m bridge``: configure from the environment, serve, drain on SIGTERM/SIGINT, exit 0.

Exit status 2 means the configuration is wrong (the message says which variable and why).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bridge.config import BridgeConfig, ConfigError
from bridge.log import logger
from bridge.server import BridgeServer


async def serve(config: BridgeConfig) -> None:
    server = BridgeServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    logger.info("signal received; shutting down")
    await server.stop()


def main() -> int:
    try:
        config = BridgeConfig.from_env()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    try:
        asyncio.run(serve(config))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        logger.error("bridge could not start", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
