"""`set-targets -o NAME.csv`: the Targets sheet alone as CSV, for cohorts beyond Excel's rows."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from helpers import cli, run_targetkit

from targetkit.commands.demo import _write_cohort
from targetkit.demo import primary_cohort

PUPILS = 25


@pytest.fixture
def cohort(tmp_path):
    frame = primary_cohort(PUPILS)
    frame.loc[0, "surname"] = '=HYPERLINK("http://x","y")'  # a formula-like name
    frame.loc[1, "forename"] = "Zoë"
    frame.loc[2, "surname"] = "+44 7700"
    return _write_cohort(tmp_path / "cohort.xlsx", "c", frame, 2026, True)


def _csv_rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_csv_holds_the_targets_sheet_with_bom_and_neutralised_formulas(cohort, tmp_path):
    workbook, text = tmp_path / "targets.xlsx", tmp_path / "targets.csv"
    assert cli("-q", "set-targets", cohort, "-o", workbook).exit_code in (0, 1)
    done = cli("-q", "set-targets", cohort, "-o", text)
    assert done.exit_code in (0, 1), done.output
    assert text.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows ë
    rows = _csv_rows(text)
    header, body = rows[0], rows[1:]
    header[0] = header[0].removeprefix("\ufeff")
    assert len(body) == PUPILS  # every pupil, nothing else (no summary rows)
    book = openpyxl.load_workbook(workbook, read_only=True)  # read-only keeps the file open
    sheet_rows = [list(r) for r in book["Targets"].iter_rows(values_only=True)]
    book.close()
    assert header == [str(h) for h in sheet_rows[0]]  # the same columns, headers in words
    by_name = {name: i for i, name in enumerate(header)}
    surname, forename = by_name["surname"], by_name["forename"]
    assert body[0][surname] == '\'=HYPERLINK("http://x","y")'
    assert body[2][surname] == "'+44 7700"
    assert body[1][forename] == "Zoë"
    assert sheet_rows[1][surname] == '=HYPERLINK("http://x","y")'  # text in the workbook
    for subject in ("Reading", "Writing", "Maths"):
        column = by_name[f"{subject} target"]
        in_sheet = ["" if r[column] is None else str(r[column]) for r in sheet_rows[1:]]
        assert [r[column] for r in body] == in_sheet, subject
    upn = by_name["upn"]
    assert [r[upn] for r in body] == [r[upn] for r in sheet_rows[1:]]


def test_csv_from_a_real_process_says_where_it_wrote(cohort, tmp_path):
    out = tmp_path / "big-cohort-targets.csv"
    done = run_targetkit("set-targets", cohort, "-o", out)
    assert done.returncode in (0, 1), done.stderr
    assert str(out) in done.stdout
    assert len(_csv_rows(out)) == PUPILS + 1
    assert done.stderr.count("\x1b[") == 0  # off a terminal: no progress bar, no escapes


def test_another_file_type_is_refused_naming_both_kinds(cohort, tmp_path):
    done = cli("set-targets", cohort, "-o", tmp_path / "targets.txt")
    assert done.exit_code == 2
    assert "must be an .xlsx workbook or a .csv file" in done.stderr
    assert not (tmp_path / "targets.txt").exists()
