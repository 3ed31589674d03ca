"""The bridge's structured JSON logger (Powertools); one instance shared by every module."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from contract.env import PowertoolsEnv
from contract.metrics import BRIDGE_SERVICE

logger = Logger(service=os.environ.get(PowertoolsEnv.SERVICE_NAME) or BRIDGE_SERVICE)
