"""Every workbook explains itself: frozen filtered header, comments, drop-downs, fills, charts."""

from __future__ import annotations

import zipfile

import openpyxl
import pandas as pd
import xlsxwriter

from targetkit.workbook import Chart, ReadMe, Sheet, write_workbook


def make_workbook(tmp_path):
    frame = pd.DataFrame(
        {
            "upn": ["B801200005001", "H801200001001", "P207000016049"],
            "surname": ["O'Brien", "Zoë", "=1+1"],
            "maths_target": ["4b", "5c", "4"],
            "status": ["on track", "behind", "ahead"],
            "percent": [0.5, 0.25, 1.0],
        }
    )
    comments = {"maths_target": pd.Series(["KS1 2b; rule: +2 levels → L4", None, "why 3"])}
    sheet = Sheet(
        "Targets",
        frame,
        descriptions={"maths_target": "The target; edit it to moderate.", "status": "RAG status."},
        comments=comments,
        dropdowns={"maths_target": ["W", "3", "4c", "4b", "4a", "4", "5c"] * 20},
        fills={"status": {"behind": "red", "on track": "amber", "ahead": "green"}},
        number_formats={"percent": "0%"},
        editable=["maths_target"],
        charts=[Chart("Percent by pupil", categories="upn", values=["percent"], percent=True)],
        freeze_columns=2,
    )
    out = tmp_path / "book.xlsx"
    write_workbook(
        out,
        [sheet],
        readme=ReadMe("Targets workbook", lines=["Line one."], key=[("red", "behind")]),
        about=[("targetkit version", "0.1.0"), ("pupils", 3)],
    )
    return out


def test_header_is_frozen_and_filtered_and_cells_are_kept(tmp_path):
    book = openpyxl.load_workbook(make_workbook(tmp_path))
    assert book.sheetnames[:3] == ["Targets", "Read me", "About"]
    sheet = book["Targets"]
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == "A1:E4"
    assert [c.value for c in sheet[1]] == ["upn", "surname", "maths_target", "status", "percent"]
    assert sheet["B4"].value == "=1+1" and sheet["B4"].data_type == "s"
    assert sheet["E2"].value == 0.5 and sheet["E2"].number_format == "0%"
    assert sheet.column_dimensions["A"].width >= len("B801200005001")


def test_comments_say_why(tmp_path):
    sheet = openpyxl.load_workbook(make_workbook(tmp_path))["Targets"]
    assert sheet["C2"].comment.text == "KS1 2b; rule: +2 levels → L4"
    assert sheet["C3"].comment is None
    assert sheet["C4"].comment.text == "why 3"


def test_dropdown_list_lives_on_a_hidden_sheet_because_it_is_long(tmp_path):
    book = openpyxl.load_workbook(make_workbook(tmp_path))
    validations = book["Targets"].data_validations.dataValidation
    assert len(validations) == 1
    assert validations[0].type == "list"
    assert str(validations[0].sqref) == "C2:C4"
    assert validations[0].formula1 == "Lists!$A$1:$A$140"
    lists = book["Lists"]
    assert lists.sheet_state == "hidden"
    assert lists["A1"].value == "W" and lists["A140"].value == "5c"


def test_status_cells_get_red_amber_green_fills_and_a_key(tmp_path):
    book = openpyxl.load_workbook(make_workbook(tmp_path))
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for ranges in book["Targets"].conditional_formatting
        for rule in ranges.rules
    }
    assert rules == {'"behind"': "FFF4B6B6", '"on track"': "FFFFE0A3", '"ahead"': "FFC6E9C0"}
    readme = [row for row in book["Read me"].iter_rows(values_only=True)]
    assert ("Targets", "maths_target", "The target; edit it to moderate.") in readme
    assert ("red", "behind", None) in readme
    about = list(book["About"].iter_rows(values_only=True))
    writer = f"xlsxwriter {xlsxwriter.__version__}, rows written as XML"
    assert about == [
        ("Item", "Value"),
        ("targetkit version", "0.1.0"),
        ("pupils", 3),
        ("workbook writer", writer),
    ]


def test_a_native_chart_is_written(tmp_path):
    with zipfile.ZipFile(make_workbook(tmp_path)) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert charts == ["xl/charts/chart1.xml"]
        xml = archive.read(charts[0]).decode()
    assert "Targets'!$E$2:$E$4" in xml and "Percent by pupil" in xml


def test_sheets_print_landscape_on_a4_with_the_header_on_every_page(tmp_path):
    sheet = openpyxl.load_workbook(make_workbook(tmp_path))["Targets"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage  # 5 columns: one page wide
    # fitToWidth left out of the XML means its default, 1 page; fitToHeight 0 means any number
    assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)
