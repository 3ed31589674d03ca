"""What the e2e tests use to talk to the devstack: a stdlib JSON client (what a user's curl does) and bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from devstack.scenarios import request


class Api:
    """A tiny JSON client for the local API (stdlib only: what a user's curl does)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return request(self.base_url, method, path, body, headers)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.request("POST", path, body, headers)


def wait_until(probe: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Call ``probe`` until it returns something truthy; fail with ``what`` and the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
