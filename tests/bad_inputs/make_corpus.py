"""Write the bad-input corpus and its README: run once, commit the outputs.

    .venv/bin/python tests/bad_inputs/make_corpus.py

Every file is what a school or an MIS really sends (or what an attacker could), kept tiny.
`CORPUS` below is the single list: each entry says what the file is, what must happen
(`exit 2` with a key phrase that the one-line message must contain, `read`, or `flagged`:
read, with the problem reported) and why. `tests/test_bad_inputs.py` reads the README table.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
UPNS = ["L801200015001", "A801200015002", "P801200015003", "D801200015004"]
HEADER = ["UPN", "Surname", "Forename", "Year Group", "Reading KS1"]
PUPILS = [
    [UPNS[0], "Smith", "Amelia", 3, "2b"],
    [UPNS[1], "Jones", "Oliver", 3, "3"],
    [UPNS[2], "O'Brien", "Zoë", 3, "1a"],
    [UPNS[3], "Patel", "Arjun", 3, "W"],
]

# (file, what it is, outcome, what must happen). Outcome: "exit 2" (the message must contain
# the phrase in backticks), "read" (a normal run) or "flagged" (a normal run that reports it).
CORPUS: list[tuple[str, str, str, str]] = []


def add(name: str, what: str, outcome: str, must: str, data: bytes | None) -> None:
    CORPUS.append((name, what, outcome, must))
    if data is not None:
        (HERE / name).write_bytes(data)


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8", sep: str = ",") -> bytes:
    lines = [sep.join("" if v is None else str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> bytes:
    """A workbook written by openpyxl (so formulas have no cached values)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, change: dict[str, object]) -> bytes:
    """The workbook `data` with some parts replaced (bytes) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            part = change.get(info.filename, source.read(info.filename))
            archive.writestr(info.filename, part)  # type: ignore[arg-type]
        for name, part in change.items():
            if name not in source.namelist():
                archive.writestr(name, part)  # type: ignore[arg-type]
    return out.getvalue()


def sheet_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


# --- a genuine Excel 97-2003 (.xls) file, written by hand: BIFF8 records in an OLE2 container


def _record(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def biff8_workbook(rows: list[list[object]], sheet: str = "Pupils") -> bytes:
    strings: list[str] = []
    cells = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                if value not in strings:
                    strings.append(value)
                cells += _record(0x00FD, struct.pack("<HHHI", r, c, 0, strings.index(value)))
            elif value is not None:
                cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(
        struct.pack("<HB", len(s), 1) + s.encode("utf-16-le") for s in strings
    )
    name = sheet.encode("latin-1")

    def workbook_globals(offset: int) -> bytes:
        return (
            _bof(0x0005)
            + _record(0x0042, struct.pack("<H", 1200))
            + _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
            + _record(0x00FC, sst)
            + _record(0x000A)
        )

    width = max(len(row) for row in rows)
    worksheet = (
        _bof(0x0010)
        + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
        + cells
        + _record(0x000A)
    )
    return workbook_globals(len(workbook_globals(0))) + worksheet


def compound_file(stream: bytes, name: str = "Workbook") -> bytes:
    """A minimal OLE2 compound file (512-byte sectors) holding one stream."""
    sector = 512
    stream = stream.ljust(max(4096, -(-len(stream) // sector) * sector), b"\x00")
    n = len(stream) // sector
    end, free, fat_sector, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [*range(1, n), end, end, fat_sector]
    fat += [free] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, n, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", n + 1)
        + struct.pack("<I", free) * 108
    )

    def entry(entry_name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (entry_name + "\x00").encode("utf-16-le") if entry_name else b""
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBB", len(raw), kind, 1 if entry_name else 0)
            + struct.pack("<III", none, none, child)
            + b"\x00" * 16
            + struct.pack("<IQQIQ", 0, 0, 0, start if entry_name else 0, size)
        )

    directory = (
        entry("Root Entry", 5, 1, end, 0)
        + entry(name, 2, none, 0, len(stream))
        + entry("", 0, none, 0, 0) * 2
    )
    return header + stream + directory + struct.pack("<128I", *fat)


def encrypted_xlsx(data: bytes) -> bytes:
    """`data` encrypted as Excel does with a password to open (ECMA-376 agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt("secret", out)
    return out.getvalue()


def main() -> None:
    for old in HERE.iterdir():
        if old.is_file() and old.name not in ("make_corpus.py", "README.md"):
            old.unlink()
    good = [HEADER, *PUPILS]
    good_xlsx = xlsx_bytes({"Pupils": good})

    # Empty, blank and header-only files
    add("empty.csv", "a 0-byte file", "exit 2", "`empty`; export it again", b"")
    add("empty.xlsx", "a 0-byte file named .xlsx", "exit 2", "`empty`", b"")
    add(
        "bom_only.csv", "only a UTF-8 byte-order mark", "exit 2", "`no header row`", b"\xef\xbb\xbf"
    )
    add(
        "blank_rows_only.csv",
        "separators and line breaks, no values",
        "exit 2",
        "`no header row`",
        b",,,\r\n,,\r\n\r\n  ,\r\n",
    )
    add(
        "header_only.csv",
        "the header row and no pupils",
        "read",
        "an output with 0 pupils",
        csv_bytes([HEADER]),
    )
    add(
        "header_only.xlsx",
        "a workbook with the header row only",
        "read",
        "an output with 0 pupils",
        xlsx_bytes({"Pupils": [HEADER]}),
    )
    add(
        "no_data_in_any_sheet.xlsx",
        "a workbook whose sheets are all blank",
        "exit 2",
        "`no data in any visible sheet`",
        xlsx_bytes({"Sheet1": [], "Sheet2": []}),
    )

    # Wrong file types
    add(
        "text_named.xlsx",
        "a CSV saved with the .xlsx suffix",
        "exit 2",
        "`not a .xlsx workbook`; re-export it",
        csv_bytes(good),
    )
    add(
        "picture_named.xlsx",
        "a PNG picture named .xlsx",
        "exit 2",
        "`not a .xlsx workbook`",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    )
    add(
        "html_named.xls",
        "an HTML table named .xls (what some MIS 'Excel' exports are)",
        "exit 2",
        "`not a .xls workbook`",
        b"<html><body><table><tr><td>UPN</td><td>Reading KS1</td></tr>"
        b"<tr><td>L801200015001</td><td>2b</td></tr></table></body></html>",
    )
    add(
        "pdf_named.csv",
        "a PDF named .csv",
        "exit 2",
        "`NUL bytes`",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 12 >>\nstream\n\x00\x01\x02x\x9c\x00"
        b"\nendstream\nendobj\n%%EOF\n",
    )
    add(
        "gzip_named.csv",
        "a gzip archive named .csv",
        "exit 2",
        "`NUL bytes`",
        __import__("gzip").compress(csv_bytes(good), mtime=0),
    )
    add(
        "zip_not_a_workbook.xlsx",
        "a zip of CSV files named .xlsx",
        "exit 2",
        "`cannot read this workbook`",
        _zip({"pupils.csv": csv_bytes(good)}),
    )
    add(
        "truncated.xlsx",
        "the first half of a real workbook (a failed download)",
        "exit 2",
        "`damaged`; save it again",
        good_xlsx[: len(good_xlsx) // 2],
    )
    add(
        "password_protected.xlsx",
        "a workbook encrypted with a password to open",
        "exit 2",
        "`password-protected`; save an unprotected copy",
        encrypted_xlsx(good_xlsx),
    )
    xls = compound_file(biff8_workbook(good))
    add("real.xls", "a genuine Excel 97-2003 workbook", "read", "read like any workbook", xls)
    add(
        "xls_named.xlsx",
        "an Excel 97-2003 workbook renamed .xlsx",
        "read",
        "read by its contents, not its suffix",
        xls,
    )
    add(
        "workbook_without_suffix",
        "a real .xlsx with no suffix at all",
        "read",
        "read by its contents",
        good_xlsx,
    )

    # Encodings and strange bytes
    add(
        "utf16.csv",
        "UTF-16 with BOM and tabs (Excel's 'Unicode text')",
        "read",
        "names with accents intact",
        "\ufeff".encode("utf-16-le") + csv_bytes(good, "utf-16-le", "\t"),
    )
    add(
        "utf16_without_bom.csv",
        "UTF-16 text with no byte-order mark",
        "exit 2",
        "`UTF-16`; save it as CSV UTF-8",
        csv_bytes(good, "utf-16-le"),
    )
    add(
        "windows_1252.csv",
        "Windows-1252 text (Zoë, O’Brien)",
        "read",
        "accents and curly apostrophes intact",
        csv_bytes([*good, [UPNS[0], "O’Neill", "Chloé", 3, "2c"]], "cp1252"),
    )
    mixed = csv_bytes(good, "utf-8") + "D801200015005,O’Neill,Chloé,3,2c\r\n".encode("cp1252")
    add(
        "mixed_encoding.csv",
        "UTF-8 with a few Windows-1252 bytes (edited in two programs)",
        "read",
        "each name read right: UTF-8 kept, stray bytes as Windows-1252",
        mixed,
    )
    add(
        "nul_bytes.csv",
        "a CSV with NUL bytes in row 3",
        "exit 2",
        "`NUL bytes`, naming row 3",
        csv_bytes(good).replace(b"Jones", b"Jo\x00\x00nes"),
    )
    add(
        "unclosed_quote.csv",
        "a quote opened in row 2 and never closed",
        "exit 2",
        "`never closed`, naming row 2 (the rows after it are not silently lost)",
        csv_bytes(good).replace(b"Smith", b'"Smith'),
    )
    add(
        "control_characters.csv",
        "names holding terminal escape codes and a right-to-left override",
        "read",
        "read; the codes are never printed raw to the terminal",
        csv_bytes(
            [
                HEADER,
                [UPNS[0], "Smith\x1b[2J\x1b[31m", "Amy\u202eevil", 3, "2b"],
                [UPNS[1], "Jones", "Bell\x07", 3, "3"],
            ]
        ),
    )
    add(
        "cr_line_endings.csv",
        "old Mac line endings (CR only)",
        "read",
        "every row read",
        csv_bytes(good).replace(b"\r\n", b"\r"),
    )
    add(
        "semicolons.csv",
        "semicolon-separated with decimal commas (European Excel)",
        "read",
        "the delimiter found",
        csv_bytes([[*HEADER, "Attendance"]] + [[*p, "95,5"] for p in PUPILS], sep=";"),
    )
    add(
        "tab_separated.txt",
        "a tab-separated .txt export",
        "read",
        "the delimiter found",
        csv_bytes(good, sep="\t"),
    )

    # Size and shape
    add(
        "long_cell.csv",
        "a 100,000-character cell in a notes column",
        "read",
        "read whole, no truncation",
        csv_bytes(
            [[*HEADER, "Notes"], [*PUPILS[0], "x" * 100_000], *[[*p, ""] for p in PUPILS[1:]]]
        ),
    )
    wide_header = HEADER + [f"Extra {i}" for i in range(len(HEADER) + 1, 5001)]
    add(
        "columns_5000.csv",
        "5,000 columns",
        "read",
        "every column kept",
        csv_bytes([wide_header, *[p + [None] * (5000 - len(p)) for p in PUPILS]]),
    )
    add(
        "ragged_rows.csv",
        "rows longer than the header",
        "read",
        "the extra cells kept in unnamed columns",
        csv_bytes([HEADER, [*PUPILS[0], "stray"], *PUPILS[1:]]),
    )
    add(
        "duplicate_headers.csv",
        "two columns both called Surname",
        "exit 2",
        "`two columns` named, with their letters; rename one",
        csv_bytes([["UPN", "Surname", "Surname", "Year Group", "Reading KS1"], *PUPILS]),
    )
    add(
        "duplicate_headers_case.csv",
        "UPN and upn",
        "exit 2",
        "`two columns`",
        csv_bytes([["UPN", "Surname", "upn", "Year Group", "Reading KS1"], *PUPILS]),
    )
    add(
        "empty_headers.csv",
        "blank header cells above data",
        "read",
        "the unnamed columns kept as unnamed_<letter>",
        csv_bytes([["UPN", "", "Forename", "", "Reading KS1"], *PUPILS]),
    )
    add(
        "title_rows.xlsx",
        "a report title and a blank row above the header",
        "read",
        "the header found below the title",
        xlsx_bytes({"Report": [["Pupil list - Year 3"], ["Printed 01/10/2026"], [], *good]}),
    )
    add(
        "merged_header.xlsx",
        "merged cells across the header row",
        "read",
        "read; the column under the merge kept as unnamed_C",
        merged_header_xlsx(),
    )
    add(
        "several_sheets.xlsx",
        "two sheets with pupil data and no --sheet",
        "exit 2",
        "`several sheets` listed; choose one with --sheet",
        xlsx_bytes({"Year 3": good, "Year 4": good}),
    )
    add(
        "hidden_sheet.xlsx",
        "a visible pupil sheet and a hidden sheet of old data",
        "read",
        "only the visible sheet read",
        xlsx_bytes(
            {"Pupils": good, "Old": [HEADER, [UPNS[0], "Old", "Data", 2, "1c"]]}, hidden=("Old",)
        ),
    )

    # Dates, totals, formulas, grades
    add(
        "dates_as_text.csv",
        "dates of birth as text in several styles",
        "read",
        "read as text, nothing guessed by the reader",
        csv_bytes(
            [
                [*HEADER, "DOB"],
                *[
                    [*p, d]
                    for p, d in zip(
                        PUPILS,
                        ["01/09/2018", "2018-10-02", "3 Nov 2018", "31/02/2019"],
                        strict=True,
                    )
                ],
            ]
        ),
    )
    add(
        "dates_as_serials.xlsx",
        "dates of birth stored as Excel serial numbers",
        "read",
        "read as numbers, nothing lost",
        xlsx_bytes(
            {"Pupils": [[*HEADER, "DOB"], *[[*p, 43344 + i] for i, p in enumerate(PUPILS)]]}
        ),
    )
    add(
        "dates_real.xlsx",
        "real Excel dates mixed with text dates",
        "read",
        "read",
        xlsx_bytes(
            {
                "Pupils": [
                    [*HEADER, "DOB"],
                    [*PUPILS[0], dt.date(2018, 9, 1)],
                    [*PUPILS[1], "02/10/2018"],
                    *[[*p, None] for p in PUPILS[2:]],
                ]
            }
        ),
    )
    add(
        "totals_rows.csv",
        "subtotal and total rows under the pupils",
        "flagged",
        "read; the Total row's count is not a grade and is reported",
        csv_bytes([*good, ["", "Subtotal", "", "", "4 pupils"], ["Total", "", "", "", "4 pupils"]]),
    )
    add(
        "formulas_not_calculated.xlsx",
        "formulas saved by a program, never calculated",
        "exit 2",
        "`never calculated`, naming the cell; save it in Excel (`import` instead keeps the pupils "
        "and flags each such cell as an error)",
        xlsx_bytes(
            {"Pupils": [[*HEADER, "Points"], *[[*p, f"=F{i + 2}*1"] for i, p in enumerate(PUPILS)]]}
        ),
    )
    add(
        "formulas_calculated.xlsx",
        "formulas with the values Excel saved, one a DDE command",
        "read",
        "the saved values read; nothing is run",
        formulas_with_values_xlsx(),
    )
    add(
        "misspelt_grades.csv",
        "every grade misspelt",
        "flagged",
        "read; every grade reported with its row and the nearest valid grades",
        csv_bytes(
            [
                HEADER,
                *[[*p[:4], g] for p, g in zip(PUPILS, ["2d", "Levle 3", "4x", "b2"], strict=True)],
            ]
        ),
    )
    add(
        "grades_as_numbers.xlsx",
        "whole levels stored as numbers, then a sub-level",
        "read",
        "the later 2b kept (types never guessed from the first rows)",
        xlsx_bytes(
            {"Pupils": [HEADER, *[[*p[:4], 3] for p in PUPILS], [UPNS[0], "Late", "Kid", 3, "2b"]]}
        ),
    )
    add(
        "formula_like_text.csv",
        "names starting = + - @ (CSV injection)",
        "read",
        "read; written back as text, never as a formula",
        csv_bytes(
            [
                HEADER,
                [UPNS[0], '=HYPERLINK("http://x")', "+Amy", 3, "2b"],
                [UPNS[1], "-Jones", "@SUM(A1)", 3, "3"],
            ]
        ),
    )
    add(
        "macro.xlsm",
        "a macro-enabled workbook with a VBA project",
        "read",
        "the data read; the macro is never run",
        rezip(
            good_xlsx,
            {
                "xl/vbaProject.bin": compound_file(
                    b'Attribute VB_Name = "Module1"\r\nSub Auto_Open(): Shell "calc": End Sub\r\n',
                    "VBA",
                )
            },
        ),
    )

    # Hostile workbooks
    bomb_xml = sheet_xml(good_xlsx).replace("<t>Smith</t>", "<t>" + "A" * (60 << 20) + "</t>")
    add(
        "zip_bomb.xlsx",
        "a 60 KB workbook whose sheet unpacks to 60 MB",
        "exit 2",
        "`zip bomb`, at once",
        rezip(good_xlsx, {"xl/worksheets/sheet1.xml": bomb_xml.encode()}),
    )
    laughs = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    xml = sheet_xml(good_xlsx)
    xml = xml.replace("<worksheet", laughs + "<worksheet", 1).replace(
        "<t>Smith</t>", "<t>&lol9;</t>"
    )
    add(
        "billion_laughs.xlsx",
        "XML entities that expand to 10^9 'lol's",
        "exit 2",
        "`entity-expansion`, at once",
        rezip(good_xlsx, {"xl/worksheets/sheet1.xml": xml.encode()}),
    )
    xxe = sheet_xml(good_xlsx)
    xxe = xxe.replace(
        "<worksheet", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet', 1
    ).replace("<t>Smith</t>", "<t>&e;</t>")
    add(
        "external_entity.xlsx",
        "an XML external entity pointing at /etc/passwd",
        "exit 2",
        "`entity-expansion`; no file is read",
        rezip(good_xlsx, {"xl/worksheets/sheet1.xml": xxe.encode()}),
    )
    far = sheet_xml(good_xlsx).replace(
        "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    add(
        "far_away_cell.xlsx",
        "one stray cell at XFD1048576 (17 billion cells to lay out)",
        "exit 2",
        "`far more than a school export`",
        rezip(good_xlsx, {"xl/worksheets/sheet1.xml": far.encode()}),
    )

    # Issue 17: the same far cell spelt otherwise, a shared-text number out of range, and a zip
    # directory that understates what a part inflates to
    quoted = sheet_xml(good_xlsx).replace(
        "</sheetData>",
        "<row r='1048576'><c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c></row></sheetData>",
    )
    add(
        "far_cell_single_quotes.xlsx",
        "the stray cell at XFD1048576 written with single quotes (r='XFD1048576')",
        "exit 2",
        "`far more than a school export`",
        rezip(good_xlsx, {"xl/worksheets/sheet1.xml": quoted.encode()}),
    )
    add(
        "shared_string_out_of_range.xlsx",
        "a cell pointing at shared text 999 of a handful (a reader shows text 0, 'UPN')",
        "exit 2",
        "`shared text number`, naming the cell",
        shared_string_out_of_range(),
    )
    add(
        "understated_zip.xlsx",
        "a sheet inflating to 60 MiB whose zip directory says 1 MiB",
        "exit 2",
        "`zip bomb`, at once",
        understated_zip(good_xlsx),
    )

    # A folder where a file should be (git keeps it by its .gitkeep)
    folder = HERE / "a_folder.xlsx"
    folder.mkdir(exist_ok=True)
    (folder / ".gitkeep").write_bytes(b"")
    add("a_folder.xlsx", "a folder named like a workbook", "exit 2", "`folder`", None)
    write_readme()


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def merged_header_xlsx() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Pupils"
    sheet.append(["Year 3 pupils - autumn 2026", None, None, None, None])
    sheet.append(["UPN", "Name", None, "Year Group", "Reading KS1"])
    for pupil in PUPILS:
        sheet.append(pupil)
    sheet.merge_cells("A1:E1")  # a banner over the table
    sheet.merge_cells("B2:C2")  # "Name" over the surname and forename columns
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def formulas_with_values_xlsx() -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Pupils")
    sheet.write_row(0, 0, [*HEADER, "Points"])
    for row, pupil in enumerate(PUPILS, start=1):
        sheet.write_row(row, 0, pupil[:4])
        sheet.write_formula(row, 4, "=cmd|' /C calc'!A0", None, pupil[4])
        sheet.write_formula(row, 5, "=ROW()*2", None, (row + 1) * 2)
    workbook.close()
    return buffer.getvalue()


def shared_string_out_of_range() -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Pupils")
    for row, values in enumerate([HEADER, *PUPILS]):
        sheet.write_row(row, 0, values)
    workbook.close()
    data = buffer.getvalue()
    xml = sheet_xml(data)
    start = xml.index('<c r="B2" t="s"><v>')
    end = xml.index("</v>", start)
    xml = xml[:start] + '<c r="B2" t="s"><v>999' + xml[end:]
    return rezip(data, {"xl/worksheets/sheet1.xml": xml.encode()})


def understated_zip(data: bytes) -> bytes:
    """`data` with a 60 MiB sheet whose sizes, in the local header and the directory, say
    1 MiB (a zip's sizes are whatever its writer puts there)."""
    xml = sheet_xml(data).replace("<c ", "<c " + " " * (60 << 20), 1)
    raw = bytearray(rezip(data, {"xl/worksheets/sheet1.xml": xml.encode()}))
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            if raw[start + name_at : start + name_at + len(name)] == name:
                raw[start + size_at : start + size_at + 4] = (1 << 20).to_bytes(4, "little")
            start += 4
    return bytes(raw)


def write_readme() -> None:
    lines = [
        "# The bad-input corpus",
        "",
        "Files that schools' systems (and attackers) really produce. `tests/test_bad_inputs.py`",
        "runs every registered command on every file and checks what this table says must happen:",
        "",
        "- **exit 2**: exit status 2 and one line on stderr naming the file (and the row where it",
        "  applies), containing the phrase in backticks, and saying what to do;",
        "- **read**: a normal run (exit 0, or 1 where a command reports findings);",
        "- **flagged**: a normal run that reports the problem (for `convert`: the values it could",
        "  not convert, with their rows).",
        "",
        "Never a traceback, never a hang, never an input changed. Regenerate with",
        "`.venv/bin/python tests/bad_inputs/make_corpus.py` (the outputs are committed).",
        "Missing paths and unwritable outputs are cases in the test itself, not files.",
        "",
        "| file | what it is | outcome | what must happen |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{n}` | {w} | {o} | {m} |" for n, w, o, m in CORPUS]
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
