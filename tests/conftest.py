"""Shared fixtures: the reference files the tests check against, kept in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REFERENCE


@pytest.fixture
def reference() -> Path:
    """`tests/reference/`: copies of the published figures, each with its source (SOURCES.md)."""
    return REFERENCE
