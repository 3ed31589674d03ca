"""The functions the devstack runs in-process, and how to call one like Lambda would."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.lambda_context import LambdaContext
from devstack.logs import ThreadStdout

log = logging.getLogger("devstack.functions")

Handler = Callable[[dict[str, Any], Any], Any]

_import_lock = threading.Lock()


class HandlerMissing(RuntimeError):
    """The function's package is not there (yet): its triggers are not drained."""


@dataclass
class LocalFunction:
    """One function: its handler, its Lambda settings, and the env it was configured with."""

    name: str
    module: str  # e.g. "lambdas.connect.handler"
    timeout_seconds: float = 30
    memory_mb: int = 256
    handler: Handler | None = None
    invocations: int = 0
    errors: int = 0
    #: One execution environment per function: Lambda never runs two invocations in one environment at once,
    #: and the handlers' module-level Powertools objects (Logger keys, BatchProcessor) rely on that.
    environment: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self, service_env: dict[str, str]) -> None:
        """Import the handler module with the function's own Powertools service name in the environment.

        Powertools Logger/Metrics read ``POWERTOOLS_SERVICE_NAME`` when the module creates them (at import),
        so each function logs as itself although all share one process.
        """
        with _import_lock:
            saved = {key: os.environ.get(key) for key in service_env}
            os.environ.update(service_env)
            try:
                module = importlib.import_module(self.module)
            except ModuleNotFoundError as exc:
                if exc.name and self.module.startswith(exc.name):
                    raise HandlerMissing(f"{self.module} does not exist") from exc
                raise
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        handler = getattr(module, "handler", None)
        if not callable(handler):
            raise HandlerMissing(f"{self.module} has no callable `handler`")
        self.handler = handler


@dataclass
class Invocation:
    result: Any = None
    error: BaseException | None = None
    duration_ms: float = 0.0


class Invoker:
    """Calls a handler with a fresh context, its output tagged with the function's name."""

    def __init__(self, stdout: ThreadStdout, region: str) -> None:
        self._stdout = stdout
        self._region = region

    def invoke(self, function: LocalFunction, event: dict[str, Any]) -> Invocation:
        """One invocation at a time per function (its one environment); other functions run meanwhile."""
        if function.handler is None:
            raise HandlerMissing(function.module)
        outcome = Invocation()
        with function.environment:
            context = LambdaContext(
                function.name,
                memory_limit_in_mb=function.memory_mb,
                timeout_seconds=function.timeout_seconds,
                region=self._region,
            )
            self._stdout.source = function.name
            started = time.monotonic()
            try:
                outcome.result = function.handler(event, context)
            except Exception as exc:  # the runner decides: retry, DLQ, or 502
                outcome.error = exc
            finally:
                self._stdout.flush()
                self._stdout.source = None
            outcome.duration_ms = (time.monotonic() - started) * 1000
            function.invocations += 1
            function.errors += outcome.error is not None
        if outcome.error is not None:
            frame = traceback.extract_tb(outcome.error.__traceback__)[-1:]
            where = f" ({'/'.join(frame[0].filename.split('/')[-2:])}:{frame[0].lineno})" if frame else ""
            first_line = (str(outcome.error).strip().splitlines() or [""])[0]
            log.error(
                "%s failed after %.0f ms: %s: %s%s",
                function.name, outcome.duration_ms, type(outcome.error).__name__, first_line, where,
                extra={"source": function.name},
            )  # fmt: skip
            for line in "".join(traceback.format_exception(outcome.error)).splitlines():
                log.debug("  %s", line, extra={"source": function.name})
        elif outcome.duration_ms > function.timeout_seconds * 1000:
            log.warning(
                "%s took %.0f ms, more than its %ss timeout (Lambda would have stopped it)",
                function.name, outcome.duration_ms, function.timeout_seconds,
                extra={"source": function.name},
            )  # fmt: skip
        return outcome
