"""How targetkit's workbooks look: sheet specs built from computed frames, one module a workbook.

Commands compute (`pipeline`), then call a `write_*` function here, which turns plain frames
into `workbook.Sheet`s (headers in words from `data/presentation/labels.yaml`, number formats,
panes, print layout) and writes them with `workbook.write_workbook`. Nothing here computes a
target or a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from targetkit.labels import label
from targetkit.workbook import Chart, Sheet

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_ORDER = {"challenge": 0, "error": 0, "warning": 1, "info": 2}
GUIDANCE = "the DfES 2006 guidance for local authorities on target setting"
GRADE_WORDS = {"nc": "level", "gcse91": "grade", "gcse": "grade", "steps": ""}


_CODES = [
    (re.compile(r"\b(\d[a-c]?)plus\b"), r"\1+"),
    (re.compile(r"\btop(25|50) schools\b"), r"top-\1% schools"),
    (re.compile(r"\bbasics_4\+"), "grade 4+ in English and maths"),
    (re.compile(r"\b5acem\b"), "5 grades 9-4 incl. English and maths (the guidance's 5 A*-C)"),
]


def plain_words(text: str) -> str:
    """targetkit's own sentences without its codes: `4plus` → `4+`, `top25 schools` →
    `top-25% schools`, `5acem` in words. Only for text targetkit wrote, never a user's."""
    for pattern, words in _CODES:
        text = pattern.sub(words, text)
    return text


def plain_column(values: pd.Series) -> pd.Series:
    """`plain_words` over a column of targetkit's messages (blanks stay blank)."""
    text = values.astype("string")
    for pattern, words in _CODES:
        text = text.str.replace(pattern, words, regex=True)
    return text.astype(object).where(values.notna(), None)


def in_words(sheet: Sheet, keep: Iterable[str] = (), grade_word: str = "") -> Sheet:
    """The sheet with targetkit's column names shown in words; the `keep` columns (the user's
    own) keep their headers. Every per-column setting follows its column's new header."""
    kept = {str(c) for c in keep}
    names: dict[str, str] = {}
    taken = set(kept)
    for column in map(str, sheet.frame.columns):
        if column in kept:
            names[column] = column
            continue
        words = label(column, grade_word)
        while words in taken:  # never two columns with one header
            words += " (targetkit)"
        taken.add(words)
        names[column] = words

    def renamed(mapping: dict) -> dict:
        return {names.get(k, k): v for k, v in mapping.items()}

    def each(columns: Iterable[str]) -> list[str]:
        return [names.get(c, c) for c in columns]

    charts = [
        replace(
            chart,
            categories=names.get(chart.categories, chart.categories)
            if chart.table == 0
            else chart.categories,
            values=each(chart.values) if chart.table == 0 else list(chart.values),
            labels={
                names.get(v, v) if chart.table == 0 else v: chart.labels.get(v) or label(v)
                for v in chart.values
            },
        )
        for chart in sheet.charts
    ]
    return replace(
        sheet,
        frame=sheet.frame.rename(columns=names),
        descriptions={k: plain_words(v) for k, v in renamed(sheet.descriptions).items()},
        comments=renamed(sheet.comments),
        dropdowns=renamed(sheet.dropdowns),
        fills=renamed(sheet.fills),
        number_formats=renamed(sheet.number_formats),
        editable=each(sheet.editable),
        charts=charts,
        blocks=[each(block) for block in sheet.blocks],
        align=renamed(sheet.align),
        wrap=each(sheet.wrap),
        cell_fills=renamed(sheet.cell_fills),
    )


def by_severity(findings: pd.DataFrame, *then: str) -> pd.DataFrame:
    """Findings with the most serious first (challenge/error, warning, info), then by `then`."""
    import pandas as pd

    rank = findings["severity"].map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER))
    keys = [c for c in then if c in findings]
    order = findings.assign(_rank=rank)
    for key in keys:  # numbers as numbers (row 9 before row 10), text without case
        values = order[key]
        numbers = pd.to_numeric(values, errors="coerce")
        text = values.astype("string").str.casefold()
        order[f"_{key}"] = numbers if numbers.notna().sum() == values.notna().sum() else text
    ordered = order.sort_values(
        ["_rank", *(f"_{k}" for k in keys)], kind="stable", na_position="first"
    )
    return ordered.drop(columns=["_rank", *(f"_{k}" for k in keys)]).reset_index(drop=True)


def percent(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Percentages kept as 0–100 by the pipeline, as fractions for Excel's `0%` format."""
    import pandas as pd

    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce") / 100
    return out


__all__ = ["Chart", "Sheet", "by_severity", "in_words", "percent", "plain_column", "plain_words"]
