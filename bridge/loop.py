"""The bridge's event loop: uvloop (pinned, in the container), or asyncio's own with ``BRIDGE_EVENT_LOOP=asyncio``.

The setting is validated with the rest of the configuration (``BridgeConfig.event_loop``: another value stops the
start with exit status 2); a missing uvloop falls back to asyncio's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal


def loop_factory(event_loop: Literal["uvloop", "asyncio"]) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` unless asked for asyncio's or uvloop is missing (``None``: asyncio's)."""
    if event_loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: the loop this code runs on (the ready log says which)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, None], event_loop: Literal["uvloop", "asyncio"]) -> None:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        runner.run(main)
