"""Powertools Logger, Tracer and Metrics for one function, named after it."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

from contract.env import PowertoolsEnv
from contract.metrics import NAMESPACE


def powertools(service: str) -> tuple[Logger, Tracer, Metrics]:
    """Logger/Tracer/Metrics for ``service``; POWERTOOLS_* variables still win where set."""
    namespace = os.environ.get(PowertoolsEnv.METRICS_NAMESPACE) or NAMESPACE
    logger = Logger(service=service)
    tracer = Tracer(service=service)
    metrics = Metrics(namespace=namespace, service=service)
    return logger, tracer, metrics
