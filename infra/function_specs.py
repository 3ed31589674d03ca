"""What CDK deploys per function: ``lambdas/wiring.py`` joined with the routing table.

``lambdas.wiring.WIRING`` is the single source of each function's env, triggers, grants and sizes;
``lambdas.routing.routes(source)`` gives an event-driven function (``rule=True``) its pattern and description.
Nothing here repeats either. Plain Python, no CDK, so tests can compare the synthesized template
with these specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract.env import Env
from lambdas.routing import Route, route
from lambdas.wiring import WIRING, FunctionWiring


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its wiring and, when it is event-driven, its routing-table entry."""

    wiring: FunctionWiring
    route: Route | None

    @property
    def name(self) -> str:
        return self.wiring.function

    @property
    def description(self) -> str:
        return self.route.description if self.route is not None else self.wiring.description

    @property
    def pattern(self) -> dict[str, Any] | None:
        """The EventBridge rule's pattern on the bus (None: no rule)."""
        return self.route.pattern if self.route is not None else None

    @property
    def reads_secret(self) -> bool:
        return Env.EXOTEL_SECRET_NAME in self.wiring.env

    @property
    def reserved_concurrency(self) -> bool:
        """Whether the function gets reserved concurrency (``DeployConfig.reactor_concurrency``) to stay within
        Exotel's rate limit."""
        # The API is paced by API Gateway throttling instead: reserved concurrency would turn a burst into 5xx.
        return self.wiring.calls_exotel and not self.wiring.api


def function_specs(source: str) -> list[FunctionSpec]:
    """Every function of the deployment, in ``WIRING`` order; rules match events from ``source``."""
    return [FunctionSpec(wiring, route(wiring.function, source) if wiring.rule else None) for wiring in WIRING.values()]


def construct_prefix(function: str) -> str:
    """``leg_state`` -> ``LegState``: how a function's construct ids start (functions stack and monitoring)."""
    return "".join(part.capitalize() for part in function.split("_"))
