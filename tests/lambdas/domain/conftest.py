"""The domain's tests need no AWS: the parent's autouse ``lambda_env`` (a moto server) is replaced by nothing."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def lambda_env() -> None:
    """No emulator, no environment: the domain reads neither."""
