"""The only place that opens files: read CSV/XLSX/XLSM/XLS/ODS as text tables, write atomically.

Reading never guesses a column's type from its first rows: CSV cells stay text and workbook
cells keep the type the file itself stores, so a grade column of `3`, `4` ... `2b` loses
nothing (SPEC §7 "Reading types"). The header row is found below report-title rows.
Writing goes to a temporary file in the output's folder that is renamed into place, so an
interrupted run never leaves a half-written output (SPEC §4).
Workbooks are checked before any XML parser sees them: zip bombs, entity definitions (DTDs),
cells so far apart that a reader would lay out billions of cells, and formulas never
calculated are refused with one line (docs/security.md).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io as _io
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from targetkit.errors import InputError, OutputError, TargetkitError, UsageError

if TYPE_CHECKING:
    import pandas as pd

MAX_INPUT_BYTES = 1 << 30  # a school export is megabytes; refuse what cannot be one
MAX_UNZIPPED_BYTES = 3 << 30  # uncompressed size of a workbook's parts (zip-bomb guard)
MAX_COMPRESSION_RATIO = 200
# A sheet's cells as a reader lays them out (rows x columns): a 100,000-pupil cohort with 60
# columns is 6 million; one stray cell at XFD1048576 would make 17 billion and exhaust memory.
MAX_CELLS = 30_000_000
MAX_COLUMNS = 16_384  # Excel's own limits
MAX_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767  # characters in one cell: Excel cuts a longer text
XML_PROLOG_BYTES = 1 << 16  # where a DTD (and so an entity definition) would have to be
HEADER_SEARCH_ROWS = 30
TEMP_MARK = ".targetkit-"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", *WORKBOOK_SUFFIXES)
# Sheets targetkit adds to every workbook it writes: never the data to read.
METADATA_SHEETS = {"read me", "about", "lists"}
_XML_START = re.compile(rb"^\s*<(?:\?xml|!DOCTYPE|[A-Za-z_][\w:.-]*[\s>])")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class Table:
    """A table read from a file: cells as stored, original headers, Excel-style row numbers.

    `frame.index` holds the row number a person sees when opening the file (1-based), so
    every message can name the row to look at.
    """

    frame: pd.DataFrame
    path: Path
    sheet: str | None = None
    header_row: int = 1
    blank_rows: list[int] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    # Cells holding a formula never calculated (read as blank), as (row, column) when the
    # caller asked to keep them (`read_table(..., uncalculated="flag")`).
    uncalculated: list[tuple[int, str]] = field(default_factory=list)
    # Every sheet of the workbook it came from (empty for a CSV), so a caller looking for
    # another sheet (set-targets' `Entries`) need not open the file again to list them.
    sheet_names: list[str] = field(default_factory=list)

    def column_letter(self, column: str) -> str:
        """The spreadsheet letter of a column (A, B, ..., AA) as the user sees it."""
        return column_letter(list(self.frame.columns).index(column))


def long_text_cells(frame: pd.DataFrame, limit: int = MAX_CELL_TEXT) -> pd.DataFrame:
    """Every text cell longer than an Excel cell holds: `row` (the frame's index), `column`
    and `length`, in column order. A workbook writer keeps such a text to the limit; found
    here, on the frame, before writing, so a command can report each one as a data issue."""
    import pandas as pd

    found = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "biufcmM":  # numbers, dates: no text
            continue
        try:
            lengths = values.str.len()  # NaN for blanks and for values that are not text
        except AttributeError:  # no text at all in the column (numbers, dates)
            continue
        long = lengths > limit
        if long.any():
            found.append(
                pd.DataFrame(
                    {"row": values.index[long], "column": column, "length": lengths[long]}
                ).astype({"length": "int64"})
            )
    if not found:
        return pd.DataFrame({"row": [], "column": [], "length": []}).astype({"length": "int64"})
    return pd.concat(found, ignore_index=True)


def column_letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# ---------------------------------------------------------------------------------------------
# Reading


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    is_known_header: Callable[[str], bool] | None = None,
    uncalculated: Literal["refuse", "flag"] = "refuse",
    prefer_sheet: str | None = None,
) -> Table:
    """Read one table from a CSV or workbook file.

    `is_known_header` tells which header texts count as column names (default: the canonical
    names and MIS aliases); the header row is the one among the first rows with the most
    recognised headers (else the first widest row). A formula never calculated has no value:
    by default the file is refused naming the cell; with `uncalculated="flag"` the cell reads
    as blank and is listed in `Table.uncalculated` for the caller to flag (`import` does).
    With no `sheet`, a visible sheet named `prefer_sheet` is read without looking at the
    others (choosing parses every sheet: slow on a batch of targetkit's own workbooks).
    """
    path = Path(path)
    if is_known_header is None:
        from targetkit.columns import is_known_header
    data = _read_bytes(path)
    kind = foreign_kind(data)
    if kind is not None:
        raise InputError(
            f"this is {kind}, not a spreadsheet",
            file=path,
            hint="export the data as CSV or Excel (.xlsx) and give that file",
        )
    if data.startswith(b"PK\x03\x04"):
        formulas = _check_zip(path, data, refuse_uncalculated=uncalculated == "refuse")
        table = _read_workbook(path, data, sheet, is_known_header, prefer_sheet)
        table.uncalculated = _uncalculated_cells(table, formulas.get(str(table.sheet), []))
        return table
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in data:
            raise InputError(
                "this workbook is password-protected",
                file=path,
                hint="open it in Excel, save an unprotected copy and use that",
            )
        return _read_workbook(path, data, sheet, is_known_header, prefer_sheet)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        raise InputError(
            f"this is not a {path.suffix.lower()} workbook (the file's contents are not a "
            "spreadsheet)",
            file=path,
            hint="re-export it from your MIS, or save it again from Excel",
        )
    if _XML_START.match(data.lstrip(codecs.BOM_UTF8)[:256]):
        raise InputError(
            "this is an XML file, not a table (CSV or workbook)",
            file=path,
            hint="`targetkit import` reads Common Transfer Files (CTF); other commands need "
            "the cohort workbook that import writes",
        )
    if sheet is not None:
        raise UsageError("--sheet applies to workbooks, not to CSV files", file=path)
    return _read_csv(path, data, is_known_header)


_FOREIGN_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
_ZIP_KINDS = (("word/", "a Word document"), ("ppt/", "a PowerPoint presentation"))


def foreign_kind(data: bytes) -> str | None:
    """What a file that is certainly not a spreadsheet is ("a Word document"), from its bytes;
    None when it may be one (then the readers decide)."""
    for magic, kind in _FOREIGN_MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    if data.startswith(_OLE_MAGIC) and "WordDocument".encode("utf-16-le") in data[:65536]:
        return "a Word document"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(_io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return None  # damaged: _check_zip says so
        for prefix, kind in _ZIP_KINDS:
            if any(name.startswith(prefix) for name in names):
                return kind
        if not any(name.startswith("xl/") or name == "content.xml" for name in names):
            return "a zip archive"
    return None


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError("no such file", file=path, hint="check the path and the file name")
    if path.is_dir():
        raise InputError("this is a folder, not a spreadsheet", file=path)
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty", file=path, hint="export it again from your MIS")
    if size > MAX_INPUT_BYTES:
        raise InputError(
            f"the file is too large to be a school export ({size / 2**20:.0f} MiB)",
            file=path,
            hint="split it, or check it is the right file",
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=path) from exc


def _check_zip(
    path: Path, data: bytes, *, refuse_uncalculated: bool = True
) -> dict[str, list[str]]:
    """Refuse zip bombs and hostile XML before any parser sees them.

    Returns the cells (`C2`) holding a formula never calculated, by sheet name (empty unless
    `refuse_uncalculated` is False: then they are reported instead of refused).
    """
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InputError(
            "the workbook is damaged (not a complete zip archive)",
            file=path,
            hint="save it again from Excel or re-export it",
        ) from exc
    total = sum(info.file_size for info in infos)
    bomb = any(
        info.file_size > 50 * 2**20
        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
        for info in infos
    )
    if total > MAX_UNZIPPED_BYTES or bomb:
        raise InputError(
            f"the workbook unpacks to {total / 2**20:.0f} MiB, far more than its size; "
            "refused as a possible zip bomb",
            file=path,
            hint="if it is genuine, save it as CSV and use that",
        )
    found: dict[str, list[str]] = {}
    string_refs: dict[str, tuple[int, str]] = {}
    strings = 0
    strings_first = sorted(infos, key=lambda info: not _is_shared_strings(info.filename))
    with zipfile.ZipFile(_io.BytesIO(data)) as archive:
        for info in strings_first:
            content = _inflate(path, data, info)
            if _is_shared_strings(info.filename):
                strings = len(_STRING_ITEM.findall(content))
            cells = _check_xml_part(path, info, content, refuse_uncalculated)
            if cells:
                found[info.filename] = cells
            if _is_sheet(info.filename) and _is_shared_strings(strings_first[0].filename):
                string_refs[info.filename] = _largest_string_index(content, strings)
        for part, (index, cell) in string_refs.items():
            if index >= strings and cell:
                raise InputError(
                    f"cell {cell} of {part} refers to shared text number {index + 1}, but the "
                    f"workbook holds only {strings}; the file is damaged",
                    file=path,
                    hint="save it again from Excel or re-export it",
                )
        if not found:
            return {}
        names = _sheet_parts(archive)
    return {names.get(part, part): cells for part, cells in found.items()}


_STRING_ITEM = re.compile(rb"<(?:\w+:)?si[\s>/]")


def _is_shared_strings(name: str) -> bool:
    return name.lower() == "xl/sharedstrings.xml"


def _is_sheet(name: str) -> bool:
    return re.fullmatch(r"xl/worksheets/[^/]+\.xml", name) is not None


_INFLATE_CHUNK = 1 << 20


def _inflate(path: Path, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes (the first `XML_PROLOG_BYTES` for a part that is not a sheet or the shared
    strings), inflated here with a bound on what is actually produced.

    The zip directory's sizes are written by whoever made the file: one that says 3.5 MB for a
    part inflating to 1 GiB passes any check of the directory and then fills memory in the
    reader. The part is inflated in steps and refused as soon as it produces more than its
    directory says (or more than `MAX_UNZIPPED_BYTES`).
    """
    import zlib

    keep = _is_sheet(info.filename) or _is_shared_strings(info.filename)
    header = data[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise _damaged(path, "a part's header is missing")
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little")
    start += int.from_bytes(header[28:30], "little")
    packed = memoryview(data)[start : start + info.compress_size]
    limit = min(info.file_size, MAX_UNZIPPED_BYTES)
    if info.compress_type == zipfile.ZIP_STORED:
        if len(packed) > limit:
            raise _bomb(path, info, len(packed))
        return bytes(packed if keep else packed[:XML_PROLOG_BYTES])
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise _damaged(path, f"part {info.filename} uses a compression Excel never writes")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pieces: list[bytes] = []
    produced = 0
    pending: bytes | memoryview = packed
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, _INFLATE_CHUNK)
            pending = inflater.unconsumed_tail
            produced += len(piece)
            if produced > limit:
                raise _bomb(path, info, produced)
            if keep or produced - len(piece) < XML_PROLOG_BYTES:
                pieces.append(piece)
            if not piece and not pending:
                break  # the packed data ended before the stream did: the reader will say
    except zlib.error as exc:
        raise _damaged(path, f"part {info.filename}: {exc}") from exc
    return b"".join(pieces)


def _bomb(path: Path, info: zipfile.ZipInfo, produced: int) -> InputError:
    return InputError(
        f"the workbook's part {info.filename} unpacks to more than its zip directory says "
        f"({produced / 2**20:.0f} MiB so far, {info.file_size / 2**20:.0f} MiB declared); "
        "refused as a possible zip bomb",
        file=path,
        hint="if it is genuine, save it again from Excel or as CSV and use that",
    )


def _damaged(path: Path, why: str) -> InputError:
    return InputError(
        f"the workbook is damaged ({why})",
        file=path,
        hint="save it again from Excel or re-export it",
    )


# A cell holding shared text: `<c r="B2" t="s"><v>17</v></c>` (17 counts from 0).
_SHARED_STRING_CELL = re.compile(
    rb"""<c\b([^>]*\st\s*=\s*["']s["'][^>]*)>\s*<v>\s*([0-9]+)\s*</v>"""
)


def _largest_string_index(xml: bytes, strings: int) -> tuple[int, str]:
    """The largest shared-text number a sheet uses and its cell ("" when it uses none).

    A quick search first: a number with fewer digits than the count of strings is in range.
    """
    digits = len(str(max(strings, 1)))
    if not re.search(rb"<v>\s*[0-9]{%d,}\s*</v>" % digits, xml):
        return -1, ""
    best, cell = -1, ""
    for match in _SHARED_STRING_CELL.finditer(xml):
        index = int(match[2]) if len(match[2]) < 12 else 10**12
        if index > best:
            ref = _CELL_REF.search(match[1])
            best, cell = index, ref[1].decode() if ref else "(unnamed)"
    return best, cell


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_RELATIONSHIP_TAG = re.compile(rb"<Relationship\b[^>]*>")


def _attribute(tag: bytes, name: bytes) -> str:
    """One attribute of an XML start tag, in whatever order the writer put them."""
    match = re.search(rb"\s" + re.escape(name) + rb'="([^"]*)"', tag)
    return match[1].decode("utf-8") if match else ""


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part (`xl/worksheets/sheet1.xml`) → sheet name, from the workbook's index."""
    import html

    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {
        _attribute(tag, b"Id"): _attribute(tag, b"Target").lstrip("/")
        for tag in _RELATIONSHIP_TAG.findall(relations)
    }
    parts = {}
    for tag in _SHEET_TAG.findall(workbook):
        target = targets.get(_attribute(tag, b"r:id"), "")
        part = target if target.startswith("xl/") else f"xl/{target}"
        parts[part] = html.unescape(_attribute(tag, b"name"))
    return parts


def _uncalculated_cells(table: Table, refs: list[str]) -> list[tuple[int, str]]:
    """The data cells among `refs` as (row, column name); header and title cells are left out."""
    names = list(table.frame.columns)
    cells = []
    for ref in refs:
        match = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
        if not match:
            continue
        row, position = int(match[2]), _column_number(match[1].encode()) - 1
        if row in table.frame.index and position < len(names):
            cells.append((row, str(names[position])))
    return cells


# A cell's or a row's reference however the XML spells it: `r="B2"`, `r='B2'`, `r = "B2"`
# (a row's `r` is digits only). Readers accept all of these, so the extent check must too.
_ANY_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]*)([0-9]+)""")
# Spellings the quick bound does not look for (then every reference is read exactly):
# whitespace other than one space before `r`, around `=`, single quotes, lower-case letters.
_UNUSUAL_SPACES = (b"\tr", b"\nr", b"\rr")
_UNUSUAL_REF = re.compile(rb""" r(?:[ \t\n\r]|=[ \t\n\r']|="[a-z])""")


def _unusual_references(xml: bytes) -> bool:
    return _unusual_spaces(xml) or bool(_UNUSUAL_REF.search(xml))


def _unusual_spaces(xml: bytes) -> bool:
    # the lone whitespace byte first (memchr: most sheets have no tab or CR at all)
    return any(space[:1] in xml and space in xml for space in _UNUSUAL_SPACES)


# A formula cell with no saved value: no <v>, or an empty one that is not a text result
# (Excel saves a formula giving "" as t="str" with <v></v>; programs write <v/> or nothing).
_UNCALCULATED = re.compile(
    rb"<c\b([^>]*)>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)?\s*</c>"
)
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']([A-Z]+[0-9]+)["']""")
_FORMULA = re.compile(rb"<f\b")  # what `_UNCALCULATED` needs to match at all
# `_UNUSUAL_REF` or a row or cell number of 4 digits or more, in one scan; without either,
# no sheet can exceed MAX_CELLS
_UNUSUAL_OR_THOUSANDS = re.compile(rb""" r(?:[ \t\n\r]|=[ \t\n\r']|="[a-z]|="[A-Z]*[0-9]{4})""")


def _check_xml_part(
    path: Path, info: zipfile.ZipInfo, content: bytes, refuse_uncalculated: bool
) -> list[str]:
    """Refuse what a workbook's XML could do to the reader before any parser sees it.

    A DTD can define entities that expand a few bytes into gigabytes ("billion laughs"), and
    Office files never need one; a single cell far away (XFD1048576) makes a reader lay out
    billions of empty cells; a formula with no saved value would be read as a silent blank.
    """
    prolog = content[:XML_PROLOG_BYTES]
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise InputError(
            f"the workbook's part {info.filename} declares XML entities (a DTD), which Excel "
            "never writes; refused as a possible entity-expansion attack",
            file=path,
            hint="save it again from Excel, or export the data as CSV",
        )
    if not _is_sheet(info.filename):
        return []
    xml = content
    _check_sheet_extent(path, info.filename, xml)
    if not _FORMULA.search(xml):  # one quick scan: `<f` alone also matches every <formula1>
        return []
    uncalculated = [
        match
        for match in _UNCALCULATED.finditer(xml)
        if b't="str"' not in match[1] or b"<v" not in match[0]
    ]
    refs = [ref[1].decode() for match in uncalculated if (ref := _CELL_REF.search(match[1]))]
    if uncalculated and refuse_uncalculated:
        cell = refs[0] if refs else "(unnamed)"
        raise InputError(
            f"cell {cell} of {info.filename} holds a formula that was never calculated, "
            "so its value is unknown (the file was written by a program, not saved by Excel)",
            file=path,
            hint="open it in Excel or LibreOffice and save it, then run again",
        )
    return refs


def _check_sheet_extent(path: Path, part: str, xml: bytes) -> None:
    """Refuse a sheet whose furthest cell would make the reader allocate too many cells.

    First a cheap bound from the longest column letters and row digits any cell or row has (a
    few searches that match almost nothing in a normal sheet); only when that bound is over
    the limit, or a reference is spelt unusually (single quotes, spaces around `=`), are all
    references read to find the exact extent. A row's own number counts as well as its
    cells': cells with no reference sit in their row, after the cell before them.
    """
    if MAX_COLUMNS * 999 <= MAX_CELLS and not (
        _unusual_spaces(xml) or _UNUSUAL_OR_THOUSANDS.search(xml)
    ):
        return  # no unusual reference, no number above 999: at most 16,384 x 999 cells
    if not _unusual_references(xml) and _extent_bound(xml) <= MAX_CELLS:
        return
    width = height = 0
    for letters, digits in set(_ANY_REF.findall(xml)):
        height = max(height, int(digits) if len(digits) < 12 else MAX_ROWS + 1)
        if letters:
            width = max(
                width, _column_number(letters.upper()) if len(letters) < 5 else MAX_COLUMNS + 1
            )
    width = max(width, 1)
    if width > MAX_COLUMNS or height > MAX_ROWS or width * height > MAX_CELLS:
        raise InputError(
            f"{part} reaches column {column_letter(min(width, MAX_COLUMNS + 1) - 1)} and row "
            f"{height}: {width * height:,} cells, far more than a school export; refused",
            file=path,
            hint="delete the stray cells far from the table in Excel, or export the data as CSV",
        )


def _extent_bound(xml: bytes) -> int:
    """An upper bound of columns x rows: 26, 702 or 16,384 columns by the longest column
    letters, times 10^d - 1 rows for the longest row or cell number (d digits).

    Searches for a literal ` r="` (fast); a sheet spelling its references otherwise is
    counted exactly instead (see the caller).
    """
    width = 26
    if re.search(rb' r="[A-Z]{2}', xml):
        width = MAX_COLUMNS if re.search(rb' r="[A-Z]{3}', xml) else 702
    if re.search(rb' r="[A-Z]*[0-9]{7}', xml):
        return MAX_CELLS + 1  # a million rows or more: count exactly
    digits = next((d for d in range(6, 0, -1) if re.search(rb' r="[A-Z]*[0-9]{%d}"' % d, xml)), 1)
    return width * (10**digits - 1)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _read_workbook(
    path: Path,
    data: bytes,
    sheet: str | None,
    is_known_header: Callable[[str], bool] | None,
    prefer_sheet: str | None = None,
) -> Table:
    import python_calamine as calamine

    try:
        workbook = calamine.CalamineWorkbook.from_filelike(_io.BytesIO(data))
    except calamine.PasswordError as exc:
        raise InputError(
            "this workbook is password-protected",
            file=path,
            hint="open it in Excel, save an unprotected copy and use that",
        ) from exc
    except Exception as exc:  # calamine raises several types for broken files
        raise InputError(
            f"cannot read this workbook ({_short(exc)})",
            file=path,
            hint="save it again from Excel or re-export it",
        ) from exc
    names = list(workbook.sheet_names)
    visible = [
        meta.name for meta in workbook.sheets_metadata if str(meta.visible).endswith("Visible")
    ] or names
    parsed: dict[str, object] = {}  # calamine parses a whole sheet to look at its top rows
    if sheet is None and prefer_sheet is not None and prefer_sheet in visible:
        sheet = prefer_sheet
    if sheet is None:
        sheet = _choose_sheet(path, workbook, visible, is_known_header, parsed)
    elif sheet not in names:
        raise UsageError(
            f"there is no sheet {sheet!r}; the sheets are: {', '.join(names)}", file=path
        )
    try:
        found = parsed[sheet] if sheet in parsed else workbook.get_sheet_by_name(sheet)
        rows = found.to_python(skip_empty_area=False)  # type: ignore[attr-defined]
    except Exception as exc:
        raise InputError(
            f"cannot read sheet {sheet!r} ({_short(exc)})",
            file=path,
            hint="save it again from Excel or re-export it",
        ) from exc
    # Text, most of a sheet, is kept as it is without a call per cell (`_cell_value` for it
    # would return it unchanged); everything else goes through `_cell_value`.
    cells = [[v if type(v) is str and v else _cell_value(v) for v in row] for row in rows]
    table = _table_from_rows(path, cells, is_known_header, sheet=sheet)
    table.sheet_names = names
    return table


def _choose_sheet(
    path: Path,
    workbook: object,
    visible: list[str],
    is_known_header: Callable[[str], bool] | None,
    parsed: dict[str, object] | None = None,
) -> str:
    """The only visible sheet with data, or the one whose header targetkit recognises best.

    Each sheet looked at is kept in `parsed` (by name), so the chosen one is not parsed twice.
    """
    scored = []
    for name in [n for n in visible if n.strip().lower() not in METADATA_SHEETS]:
        try:
            found = workbook.get_sheet_by_name(name)  # type: ignore[attr-defined]
            if parsed is not None:
                parsed[name] = found
            rows = found.to_python(nrows=HEADER_SEARCH_ROWS)
        except Exception:
            continue
        cells = [[_cell_value(v) for v in row] for row in rows]
        if not any(any(v is not None for v in row) for row in cells):
            continue
        known = max((_known_count(row, is_known_header) for row in cells), default=0)
        scored.append((known, name))
    if not scored:
        hidden = [n for n in workbook.sheet_names if n not in visible]  # type: ignore[attr-defined]
        raise InputError(
            "the workbook has no data in any visible sheet",
            file=path,
            hint=f"its hidden sheets are {', '.join(hidden)}; read one with --sheet NAME"
            if hidden
            else "export the data again",
        )
    if len(scored) == 1:
        return scored[0][1]
    scored.sort(key=lambda item: -item[0])
    if scored[0][0] > scored[1][0] and scored[0][0] >= 2:
        return scored[0][1]
    names = ", ".join(name for _, name in scored)
    raise UsageError(
        f"the workbook has several sheets with data ({names})",
        file=path,
        hint="choose one with --sheet NAME",
    )


def _cell_value(value: object) -> object:
    """A workbook cell as targetkit keeps it: None for blank, int for whole numbers."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _read_csv(path: Path, data: bytes, is_known_header: Callable[[str], bool] | None) -> Table:
    text, encoding = decode_text(path, data)
    if "\x00" in text:
        if text.count("\x00") > len(text) // 3:
            raise InputError(
                "the file looks like UTF-16 text without its byte-order mark",
                file=path,
                hint="save it as 'CSV UTF-8' from Excel",
            )
        raise InputError(
            "the file contains NUL bytes, so it is not a text (CSV) file",
            file=path,
            row=text.count("\n", 0, text.index("\x00")) + 1,
            hint="export it again as CSV, or give the workbook itself",
        )
    csv.field_size_limit(MAX_INPUT_BYTES)  # before sniffing: a 140,000-character note is data
    delimiter = sniff_delimiter(text)
    cells = _csv_rows(path, text, delimiter)
    del text  # the decoded file is not needed once it is split into cells
    table = _table_from_rows(path, cells, is_known_header)
    table.encoding, table.delimiter = encoding, delimiter
    return table


SHARED_CSV_TEXTS = 50_000  # distinct cell texts remembered at a time by `_csv_rows`


def _csv_rows(path: Path, text: str, delimiter: str) -> list[list[str | None]]:
    """The CSV's records, blank cells as None; a quote that is never closed is refused, not
    read as one huge cell.

    Python's lenient CSV reading would fold every row after such a quote into one cell, and
    those pupils would be lost without a word; other irregular quoting is read leniently.
    A text seen before in the file is kept once and shared by its cells (grades, years,
    flags repeat down a column): 1,000,000 pupils' cells as separate strings took 1.3 GB.
    """
    rows: list[list[str | None]] = []
    shared: dict[str, str] = {}
    share = shared.setdefault
    try:
        for row in csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            rows.append([share(value, value) if value.strip() else None for value in row])
            if len(shared) > SHARED_CSV_TEXTS:  # unique columns (UPNs, names): start afresh
                shared.clear()
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(
                'a quote mark (") opened in this row is never closed, so every row after it '
                "would be read as one cell",
                file=path,
                row=len(rows) + 1,
                hint="remove or close the stray quote in a text editor, or export the file again",
            ) from exc
        try:
            rows = [
                [value if value.strip() else None for value in row]
                for row in csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
            ]
        except csv.Error as lenient_exc:
            raise InputError(f"cannot read the CSV ({lenient_exc})", file=path) from lenient_exc
    return rows


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM), UTF-16 (with BOM) or Windows-1252 text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError("the file is not valid UTF-16 text", file=path) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data):
        # Mostly UTF-8 with a few Windows-1252 bytes (a file edited by two programs): keep
        # each UTF-8 character and read each stray byte as Windows-1252, so neither is garbled.
        return data.decode("utf-8-sig", errors=_CP1252_FALLBACK), "utf-8 with windows-1252"
    return data.decode("cp1252", errors=_CP1252_FALLBACK), "windows-1252"


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_CP1252_FALLBACK = "targetkit-cp1252"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Read the bytes UTF-8 rejected as Windows-1252 (its 5 undefined bytes as Latin-1)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    text = "".join(bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in chunk)
    return text, error.end


codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


def sniff_delimiter(text: str) -> str:
    """The delimiter splitting most lines into the same number of fields (`,` on a tie)."""
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    best, best_score = ",", (0, 0)
    for candidate in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([line], delimiter=candidate))) for line in lines]
        widths = [count for count in counts if count > 1]
        if not widths:
            continue
        typical = max(set(widths), key=widths.count)
        score = (widths.count(typical), typical)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _known_count(row: Sequence[object], is_known_header: Callable[[str], bool] | None) -> int:
    if is_known_header is None:
        return 0
    return sum(1 for value in row if isinstance(value, str) and is_known_header(value))


def _table_from_rows(
    path: Path,
    rows: list[list[object]],
    is_known_header: Callable[[str], bool] | None,
    sheet: str | None = None,
) -> Table:
    import pandas as pd

    from targetkit.fastread import table_body

    header_index = find_header_row(rows, is_known_header)
    if header_index is None:
        raise InputError(
            "no header row found (every row is blank)",
            file=path,
            hint="the first row of the table must hold the column names",
        )
    raw_header = rows[header_index]
    width = max((len(row) for row in rows[header_index:]), default=0)
    headers = _headers(path, list(raw_header) + [None] * (width - len(raw_header)), header_index)
    # Blank rows are listed; columns with neither a header nor data are padding from ragged
    # rows: dropped (fastread.table_body does this without per-cell Python loops).
    kept, numbers, blank, keep = table_body(
        rows[header_index + 1 :], width, header_index + 2, headers
    )
    names = [headers[i] or f"unnamed_{column_letter(i)}" for i in keep]
    frame = pd.DataFrame(
        kept if kept else None,
        columns=names,
        index=pd.Index(numbers, name="source_row", dtype="int64"),
        dtype=object,
    )
    return Table(frame, path, sheet, header_index + 1, blank)


def find_header_row(
    rows: Sequence[Sequence[object]], is_known_header: Callable[[str], bool] | None
) -> int | None:
    """The index of the header row: most recognised names, else the first widest text row."""
    candidates = [
        (i, row)
        for i, row in enumerate(rows[:HEADER_SEARCH_ROWS])
        if any(v is not None for v in row)
    ]
    if not candidates:
        return None
    # The row with most recognised names, the first of equals. A row with no more texts than
    # the best so far cannot beat it and is not looked at (in a targets workbook, every
    # pupil's row after the header); each text is asked once (pupils' rows repeat values).
    known = functools.cache(is_known_header) if is_known_header is not None else None
    best_known, best_index = -1, candidates[0][0]
    for i, row in candidates:
        texts = [v for v in row if isinstance(v, str)]
        if len(texts) > best_known:
            count = sum(1 for v in texts if known(v)) if known is not None else 0
            if count > best_known:
                best_known, best_index = count, i
    if best_known >= 2:
        return best_index
    filled = [(sum(v is not None for v in row), i) for i, row in candidates]
    widest = max(count for count, _ in filled)
    return next(i for count, i in filled if count == widest)


def _headers(path: Path, raw: list[object], header_index: int) -> list[str | None]:
    headers: list[str | None] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(raw):
        if value is None:
            headers.append(None)
            continue
        name = str(value).strip()
        key = name.lower()
        if key in seen:
            raise InputError(
                f"two columns are both called {name!r} (columns "
                f"{column_letter(seen[key])} and {column_letter(position)})",
                file=path,
                row=header_index + 1,
                hint="rename one of them",
            )
        seen[key] = position
        headers.append(name)
    return headers


# ---------------------------------------------------------------------------------------------
# Writing


def check_output(path: str | Path, *, force: bool, inputs: Sequence[str | Path] = ()) -> Path:
    """Refuse an output that would overwrite an input, exists without --force, or cannot be made.

    Files are compared by identity (device and inode), not by their names: on a
    case-insensitive file system (macOS, SMB shares) `Cohort.xlsx` is `cohort.xlsx`, and a
    link is the file it points to. Only a regular file may be replaced: `-o /dev/null --force`
    or a FIFO would otherwise be swapped for a file (as root, the system's own device).
    """
    path = Path(path)
    if any(same_file(path, source) for source in inputs):
        raise OutputError(
            "the output would overwrite an input file; targetkit never changes its inputs",
            file=path,
            hint="choose another name with -o",
        )
    if path.is_dir():
        raise OutputError("the output is a folder", file=path, hint="give a file name with -o")
    if path.exists() and not path.is_file():
        raise OutputError(
            "the output is not a regular file (a device, pipe or socket); targetkit only "
            "replaces files",
            file=path,
            hint="give the name of a file with -o",
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(
            "the folder for the output does not exist",
            file=path,
            hint="create it first or choose another -o",
        )
    if not os.access(folder, os.W_OK):
        raise OutputError(
            "no permission to write in the output's folder", file=path, hint="choose another -o"
        )
    if path.exists() and not force:
        raise OutputError(
            "the output already exists",
            file=path,
            hint="use --force to overwrite it, or choose another -o",
        )
    return path


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file: same device and inode when both exist (so case, links
    and `..` do not matter), else the same resolved path."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return Path(first).resolve() == Path(second).resolve()


@contextmanager
def atomic_output(
    path: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()
) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only when the block succeeds.

    Killed runs can leave a temporary file behind; the next run writing the same output removes
    those whose process is gone. A file replaced with --force keeps its permissions (a 0600
    file of pupil data stays private).
    """
    path = check_output(path, force=force, inputs=inputs)
    remove_stale_temporaries(path)
    temporary = temporary_path(path)
    try:
        temporary.touch()  # fail here, before any work, where the folder cannot be written
        yield temporary
        commit_temporary(temporary, path, force=force)
    except BaseException as exc:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise _write_error(exc, path) from exc


@contextmanager
def private_folder(path: str | Path) -> Iterator[Path]:
    """A folder only this user can read, beside `path`, removed when the block ends.

    Writers that spool data to temporary files (xlsxwriter's constant-memory mode) put them
    here rather than in the shared $TMPDIR; after a SIGKILL the next run writing the same
    output removes it with the other stale temporaries.
    """
    import shutil

    folder = temporary_path(Path(path), ".spool")
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def temporary_path(path: Path, tag: str = "") -> Path:
    """The temporary file a run writes `path` into: `.NAME.targetkit-HOST-PID.tmp`."""
    return path.with_name(f".{path.name}{TEMP_MARK}{_HOST}-{os.getpid()}{tag}.tmp")


def commit_temporary(temporary: Path, path: Path, *, force: bool, keep: Path | None = None) -> None:
    """Rename a finished temporary file over `path`, keeping the replaced file's mode; with
    `keep`, the replaced file is moved there first (for the caller to restore or delete)."""
    if path.exists():
        if not force:
            raise OutputError(
                "the output appeared while writing", file=path, hint="use --force to overwrite it"
            )
        if not path.is_file():
            raise OutputError("the output is not a regular file", file=path)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        if keep is not None:
            os.replace(path, keep)
    os.replace(temporary, path)


def _write_error(exc: BaseException, path: Path) -> BaseException:
    """The error to raise for a failed write: one line for an operating-system error."""
    cause = _os_error(exc)
    if cause is None:
        return exc
    return OutputError(
        f"cannot write the output ({cause.strerror or cause})",
        file=path,
        hint="check that its folder exists, can be written to and has free space",
    )


def _os_error(exc: BaseException) -> OSError | None:
    """The operating-system error behind a failed write (writers wrap it in their own types)."""
    seen: BaseException | None = exc
    for _ in range(3):
        if seen is None or isinstance(seen, TargetkitError):
            return None
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _host_name() -> str:
    """This machine's name as it can appear in a file name (no dots, dashes or odd characters)."""
    import socket

    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname()) or "host"


_HOST = _host_name()


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files for `path` left by runs of this machine that no longer exist.

    The name holds the host as well as the process id: another computer sharing the folder
    may have a live run with any pid, so its temporary files are never touched. The name is
    matched literally, so `[Y6] targets.xlsx` is not read as a glob pattern.
    """
    pattern = re.compile(
        rf"^\.{re.escape(path.name)}{re.escape(TEMP_MARK)}{re.escape(_HOST)}-(\d+)(?:\.[a-z]+)?\.tmp$"
    )
    removed = []
    folder = path.parent if str(path.parent) else Path(".")
    try:
        candidates = [entry for entry in os.scandir(folder) if pattern.match(entry.name)]
    except OSError:
        return removed
    for entry in candidates:
        match = pattern.match(entry.name)
        if match and not _process_alive(int(match[1])):
            candidate = folder / entry.name
            if entry.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def neutralise_formula(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with `'` (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: str | Path, *, force: bool = False) -> Path:
    """Write a CSV (UTF-8 with BOM so Excel shows accents) atomically, formulas neutralised.

    Dates are written as ISO 8601 (yyyy-mm-dd), which no program reads the wrong way round.
    """
    return write_csvs([(frame, path)], force=force)[0]


def write_csvs(
    tables: Sequence[tuple[pd.DataFrame, str | Path]], *, force: bool = False
) -> list[Path]:
    """Write CSVs that belong together (import's `X.csv` and `X-issues.csv`) all or none.

    Each is written to a temporary file first; only when all are complete are the old files
    moved aside and the new ones renamed into place, and if a rename fails (a full disk, a
    file locked on a share) the old ones are put back, so the pair never mixes two runs.
    """
    paths = [check_output(path, force=force) for _, path in tables]
    for path in paths:
        remove_stale_temporaries(path)
    temporaries = [temporary_path(path) for path in paths]
    saved: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    current = paths[0]
    try:
        for (frame, path), temporary in zip(tables, temporaries, strict=True):
            current = Path(path)
            temporary.touch()  # fail here, before any work, where the folder cannot be written
            _write_csv_rows(frame, temporary)
        for path, temporary in zip(paths, temporaries, strict=True):
            current = path
            backup = temporary_path(path, ".old") if path.exists() else None
            if backup is not None:
                saved.append((path, backup))  # before the move: restored whatever fails next
            commit_temporary(temporary, path, force=force, keep=backup)
            placed.append(path)
    except BaseException as exc:
        kept = {path for path, _ in saved}
        for path in placed:
            if path not in kept:
                path.unlink(missing_ok=True)
        for path, backup in saved:
            with suppress(OSError):
                os.replace(backup, path)
        for temporary in temporaries:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)
        raise _write_error(exc, current) from exc
    for _, backup in saved:
        backup.unlink(missing_ok=True)
    return paths


CSV_CHUNK_ROWS = 50_000  # rows neutralised and written at a time: a copy of one chunk only


def _write_csv_rows(frame: pd.DataFrame, path: Path) -> None:
    """The frame as CSV, a chunk of rows at a time (a 1,000,000-pupil sheet would otherwise
    be copied whole to neutralise it): UTF-8 with BOM, CRLF, the header once."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        for start in range(0, max(len(frame), 1), CSV_CHUNK_ROWS):
            chunk = frame.iloc[start : start + CSV_CHUNK_ROWS]
            _csv_frame(chunk).to_csv(handle, index=False, header=start == 0, lineterminator="\r\n")


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as written to CSV: text cells and headers neutralised, dates in ISO form."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object:  # kept as objects: map would make `0` among blanks `0.0`
            values = column.to_numpy(dtype=object, copy=True)
            present = ~column.isna().to_numpy()
            values[present] = [_csv_cell(value) for value in values[present]]
            out[name] = pd.Series(values, index=column.index, dtype=object)
        elif str(column.dtype) in ("str", "string"):
            out[name] = column.map(_csv_cell, na_action="ignore")
    out.columns = [neutralise_formula(name) for name in out.columns]  # headers are cells too
    return out


def _csv_cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise_formula(value)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, for the `About` sheet's record of inputs."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
