"""Helpers the tests share: run targetkit through CliRunner or a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # published figures, with SOURCES.md
# The DfE's pupil group names in the transition matrices -> targetkit's group codes.
DFE_GROUP_CODES = {
    "Total": "all",
    "Disadvantaged": "disadvantaged",
    "Disadvantaged all other": "not_disadvantaged",
    "Boys": "boys",
    "Girls": "girls",
    "Other than English": "eal",
    "English": "not_eal",
    "Any SEN": "sen",
    "No identified SEN": "no_sen",
}


def cli(*args: str | Path) -> Result:
    """Run targetkit through click's CliRunner (stdout and stderr kept apart)."""
    from targetkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_targetkit(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run targetkit in a real subprocess, not on a terminal (as cron would)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "targetkit", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def column_numbers(sheet: object) -> dict[str, int]:
    """A sheet's header row as {column name: 1-based column}: targetkit's headers in words are
    read back to their names (`Reading target` → `reading_target`), as targetkit reads them."""
    from targetkit.columns import canonical_name

    found: dict[str, int] = {}
    for cell in sheet[1]:  # type: ignore[index]
        if cell.value is None:
            continue
        found.setdefault(str(cell.value), cell.column)
        found.setdefault(canonical_name(cell.value) or str(cell.value), cell.column)
    return found


def read_named(path: object, sheet: str) -> object:
    """A sheet of a targetkit workbook as a frame with column names (headers in words read
    back as targetkit reads them); cells as text where they are text."""
    import pandas as pd

    from targetkit.columns import canonical_name

    frame = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    return frame.rename(columns=lambda c: canonical_name(c) or c)
