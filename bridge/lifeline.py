"""A child process that dies with its parent: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``).

Used by the bridge's workers (a supervisor killed outright must not leave them serving the port) and by the
devstack's children. Standard library only, so the devstack can use it without importing the bridge.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from collections.abc import Callable

#: prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def parent_death_signal() -> Callable[[], None] | None:
    """A function that asks Linux to SIGTERM the process calling it when its parent (the thread that started it)
    goes away, however it goes (SIGKILL, the OOM killer); None off Linux. libc is resolved here, so the function
    is safe to call between fork and exec (the devstack's ``preexec_fn``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def ask() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return ask
