"""Stopping a threaded server process on SIGINT / SIGTERM without a Python signal handler, and within a budget.

Used by ``python -m simulator`` and ``python -m devstack.eventsv2``: the devstack's children, which get a SIGTERM when
it dies (parent-death signal) and must not outlive it. A Python handler runs only on the main thread and only once
that thread is interrupted, and setting an ``Event`` from it takes the Event's lock, which the main thread may hold
(a child of a killed devstack was once still alive 60 s later, its main thread in a futex wait). Here the signals
are blocked in every thread and the main thread takes them with ``sigwait``; the stop that follows is cut off by
faulthandler, with every thread's stack, if it hangs on anything.
"""

from __future__ import annotations

import faulthandler
import signal

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

#: Seconds a stop may take (it takes well under one) before faulthandler prints every thread's stack and exits.
STOP_BUDGET_S = 10.0


def block_stop_signals() -> None:
    """Call on the main thread before any thread starts: every thread inherits the mask, so a stop signal waits
    for :func:`await_stop_signal` whichever thread the kernel would have handed it to."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def await_stop_signal() -> int:
    """Block until SIGINT or SIGTERM (one that came before waits too), then arm the stop's budget; the signal."""
    signum = signal.sigwait(STOP_SIGNALS)
    faulthandler.dump_traceback_later(STOP_BUDGET_S, exit=True)
    return signum
