"""The workbooks a head teacher reads show every label whole and print the pupils on few pages.

A wrapped cell's row is given the height its text needs (`wrapping.wrapped_lines`), since neither
Excel nor LibreOffice grows a row a file gives no height; the report's Pupils sheet prints the
pupils' names and the report's columns, the tracking file's own columns kept in the sheet.
"""

from __future__ import annotations

import openpyxl
import pytest
from helpers import ROOT, cli
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import column_index_from_string, get_column_letter

from targetkit.wrapping import (
    LINE_POINTS,
    fits_on_a_line,
    row_height,
    text_width,
    wrapped_lines,
)

EXAMPLES = ROOT / "examples"
XLSX_PADDING = 0.7109375  # 5 pixels of 7: xlsxwriter writes a width of 40 as 40.7109375
OVERALL = "Overall 5 grades 9-4 incl. English and maths (the guidance's 5 A*-C)"


# --- the pure arithmetic, worked out by hand -------------------------------------------------


def test_text_width_weighs_capitals_wide_digits_one_and_small_letters_narrow():
    assert text_width("abc") == pytest.approx(3 * 0.85)
    assert text_width("AB") == pytest.approx(2 * 1.25)
    assert text_width("12") == 2
    assert text_width("m%") == pytest.approx(2 * 1.25)
    assert text_width("A1b") == pytest.approx(1.25 + 1 + 0.85)


def test_wrapped_lines_breaks_at_spaces_within_the_width_less_its_margin():
    # width 11: 10 digits a line. "aaaa" is 3.4; "aaaa aaaa" 3.4 + 0.85 + 3.4 = 7.65 fits;
    # a third word would make 11.9: it starts line 2.
    assert wrapped_lines("aaaa aaaa", 11) == 1
    assert wrapped_lines("aaaa aaaa aaaa", 11) == 2
    # 8 capitals are 10.0 (fits exactly); 9 are 11.25 (one word broken onto a second line)
    assert wrapped_lines("M" * 8, 11) == 1
    assert wrapped_lines("M" * 9, 11) == 2
    # a 40-letter word is 34 digits wide: 10 + 10 + 10 + 4, four lines
    assert wrapped_lines("x" * 40, 11) == 4
    # line breaks are kept; an empty text is one line
    assert wrapped_lines("a\nb\nc", 11) == 3
    assert wrapped_lines("", 11) == 1


def test_the_summary_label_takes_two_lines_in_a_column_40_wide():
    # The label is 60.4 digits wide (48 small letters/signs, 6 capitals, 6 digits... weighed
    # below); a 40-wide column holds 39: two lines, the break after "maths".
    assert text_width(OVERALL) == pytest.approx(60.4)
    assert wrapped_lines(OVERALL, 40) == 2
    assert wrapped_lines(OVERALL, 70) == 1


def test_row_height_is_fifteen_points_a_line_within_excels_limit():
    assert row_height(1) == LINE_POINTS == 15
    assert row_height(3) == 45
    assert row_height(0) == 15
    assert row_height(100) == 409  # Excel's tallest row


def test_fits_on_a_line_only_when_even_capitals_would_fit():
    assert fits_on_a_line("a" * 8, 11)  # 8 × 1.25 = 10 ≤ 10
    assert not fits_on_a_line("a" * 9, 11)
    assert not fits_on_a_line("a\nb", 11)


words = st.lists(st.text(alphabet="aAmW1 .,", min_size=1, max_size=15), min_size=1, max_size=12)


@given(words, st.integers(min_value=3, max_value=80))
def test_the_lines_hold_every_word_and_a_text_that_fits_is_one_line(parts, width):
    text = " ".join(parts)
    lines = wrapped_lines(text, width)
    assert lines >= 1
    # every line holds at most a line's width of the words' letters
    assert sum(text_width(w) for w in text.split(" ")) <= lines * (width - 1) + 1e-9
    if fits_on_a_line(text, width):
        assert lines == 1


@given(words, st.integers(min_value=3, max_value=79))
def test_a_wider_column_never_needs_more_lines(parts, width):
    text = " ".join(parts)
    assert wrapped_lines(text, width + 1) <= wrapped_lines(text, width)


# --- the workbooks ----------------------------------------------------------------------------


def _column_width(sheet, column: int) -> float:
    """A column's width as targetkit set it: xlsxwriter writes one <col> for a run of equal
    columns, and adds Excel's 5 pixels of padding (0.71 of a digit) to the width in the file."""
    for dimension in sheet.column_dimensions.values():
        if dimension.min and dimension.min <= column <= dimension.max:
            return dimension.width - XLSX_PADDING
    raise AssertionError(f"no width for column {column}")


def _shows_whole(sheet, cell) -> None:
    """The cell's text fits its column, or it wraps and its row is tall enough for it."""
    if any(cell.coordinate in merged for merged in sheet.merged_cells.ranges):
        return  # an opening sentence across a few columns (test_opening_sentences_…)
    width = _column_width(sheet, cell.column)
    if wrapped_lines(cell.value, width) == 1:
        return
    assert cell.alignment.wrap_text, cell.coordinate
    height = sheet.row_dimensions[cell.row].height
    assert height is not None and height >= 15 * wrapped_lines(cell.value, width), (
        cell.coordinate,
        height,
    )


def _written(tmp_path_factory, command: str, example: str):
    """The workbook `command` writes from an example file."""
    out = tmp_path_factory.mktemp(command) / "out.xlsx"
    result = cli(command, EXAMPLES / example, "-o", out)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def secondary_targets(tmp_path_factory):
    return _written(tmp_path_factory, "set-targets", "secondary-cohort.xlsx")


def test_the_summarys_overall_label_wraps_in_a_row_tall_enough(secondary_targets):
    book = openpyxl.load_workbook(secondary_targets)
    sheet = book["Summary"]
    (cell,) = [c for row in sheet.iter_rows() for c in row if c.value == OVERALL]
    assert cell.column == 1  # the label column, repeated on every printed page
    assert _column_width(sheet, 1) == pytest.approx(40, abs=0.01)  # the longest label's, to 40
    assert cell.alignment.wrap_text
    assert sheet.row_dimensions[cell.row].height == 30  # two lines (worked out above)
    # the threshold beside it, "5 grades 9-4 incl. English and maths (the guidance's 5
    # A*-C)", wraps too; every other label and threshold fits on its line
    for row in sheet.iter_rows(min_row=cell.row - 8, max_row=cell.row + 3, max_col=3):
        for other in row:
            if isinstance(other.value, str):
                _shows_whole(sheet, other)
    by_group = book["Summary by group"]
    for row in by_group.iter_rows(min_row=2):
        for other in row:
            if isinstance(other.value, str) and "5 A*-C" in other.value:
                _shows_whole(by_group, other)


def test_read_me_and_about_rows_are_as_tall_as_their_wrapped_text(secondary_targets):
    book = openpyxl.load_workbook(secondary_targets)
    for name in ("Read me", "About"):
        sheet = book[name]
        checked = 0
        for row in sheet.iter_rows():
            for cell in row:
                merged = any(cell.coordinate in r for r in sheet.merged_cells.ranges)
                if isinstance(cell.value, str) and not merged and cell.row > 1:
                    _shows_whole(sheet, cell)
                    checked += wrapped_lines(cell.value, _column_width(sheet, cell.column)) > 1
        assert checked, f"{name}: no wrapped text to check"


def test_school_names_are_shown_whole_on_the_la_sheets(tmp_path):
    out = tmp_path / "la.xlsx"
    result = cli("check-ambition", EXAMPLES / "submissions", "-o", out, "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out)
    longest = "100003 Riverside Community Primary"  # 34 characters, cut at 30 before
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if cell.value == longest:
                    assert _column_width(sheet, cell.column) >= len(longest) + 2
                    seen += 1
    assert seen >= 3
    # the findings' messages wrap in rows tall enough (the File column holds the submission's
    # path, as long as the folder it is in: it may be cut, the School column names the school)
    challenges = book["Challenges"]
    message = [c.value for c in challenges[1]].index("Message") + 1
    long_messages = 0
    for (cell,) in challenges.iter_rows(min_row=2, min_col=message, max_col=message):
        if isinstance(cell.value, str) and len(cell.value) > 60:
            _shows_whole(challenges, cell)
            long_messages += 1
    assert long_messages >= 3
    book.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return _written(tmp_path_factory, "report", "steps-tracking.xlsx")


def test_the_report_pupils_sheet_prints_names_and_the_reports_columns_only(report):
    tracking = openpyxl.load_workbook(EXAMPLES / "steps-tracking.xlsx", read_only=True)
    try:
        own = [c for c in next(tracking.worksheets[0].iter_rows(values_only=True)) if c]
    finally:
        tracking.close()
    sheet = openpyxl.load_workbook(report)["Pupils"]
    headers = [c.value for c in sheet[1]]
    # nothing lost: every column of the tracking file, in its order, under its own name
    assert headers[: len(own)] == own
    assert headers[len(own)] == "Reading now"  # then the report's columns
    assert sheet.max_row == 31  # 30 pupils
    # printed: the name columns on every page, then the report's columns from "Reading now"
    assert sheet.print_title_cols == "$A:$D"
    assert headers[:4] == ["upn", "pupil_id", "surname", "forename"]
    first = get_column_letter(len(own) + 1)
    last = get_column_letter(len(headers))
    assert sheet.print_area == f"'Pupils'!${first}$1:${last}$31"
    # a subject a page: the page breaks fall where writing and maths start
    breaks = sorted(b.id for b in sheet.col_breaks.brk)
    starts = [headers.index(f"{s} now") for s in ("Writing", "Maths")]
    assert breaks == starts  # openpyxl's break id: the 0-based column the page starts at
    assert sheet.page_setup.orientation == "landscape"
    assert column_index_from_string(first) - 1 not in breaks


def test_key_questions_rows_are_as_tall_as_their_wrapped_questions(report):
    sheet = openpyxl.load_workbook(report)["Key questions"]
    tall = 0
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.alignment.wrap_text:
                _shows_whole(sheet, cell)
                tall += sheet.row_dimensions[cell.row].height is not None
    assert tall
