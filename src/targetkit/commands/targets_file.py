"""Reading a targets workbook (or CSV) the one way every command does.

set-targets reads an earlier one with `--previous`, check-ambition reads submissions and
`--previous-targets`, report reads `--targets`: all through `read_targets`, so the sheet chosen,
the header clash rule and the canonical names are the same everywhere. `read_about` gives the
settings set-targets recorded in the `About` sheet, which check-ambition recomputes with
(SPEC §8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from targetkit.academic_year import parse_academic_year
from targetkit.columns import unambiguous_columns
from targetkit.errors import TargetkitError
from targetkit.io import read_table

TARGETS_SHEET = "Targets"  # the pupils' sheet of a set-targets workbook (SPEC §7)
ABOUT_SHEET = "About"


def read_targets(path: str | Path) -> pd.DataFrame:
    """The pupils of a targets file with canonical column names (other columns kept as they
    are); a workbook's `Targets` sheet is read directly, else the sheet is chosen. Two headers
    meaning one column are refused, naming both (exit 2)."""
    table = read_table(path, prefer_sheet=TARGETS_SHEET)
    return table.frame.rename(columns=unambiguous_columns(table.frame.columns, path))


@dataclass(frozen=True)
class Recorded:
    """What set-targets recorded about a targets workbook (None: not recorded)."""

    policy: str | None = None
    benchmark: str | None = None
    conversion: str | None = None
    academic_year: int | None = None


def read_about(path: str | Path) -> Recorded:
    """The policy, benchmark, conversion table and academic year in a workbook's `About` sheet
    (set-targets writes them); nothing recorded for a CSV or a workbook without one."""
    if Path(path).suffix.lower() not in (".xlsx", ".xlsm"):
        return Recorded()
    try:
        table = read_table(
            path, sheet=ABOUT_SHEET, is_known_header=lambda h: h.strip().lower() == "item"
        )
    except TargetkitError:
        return Recorded()
    frame = table.frame
    if frame.shape[1] < 2:
        return Recorded()
    items = {
        str(k).strip().lower(): str(v).strip()
        for k, v in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)
        if pd.notna(k) and pd.notna(v)
    }
    policy = items.get("policy", "").split(" ", 1)[0] or None
    conversion = items.get("conversion table")
    year = items.get("academic year")
    return Recorded(
        policy=policy,
        benchmark=items.get("benchmark") or None,
        conversion=None if conversion in (None, "", "none") else conversion,
        academic_year=parse_academic_year(year.split(",")[0]) if year else None,
    )
