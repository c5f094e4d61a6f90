"""workbook.py writes data rows straight into the sheet XML (`_RowXml`, issue 18): the file is
byte for byte the one xlsxwriter's own per-cell methods write (`_CellByCell`)."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import targetkit.workbook as wb

TRICKY_TEXT = [
    "=1+1",  # a formula-like text stays text
    "@SUM(A1)",
    "Tom & Jerry <b>",
    " leading space",
    "trailing space ",
    "tab\tinside",
    "line\nbreak",
    "bell\x07char",
    "_x0041_ looks like Excel's escape",
    "Zoë Ångström 𝔘𝔫𝔦",  # accents and an astral character
    "",
]


def _sheets(frame: pd.DataFrame) -> list[wb.Sheet]:
    rows = len(frame)
    status = pd.Series([["red", "amber", None, "green"][i % 4] for i in range(rows)])
    notes = pd.Series([None if i % 3 else f"why {i} & <why>" for i in range(rows)])
    main = wb.Sheet(
        "Targets",
        frame,
        comments={"text": notes},
        editable=["target"],
        dropdowns={"target": ["3c", "3b", "4b"]},
        fills={"target": {"4b": "green"}},
        number_formats={"share": "0%"},
        align={"target": "center"},
        cell_fills={"status": status},
        wrap=["text"],
        freeze_columns=1,
        below=[wb.Table("Totals", frame.head(3), number_formats={"share": "0%"})],
    )
    return [main, wb.Sheet("Second", frame.tail(4))]


def _write(path, frame, writer, monkeypatch, chunk=7):
    monkeypatch.setattr(wb, "ROW_WRITER", writer)
    monkeypatch.setattr(wb, "CHUNK_ROWS", chunk)
    wb.write_workbook(
        path, _sheets(frame), readme=wb.ReadMe(title="t"), about=[("rows", len(frame))]
    )


def _parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {  # About names the writer: the one difference expected
            name: archive.read(name).replace(b"cell by cell", b"rows written as XML")
            for name in archive.namelist()
            if name != "docProps/core.xml"  # holds the time of writing
        }


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "upn": [f"B8012000{i:05d}" for i in range(rows)],
            "text": [TRICKY_TEXT[i % len(TRICKY_TEXT)] for i in range(rows)],
            "count": pd.array([None if i % 5 == 0 else i * 7 for i in range(rows)], "Int64"),
            "share": [i / 7 if i % 4 else None for i in range(rows)],
            "big": [10.0**20 * i - 0.5 for i in range(rows)],
            "flag": [i % 2 == 0 for i in range(rows)],
            "dob": [dt.date(2015, 9, 1) + dt.timedelta(days=i) for i in range(rows)],
            "seen": [dt.datetime(2026, 1, 5, 9, 30) + dt.timedelta(hours=i) for i in range(rows)],
            "target": [None if i % 3 == 0 else "4b" for i in range(rows)],
            "status": ["note"] * rows,
            "empty": [None] * rows,
        }
    )


def _same_files(tmp_path, frame, monkeypatch, chunk=7):
    _write(tmp_path / "cells.xlsx", frame, wb._CellByCell, monkeypatch, chunk)
    _write(tmp_path / "rows.xlsx", frame, wb._RowXml, monkeypatch, chunk)
    reference, fast = _parts(tmp_path / "cells.xlsx"), _parts(tmp_path / "rows.xlsx")
    assert fast.keys() == reference.keys()
    for name in reference:
        assert fast[name] == reference[name], name


def test_rows_written_as_xml_are_byte_identical_to_xlsxwriter_cells(tmp_path, monkeypatch):
    # 40 rows in chunks of 7: every tricky text, blanks with and without a format, per-row
    # fills, comments on every third row, a table below, a second sheet.
    _same_files(tmp_path, _frame(40), monkeypatch)


def test_what_is_written_reads_back_as_written(tmp_path, monkeypatch):
    frame = _frame(12)
    _write(tmp_path / "rows.xlsx", frame, wb._RowXml, monkeypatch)
    sheet = openpyxl.load_workbook(tmp_path / "rows.xlsx")["Targets"]
    # Worked from _frame: row i is Excel row i + 2.
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    assert sheet["B4"].value == "Tom & Jerry <b>"
    assert sheet["B5"].value == " leading space"
    xml = _parts(tmp_path / "rows.xlsx")["xl/worksheets/sheet1.xml"].decode()
    # Control characters and look-alikes in Excel's _xHHHH_ form (Excel shows the originals).
    assert ">bell_x0007_char<" in xml and ">_x005F_x0041_ looks like" in xml
    assert sheet["B11"].value == "Zoë Ångström 𝔘𝔫𝔦"
    assert sheet["C3"].value == 7 and sheet["C2"].value is None
    assert sheet["D3"].value == pytest.approx(1 / 7) and sheet["D3"].number_format == "0%"
    assert sheet["F2"].value is True and sheet["F3"].value is False
    assert sheet["G2"].value == dt.datetime(2015, 9, 1)
    assert sheet["G2"].number_format == "dd/mm/yyyy"
    assert sheet["H3"].value == dt.datetime(2026, 1, 5, 10, 30)
    assert sheet["I2"].value is None and sheet["I2"].fill.fgColor.rgb.endswith("FFF9D6")
    assert sheet["I3"].value == "4b" and sheet["I3"].alignment.horizontal == "center"
    assert sheet["J2"].fill.fgColor.rgb.endswith("F4B6B6")  # red status
    assert sheet["J4"].fill.fill_type is None  # no status colour on that row
    assert sheet["B2"].comment.text == "why 0 & <why>" and sheet["B3"].comment is None
    assert sheet.max_row == 1 + 12 + 2 + 1 + 3  # header, pupils, gap, title, header, totals


def test_text_that_looks_like_rich_text_xml_is_kept_as_text(tmp_path, monkeypatch):
    # xlsxwriter copies such text into the XML as it is; the row writer escapes it.
    frame = pd.DataFrame({"upn": ["A", "B"], "text": ["<r><t>bold</t></r>", "<r>x</r>"]})
    monkeypatch.setattr(wb, "ROW_WRITER", wb._RowXml)
    wb.write_workbook(
        tmp_path / "r.xlsx", [wb.Sheet("T", frame)], readme=wb.ReadMe(title="t"), about=[]
    )
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["T"]
    assert sheet["B2"].value == "<r><t>bold</t></r>"  # a row written as XML
    assert sheet["B3"].value == "<r>x</r>"  # the last row, which xlsxwriter would have taken


_cells = st.one_of(
    st.none(),
    st.text(max_size=12).filter(lambda t: not (t.startswith("<r>") and t.endswith("</r>"))),
    st.text(alphabet="Wa \n", min_size=30, max_size=90),  # wrapped in "b": rows given heights
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=1, max_size=9))
def test_any_mix_of_values_is_byte_identical(tmp_path_factory, monkeypatch, rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "target"], dtype=object)
    folder = tmp_path_factory.mktemp("mix")
    for writer, name in ((wb._CellByCell, "cells.xlsx"), (wb._RowXml, "rows.xlsx")):
        monkeypatch.setattr(wb, "ROW_WRITER", writer)
        monkeypatch.setattr(wb, "CHUNK_ROWS", 4)
        sheet = wb.Sheet("T", frame, editable=["target"], align={"a": "center"}, wrap=["b"])
        wb.write_workbook(folder / name, [sheet], readme=wb.ReadMe(title="t"), about=[])
    reference, fast = _parts(folder / "cells.xlsx"), _parts(folder / "rows.xlsx")
    assert fast == reference


def _about(path) -> dict:
    return dict(openpyxl.load_workbook(path)["About"].iter_rows(min_row=2, values_only=True))


def test_the_writer_is_chosen_by_environment_variable_and_recorded_in_about(tmp_path, monkeypatch):
    import xlsxwriter
    from helpers import cli

    from targetkit.commands.demo import _write_cohort
    from targetkit.demo import primary_cohort

    cohort = _write_cohort(tmp_path / "c.xlsx", "c", primary_cohort(8), 2026, True)
    version = xlsxwriter.__version__
    monkeypatch.delenv(wb.BACKEND_VARIABLE, raising=False)
    assert cli("-q", "set-targets", cohort, "-o", tmp_path / "a.xlsx").exit_code in (0, 1)
    assert _about(tmp_path / "a.xlsx")["workbook writer"] == (
        f"xlsxwriter {version}, rows written as XML"
    )
    monkeypatch.setenv(wb.BACKEND_VARIABLE, "xlsxwriter-cells")
    assert cli("-q", "set-targets", cohort, "-o", tmp_path / "b.xlsx").exit_code in (0, 1)
    assert _about(tmp_path / "b.xlsx")["workbook writer"] == f"xlsxwriter {version}, cell by cell"
    a, b = _parts(tmp_path / "a.xlsx"), _parts(tmp_path / "b.xlsx")
    assert a["xl/worksheets/sheet1.xml"] == b["xl/worksheets/sheet1.xml"]  # the Targets sheet
    monkeypatch.setenv(wb.BACKEND_VARIABLE, "rust")
    refused = cli("set-targets", cohort, "-o", tmp_path / "d.xlsx")
    assert refused.exit_code == 2
    assert "TARGETKIT_XLSX_BACKEND='rust' is not a workbook writer" in refused.stderr
    assert "auto, xlsxwriter, xlsxwriter-cells" in refused.stderr
    assert not (tmp_path / "d.xlsx").exists()


def test_the_text_cache_starting_afresh_changes_nothing(tmp_path, monkeypatch):
    # Texts of 8 characters or more are never looked up, and the cache starts afresh every
    # 3 entries: the file is still byte for byte xlsxwriter's.
    monkeypatch.setattr(wb, "CACHED_TEXT", 8)
    monkeypatch.setattr(wb, "CACHED_TEXTS", 3)
    _same_files(tmp_path, _frame(40), monkeypatch)


def test_a_wrapped_row_has_its_height_in_both_writers(tmp_path, monkeypatch):
    # "b" is held to 12 wide (wrap_width): 11 digits a line. Each 40-letter word is 34 digits
    # (0.85 a small letter): 4 lines (11 + 11 + 11 + 1), so the row needs 8 lines; the row's
    # height is in both writers' files, byte for byte the same.
    frame = pd.DataFrame({"a": ["x", "y"], "b": ["short", "a" * 40 + " " + "a" * 40]})
    for writer, name in ((wb._CellByCell, "cells.xlsx"), (wb._RowXml, "rows.xlsx")):
        monkeypatch.setattr(wb, "ROW_WRITER", writer)
        sheet = wb.Sheet("T", frame, wrap=["b"], wrap_width=12)
        wb.write_workbook(tmp_path / name, [sheet], readme=wb.ReadMe(title="t"), about=[])
        rows = openpyxl.load_workbook(tmp_path / name)["T"].row_dimensions
        assert rows[3].height == 8 * 15, name
        assert rows[2].height is None, name  # "short": one line, the default height
    assert _parts(tmp_path / "rows.xlsx") == _parts(tmp_path / "cells.xlsx")
