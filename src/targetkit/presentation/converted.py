"""The converted workbook (convert): Converted, Not converted, Read me, About."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from targetkit.presentation import in_words
from targetkit.presentation.targets import title_columns
from targetkit.scales import POINTS
from targetkit.workbook import ReadMe, Sheet, write_workbook


def write_converted_workbook(
    out: Path,
    *,
    frame: pd.DataFrame,
    added: dict[str, str],
    problems: pd.DataFrame,
    source: str,
    target: str,
    approximate: bool,
    about: Sequence[tuple[str, object]],
    force: bool = False,
) -> Path:
    """`frame`: the input with each converted column beside its source (`added`: new → source).

    The input's own columns keep their headers; a converted column is headed in words
    ("reading_ks1 as points").
    """
    what = "points" if target == POINTS else target
    words = {name: f"{original} as {what}" for name, original in added.items()}
    descriptions = {
        words[name]: f"{original} converted from the {source} scale to {what}; blank where the "
        "value could not be converted (see 'Not converted')."
        for name, original in added.items()
    }
    numbers = {words[name]: "0.0" for name in added} if target == POINTS else {}
    converted = frame.rename(columns=words)
    sheets = [
        Sheet(
            "Converted",
            converted,
            descriptions=descriptions,
            number_formats=numbers,
            align={} if target == POINTS else {w: "center" for w in words.values()},
            freeze_columns=title_columns(converted),
        ),
        in_words(
            Sheet(
                "Not converted",
                problems.reset_index(names="row"),
                descriptions={
                    "row": "The row of the input file (as numbered in Excel).",
                    "suggestion": "The nearest valid grades to a misspelt grade.",
                },
                wrap=["message"],
            )
        ),
    ]
    readme = ReadMe(
        title="targetkit convert",
        lines=[
            f"Grades in {', '.join(added.values())} converted from {source} to {what}.",
            "The input's own columns are unchanged; each converted column stands beside its "
            "source.",
            *(["This conversion is approximate."] if approximate else []),
        ],
    )
    return write_workbook(out, sheets, readme=readme, about=about, force=force)
