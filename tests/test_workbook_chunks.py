"""workbook.py writes rows a chunk at a time (issue #8, memory): the file is the same."""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pandas as pd

import targetkit.workbook as wb


def _cohort(rows: int) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    frame = pd.DataFrame(
        {
            "upn": [f"B8012000{i:05d}" for i in range(rows)],
            "surname": ["=1+1" if i == 3 else f"Name{i}" for i in range(rows)],
            "dob": [dt.date(2015, 9, 1) + dt.timedelta(days=i) for i in range(rows)],
            "attendance": np.where(np.arange(rows) % 5 == 0, np.nan, 96.5),
            "year_group": np.full(rows, 6, dtype="int64"),
            "fsm": np.arange(rows) % 3 == 0,
            "reading_target": pd.Series(
                [None if i % 4 == 0 else "4b" for i in range(rows)], dtype="str"
            ),
        }
    )
    comments = {
        "reading_target": pd.Series(
            [None if i % 2 else f"KS1 2b; rule +2 levels ({i})" for i in range(rows)]
        )
    }
    return frame, comments


def _write(path, frame, comments):
    sheet = wb.Sheet(
        "Targets",
        frame,
        comments=comments,
        editable=["reading_target"],
        dropdowns={"reading_target": ["3c", "3b", "4b"]},
        fills={"reading_target": {"4b": "green"}},
        number_formats={"attendance": "0.0"},
    )
    wb.write_workbook(path, [sheet], readme=wb.ReadMe(title="t"), about=[("rows", len(frame))])


def _parts(path):
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name != "docProps/core.xml"  # holds the time of writing
        }


def test_writing_in_chunks_gives_byte_identical_sheets(tmp_path, monkeypatch):
    # 23 rows in chunks of 7 cross three chunk boundaries (rows 8, 15 and 22 in Excel).
    frame, comments = _cohort(23)
    monkeypatch.setattr(wb, "CHUNK_ROWS", 10**9)  # one chunk: the whole sheet at once, as before
    _write(tmp_path / "whole.xlsx", frame, comments)
    monkeypatch.setattr(wb, "CHUNK_ROWS", 7)
    _write(tmp_path / "chunked.xlsx", frame, comments)
    whole, chunked = _parts(tmp_path / "whole.xlsx"), _parts(tmp_path / "chunked.xlsx")
    assert whole.keys() == chunked.keys()
    for name in whole:
        assert chunked[name] == whole[name], name


def test_every_row_and_comment_arrives_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(wb, "CHUNK_ROWS", 7)
    frame, comments = _cohort(23)
    _write(tmp_path / "chunked.xlsx", frame, comments)
    sheet = openpyxl.load_workbook(tmp_path / "chunked.xlsx")["Targets"]
    assert sheet.max_row == 24  # header + 23 pupils
    # Pupil i is in Excel row i + 2; worked from _cohort: the upn, the formula-like surname kept
    # as text, dates, blank attendance every fifth pupil, a comment on every even pupil.
    assert [sheet.cell(i + 2, 1).value for i in range(23)] == frame["upn"].tolist()
    assert sheet["B5"].value == "=1+1" and sheet["B5"].data_type == "s"
    assert sheet["C9"].value == dt.datetime(2015, 9, 8)
    assert sheet["D7"].value is None and sheet["D8"].value == 96.5
    assert sheet["G9"].comment is None  # pupil 7: odd, no comment
    assert sheet["G10"].comment.text == "KS1 2b; rule +2 levels (8)"  # across the 7-row chunk
    assert sheet["G24"].comment.text == "KS1 2b; rule +2 levels (22)"
    assert sum(1 for row in sheet.iter_rows() for cell in row if cell.comment) == 12
