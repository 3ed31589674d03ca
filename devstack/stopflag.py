"""A stop request that a signal handler can make safely: a plain attribute, no lock.

Not a ``threading.Event``: Python runs a signal handler on the main thread between two bytecodes, possibly while
that thread is inside the Event's own ``wait()`` or ``set()`` holding its internal (non-reentrant) lock; the
handler's ``set()`` would then wait for that lock for ever, and the process would no longer stop at all.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

#: How often :meth:`StopFlag.wait` looks at the flag (a handler cannot wake a sleeping thread without a lock).
POLL_S = 0.05


class StopFlag:
    """Set by SIGINT / SIGTERM (once :meth:`install` ran) or by :meth:`stop`; read by the main loop."""

    __slots__ = ("signum", "stopped")

    def __init__(self) -> None:
        self.stopped = False
        self.signum: int | None = None  # the first signal that asked to stop, if a signal did

    def install(self) -> StopFlag:
        """Make SIGINT and SIGTERM set the flag (call on the main thread)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        self.stopped = True

    def stop(self) -> None:
        self.stopped = True

    def wait(self, timeout_s: float) -> bool:
        """Sleep until the flag is set or ``timeout_s`` passed; whether it is set (``Event.wait``'s answer)."""
        deadline = time.monotonic() + timeout_s
        while not self.stopped:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(POLL_S, left))
        return self.stopped

    @property
    def signal_name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum is not None else None
