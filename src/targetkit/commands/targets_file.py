"""Reading a targets workbook (or CSV) the one way every command does.

set-targets reads an earlier one with `--previous`, check-ambition reads submissions and
`--previous-targets`, report reads `--targets`: all through `read_targets`, so the sheet chosen,
the header clash rule and the canonical names are the same everywhere. `read_about` gives the
settings set-targets recorded in the `About` sheet, which check-ambition recomputes with
(SPEC §8).

A submission is checked once: `read_targets` reads it through `io.read_table` (which runs the
zip and XML safety checks) and remembers that it did; `read_about` on the same, unchanged file
then reads only the small `About` sheet with python-calamine, without a second check and parse
of the whole workbook (check-ambition reads both from every school's file).
"""

from __future__ import annotations

import os
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
    _checked[_key(path)] = _stamp(path)
    return table.frame.rename(columns=unambiguous_columns(table.frame.columns, path))


# Files read_targets has read and checked (resolved path -> size and modification time), so
# read_about can skip a second check of an unchanged file; a few hundred entries at most.
_checked: dict[str, tuple[int, int]] = {}


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


def _stamp(path: str | Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_size, status.st_mtime_ns


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
        checked = _checked.get(_key(path)) == _stamp(path)
    except OSError:
        return Recorded()
    items = _about_items_checked(path) if checked else _about_items(path)
    if items is None:
        return Recorded()
    policy = items.get("policy", "").split(" ", 1)[0] or None
    conversion = items.get("conversion table")
    year = items.get("academic year")
    return Recorded(
        policy=policy,
        benchmark=items.get("benchmark") or None,
        conversion=None if conversion in (None, "", "none") else conversion,
        academic_year=parse_academic_year(year.split(",")[0]) if year else None,
    )


def _about_items(path: str | Path) -> dict[str, str] | None:
    """The About sheet's items {lower-case item: value}, read with all of io's checks."""
    try:
        table = read_table(
            path, sheet=ABOUT_SHEET, is_known_header=lambda h: h.strip().lower() == "item"
        )
    except TargetkitError:
        return None
    frame = table.frame
    if frame.shape[1] < 2:
        return None
    return _items(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))


def _about_items_checked(path: str | Path) -> dict[str, str] | None:
    """The same from a file read_targets has just checked: only the About sheet is parsed."""
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        if ABOUT_SHEET not in workbook.sheet_names:
            return None
        rows = workbook.get_sheet_by_name(ABOUT_SHEET).to_python(skip_empty_area=False)
    except Exception:  # a broken About sheet records nothing, as with the checked read
        return None
    header = next(
        (i for i, row in enumerate(rows) if row and _text(row[0]).lower() == "item"), None
    )
    if header is None:
        return None
    pairs = [(row[0], row[1]) for row in rows[header + 1 :] if len(row) >= 2]
    return _items(pairs)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _items(pairs: object) -> dict[str, str]:
    return {
        str(k).strip().lower(): str(v).strip()
        for k, v in pairs  # type: ignore[attr-defined]
        if pd.notna(k) and pd.notna(v) and k != "" and v != ""
    }
