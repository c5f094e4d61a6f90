"""Add converted-grade columns beside the originals (`targetkit convert`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from targetkit.columns import header_key
from targetkit.errors import UsageError
from targetkit.scales import POINTS, convert_values


@dataclass
class ConversionResult:
    frame: pd.DataFrame  # the input columns unchanged, each converted column beside its source
    problems: pd.DataFrame  # index: source row; columns: column, value, message, suggestion
    added: dict[str, str]  # new column -> the column it was converted from
    approximate: bool


def find_column(frame: pd.DataFrame, wanted: str) -> str:
    """The frame's column matching `wanted` by header key (`Reading KS1` = `reading_ks1`)."""
    matches = [c for c in frame.columns if header_key(c) == header_key(wanted)]
    if not matches:
        available = ", ".join(str(c) for c in frame.columns)
        raise UsageError(f"no column {wanted!r}; the columns are: {available}")
    return matches[0]


def convert_columns(
    frame: pd.DataFrame, columns: Sequence[str], source: str, target: str
) -> ConversionResult:
    """Convert each named column from scale `source` to `target`; rows and columns are kept.

    Needs: the named columns. Adds: `<column>_<target>` right after each of them.
    """
    result = frame.copy()
    problems, added, approximate = [], {}, False
    for wanted in columns:
        column = find_column(frame, wanted)
        converted = convert_values(frame[column], str(column), source, target)
        name = f"{column}_{target}"
        if name in result.columns:
            raise UsageError(f"the input already has a column {name!r}", hint="rename it first")
        values = converted.values
        if target == POINTS:
            values = pd.to_numeric(values, errors="coerce")
        result.insert(list(result.columns).index(column) + 1, name, values)
        problems.append(converted.problems)
        added[name] = str(column)
        approximate = approximate or converted.approximate
    problem_frame = pd.concat(problems).sort_index(kind="stable") if problems else pd.DataFrame()
    return ConversionResult(result, problem_frame, added, approximate)
