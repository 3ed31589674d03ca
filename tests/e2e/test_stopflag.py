"""``devstack.stopflag.StopFlag``: what the devstack's and ``make subscribe``'s main loops stop on."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from devstack.stopflag import StopFlag


@pytest.fixture
def handlers_restored() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_wait_ends_it_and_is_named(handlers_restored: None, signum: int) -> None:
    flag = StopFlag().install()
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        assert flag.wait(60) is True
    finally:
        timer.cancel()
    assert flag.signal_name == signal.Signals(signum).name


def test_the_first_signal_is_the_one_named(handlers_restored: None) -> None:
    flag = StopFlag().install()
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    assert flag.wait(60) and flag.signal_name == "SIGINT"


def test_wait_answers_false_when_nothing_asked_to_stop() -> None:
    flag = StopFlag()
    assert flag.wait(0.01) is False
    assert flag.signal_name is None


def test_stop_from_the_program_itself_sets_it_without_a_signal() -> None:
    flag = StopFlag()
    flag.stop()
    assert flag.wait(60) is True and flag.signal_name is None
