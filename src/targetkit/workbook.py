"""The only place that writes Excel formatting: comments, fills, drop-downs, charts, Read me.

Every workbook targetkit writes explains itself (SPEC §5): a frozen, filtered header row,
sensible widths, a `Read me` sheet describing each column targetkit added, an `About` sheet
saying what produced it, red/amber/green status cells with a key, and drop-down lists of
valid grades on editable columns. xlsxwriter writes in constant-memory mode, one row at a
time with its comments, so 100,000 pupils stay fast and small; user text that looks like a
formula (`=1+1`) is always written as text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from targetkit.io import atomic_output, column_letter, private_folder

if TYPE_CHECKING:
    import pandas as pd

RAG_COLOURS = {
    "red": "#F4B6B6",
    "amber": "#FFE0A3",
    "green": "#C6E9C0",
    "grey": "#E3E3E3",
    "blue": "#CFE2F3",
}
EDITABLE_COLOUR = "#FFF9D6"
LIST_SHEET = "Lists"
MAX_SHEET_NAME = 31
# Rows turned into Python values at a time: whole columns at once would hold a second copy of a
# 100,000-pupil sheet in memory (about 300 MiB for a report); the cells written are the same.
CHUNK_ROWS = 5000


@dataclass
class Chart:
    """A native Excel chart of some columns of a sheet against a category column."""

    title: str
    categories: str
    values: Sequence[str]
    kind: Literal["column", "bar", "line"] = "column"
    y_title: str | None = None
    percent: bool = False
    anchor: str | None = None  # cell to place the chart at; default: right of the table


@dataclass
class Sheet:
    """One sheet: a frame plus how to present it.

    `comments` maps a column to one text per row (None for no comment); `dropdowns` maps a
    column to its valid values; `fills` maps a column to {cell text: colour name}.
    """

    name: str
    frame: pd.DataFrame
    descriptions: dict[str, str] = field(default_factory=dict)
    comments: dict[str, pd.Series] = field(default_factory=dict)
    dropdowns: dict[str, Sequence[str]] = field(default_factory=dict)
    fills: dict[str, dict[str, str]] = field(default_factory=dict)
    number_formats: dict[str, str] = field(default_factory=dict)
    editable: Sequence[str] = ()
    charts: Sequence[Chart] = ()
    freeze_columns: int = 0
    filter: bool = True


@dataclass
class ReadMe:
    """What the Read me sheet says: a title, a few lines, and a key to the colours."""

    title: str
    lines: Sequence[str] = ()
    key: Sequence[tuple[str, str]] = ()  # (colour name, meaning)


def write_workbook(
    path: str | Path,
    sheets: Sequence[Sheet],
    *,
    readme: ReadMe,
    about: Sequence[tuple[str, object]],
    force: bool = False,
) -> Path:
    """Write the sheets, then `Read me` and `About`, atomically to `path`."""
    import xlsxwriter

    _check_fits(path, sheets)
    with atomic_output(path, force=force) as temporary, private_folder(path) as spool:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {
                "constant_memory": True,
                "tmpdir": str(spool),  # pupil data never spooled to the shared $TMPDIR
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_date_format": "dd/mm/yyyy",
                "nan_inf_to_errors": False,
            },
        )
        formats = _Formats(workbook)
        lists = _ListSheet(workbook)
        for sheet in sheets:
            _write_sheet(workbook, sheet, formats, lists)
        _write_readme(workbook, sheets, readme, formats)
        _write_rows(workbook, "About", ["Item", "Value"], [list(item) for item in about], formats)
        lists.finish()
        workbook.close()
    return Path(path)


MAX_CELL_TEXT = 32_767  # Excel's limits: a longer text is cut by Excel, more rows are lost
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384


def _check_fits(path: str | Path, sheets: Sequence[Sheet]) -> None:
    """Refuse, before writing, a sheet with more columns or rows than Excel holds: it would
    otherwise be cut without a word."""
    from targetkit.errors import OutputError

    for sheet in sheets:
        rows, columns = sheet.frame.shape
        if columns > MAX_SHEET_COLUMNS or rows + 1 > MAX_SHEET_ROWS:
            raise OutputError(
                f"sheet {sheet.name!r} would have {rows + 1:,} rows and {columns:,} columns, "
                f"more than an Excel sheet holds ({MAX_SHEET_ROWS:,} x {MAX_SHEET_COLUMNS:,})",
                file=path,
                hint="write CSV instead (-o NAME.csv), or split the input",
            )


def _kept_to_excel_limit(sheet: str, row: int, column: str, value: str) -> str:
    """A text longer than an Excel cell holds: kept to the limit, and said where."""
    from targetkit import console

    console.warn(
        f"sheet {sheet!r}, row {row + 1}, column {column!r}: text of {len(value):,} characters "
        f"kept to Excel's limit of {MAX_CELL_TEXT:,}"
    )
    return value[:MAX_CELL_TEXT]


class _Formats:
    def __init__(self, workbook: object) -> None:
        add = workbook.add_format  # type: ignore[attr-defined]
        self.header = add(
            {"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top", "border": 1}
        )
        self.editable_header = add(
            {"bold": True, "bg_color": "#FFE98A", "text_wrap": True, "valign": "top", "border": 1}
        )
        self.editable = add({"bg_color": EDITABLE_COLOUR})
        self.title = add({"bold": True, "font_size": 14})
        self.fills = {name: add({"bg_color": colour}) for name, colour in RAG_COLOURS.items()}
        self._numbers: dict[str, object] = {}
        self._add = add

    def number(self, pattern: str) -> object:
        if pattern not in self._numbers:
            self._numbers[pattern] = self._add({"num_format": pattern})
        return self._numbers[pattern]


class _ListSheet:
    """A hidden sheet holding drop-down lists (Excel's inline list limit is 255 characters)."""

    def __init__(self, workbook: object) -> None:
        self.workbook = workbook
        self.columns: list[tuple[str, ...]] = []
        self.sheet = None

    def reference(self, values: Sequence[str]) -> str:
        values = tuple(str(v) for v in values)
        if values not in self.columns:
            self.columns.append(values)
        position = self.columns.index(values)
        letter = column_letter(position)
        return f"={LIST_SHEET}!${letter}$1:${letter}${len(values)}"

    def finish(self) -> None:
        if not self.columns:
            return
        sheet = self.workbook.add_worksheet(LIST_SHEET)  # type: ignore[attr-defined]
        longest = max(len(values) for values in self.columns)
        for row in range(longest):
            for position, values in enumerate(self.columns):
                if row < len(values):
                    sheet.write_string(row, position, values[row])
        sheet.hide()


def _python_columns(frame: pd.DataFrame) -> list[list[object]]:
    """Each column as a list of plain Python values, missing values as None."""
    import numpy as np
    import pandas as pd

    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = [None if pd.isna(v) else v.to_pydatetime() for v in series]
        else:
            values = series.astype(object).tolist()
            values = [
                None
                if v is None
                or v is pd.NA
                or v is pd.NaT
                or (isinstance(v, float) and math.isnan(v))
                else (v.item() if isinstance(v, np.generic) else v)
                for v in values
            ]
        columns.append(values)
    return columns


def _write_sheet(workbook: object, sheet: Sheet, formats: _Formats, lists: _ListSheet) -> None:
    worksheet = workbook.add_worksheet(safe_sheet_name(sheet.name))  # type: ignore[attr-defined]
    frame = sheet.frame
    headers = [str(c) for c in frame.columns]
    editable = set(sheet.editable)
    positions = {name: i for i, name in enumerate(headers)}
    for name, position in positions.items():
        fmt = formats.editable_header if name in editable else formats.header
        worksheet.write_string(0, position, name, fmt)
    column_formats = [
        formats.number(sheet.number_formats[name])
        if name in sheet.number_formats
        else formats.editable
        if name in editable
        else None
        for name in headers
    ]
    comment_columns = [
        (positions[name], texts) for name, texts in sheet.comments.items() if name in positions
    ]
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        columns = _python_columns(frame.iloc[chunk])
        notes = [
            (position, texts.iloc[chunk].astype(object).tolist())
            for position, texts in comment_columns
        ]
        for offset, row in enumerate(zip(*columns, strict=True) if columns else ()):
            excel_row = start + offset + 1
            for position, value in enumerate(row):
                fmt = column_formats[position]
                if value is None:
                    if fmt is not None:
                        worksheet.write_blank(excel_row, position, None, fmt)
                    continue
                if isinstance(value, str):
                    if len(value) > MAX_CELL_TEXT:
                        value = _kept_to_excel_limit(
                            sheet.name, excel_row, headers[position], value
                        )
                    worksheet.write_string(excel_row, position, value, fmt)
                elif isinstance(value, (dt.date, dt.datetime)):
                    worksheet.write_datetime(excel_row, position, value, fmt)
                else:
                    worksheet.write(excel_row, position, value, fmt)
            for position, texts in notes:
                text = texts[offset]
                if isinstance(text, str) and text:
                    worksheet.write_comment(
                        excel_row, position, text, {"x_scale": 2.5, "y_scale": 1.5}
                    )
    last_row = max(len(frame), 1)
    for name, values in sheet.dropdowns.items():
        if name in positions and values:
            worksheet.data_validation(
                1,
                positions[name],
                last_row,
                positions[name],
                {
                    "validate": "list",
                    "source": lists.reference(values),
                    "error_type": "warning",
                    "error_title": "Not a grade of this scale",
                    "error_message": "Choose a grade from the list (a number such as 4 is fine).",
                },
            )
    for name, rules in sheet.fills.items():
        if name not in positions:
            continue
        for text, colour in rules.items():
            worksheet.conditional_format(
                1,
                positions[name],
                last_row,
                positions[name],
                {
                    "type": "cell",
                    "criteria": "equal to",
                    "value": f'"{text}"',
                    "format": formats.fills[colour],
                },
            )
    _finish_table(worksheet, frame, headers, sheet)
    for index, chart in enumerate(sheet.charts):
        _insert_chart(workbook, worksheet, sheet, positions, chart, index)


PRINT_FIT_COLUMNS = 15  # a sheet this narrow prints one page wide; wider ones keep their size


def _finish_table(worksheet: object, frame: pd.DataFrame, headers: list[str], sheet: Sheet) -> None:
    worksheet.freeze_panes(1, sheet.freeze_columns)  # type: ignore[attr-defined]
    # Teachers print these: A4 landscape, the header row on every page.
    worksheet.set_landscape()  # type: ignore[attr-defined]
    worksheet.set_paper(9)  # type: ignore[attr-defined]
    worksheet.repeat_rows(0)  # type: ignore[attr-defined]
    if len(headers) <= PRINT_FIT_COLUMNS:
        worksheet.fit_to_pages(1, 0)  # type: ignore[attr-defined]
    if sheet.filter and headers:
        worksheet.autofilter(0, 0, max(len(frame), 1), len(headers) - 1)  # type: ignore[attr-defined]
    for position, name in enumerate(headers):
        sample = frame.iloc[:500, position].dropna().astype(str)
        longest = int(sample.str.len().max()) if len(sample) else 0
        width = min(max(len(name) * 0.9 + 2, longest + 2, 8), 45)
        worksheet.set_column(position, position, width)  # type: ignore[attr-defined]


def _insert_chart(
    workbook: object,
    worksheet: object,
    sheet: Sheet,
    positions: dict[str, int],
    chart: Chart,
    index: int,
) -> None:
    kind = chart.kind
    excel_chart = workbook.add_chart({"type": kind})  # type: ignore[attr-defined]
    name = safe_sheet_name(sheet.name).replace("'", "''")
    rows = len(sheet.frame)
    if rows == 0:
        return
    category = positions[chart.categories]
    for value_name in chart.values:
        column = positions[value_name]
        excel_chart.add_series(
            {
                "name": [safe_sheet_name(sheet.name), 0, column],
                "categories": _column_range(name, category, rows),
                "values": _column_range(name, column, rows),
            }
        )
    excel_chart.set_title({"name": chart.title})
    axis = {"name": chart.y_title} if chart.y_title else {}
    if chart.percent:
        axis["num_format"] = "0%"
    (excel_chart.set_x_axis if kind == "bar" else excel_chart.set_y_axis)(axis)
    excel_chart.set_size({"width": 720, "height": 360})
    anchor = chart.anchor or f"{column_letter(len(positions) + 1)}{2 + index * 20}"
    worksheet.insert_chart(anchor, excel_chart)  # type: ignore[attr-defined]


def _column_range(sheet_name: str, position: int, rows: int) -> str:
    letter = column_letter(position)
    return f"='{sheet_name}'!${letter}$2:${letter}${rows + 1}"


def _write_rows(
    workbook: object, name: str, headers: list[str], rows: list[list[object]], formats: _Formats
) -> object:
    worksheet = workbook.add_worksheet(name)  # type: ignore[attr-defined]
    for position, header in enumerate(headers):
        worksheet.write_string(0, position, header, formats.header)
    for row_index, row in enumerate(rows, start=1):
        for position, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                worksheet.write_string(row_index, position, value)
            else:
                worksheet.write(row_index, position, value)
    worksheet.freeze_panes(1, 0)
    worksheet.set_column(0, 0, 28)
    worksheet.set_column(1, len(headers) - 1, 70)
    return worksheet


def _write_readme(
    workbook: object, sheets: Sequence[Sheet], readme: ReadMe, formats: _Formats
) -> None:
    worksheet = workbook.add_worksheet("Read me")  # type: ignore[attr-defined]
    worksheet.write_string(0, 0, readme.title, formats.title)
    row = 2
    for line in readme.lines:
        worksheet.write_string(row, 0, line)
        row += 1
    row += 1
    for position, header in enumerate(["Sheet", "Column", "What it means"]):
        worksheet.write_string(row, position, header, formats.header)
    row += 1
    for sheet in sheets:
        for column, text in sheet.descriptions.items():
            worksheet.write_string(row, 0, sheet.name)
            worksheet.write_string(row, 1, column)
            worksheet.write_string(row, 2, text)
            row += 1
    if readme.key:
        row += 1
        worksheet.write_string(row, 0, "Colour key", formats.header)
        worksheet.write_string(row, 1, "Meaning", formats.header)
        row += 1
        for colour, meaning in readme.key:
            worksheet.write_string(row, 0, colour, formats.fills[colour])
            worksheet.write_string(row, 1, meaning)
            row += 1
    worksheet.set_column(0, 0, 22)
    worksheet.set_column(1, 1, 30)
    worksheet.set_column(2, 2, 100)


def safe_sheet_name(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ ."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return cleaned[:MAX_SHEET_NAME] or "Sheet"
