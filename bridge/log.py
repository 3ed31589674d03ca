"""The bridge's structured JSON logger (Powertools); one instance shared by every module."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "bridge")
