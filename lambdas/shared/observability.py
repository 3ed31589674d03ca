"""Powertools Logger, Tracer and Metrics for one function, named after it.

The Tracer is Powertools' own, created lazily (:class:`LazyTracer`): importing the X-Ray SDK builds its
recorder, and with it botocore clients for a sampling service Lambda does not use, which cost more than
``import boto3`` itself (docs/PERFORMANCE.md, "Lambda handlers: cold import"). A handler module therefore
decorates with ``tracer.capture_lambda_handler`` / ``tracer.capture_method`` as before, but the SDK is loaded
only by the first invocation X-Ray actually samples (``Sampled=1`` in the trace header Lambda sets); an
invocation that is not sampled would record nothing, so it runs undecorated. With tracing disabled
(``POWERTOOLS_TRACE_DISABLED``, or outside Lambda) the SDK is never imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

from contract.env import PowertoolsEnv
from contract.metrics import NAMESPACE

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

#: Set by the Lambda runtime for each invocation: ``Root=...;Parent=...;Sampled=1``.
TRACE_HEADER = "_X_AMZN_TRACE_ID"
#: What X-Ray instruments once the Tracer exists: the AWS SDK (the functions' only I/O besides the Legs API).
PATCHED_MODULES = ("botocore",)

F = TypeVar("F", bound=Callable[..., Any])


def trace_sampled() -> bool:
    """Whether X-Ray samples the current invocation (Lambda puts the decision in the trace header)."""
    header = os.environ.get(TRACE_HEADER) or ""
    return "Sampled=1" in header


def tracing_disabled() -> bool:
    value = (os.environ.get(PowertoolsEnv.TRACE_DISABLED) or "").strip().lower()
    return value in {"1", "true", "yes", "on"}


class LazyTracer:
    """Powertools' ``Tracer`` for ``service``, created by the first sampled invocation (see the module doc)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Tracer | None = None

    @property
    def created(self) -> bool:
        return self._tracer is not None

    def active(self) -> Tracer | None:
        """The Tracer when this invocation is traced (created now if need be); None when it is not."""
        if self._tracer is None:
            if tracing_disabled() or not trace_sampled():
                return None
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.service, patch_modules=PATCHED_MODULES)
        return self._tracer

    def capture_lambda_handler(self, handler: F | None = None, **options: Any) -> Any:
        """``@tracer.capture_lambda_handler`` (with or without options), applied on each traced invocation."""
        if handler is None:
            return functools.partial(self.capture_lambda_handler, **options)
        return self._lazy("capture_lambda_handler", handler, options)

    def capture_method(self, method: F | None = None, **options: Any) -> Any:
        """``@tracer.capture_method`` (with or without options), applied on each traced call."""
        if method is None:
            return functools.partial(self.capture_method, **options)
        return self._lazy("capture_method", method, options)

    def _lazy(self, decorator: str, function: F, options: dict[str, Any]) -> F:
        traced: list[Callable[..., Any]] = []  # the decorated function, once the Tracer exists

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            tracer = self.active()
            if tracer is None:
                return function(*args, **kwargs)
            if not traced:
                traced.append(getattr(tracer, decorator)(function, **options))
            return traced[0](*args, **kwargs)

        return cast(F, call)

    def __getattr__(self, name: str) -> Any:
        """``put_annotation``, ``put_metadata``, ...: the real Tracer's when traced; a no-op otherwise."""
        tracer = self.active()
        if tracer is None:
            return _ignore
        return getattr(tracer, name)


def _ignore(*_: Any, **__: Any) -> None:
    return None


def powertools(service: str) -> tuple[Logger, LazyTracer, Metrics]:
    """Logger/Tracer/Metrics for ``service``; POWERTOOLS_* variables still win where set."""
    namespace = os.environ.get(PowertoolsEnv.METRICS_NAMESPACE) or NAMESPACE
    logger = Logger(service=service)
    tracer = LazyTracer(service)
    metrics = Metrics(namespace=namespace, service=service)
    return logger, tracer, metrics
