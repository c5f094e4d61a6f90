"""Cell notes are streamed as XML while rows are written (`workbook_notes`, issue 18): the
comments and VML parts are byte for byte the ones xlsxwriter's own `write_comment` makes
(`_CellByCell`, the reference), every note reads back with its text, and LibreOffice keeps them."""

from __future__ import annotations

import re
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_workbook_rows import _parts  # the parts of a file, About's writer name made alike

import targetkit.workbook as wb
from targetkit.workbook_notes import NotesWorkbook

TRICKY_NOTES = [
    "Target 5 & above <expected>",
    " leading space",
    "trailing space ",
    "two\nlines",
    "ends with a newline\n",
    "tab\tinside",
    "bell\x07 and escape \x1b",
    "_x0041_ reads as Excel's escape",
    "non-character \ufffe\uffff",
    "quotes \"double\" and 'single'",
    "Zoë 😀 𝔘𝔫𝔦",  # accents, an emoji and astral characters (two UTF-16 units each)
    "=1+1",
    "x" * 3000,  # long text
]


def _as_excel_shows(text: str) -> str:
    return re.sub("_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text)


def _sheets(rows: int, texts: list[str | None]) -> list[wb.Sheet]:
    frame = pd.DataFrame(
        {
            "upn": [f"B8012000{i:05d}" for i in range(rows)],
            "name": [f"Pupil {i}" for i in range(rows)],
            "target": ["4b"] * rows,
            "why": ["a longer text to make the column wide"] * rows,
        }
    )
    first = pd.Series([texts[i % len(texts)] for i in range(rows)], dtype=object)
    second = pd.Series([None if i % 2 else f"row {i}" for i in range(rows)], dtype=object)
    main = wb.Sheet(
        "Targets",
        frame,
        comments={"why": second, "target": first},  # given out of column order
        intro=["An opening sentence, a taller row above the table."],
        below=[wb.Table("Totals", frame.head(2))],  # taller rows just below the last notes
        freeze_columns=1,
        wrap=["why"],
    )
    return [main, wb.Sheet("Second", frame.head(3), comments={"upn": first.head(3)})]


def _write_both(folder, sheets, monkeypatch) -> tuple[dict[str, bytes], dict[str, bytes]]:
    for writer, name in ((wb._CellByCell, "cells.xlsx"), (wb._RowXml, "rows.xlsx")):
        monkeypatch.setattr(wb, "ROW_WRITER", writer)
        monkeypatch.setattr(wb, "CHUNK_ROWS", 5)
        wb.write_workbook(folder / name, sheets, readme=wb.ReadMe(title="t"), about=[])
    return _parts(folder / "cells.xlsx"), _parts(folder / "rows.xlsx")


def test_notes_are_byte_identical_to_xlsxwriter_comments(tmp_path, monkeypatch):
    reference, fast = _write_both(tmp_path, _sheets(30, [*TRICKY_NOTES, None]), monkeypatch)
    assert "xl/comments1.xml" in reference and "xl/drawings/vmlDrawing2.vml" in reference
    assert fast.keys() == reference.keys()
    for name in reference:
        assert fast[name] == reference[name], name


def test_more_than_1024_notes_take_a_second_block_of_shape_ids(tmp_path, monkeypatch):
    # 1,100 rows, a note on every row and every second row: 1,650 notes on the first sheet,
    # so its VML maps two blocks (data="1,2") and the second sheet's shapes start at 3072.
    reference, fast = _write_both(tmp_path, _sheets(1100, ["note"]), monkeypatch)
    assert fast == reference
    first = fast["xl/drawings/vmlDrawing1.vml"].decode()
    assert '<o:idmap v:ext="edit" data="1,2"/>' in first
    assert first.count("<v:shape ") == 1650
    second = fast["xl/drawings/vmlDrawing2.vml"].decode()
    assert 'data="3"' in second and 'id="_x0000_s3073"' in second


def test_what_is_written_reads_back_as_each_note(tmp_path, monkeypatch):
    monkeypatch.setattr(wb, "ROW_WRITER", wb._RowXml)
    rows = len(TRICKY_NOTES)
    wb.write_workbook(
        tmp_path / "n.xlsx", _sheets(rows, TRICKY_NOTES), readme=wb.ReadMe("t"), about=[]
    )
    sheet = openpyxl.load_workbook(tmp_path / "n.xlsx")["Targets"]
    # Targets: one intro row, a blank row, the header on row 3; pupil i on row i + 4.
    # Control characters and the look-alike are written in Excel's _xHHHH_ form: Excel shows
    # the original text, openpyxl the escaped form (undone here as Excel undoes it).
    for i, text in enumerate(TRICKY_NOTES):
        assert _as_excel_shows(sheet.cell(i + 4, 3).comment.text) == text, i
        second = sheet.cell(i + 4, 4).comment
        assert (second is None) if i % 2 else (second.text == f"row {i}"), i
    assert sheet.cell(4, 1).comment is None  # upn has no notes on this sheet


def test_a_note_longer_than_excel_holds_is_kept_to_the_limit_and_said(tmp_path, capsys):
    # xlsxwriter's write_comment drops such a note without a word; 20,000 emoji are 40,000
    # UTF-16 units, kept to 32,767 units (16,383 emoji: half of one would not be a character).
    frame = pd.DataFrame({"upn": ["A"], "target": ["4b"]})
    notes = pd.Series(["😀" * 20_000])
    sheet = wb.Sheet("T", frame, comments={"target": notes})
    wb.write_workbook(tmp_path / "long.xlsx", [sheet], readme=wb.ReadMe("t"), about=[])
    note = openpyxl.load_workbook(tmp_path / "long.xlsx")["T"]["B2"].comment
    assert note.text == "😀" * 16_383
    warned = capsys.readouterr().err
    assert "row 2, column 'target': note of 20,000 characters kept to Excel's limit" in warned


def test_notes_are_not_held_by_xlsxwriter_while_rows_are_written(tmp_path, monkeypatch):
    """The memory half of the change: xlsxwriter's own comment table stays empty."""
    seen = {}
    original = wb._RowXml.finish

    def finish(self):
        seen["comments"] = dict(self.worksheet.comments)
        seen["notes"] = len(self.worksheet.notes) if self.worksheet.notes else 0
        original(self)

    monkeypatch.setattr(wb._RowXml, "finish", finish)
    monkeypatch.setattr(wb, "ROW_WRITER", wb._RowXml)
    frame = pd.DataFrame({"upn": list("ABCD")})
    sheet = wb.Sheet("T", frame, comments={"upn": pd.Series(["a", None, "c", "d"])})
    wb.write_workbook(tmp_path / "m.xlsx", [sheet], readme=wb.ReadMe("t"), about=[])
    assert seen == {"comments": {}, "notes": 3}


def _edge_workbook(path, streamed: bool) -> None:
    """Notes where xlsxwriter places them differently: the first row, the last rows and
    columns; beside a hidden column, a wide one and tall rows."""
    workbook = NotesWorkbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("E")
    sheet.set_row(3, 60)
    sheet.set_row(5, None, None, {"hidden": True})
    sheet.set_column(2, 2, 40)
    sheet.set_column(3, 3, None, None, {"hidden": True})
    cells = [(0, 0), (0, 5), (2, 1), (2, 2), (4, 2), (1048572, 16381), (1048573, 16382)]
    cells += [(1048574, 16383), (1048575, 0)]
    for row, column in cells:
        sheet.write_string(row, column, "x")
        if streamed:
            sheet.add_note(row, column, f"at {row},{column}", wb.COMMENT_SIZE)
        else:
            sheet.write_comment(row, column, f"at {row},{column}", wb.COMMENT_SIZE)
    workbook.close()


def test_notes_at_the_sheets_edges_are_placed_as_xlsxwriter_places_them(tmp_path):
    _edge_workbook(tmp_path / "reference.xlsx", streamed=False)
    _edge_workbook(tmp_path / "streamed.xlsx", streamed=True)
    assert _parts(tmp_path / "streamed.xlsx") == _parts(tmp_path / "reference.xlsx")


_note_text = st.one_of(
    st.none(),
    st.sampled_from(TRICKY_NOTES),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("&<>\n _x"),
        min_size=1,
        max_size=60,
    ),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_note_text, min_size=1, max_size=12))
def test_any_note_texts_are_byte_identical(tmp_path_factory, monkeypatch, texts):
    folder = tmp_path_factory.mktemp("notes")
    reference, fast = _write_both(folder, _sheets(len(texts), texts), monkeypatch)
    assert fast == reference


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (CI installs it)")
def test_libreoffice_keeps_every_note(tmp_path, monkeypatch):
    monkeypatch.setattr(wb, "ROW_WRITER", wb._RowXml)
    texts = [t for t in TRICKY_NOTES if "\x07" not in t and "\ufffe" not in t]
    sheets = _sheets(len(texts), texts)
    wb.write_workbook(tmp_path / "n.xlsx", sheets, readme=wb.ReadMe("t"), about=[])
    out = tmp_path / "out"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(tmp_path / "n.xlsx")],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    sheet = openpyxl.load_workbook(out / "n.xlsx")["Targets"]
    for i, text in enumerate(texts):
        assert sheet.cell(i + 4, 3).comment is not None, i
        assert _as_excel_shows(sheet.cell(i + 4, 3).comment.text).strip() == text.strip(), i
