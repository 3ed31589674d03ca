"""Deliver events to the functions the way the routing table says (a tiny in-test event bus)."""

from __future__ import annotations

import importlib
from typing import Any

from contract.bus import DEFAULT_SOURCE
from lambdas.routing import routes
from tests.lambdas.kit import Context, eventbridge


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge content filtering, for the forms the routing table uses (literals, prefix, nesting)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches(sub, value.get(key)) for key, sub in pattern.items())
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict) and "prefix" in option:
                if isinstance(value, str) and value.startswith(option["prefix"]):
                    return True
            elif option == value:
                return True
        return False
    return pattern == value


def routed_functions(envelope: dict[str, Any]) -> list[str]:
    return [route.function for route in routes(DEFAULT_SOURCE) if matches(route.pattern, envelope)]


def handler_of(function: str) -> Any:
    return importlib.import_module(f"lambdas.{function}.handler").handler


def deliver(detail: dict[str, Any], *, only: set[str] | None = None) -> dict[str, Any]:
    """Invoke every function whose rule matches; returns {function: result}."""
    envelope = eventbridge(detail)
    results = {}
    for function in routed_functions(envelope):
        if only is None or function in only:
            results[function] = handler_of(function)(envelope, Context(function))
    return results
