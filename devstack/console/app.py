"""``Console``: the bus feed, the views, the scenario runs and the HTTP side, started and stopped with the devstack."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from contract.bus import BusMode
from devstack.console.feed import BusFeed, EventsV2Bus
from devstack.console.runs import ScenarioRuns
from devstack.console.server import ConsoleHttp
from devstack.console.views import Views
from devstack.emulator import AwsEmulator
from devstack.ordered import OrderedBusRef
from devstack.resources import Provisioned

PREFIX = "/console"


class Console:
    """Mounted on the local API's port under :data:`PREFIX` (see ``ApiFront.mount``)."""

    def __init__(
        self,
        emulator: AwsEmulator,
        provisioned: Provisioned,
        *,
        event_source: str,
        api_url: str,
        about: dict[str, Any],
        ordered: OrderedBusRef | None = None,
        v2_client: Callable[[], Any] | None = None,
    ) -> None:
        """``ordered`` (with ``v2_client``, an ``eventbridgev2`` client for its endpoint): the devstack runs in
        ordered mode, so the feed subscribes on the local EventsV2 bus and the queues shown are the subscribers'."""
        self._changed = threading.Condition()
        self._version = 0
        self.stopping = threading.Event()
        v2_bus = None
        if ordered is not None:
            if v2_client is None:
                raise ValueError("ordered mode needs an eventbridgev2 client for the local endpoint")
            v2_bus = EventsV2Bus(bus_arn=ordered.bus_arn, client=v2_client)
        self.feed = BusFeed(emulator, provisioned.bus_name, event_source, v2_bus=v2_bus, on_event=self.notify)
        self.views = Views(emulator, provisioned, self.feed, ordered=ordered)
        self.runs = ScenarioRuns(api_url, on_change=self.notify)
        self.about = {
            **about,
            "api_url": api_url,
            "console_url": api_url + PREFIX,
            "bus_name": provisioned.bus_name,
            "event_source": event_source,
            "bus_mode": (BusMode.ORDERED if ordered is not None else BusMode.CLASSIC).value,
            "feed": self.feed.described,
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
