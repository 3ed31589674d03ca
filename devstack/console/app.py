"""``Console``: the bus feed, the views, the scenario runs and the HTTP side, started and stopped with the devstack."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from devstack.console.feed import QUEUE_NAME, RULE_NAME, BusFeed
from devstack.console.runs import ScenarioRuns
from devstack.console.server import ConsoleHttp
from devstack.console.views import Views
from devstack.emulator import AwsEmulator
from devstack.resources import Provisioned

PREFIX = "/console"


class Console:
    """Mounted on the local API's port under :data:`PREFIX` (see ``ApiFront.mount``)."""

    def __init__(
        self, emulator: AwsEmulator, provisioned: Provisioned, *, event_source: str, api_url: str, about: dict[str, Any]
    ) -> None:
        self._changed = threading.Condition()
        self._version = 0
        self.stopping = threading.Event()
        self.feed = BusFeed(emulator, provisioned.bus_name, event_source, on_event=self.notify)
        self.views = Views(emulator, provisioned, self.feed)
        self.runs = ScenarioRuns(api_url, on_change=self.notify)
        self.about = {
            **about,
            "api_url": api_url,
            "console_url": api_url + PREFIX,
            "bus_name": provisioned.bus_name,
            "event_source": event_source,
            "feed": {"rule": RULE_NAME, "queue": QUEUE_NAME, "pattern": self.feed.pattern},
        }
        self.http = ConsoleHttp(self, PREFIX)

    def start(self) -> None:
        self.feed.start()

    def stop(self) -> None:
        """Ends every open event stream (they check at least once a second), then the feed."""
        self.stopping.set()
        self.notify()
        self.feed.stop()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self.http.handle(request)

    # ---- change notification (bus events, scenario progress) -> open event streams ---------------------------
    def notify(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def wait(self, version: int, timeout: float) -> int:
        """Block until something changed after ``version`` (or ``timeout``); the current version."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version or self.stopping.is_set(), timeout)
            return self._version
