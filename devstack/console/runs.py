"""The console's buttons: each runs one of the demo's scenarios in a background thread, against the local API.

The same code as ``make demo`` (devstack/scenarios.py): the call is placed and followed through the local
API, as a caller would, and its outcome checked. Each run keeps its progress lines for the browser.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from devstack.scenarios import SCENARIOS, Scenario, ScenarioFailed, run_scenario

log = logging.getLogger("devstack.console")

MAX_RUNNING = 4
KEEP_RUNS = 30


class Busy(RuntimeError):
    """Too many scenarios are running already."""


class Run:
    def __init__(self, run_id: int, scenario: Scenario, on_change: Callable[[], None]) -> None:
        self.id = run_id
        self.scenario = scenario
        self.status = "running"  # running | passed | failed
        self.plan_id: str | None = None
        self.lines: list[dict[str, Any]] = []
        self.error: str | None = None
        self.started_ms = time.time() * 1000
        self.ended_ms: float | None = None
        self.version = 0
        self._on_change = on_change
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self.lines.append({"t": time.time() * 1000, "text": text})
        self._changed()

    def created(self, plan_id: str) -> None:
        self.plan_id = plan_id
        self._changed()

    def finish(self, status: str, error: str | None = None) -> None:
        self.status, self.error, self.ended_ms = status, error, time.time() * 1000
        self._changed()

    def _changed(self) -> None:
        self.version = next(_versions)
        self._on_change()

    def view(self) -> dict[str, Any]:
        with self._lock:
            lines = list(self.lines)
        return {
            "id": self.id,
            "key": self.scenario.key,
            "title": self.scenario.title,
            "explains": self.scenario.explains,
            "status": self.status,
            "plan_id": self.plan_id,
            "error": self.error,
            "lines": lines,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "version": self.version,
        }


_versions = itertools.count(1)


class ScenarioRuns:
    """Starts runs (a few at a time) and keeps the last ones for the browser."""

    def __init__(self, api_url: str, on_change: Callable[[], None] = lambda: None) -> None:
        self._api_url = api_url
        self._on_change = on_change
        self._runs: list[Run] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @staticmethod
    def scenarios() -> list[dict[str, Any]]:
        return [{"key": s.key, "title": s.title, "explains": s.explains, "body": s.body} for s in SCENARIOS.values()]

    def start(self, key: str) -> Run:
        scenario = SCENARIOS[key]
        with self._lock:
            if sum(1 for run in self._runs if run.status == "running") >= MAX_RUNNING:
                raise Busy(f"{MAX_RUNNING} scenarios are running already: wait for one to end")
            run = Run(next(self._ids), scenario, self._on_change)
            self._runs = [*self._runs, run][-KEEP_RUNS:]
        threading.Thread(target=self._run, args=(run,), name=f"console-run-{run.id}", daemon=True).start()
        return run

    def runs(self) -> list[dict[str, Any]]:
        with self._lock:
            runs = list(self._runs)
        return [run.view() for run in reversed(runs)]

    def changed_since(self, version: int) -> list[dict[str, Any]]:
        with self._lock:
            runs = list(self._runs)
        return [run.view() for run in runs if run.version > version]

    def _run(self, run: Run) -> None:
        log.info("console: running scenario %s", run.scenario.key)
        try:
            run_scenario(self._api_url, run.scenario, run.say, on_created=run.created)
        except ScenarioFailed as exc:
            run.say(f"FAILED: {exc}")
            run.finish("failed", str(exc))
            log.warning("console: scenario %s failed: %s", run.scenario.key, exc)
            return
        except Exception as exc:  # the API went away (devstack stopping), or something unforeseen: say so
            run.say(f"FAILED: {type(exc).__name__}: {exc}")
            run.finish("failed", f"{type(exc).__name__}: {exc}")
            log.warning("console: scenario %s stopped: %s", run.scenario.key, exc)
            return
        run.finish("passed")
