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
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from targetkit.io import (
    MAX_CELL_TEXT,
    MAX_COLUMNS,
    MAX_ROWS,
    atomic_output,
    column_letter,
    private_folder,
)
from targetkit.wrapping import (
    MAX_ROW_POINTS,
    WIDE,
    fits_on_a_line,
    row_height,
    text_width,
    wrapped_lines,
)

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
    anchor: str | None = None  # cell to place the chart at; default: below the tables
    table: int = 0  # which table of the sheet: 0 the sheet's frame, 1… its `below` tables
    labels: dict[str, str] = field(default_factory=dict)  # series name → legend in words


@dataclass
class Table:
    """A further table on a sheet, written below the sheet's own frame with a title above it."""

    title: str
    frame: pd.DataFrame
    number_formats: dict[str, str] = field(default_factory=dict)


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
    freeze_columns: int = 0  # columns kept in view and repeated on every printed page
    filter: bool = True
    intro: Sequence[str] = ()  # sentences above the table (a Summary's opening lines)
    below: Sequence[Table] = ()  # further tables under the frame, one below the other
    blocks: Sequence[Sequence[str]] = ()  # column groups (one a subject): outlined, a page each
    align: dict[str, str] = field(default_factory=dict)  # column → center / left / right
    wrap: Sequence[str] = ()  # columns of long text: wrapped, their rows as tall as the text
    wrap_width: float = 60  # the widest a wrapped column grows (its longest text, up to this)
    print_blocks_only: bool = False  # print the title columns and the blocks, not the columns
    # before the first block (a pupil list's own input columns: kept in the sheet, on screen)
    cell_fills: dict[str, pd.Series] = field(default_factory=dict)  # column → colour a row


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

    from targetkit import console
    from targetkit.workbook_notes import NotesWorkbook

    writer, how = chosen_writer()
    about = [*about, ("workbook writer", f"xlsxwriter {xlsxwriter.__version__}, {how}")]
    _check_fits(path, sheets)
    rows = sum(len(sheet.frame) for sheet in sheets)
    with (
        atomic_output(path, force=force) as temporary,
        private_folder(path) as spool,
        console.step(f"Writing {Path(path).name}", total=rows) as advance,
    ):
        workbook = NotesWorkbook(
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
            _write_sheet(workbook, sheet, formats, lists, writer, advance)
        _write_readme(workbook, sheets, readme, formats)
        _write_rows(workbook, "About", ["Item", "Value"], [list(item) for item in about], formats)
        lists.finish()
        with console.step("Saving (comments and compression)"):
            workbook.close()
    return Path(path)


# Excel's limits, one definition in io.py: a longer text is cut by Excel, more rows are lost
MAX_SHEET_ROWS = MAX_ROWS
MAX_SHEET_COLUMNS = MAX_COLUMNS


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
        self.title = add({"bold": True, "font_size": 14})
        self.subtitle = add({"bold": True, "font_size": 12})
        self.text = add({"text_wrap": True, "valign": "top"})
        self.intro = add({"text_wrap": True, "valign": "top", "font_size": 12})
        self.fills = {name: add({"bg_color": colour}) for name, colour in RAG_COLOURS.items()}
        self._cells: dict[tuple[object, ...], object] = {}
        self._add = add

    def cell(
        self,
        number: str | None = None,
        align: str | None = None,
        fill: str | None = None,
        wrap: bool = False,
    ) -> object | None:
        """One cached format for a cell's number format, alignment, fill and wrapping."""
        key = (number, align, fill, wrap)
        if key == (None, None, None, False):
            return None
        if key not in self._cells:
            spec: dict[str, object] = {}
            if number:
                spec["num_format"] = number
            if align:
                spec["align"] = align
            if fill:
                spec["bg_color"] = fill
            if wrap:
                spec |= {"text_wrap": True, "valign": "top"}
            self._cells[key] = self._add(spec)
        return self._cells[key]

    def number(self, pattern: str) -> object:
        return self.cell(number=pattern)


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


def _write_sheet(
    workbook: object,
    sheet: Sheet,
    formats: _Formats,
    lists: _ListSheet,
    writer: type[_RowXml] | type[_CellByCell],
    advance: Callable[[int], None] = lambda done: None,
) -> None:
    worksheet = workbook.add_worksheet(safe_sheet_name(sheet.name))  # type: ignore[attr-defined]
    frame = sheet.frame
    headers = [str(c) for c in frame.columns]
    widths = _widths(sheet, [frame, *(table.frame for table in sheet.below)])
    top = _write_intro(worksheet, sheet, max(len(headers), 1), formats, widths)
    editable = set(sheet.editable)
    positions = {name: i for i, name in enumerate(headers)}
    # headers in words wrap onto a few lines: the row as tall as the longest needs
    worksheet.set_row(top, _header_height(headers, widths, 1))
    for name, position in positions.items():
        fmt = formats.editable_header if name in editable else formats.header
        worksheet.write_string(top, position, name, fmt)
    wrap = set(sheet.wrap)
    column_formats = [
        formats.cell(
            sheet.number_formats.get(name),
            sheet.align.get(name),
            EDITABLE_COLOUR if name in editable else None,
            name in wrap,
        )
        for name in headers
    ]
    comment_columns = sorted(  # a row's notes in column order, as Excel lists them
        (positions[name], texts) for name, texts in sheet.comments.items() if name in positions
    )
    marked = [(positions[c], fills) for c, fills in sheet.cell_fills.items() if c in positions]
    wrapped = [(p, widths[p]) for name, p in positions.items() if name in wrap]
    # Comments are added with their row: in constant-memory mode xlsxwriter drops a comment
    # above the row it is at.
    rows = writer(worksheet, sheet.name, headers)
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        columns = _python_columns(frame.iloc[chunk])
        notes = [
            (position, texts.iloc[chunk].astype(object).tolist())
            for position, texts in comment_columns
        ]
        marks = [
            (position, colours.iloc[chunk].astype(object).tolist()) for position, colours in marked
        ]
        for offset, row in enumerate(zip(*columns, strict=True) if columns else ()):
            excel_row = top + start + offset + 1
            row_formats = column_formats
            for position, colours in marks:
                colour = colours[offset]
                if isinstance(colour, str) and colour in RAG_COLOURS:
                    name = headers[position]
                    if row_formats is column_formats:
                        row_formats = list(column_formats)
                    row_formats[position] = formats.cell(
                        sheet.number_formats.get(name),
                        sheet.align.get(name),
                        RAG_COLOURS[colour],
                        name in wrap,
                    )
            rows.write(excel_row, row, row_formats, _row_height(row, wrapped) if wrapped else None)
            for position, texts in notes:
                text = texts[offset]
                if isinstance(text, str) and text:
                    if len(text) > MAX_CELL_TEXT // 2 and _utf16_len(text) > MAX_CELL_TEXT:
                        text = _note_kept_to_limit(sheet.name, excel_row, headers[position], text)
                    rows.note(excel_row, position, text)
        advance(len(columns[0]) if columns else 0)
    rows.finish()
    first, last_row = top + 1, top + max(len(frame), 1)
    for name, values in sheet.dropdowns.items():
        if name in positions and values:
            worksheet.data_validation(
                first,
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
                first,
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
    tables = [(top, frame, headers)]
    row = top + len(frame) + 2
    for table in sheet.below:
        worksheet.write_string(row, 0, table.title, formats.subtitle)
        table_headers = [str(c) for c in table.frame.columns]
        worksheet.set_row(row + 1, _header_height(table_headers, widths, 2))
        for position, name in enumerate(table_headers):
            worksheet.write_string(row + 1, position, name, formats.header)
        table_formats = [
            formats.cell(table.number_formats.get(name), sheet.align.get(name), wrap=name in wrap)
            for name in table_headers
        ]
        table_wrapped = [(p, widths[p]) for p, name in enumerate(table_headers) if name in wrap]
        rows = writer(worksheet, sheet.name, table_headers)
        for offset, values in enumerate(zip(*_python_columns(table.frame), strict=True)):
            rows.write(row + 2 + offset, values, table_formats, _row_height(values, table_wrapped))
        rows.finish()
        tables.append((row + 1, table.frame, table_headers))
        row += len(table.frame) + 4
    _finish_table(worksheet, sheet, headers, top, widths)
    for index, chart in enumerate(sheet.charts):
        _insert_chart(workbook, worksheet, sheet, tables, chart, index, row, widths)


def _write_row(
    worksheet: object,
    excel_row: int,
    row: Sequence[object],
    fmts: list,
    sheet_name: str = "",
    headers: Sequence[str] = (),
) -> None:
    """One row of values: text always as text (never a formula), dates as dates; a text longer
    than Excel holds is kept to its limit and reported, never cut silently."""
    for position, value in enumerate(row):
        fmt = fmts[position]
        if value is None:
            if fmt is not None:
                worksheet.write_blank(excel_row, position, None, fmt)  # type: ignore[attr-defined]
            continue
        if isinstance(value, str):
            if len(value) > MAX_CELL_TEXT:
                column = headers[position] if position < len(headers) else str(position + 1)
                value = _kept_to_excel_limit(sheet_name, excel_row, column, value)
            worksheet.write_string(excel_row, position, value, fmt)  # type: ignore[attr-defined]
        elif isinstance(value, (dt.date, dt.datetime)):
            worksheet.write_datetime(excel_row, position, value, fmt)  # type: ignore[attr-defined]
        else:
            worksheet.write(excel_row, position, value, fmt)  # type: ignore[attr-defined]


Cells = Sequence[object]  # a row's values, or their formats
COMMENT_SIZE = {"x_scale": 2.5, "y_scale": 1.5}  # a note's box: room for a few lines


def _note_kept_to_limit(sheet: str, row: int, column: str, text: str) -> str:
    """A note longer than Excel holds (xlsxwriter would drop it silently): kept to the limit."""
    from targetkit import console

    console.warn(
        f"sheet {sheet!r}, row {row + 1}, column {column!r}: note of {len(text):,} characters "
        f"kept to Excel's limit of {MAX_CELL_TEXT:,}"
    )
    return _utf16_truncate(text, MAX_CELL_TEXT)


class _CellByCell:
    """Rows and notes written through xlsxwriter's own methods, a cell at a time: the
    reference that `_RowXml` must match byte for byte (tests/test_workbook_rows.py,
    tests/test_workbook_notes.py)."""

    def __init__(self, worksheet: object, sheet_name: str, headers: Sequence[str]) -> None:
        self.worksheet, self.sheet_name, self.headers = worksheet, sheet_name, headers

    def write(self, excel_row: int, row: Cells, fmts: Cells, height: float | None = None) -> None:
        if height is not None:
            self.worksheet.set_row(excel_row, height)  # type: ignore[attr-defined]
        _write_row(self.worksheet, excel_row, row, list(fmts), self.sheet_name, self.headers)

    def note(self, excel_row: int, position: int, text: str) -> None:
        """A note (comment) on a cell of the row being written."""
        self.worksheet.write_comment(excel_row, position, text, COMMENT_SIZE)  # type: ignore[attr-defined]

    def finish(self) -> None:
        pass


class _RowXml:
    """Rows of a constant-memory worksheet written straight into its sheet XML, as xlsxwriter
    itself writes them, without its per-cell bookkeeping (about 8 µs a cell: most of a big
    workbook's time). Each row is held until the next arrives, and the last is handed to
    xlsxwriter, so every format is numbered when xlsxwriter would number it: the file is byte
    for byte the one `_CellByCell` writes, except that a text looking like rich-text XML
    (`<r>…</r>`), which xlsxwriter would copy into the file as XML, is kept as text.
    """

    def __init__(self, worksheet: object, sheet_name: str, headers: Sequence[str]) -> None:
        self.worksheet, self.sheet_name, self.headers = worksheet, sheet_name, headers
        self.letters: list[str] = []
        self.styles: dict[int, str] = {}  # id(format) -> ' s="N"' (N given in first use order)
        self.pending: tuple[int, Sequence[object], Sequence[object]] | None = None
        self.first = self.last = -1  # the rows written as XML that have cells
        self.low, self.high = MAX_SHEET_COLUMNS, -1  # and their columns
        self.date_format = worksheet.default_date_format  # type: ignore[attr-defined]
        # A text cell's XML after its reference, by (text, format): grades and words repeat
        # down a column, so most text cells are one lookup (a bounded cache: names do not).
        self.texts: dict[tuple[str, object], str] = {}

    def write(self, excel_row: int, row: Cells, fmts: Cells, height: float | None = None) -> None:
        if self.pending is None:
            worksheet = self.worksheet
            if excel_row <= worksheet.previous_row:  # type: ignore[attr-defined]
                raise ValueError("rows must start below what is already written")
            worksheet._write_single_row(excel_row)  # type: ignore[attr-defined]  # the header
        else:
            if excel_row <= self.pending[0]:
                raise ValueError("rows must be written in order")
            self._emit(*self.pending)
        if height is not None:  # recorded as xlsxwriter records it (charts are placed by it)
            self.worksheet.set_row(excel_row, height)  # type: ignore[attr-defined]
        self.pending = (excel_row, row, fmts)

    def note(self, excel_row: int, position: int, text: str) -> None:
        """A note (comment) on a cell of the row being written, its XML spooled at once
        (`workbook_notes`) instead of held by xlsxwriter until the workbook closes."""
        self.worksheet.add_note(excel_row, position, text, COMMENT_SIZE)  # type: ignore[attr-defined]

    def finish(self) -> None:
        """Record the extent written as XML; the last row goes through xlsxwriter, unless it
        holds a text xlsxwriter would copy in raw (then it too is written here)."""
        if self.pending is None:
            return
        worksheet = self.worksheet
        excel_row, row, fmts = self.pending
        self.pending = None
        raw = any(type(v) is str and v.startswith("<r>") and v.endswith("</r>") for v in row)
        if raw:
            self._emit(excel_row, row, fmts)
        if self.last >= 0:
            worksheet._check_dimensions(self.first, self.low)  # type: ignore[attr-defined]
            worksheet._check_dimensions(self.last, self.high)  # type: ignore[attr-defined]
        if raw:  # past the last row, whose comments xlsxwriter must not take for a row
            worksheet.previous_row = excel_row + 1  # type: ignore[attr-defined]
            return
        worksheet.previous_row = excel_row  # type: ignore[attr-defined]  # rows above: written
        _write_row(worksheet, excel_row, row, list(fmts), self.sheet_name, self.headers)

    def _style(self, fmt: object) -> str:
        key = id(fmt)
        found = self.styles.get(key)
        if found is None:
            found = self.styles[key] = f' s="{fmt._get_xf_index()}"'  # type: ignore[attr-defined]
        return found

    def _emit(self, excel_row: int, row: Sequence[object], fmts: Sequence[object]) -> None:
        letters = self.letters
        while len(letters) < len(row):
            letters.append(column_letter(len(letters)))
        number = excel_row + 1
        texts = self.texts
        cells: list[str] = []
        low = high = -1
        for position, value in enumerate(row):
            fmt = fmts[position]
            kind = type(value)
            if value is None:
                if fmt is None:
                    continue
                cells.append(f'<c r="{letters[position]}{number}"{self._style(fmt)}/>')
            elif kind is str:
                tail = texts.get((value, fmt)) if len(value) < CACHED_TEXT else None
                if tail is None:
                    tail = self._text(number, value, fmt, position)
                    if len(value) < CACHED_TEXT:
                        if len(texts) >= CACHED_TEXTS:
                            texts.clear()
                        texts[(value, fmt)] = tail
                cells.append(f'<c r="{letters[position]}{number}"{tail}')
            elif kind is bool:
                style = self._style(fmt) if fmt is not None else ""
                cells.append(
                    f'<c r="{letters[position]}{number}"{style} t="b"><v>{int(value)}</v></c>'
                )
            elif kind is int or kind is float:
                if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
                    raise TypeError("NAN/INF not supported in write_number()")
                style = self._style(fmt) if fmt is not None else ""
                cells.append(f'<c r="{letters[position]}{number}"{style}><v>{value:.16G}</v></c>')
            elif isinstance(value, (dt.date, dt.time, dt.timedelta)):  # datetime is a date
                serial = self.worksheet._convert_date_time(value)  # type: ignore[attr-defined]
                style = self._style(fmt if fmt is not None else self.date_format)
                cells.append(f'<c r="{letters[position]}{number}"{style}><v>{serial:.16G}</v></c>')
            else:  # anything else (a Decimal) as its text, never dropped
                tail = self._text(number, str(value), fmt, position)
                cells.append(f'<c r="{letters[position]}{number}"{tail}')
            if low < 0:
                low = position
            high = position
        if not cells:
            return
        if self.first < 0:
            self.first = excel_row
        self.last = excel_row
        self.low, self.high = min(self.low, low), max(self.high, high)
        info = self.worksheet.row_info.get(excel_row)  # type: ignore[attr-defined]
        # a row given a height: its attributes as xlsxwriter writes them
        tall = f' ht="{info.height * 0.75:.16g}" customHeight="1"' if info is not None else ""
        self.worksheet.fh.write(f'<row r="{number}"{tall}>{"".join(cells)}</row>')  # type: ignore[attr-defined]

    def _text(self, number: int, value: str, fmt: object, position: int) -> str:
        """A text cell after its reference: style, inline string, escapes (as xlsxwriter)."""
        if len(value) > MAX_CELL_TEXT:
            column = self.headers[position] if position < len(self.headers) else str(position + 1)
            value = _kept_to_excel_limit(self.sheet_name, number - 1, column, value)
        if len(value) > MAX_CELL_TEXT // 2 and _utf16_len(value) > MAX_CELL_TEXT:
            value = _utf16_truncate(value, MAX_CELL_TEXT)  # as xlsxwriter: astral characters
        if "_x" in value:
            value = _ESCAPED_LOOKALIKE.sub(r"_x005F\1", value)
        if _CONTROL.search(value):
            value = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", value)
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        if "&" in value or "<" in value or ">" in value:
            value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        style = self._style(fmt) if fmt is not None else ""
        return f'{style} t="inlineStr"><is><t{space}>{value}</t></is></c>'


CACHED_TEXT = 200  # characters: longer texts are rare and not looked up again
CACHED_TEXTS = 20_000  # entries kept before the text cache starts afresh

ROW_WRITER: type[_RowXml] | type[_CellByCell] = _RowXml  # the default (tests swap it)
BACKEND_VARIABLE = "TARGETKIT_XLSX_BACKEND"
# The workbook writers, by the name TARGETKIT_XLSX_BACKEND takes. Both are xlsxwriter: the
# Rust-backed writers evaluated for issue 18 were not adopted (docs/performance.md).
ROW_WRITERS: dict[str, type[_RowXml] | type[_CellByCell]] = {
    "xlsxwriter": _RowXml,
    "xlsxwriter-cells": _CellByCell,
}
_HOW = {_RowXml: "rows written as XML", _CellByCell: "cell by cell"}


def chosen_writer() -> tuple[type[_RowXml] | type[_CellByCell], str]:
    """The row writer and how it writes (recorded in About): `TARGETKIT_XLSX_BACKEND` when set
    (`xlsxwriter`, or `xlsxwriter-cells`: xlsxwriter's own per-cell methods, slower, the
    reference), else the default; an unknown name is refused naming the choices."""
    from targetkit.errors import UsageError

    name = os.environ.get(BACKEND_VARIABLE, "").strip().lower()
    if name in ("", "auto"):
        return ROW_WRITER, _HOW[ROW_WRITER]
    if name not in ROW_WRITERS:
        raise UsageError(
            f"{BACKEND_VARIABLE}={name!r} is not a workbook writer targetkit has",
            hint=f"use one of: auto, {', '.join(ROW_WRITERS)}",
        )
    return ROW_WRITERS[name], _HOW[ROW_WRITERS[name]]


_ESCAPED_LOOKALIKE = re.compile("(_x[0-9a-fA-F]{4}_)")  # text that reads as Excel's escape
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")  # written as _xHHHH_, as Excel does


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf16_truncate(text: str, units: int) -> str:
    from xlsxwriter.utility import _utf16_truncate as truncate

    return truncate(text, units)


HEADER_LINES = 3  # lines a header row is reckoned at when fitting a list to the page height
MAX_WIDTH = 30  # longer text is cut at the cell's edge (a comment or the Read me has it all)
NAME_WIDTH = 45  # a column whose values are all this short is as wide as they are (no cut)
INTRO_WIDTH = 8  # columns an opening sentence spans (wrapped within them)
INTRO_LINE_POINTS = 16  # a line of the 12-point opening sentences


def _write_intro(
    worksheet: object, sheet: Sheet, columns: int, formats: _Formats, widths: dict[int, float]
) -> int:
    """The sheet's opening sentences, each wrapped across the first columns; the header row."""
    if not sheet.intro:
        return 0
    headers = [str(c) for c in sheet.frame.columns]
    starts = [headers.index(c) for block in sheet.blocks for c in block[:1] if c in headers]
    span = max(min(columns, INTRO_WIDTH, *starts), 4) - 1  # within the first printed page
    for row, line in enumerate(sheet.intro):
        # printed pages repeat the title columns: start beside them, so no page shows a piece
        first = sheet.freeze_columns if sheet.blocks and span > sheet.freeze_columns else 0
        worksheet.merge_range(row, first, row, span, line, formats.intro)  # type: ignore[attr-defined]
        # the merged cells' width, in digits of the 12-point intro font (11/12 of the body's)
        across = sum(widths.get(p, 8) for p in range(first, span + 1)) * 11 / 12
        lines = wrapped_lines(line, across)
        worksheet.set_row(row, min(INTRO_LINE_POINTS * lines, MAX_ROW_POINTS))  # type: ignore[attr-defined]
    return len(sheet.intro) + 1


PRINT_PIXELS = 760  # pixels across an A4 landscape page at 100% inside the margins
PRINT_POINTS_DOWN = 500  # points down an A4 landscape page at 100% inside the margins
MIN_SCALE_DOWN = 50  # % down to which a list shrinks to print all its rows on one page tall
MIN_SCALE = 55  # % below which a sheet without blocks prints more pages across instead
PRINT_FIT_COLUMNS = 15  # a sheet this narrow prints one page wide; wider ones by blocks
FOOTER = "&L&A&RPage &P of &N"  # the sheet's name, and the page number


def _width(name: str, frame: pd.DataFrame, position: int, whole: float, most: float) -> float:
    """Wide enough for the values and the header's longest word (headers wrap): up to `whole`
    to show every value whole, else `most` (a longer text is wrapped, or cut at the edge)."""
    sample = frame.iloc[:500, position].dropna().astype(str)
    longest = 0
    if len(sample):  # in characters, or wider where capitals make a text wider (NOT_ON_TRACK)
        lengths = sample.str.len()
        longest = int(lengths.max())
        wider = sample[lengths * WIDE > longest].unique()  # the only ones that can be wider
        longest = max(longest, math.ceil(max(map(text_width, wider), default=0)))
    word = max((len(w) for w in name.split()), default=0)
    fitted = max(longest + 2, word + 2, len(name) / 2.6 + 2, 8)
    return float(fitted if fitted <= whole else min(fitted, most))


def _widths(sheet: Sheet, frames: Sequence[pd.DataFrame]) -> dict[int, float]:
    """Each column's width over the sheet's tables: a wrapped column as wide as its longest
    text up to the sheet's `wrap_width`; any other as wide as its longest value up to
    NAME_WIDTH (names, flags), or MAX_WIDTH when longer (sentences: a note has them)."""
    widths: dict[int, float] = {}
    wrap = set(sheet.wrap)
    for table in frames:
        for position, name in enumerate(map(str, table.columns)):
            whole, most = (
                (sheet.wrap_width, sheet.wrap_width) if name in wrap else (NAME_WIDTH, MAX_WIDTH)
            )
            width = _width(name, table, position, whole, most)
            widths[position] = max(widths.get(position, 0), width)
    return widths


def _lines(value: object, width: float) -> int:
    """Lines a cell's value takes in a wrapped column (a number or a short text: one)."""
    if not isinstance(value, str) or fits_on_a_line(value, width):
        return 1
    return wrapped_lines(value, width)


def _row_height(row: Sequence[object], wrapped: Sequence[tuple[int, float]]) -> float | None:
    """The height a row needs for its wrapped cells (position, column width) to show whole;
    None for a row of one line (the default height)."""
    lines = max((_lines(row[position], width) for position, width in wrapped), default=1)
    return row_height(lines) if lines > 1 else None


def _header_height(headers: Sequence[str], widths: dict[int, float], least: int) -> float:
    """A header row tall enough for its longest header in words, `least` lines at the least."""
    lines = (_lines(name, widths.get(p, MAX_WIDTH)) for p, name in enumerate(headers))
    return row_height(max([least, *lines]))


def _finish_table(
    worksheet: object,
    sheet: Sheet,
    headers: list[str],
    top: int,
    widths: dict[int, float],
) -> None:
    """Panes, filter, widths and the print layout (teachers print these on A4)."""
    frame = sheet.frame
    worksheet.freeze_panes(top + 1, sheet.freeze_columns)  # type: ignore[attr-defined]
    worksheet.set_landscape()  # type: ignore[attr-defined]
    worksheet.set_paper(9)  # type: ignore[attr-defined]
    worksheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)  # type: ignore[attr-defined]
    worksheet.set_footer(FOOTER)  # type: ignore[attr-defined]
    worksheet.repeat_rows(top)  # type: ignore[attr-defined]
    if sheet.freeze_columns:
        worksheet.repeat_columns(0, sheet.freeze_columns - 1)  # type: ignore[attr-defined]
    if sheet.filter and headers:
        worksheet.autofilter(top, 0, top + max(len(frame), 1), len(headers) - 1)  # type: ignore[attr-defined]
    level = {headers.index(c): 1 for block in sheet.blocks for c in block if c in headers}
    for position, width in widths.items():
        options = {"level": level[position]} if position in level else {}
        worksheet.set_column(position, position, width, None, options)  # type: ignore[attr-defined]
    if len(widths) <= PRINT_FIT_COLUMNS and not sheet.blocks:
        # A Summary (sentences, tables, charts) prints on one page; a list, one page wide.
        worksheet.fit_to_pages(1, 1 if sheet.intro else 0)  # type: ignore[attr-defined]
        return
    _page_breaks(worksheet, sheet, headers, widths)


def _pixels(width: float) -> float:
    """A column's printed width in pixels at 100% (Excel: 7 per character plus 5 padding)."""
    return width * 7 + 5


def _page_breaks(
    worksheet: object, sheet: Sheet, headers: list[str], widths: dict[int, float]
) -> None:
    """Wide sheets print a block (a subject) per page across, the pupil columns on each page.

    The scale is the largest at which the title columns and the widest block fit A4 landscape;
    the other columns are packed into as few pages as fit at that scale.
    """
    titles = sum(_pixels(widths[p]) for p in range(sheet.freeze_columns))
    spans = [[headers.index(c) for c in block if c in headers] for block in sheet.blocks if block]
    widest = max(
        (sum(_pixels(widths[p]) for p in span) for span in spans if span),
        default=0,
    )
    if not widest:  # no blocks: the whole width, shrunk no further than a teacher can read
        widest = sum(_pixels(w) for p, w in widths.items() if p >= sheet.freeze_columns)
        scale = max(MIN_SCALE, min(100, int(100 * PRINT_PIXELS / (titles + widest))))
    else:
        scale = max(40, min(100, int(100 * PRINT_PIXELS / (titles + widest))))
    # A class list a little too long for the page is shrunk a little more to print on one page
    # tall (so each subject is one sheet of paper), never below MIN_SCALE_DOWN.
    tall = 15 * (HEADER_LINES + len(sheet.frame) + len(sheet.intro))  # 15 points a row
    down = int(100 * PRINT_POINTS_DOWN / tall)
    if down >= MIN_SCALE_DOWN:
        scale = min(scale, down)
    worksheet.set_print_scale(scale)  # type: ignore[attr-defined]
    limit = PRINT_PIXELS * 100 / scale - titles
    starts = {min(span) for span in spans if span}
    printed = _first_printed(sheet, starts)
    if printed > sheet.freeze_columns:  # beside the title columns, which every page repeats
        last_row = len(sheet.intro) + (1 if sheet.intro else 0) + max(len(sheet.frame), 1)
        worksheet.print_area(0, printed, last_row, len(headers) - 1)  # type: ignore[attr-defined]
    pages: list[list[int]] = [[]]
    for position in range(printed, len(headers)):
        used = sum(_pixels(widths[p]) for p in pages[-1])
        if pages[-1] and (position in starts or used + _pixels(widths[position]) > limit):
            pages.append([])
        pages[-1].append(position)
    breaks = [page[0] for page in pages[1:] if page]
    if breaks:
        worksheet.set_v_pagebreaks(breaks)  # type: ignore[attr-defined]


def _first_printed(sheet: Sheet, starts: set[int]) -> int:
    """The first column printed after the title columns: the first block's when the sheet
    prints its blocks only (the columns before it stay in the sheet, unprinted)."""
    if sheet.print_blocks_only and starts:
        return max(min(starts), sheet.freeze_columns)
    return sheet.freeze_columns


def _insert_chart(
    workbook: object,
    worksheet: object,
    sheet: Sheet,
    tables: list[tuple[int, pd.DataFrame, list[str]]],
    chart: Chart,
    index: int,
    below: int,
    widths: dict[int, float],
) -> None:
    kind = chart.kind
    top, frame, headers = tables[chart.table]
    rows = len(frame)
    if rows == 0:
        return
    excel_chart = workbook.add_chart({"type": kind})  # type: ignore[attr-defined]
    name = safe_sheet_name(sheet.name).replace("'", "''")
    positions = {h: i for i, h in enumerate(headers)}
    category = positions[chart.categories]
    for value_name in chart.values:
        column = positions[value_name]
        excel_chart.add_series(
            {
                "name": chart.labels.get(value_name, value_name),
                "categories": _column_range(name, category, top, rows),
                "values": _column_range(name, column, top, rows),
            }
        )
    excel_chart.set_title({"name": chart.title})
    axis: dict[str, object] = {"name": chart.y_title} if chart.y_title else {}
    if chart.percent:
        axis["num_format"] = "0%"
    (excel_chart.set_x_axis if kind == "bar" else excel_chart.set_y_axis)(axis)
    # category names beside the axis's low end, never over bars that go below 0
    (excel_chart.set_y_axis if kind == "bar" else excel_chart.set_x_axis)({"label_position": "low"})
    excel_chart.set_legend({"position": "bottom"})
    width = 720
    if sheet.blocks and sheet.freeze_columns:  # within the first printed page, beside the titles
        starts = [positions[c] for block in sheet.blocks for c in block[:1] if c in positions]
        room = sum(_pixels(w) for p, w in widths.items() if sheet.freeze_columns <= p < min(starts))
        width = int(max(360, min(720, room)))
    excel_chart.set_size({"width": width, "height": 360})
    # beside the repeated title columns, so later printed pages show none of it
    column = column_letter(sheet.freeze_columns if sheet.blocks else 0)
    anchor = chart.anchor or f"{column}{below + 1 + index * 20}"
    worksheet.insert_chart(anchor, excel_chart)  # type: ignore[attr-defined]


def _column_range(sheet_name: str, position: int, header_row: int, rows: int) -> str:
    letter = column_letter(position)
    return f"='{sheet_name}'!${letter}${header_row + 2}:${letter}${header_row + rows + 1}"


def _print_portrait(worksheet: object, name: str) -> None:
    """Read me and About: A4 portrait, one page wide, the text wrapped within it."""
    worksheet.set_paper(9)  # type: ignore[attr-defined]
    worksheet.fit_to_pages(1, 0)  # type: ignore[attr-defined]
    worksheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)  # type: ignore[attr-defined]
    worksheet.set_footer(FOOTER)  # type: ignore[attr-defined]


ROWS_FIRST_WIDTH, ROWS_WIDTH = 26, 75  # About: the item, its value (wrapped)
README_WIDTHS = (16, 28, 62)  # Read me: sheet, column, what it means (wrapped)


def _write_rows(
    workbook: object, name: str, headers: list[str], rows: list[list[object]], formats: _Formats
) -> object:
    worksheet = workbook.add_worksheet(name)  # type: ignore[attr-defined]
    for position, header in enumerate(headers):
        worksheet.write_string(0, position, header, formats.header)
    wrapped = list(enumerate([ROWS_FIRST_WIDTH, *[ROWS_WIDTH] * (len(headers) - 1)]))
    for row_index, row in enumerate(rows, start=1):
        height = _row_height(row, wrapped)
        if height is not None:
            worksheet.set_row(row_index, height)
        for position, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                worksheet.write_string(row_index, position, value, formats.text)
            else:
                worksheet.write(row_index, position, value, formats.cell(align="left"))
    worksheet.freeze_panes(1, 0)
    worksheet.repeat_rows(0)
    worksheet.set_column(0, 0, ROWS_FIRST_WIDTH, formats.text)
    worksheet.set_column(1, len(headers) - 1, ROWS_WIDTH, formats.text)
    _print_portrait(worksheet, name)
    return worksheet


def _write_readme(
    workbook: object, sheets: Sequence[Sheet], readme: ReadMe, formats: _Formats
) -> None:
    worksheet = workbook.add_worksheet("Read me")  # type: ignore[attr-defined]
    worksheet.merge_range(0, 0, 0, 2, readme.title, formats.title)
    row = 2
    across = sum(README_WIDTHS)  # a line spans the three columns
    for line in readme.lines:
        worksheet.merge_range(row, 0, row, 2, line, formats.text)
        worksheet.set_row(row, row_height(wrapped_lines(line, across)))
        row += 1
    row += 1
    for position, header in enumerate(["Sheet", "Column", "What it means"]):
        worksheet.write_string(row, position, header, formats.header)
    worksheet.repeat_rows(row)
    row += 1
    described = list(enumerate(README_WIDTHS))
    for sheet in sheets:
        for column, text in sheet.descriptions.items():
            height = _row_height([sheet.name, column, text], described)
            if height is not None:
                worksheet.set_row(row, height)
            worksheet.write_string(row, 0, sheet.name, formats.text)
            worksheet.write_string(row, 1, column, formats.text)
            worksheet.write_string(row, 2, text, formats.text)
            row += 1
    if readme.key:
        row += 1
        worksheet.write_string(row, 0, "Colour key", formats.header)
        worksheet.write_string(row, 1, "Meaning", formats.header)
        row += 1
        for colour, meaning in readme.key:
            worksheet.set_row(row, row_height(wrapped_lines(meaning, sum(README_WIDTHS[1:]))))
            worksheet.write_string(row, 0, colour, formats.fills[colour])
            worksheet.merge_range(row, 1, row, 2, meaning, formats.text)
            row += 1
    for position, width in enumerate(README_WIDTHS):
        worksheet.set_column(position, position, width)
    _print_portrait(worksheet, "Read me")


def safe_sheet_name(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ ."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return cleaned[:MAX_SHEET_NAME] or "Sheet"
