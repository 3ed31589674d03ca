"""Builds the whole CDK app: the stateful stack, the bridge service, the functions (with monitoring).

``app.py`` calls :func:`build_app`; tests call it too (with their own context and output folder).
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Tags

from contract.deployment import PROJECT_TAG
from infra import nag
from infra.bridge_service import BridgeServiceStack
from infra.config import DeployConfig, cdk_json_context
from infra.functions import FunctionsStack
from infra.stateful import StatefulStack


class Deployment:
    """The stacks of one deployment, for callers that want to look inside (tests)."""

    def __init__(self, app: App, config: DeployConfig) -> None:
        env = (
            Environment(account=config.aws_account, region=config.aws_region)
            if (config.aws_account or config.aws_region)
            else None
        )
        prefix = config.stack_prefix
        self.app = app
        self.config = config
        self.data = StatefulStack(
            app,
            f"{prefix}Data",
            config=config,
            env=env,
            description="Exotel legs adapter: bus, archive, schemas, tables, queues, secrets (stateful)",
        )
        self.bridge = BridgeServiceStack(
            app,
            f"{prefix}Bridge",
            config=config,
            data=self.data,
            env=env,
            description="Exotel legs adapter: gRPC bridge on Fargate behind a TLS load balancer (stateless)",
        )
        self.functions = FunctionsStack(
            app,
            f"{prefix}Functions",
            config=config,
            data=self.data,
            bridge=self.bridge,
            env=env,
            description="Exotel legs adapter: reactor functions, REST API, dashboard (stateless)",
        )
        for stack in (self.data, self.bridge, self.functions):
            Tags.of(stack).add("project", PROJECT_TAG)
            Tags.of(stack).add("environment", config.environment)

    @property
    def stacks(self) -> list[Any]:
        return [self.data, self.bridge, self.functions]


def new_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    """An App with cdk.json's context (CLI context and ``-c`` still override it).

    CDK's built-in CloudFormation validation is off unless ``CDK_VALIDATION=true``: it takes most of
    the synthesis time and cfn-lint (run on every template in the test suite) checks the same and more.
    cdk-nag always runs.
    """
    builtin = os.environ.get("CDK_VALIDATION", "false").strip().lower() == "true"
    return App(
        outdir=outdir,
        context={**cdk_json_context(), **(context or {})},
        builtin_cloud_formation_validation=builtin,
    )


def build_app(app: App | None = None) -> Deployment:
    """Read the configuration from the app's context, build every stack and register cdk-nag."""
    app = app or new_app()
    config = DeployConfig.from_context(app.node)
    deployment = Deployment(app, config)
    nag.register(app)
    return deployment
