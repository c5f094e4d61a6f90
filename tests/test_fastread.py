"""fastread.table_body gives exactly what io's row loop gives, so io.py can call it (issue #8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

import targetkit.io as tio
from targetkit.fastread import table_body


def reference_body(body, width, first_row_number, headers):
    """io._table_from_rows' loop as it stands (the oracle), returning the same four things."""
    numbers, kept, blank = [], [], []
    for offset, row in enumerate(body):
        row_number = first_row_number + offset
        if any(value is not None for value in row):
            kept.append(list(row) + [None] * (width - len(row)))
            numbers.append(row_number)
        else:
            blank.append(row_number)
    keep = [
        i
        for i, name in enumerate(headers)
        if name is not None or any(r[i] is not None for r in kept)
    ]
    return [[row[i] for i in keep] for row in kept], numbers, blank, keep


def table_from_rows_with_fastread(path, rows, is_known_header, sheet=None):
    """io._table_from_rows with the proposed change (docs/performance.md) applied."""
    header_index = tio.find_header_row(rows, is_known_header)
    if header_index is None:
        return tio._table_from_rows(path, rows, is_known_header, sheet)  # raises the same error
    raw_header = rows[header_index]
    width = max((len(row) for row in rows[header_index:]), default=0)
    headers = tio._headers(
        path, list(raw_header) + [None] * (width - len(raw_header)), header_index
    )
    kept, numbers, blank, keep = table_body(
        rows[header_index + 1 :], width, header_index + 2, headers
    )
    names = [headers[i] or f"unnamed_{tio.column_letter(i)}" for i in keep]
    frame = pd.DataFrame(
        kept if kept else None,
        columns=names,
        index=pd.Index(numbers, name="source_row", dtype="int64"),
        dtype=object,
    )
    return tio.Table(frame, path, sheet, header_index + 1, blank)


cells = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(-5, 50),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
)


@settings(max_examples=200, deadline=None)
@given(
    body=st.lists(st.lists(cells, max_size=6), max_size=12),
    header_flags=st.lists(st.booleans(), min_size=6, max_size=6),
    first=st.integers(2, 40),
)
def test_table_body_matches_the_row_loop_of_io_on_any_cells(body, header_flags, first):
    width = max((len(row) for row in body), default=0)
    headers = [f"h{i}" if flag else None for i, flag in enumerate(header_flags[:width])]
    assert table_body(body, width, first, headers) == reference_body(body, width, first, headers)


def test_blank_rows_are_listed_and_padding_columns_dropped():
    # Worked by hand: the header is row 3, so the body starts at row 4. Row 5 is blank; column
    # C has no header and no data (padding), column D has no header but a value in row 6.
    body = [["A1", 3, None, None], [None, None, None, None], ["2b", None, None, "x"]]
    headers = ["upn", "reading_ks1", None, None]
    kept, numbers, blank, keep = table_body(body, 4, 4, headers)
    assert keep == [0, 1, 3]
    assert kept == [["A1", 3, None], ["2b", None, "x"]]
    assert numbers == [4, 6]
    assert blank == [5]


def test_short_rows_are_padded_not_changed_in_place():
    body = [["B801", 4], ["B802", 5, "2b"]]
    kept, numbers, blank, keep = table_body(body, 3, 2, ["upn", "maths_ks1", "reading_ks1"])
    assert (numbers, blank, keep) == ([2, 3], [], [0, 1, 2])
    assert kept == [["B801", 4, None], ["B802", 5, "2b"]]
    assert body[0] == ["B801", 4]  # the reader's row is left as it was


def _awkward_workbook(path: Path) -> None:
    """Title rows, a grade column of numbers that later has `2b`, dates, blank rows."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Pupils")
    dates = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_string(0, 0, "Pupil Details Report")
    sheet.write_string(1, 0, "Printed 12/09/2026")
    for column, name in enumerate(["UPN", "Legal Surname", "Reading KS1", "DOB", "Attendance"]):
        sheet.write_string(3, column, name)
    grades = [3, 4, 2, 3] * 300 + ["2b", "W", None, "3"]
    for offset, grade in enumerate(grades):
        row = 4 + offset + (offset >= 600)  # a blank row in the middle (row 605 in Excel)
        sheet.write_string(row, 0, f"B8012000{offset:05d}")
        sheet.write_string(row, 1, "=1+1" if offset == 7 else f"Surname{offset}")
        if isinstance(grade, int):
            sheet.write_number(row, 2, grade)
        elif grade is not None:
            sheet.write_string(row, 2, grade)
        sheet.write_datetime(row, 3, dt.datetime(2015, 9, 1) + dt.timedelta(days=offset), dates)
        sheet.write_number(row, 4, 96.5 if offset % 2 else 100)
    sheet.write_string(4 + len(grades) + 2, 6, "stray")  # a value in a header-less column
    workbook.close()


def _awkward_csv(path: Path) -> None:
    lines = ["Pupil Details Report", "Printed 12/09/2026", "", "UPN,Legal Surname,Reading KS1,DOB"]
    lines += [f"B80120000{i:04d},Name{i},{g},01/09/2015" for i, g in enumerate([3, 4] * 50)]
    lines += ["", "B801200009999,Last,2b,31/08/2016,extra", ",,,"]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


@pytest.mark.parametrize("make, name", [(_awkward_workbook, "a.xlsx"), (_awkward_csv, "a.csv")])
def test_read_table_gives_the_same_table_with_fastread(tmp_path, monkeypatch, make, name):
    path = tmp_path / name
    make(path)
    expected = tio.read_table(path)
    monkeypatch.setattr(tio, "_table_from_rows", table_from_rows_with_fastread)
    got = tio.read_table(path)
    pd.testing.assert_frame_equal(got.frame, expected.frame, check_exact=True)
    assert [type(v) for v in got.frame.to_numpy().ravel()] == [
        type(v) for v in expected.frame.to_numpy().ravel()
    ]
    assert (got.header_row, got.blank_rows, got.sheet) == (
        expected.header_row,
        expected.blank_rows,
        expected.sheet,
    )
    # And what the table must hold (worked by hand from the writer above): the header is row 4,
    # the grade column keeps 3 as a number and the later `2b` as text, nothing is lost.
    assert got.header_row == 4
    grades = got.frame["Reading KS1"]
    assert "2b" in grades.tolist()
    if name.endswith(".xlsx"):
        # 1,204 pupils (Excel rows 5-604 and 606-1209), the stray value in row 1211 is a row
        # too; rows 605 and 1210 are blank.
        assert grades.iloc[0] == 3 and type(grades.iloc[0]) is int
        assert len(got.frame) == 1205 and got.blank_rows == [605, 1210]
        assert got.frame["DOB"].iloc[0] == dt.date(2015, 9, 1)
        assert got.frame.loc[12, "Legal Surname"] == "=1+1"  # row 12 in Excel: offset 7
        assert "unnamed_G" in got.frame.columns
    else:
        # 100 pupils in rows 5-104, a blank row 105, the last pupil (with an extra field) in
        # row 106 and an all-empty row 107.
        assert grades.iloc[0] == "3"
        assert len(got.frame) == 101 and got.blank_rows == [105, 107]
        assert got.frame.loc[106, "unnamed_E"] == "extra"
