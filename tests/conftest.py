"""Shared fixtures: the reference files the tests check against, kept in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REFERENCE
from hypothesis import settings

# Speed is measured by benchmarks/, never by a test: no per-example deadline, which a busy
# machine would trip at random.
settings.register_profile("targetkit", deadline=None)
settings.load_profile("targetkit")


@pytest.fixture
def reference() -> Path:
    """`tests/reference/`: copies of the published figures, each with its source (SOURCES.md)."""
    return REFERENCE
