"""The cohort workbook (import): Pupils, Data issues, Read me, About."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pandas.api.types import is_bool_dtype

from targetkit.columns import canonical_name
from targetkit.presentation import by_severity, in_words
from targetkit.workbook import ReadMe, Sheet, write_workbook

COLUMN_DESCRIPTIONS = {
    "upn": "Unique Pupil Number, upper case (kept even when its check letter is wrong).",
    "pupil_id": "The school's admission number, as text.",
    "year_group": "NC year as a number: Reception 0, Nursery -1.",
    "gender": "F or M.",
    "dob": "Date of birth (UK dates read day first).",
    "fsm": "Eligible for free school meals: TRUE, FALSE or blank (unknown).",
    "disadvantaged": "Pupil premium / disadvantaged (see About for where it came from).",
    "sen": "SEN provision: N none, K SEN support, E EHC plan (old A/P → K, S → E).",
    "eal": "English as an additional language; blank when the first language is not known.",
    "lac": "Looked-after child.",
    "ethnicity": "CBDS ethnicity code.",
    "gifted": "Gifted and talented / more able.",
    "attendance": "Attendance percentage.",
    "source_file": "The file this pupil's row came from.",
    "source_row": "The row in that file, as numbered in Excel.",
    "row_issues": "Errors and warnings for this pupil (details on 'Data issues'); blank if none.",
}


def write_cohort_workbook(
    out: Path,
    *,
    pupils: pd.DataFrame,
    issues: pd.DataFrame,
    headers: Sequence[dict[str, str]],
    scales: dict[str, str],
    about: Sequence[tuple[str, object]],
    force: bool = False,
    issues_sheet_fits: bool = True,
) -> Path:
    """`pupils` and `issues` as `import_cohort` made them; a blanked cell is marked on Pupils.

    `issues_sheet_fits=False` leaves the 'Data issues' sheet out (the command wrote them to a
    CSV beside the workbook, as a sheet would cut them at Excel's last row)."""
    descriptions = {c: COLUMN_DESCRIPTIONS[c] for c in pupils.columns if c in COLUMN_DESCRIPTIONS}
    marks, comments = blanked_cells(pupils, issues, headers)
    for column, scale in scales.items():
        descriptions[column] = f"Grade on the {scale} scale (spelling tidied, e.g. 2B → 2b)."
    issues_sheet = Sheet(
        "Data issues",
        by_severity(issues, "source_file", "source_row"),
        wrap=["message", "suggestion"],
        descriptions={
            "severity": "error: the value cannot be used (left blank, or the UPN kept as is); "
            "warning: usable but suspicious; info: changed for you, or a row left out.",
            "code": "A stable name for the kind of problem, to filter on.",
            "source_row": "The row in the source file, as numbered when opened in Excel.",
            "column": "The column header as it is in the source file.",
        },
        fills={"severity": {"error": "red", "warning": "amber", "info": "blue"}},
    )
    readme = ReadMe(
        title="targetkit import: cohort",
        lines=[
            "Every pupil row of the source files is on 'Pupils', in the files' order; nothing "
            "is dropped. Blank and totals rows are left out and listed on 'Data issues'.",
            "Known columns come first with tidied values; the export's other columns follow, "
            "unchanged.",
            "Fix problems in the MIS and export again, or correct the cells here. A red cell on "
            "'Pupils' is a value import could not use and left blank; its comment says why.",
            "'Data issues' lists errors first, then warnings, then notes, by file and row.",
        ],
        key=[("red", "error"), ("amber", "warning"), ("blue", "info")],
    )
    sheets = [
        in_words(
            Sheet(
                "Pupils",
                pupils,
                descriptions=descriptions,
                freeze_columns=_name_columns(pupils),
                comments=comments,
                cell_fills=marks,
                number_formats={c: TRUE_FALSE for c in pupils if is_bool_dtype(pupils[c].dtype)},
            ),
            keep=[c for c in pupils.columns if c not in OWN_COLUMNS and canonical_name(c) != c],
        ),
        in_words(issues_sheet),
    ]
    if not issues_sheet_fits:  # more issues than a sheet holds: they are in X-issues.csv
        sheets.pop()
    return write_workbook(out, sheets, readme=readme, about=about, force=force)


OWN_COLUMNS = ("source_file", "source_row", "row_issues")  # added by import, never the export's
# Yes/no cells are real booleans (Excel and openpyxl read TRUE/FALSE); this format makes every
# spreadsheet program show them as TRUE/FALSE, as some LibreOffice versions show an unformatted
# boolean cell as 1/0.
TRUE_FALSE = '"TRUE";"TRUE";"FALSE"'


def _name_columns(pupils: pd.DataFrame) -> int:
    """UPN, admission number and names lead the Pupils sheet: keep them in view."""
    leading = 0
    for column in pupils.columns[:5]:
        if column not in ("upn", "pupil_id", "surname", "forename"):
            break
        leading += 1
    return leading


def blanked_cells(
    pupils: pd.DataFrame, issues: pd.DataFrame, headers: Sequence[dict[str, str]]
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Cells import left blank (an error it could not use): a red fill and a comment each.

    Issues name the source file, its row and the original header; `headers` maps each source's
    original headers to the Pupils columns.
    """
    wanted = issues[
        issues["severity"].eq("error")
        & issues["message"].astype("string").str.contains("left blank", regex=False).fillna(False)
    ]
    marks: dict[str, pd.Series] = {}
    comments: dict[str, pd.Series] = {}
    if wanted.empty or not {"source_file", "source_row"} <= set(pupils.columns):
        return marks, comments
    mapped = {o: c for mapping in headers for o, c in mapping.items()}
    where = pd.MultiIndex.from_arrays(
        [pupils["source_file"].astype("string"), pd.to_numeric(pupils["source_row"])]
    )
    for issue in wanted.itertuples(index=False):
        column = mapped.get(str(issue.column))
        if column not in pupils.columns:
            continue
        key = (str(issue.source_file), int(issue.source_row))
        if key not in where:
            continue
        position = where.get_loc(key)
        marks.setdefault(column, pd.Series(None, index=range(len(pupils)), dtype=object))
        comments.setdefault(column, pd.Series(None, index=range(len(pupils)), dtype=object))
        marks[column].iloc[position] = "red"
        hint = issue.suggestion if isinstance(issue.suggestion, str) and issue.suggestion else ""
        comments[column].iloc[position] = (
            f"Left blank by import: {issue.value!s} is {issue.message}"
            + (f" ({hint})" if hint else "")
            + ". See 'Data issues'."
        )
    return marks, comments
