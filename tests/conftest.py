"""Shared fixtures: the reference data folder beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED


@pytest.fixture
def shared() -> Path:
    """The project's reference data (../shared beside the checkout)."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED
