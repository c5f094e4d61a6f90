"""`targetkit report` through the command line: exit codes, output, and the workbook it writes.

The tracking data are the hand-worked pupils of test_report.py (Year 4, maths, drops to spr1).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import cli, run_targetkit
from test_report import PLANTED, planted_frame

REPORT_NAME = "report-y4-spr1.xlsx"


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    path = tmp_path / "tracking.csv"
    planted_frame().to_csv(path, index=False)
    return path


def test_report_writes_one_workbook_named_by_year_and_term(planted: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "reports"
    out_dir.mkdir()
    result = cli("report", planted, "-o", out_dir)
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in out_dir.iterdir()] == [REPORT_NAME]
    # One summary line; 7 pupils with a grade at spr1 (Gus absent): on track or ahead Amy, Ben,
    # Dee, Eli = 4; behind Cal, Fay, Hal = 3.
    lines = result.stdout.strip().splitlines()  # the result on stdout, nothing on stderr
    assert len(lines) == 1
    assert "8 pupils (Year 4), spr1 (the latest drop with data)" in lines[0]
    assert "4 of 7 pupil-subjects on track or ahead, 3 behind" in lines[0]
    assert "targets from the steps policy" in lines[0]
    assert result.stderr == ""


def test_workbook_has_the_sheets_fills_comments_and_charts(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert cli("report", planted, "-o", out).exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:7] == [
        "Summary",
        "Key questions",
        "Pupils",
        "Groups",
        "Expected",
        "Read me",
        "About",
    ]
    pupils = book["Pupils"]
    header = [c.value for c in pupils[1]]
    # The input's own columns first, unchanged, then the report's.
    original = list(planted_frame().columns)
    assert header[: len(original)] == original
    assert header[len(original) :] == [
        "Maths now",
        "Maths milestone now",
        "Maths end-of-year target",
        "Maths steps made",
        "Maths status",
        "Maths flags",
    ]
    rows = list(pupils.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(PLANTED)
    assert [r[original.index("Forename")] for r in rows] == [p[0].split()[0] for p in PLANTED]
    assert rows[6][original.index("maths_spr1")] == "A"  # Gus's absence code kept as typed
    status = header.index("Maths status")
    assert [r[status] for r in rows] == [
        "on track",
        "ahead",
        "behind",
        "on track",
        "on track",
        "behind",
        "no data",
        "behind",
    ]
    # Dee: current 3s+, milestone 18 = 3s+, target 22 = 4w+.
    dee = rows[3]
    assert dee[header.index("Maths now") : header.index("Maths steps made") + 1] == (
        "3s+",
        "3s+",
        "4w+",
        3,
    )
    assert dee[header.index("Maths flags")] == "REGRESSED; NOT_ON_TRACK; CATCH_UP"
    # RAG colours by status text on the status column, with a key on Read me.
    letter = openpyxl.utils.get_column_letter(status + 1)
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for ranges in pupils.conditional_formatting
        if str(ranges.sqref).startswith(letter)
        for rule in ranges.rules
    }
    assert rules['"behind"'].endswith("F4B6B6")  # red
    assert rules['"on track"'].endswith("C6E9C0")  # green
    assert rules['"ahead"'].endswith("CFE2F3")  # blue
    comment = pupils.cell(row=5, column=status + 1).comment
    assert comment is not None
    assert comment.text == "Now 3s+; milestone 3s+; target 4w+; 4 steps needed, 3 half terms left."
    readme = [c.value for c in book["Read me"]["A"] if c.value]
    assert "Colour key" in readme and "red" in readme
    with zipfile.ZipFile(out) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 2
    summary = book["Summary"]
    # All pupils: 4 of 7 with a grade on track or ahead; Gus (absent) has none; 3 behind.
    assert summary["A1"].value.startswith(
        "Maths: 4 of 7 pupils with a grade at spring 1 (57%) are on track or ahead of their "
        "milestone; 3 are behind"
    )
    # Year 4's expectation at spring 1: 3s (17) + 3 of the 6 steps to 4s = 20 (4b+); of the
    # seven graded at spring 1 only Amy (4b+) and Ben (4w+) are at or above it.
    assert summary["A2"].value == (
        "Maths: 2 of 7 pupils (29%) are at or above the age-related expectation at spring 1."
    )
    assert [c.value for c in summary[4]][:3] == ["Group", "Pupils", "Maths: % on track"]
    assert summary["C5"].value == pytest.approx(4 / 7) and summary["C5"].number_format == "0%"
    # the attainment table is below the first one, never beside it in the same rows
    drops = next(r for r in range(5, 40) if summary.cell(r, 1).value == "Data drop")
    assert summary.cell(drops - 1, 1).value == "Attainment at each data drop"
    assert all(summary.cell(r, 5).value is None for r in range(1, drops + 8))
    about = {r[0]: r[1] for r in book["About"].iter_rows(min_row=2, values_only=True)}
    assert about["term"] == "spr1 (the latest drop with data)"
    assert about["academic year"].startswith("2026/27")


def test_key_questions_sheet_lists_pupils_with_counts(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert cli("report", planted, "-o", out).exit_code == 0
    sheet = openpyxl.load_workbook(out)["Key questions"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    act_now = [(r[3].split(" (")[0], r[9]) for r in rows if r[0] == 5]
    assert act_now == [("Dee Regressed", 1), ("Cal Stalled", 2), ("Hal Poor", 3), ("Fay Behind", 4)]
    counts = {r[0]: r[2] for r in rows}
    assert counts == {1: 3, 2: 2, 3: 2, 4: 5, 5: 4}


def test_json_prints_the_summary_and_findings(planted: Path, tmp_path: Path) -> None:
    result = cli("report", planted, "-o", tmp_path / "r.xlsx", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["command"] == "report"
    data = document["summary"]
    assert data["term"] == "spr1" and data["academic_year"] == "2026/27"
    assert data["counts"]["regressed"] == 1
    assert {f["code"] for f in document["findings"]} >= {"REGRESSED", "STALLED", "NOT_ON_TRACK"}
    assert data["by_severity"]["challenge"] == sum(
        f["severity"] == "challenge" for f in document["findings"]
    )


def test_fail_on_sets_exit_1_only_when_asked(planted: Path, tmp_path: Path) -> None:
    # Dee's REGRESSED is a challenge: --fail-on challenge exits 1, the default never exits 0.
    assert cli("report", planted, "-o", tmp_path / "a.xlsx").exit_code == 0
    failed = cli("report", planted, "-o", tmp_path / "b.xlsx", "--fail-on", "challenge")
    assert failed.exit_code == 1
    assert (tmp_path / "b.xlsx").exists()  # the report is still written


def test_existing_report_is_not_overwritten_without_force(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert cli("report", planted, "-o", out).exit_code == 0
    before = out.read_bytes()
    again = cli("report", planted, "-o", out)
    assert again.exit_code == 2
    assert "the output already exists" in again.stderr and "--force" in again.stderr
    assert out.read_bytes() == before
    assert cli("report", planted, "-o", out, "--force").exit_code == 0


def test_bad_input_is_one_line_naming_the_place(tmp_path: Path) -> None:
    frame = planted_frame()
    frame.loc[0, "maths_aut1"] = "3q"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = cli("report", path, "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "row 2, column 'maths_aut1': '3q' is not a steps grade" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.xlsx").exists()


def test_input_is_never_changed(planted: Path, tmp_path: Path) -> None:
    before = planted.read_bytes()
    assert cli("report", planted, "-o", tmp_path / "r.xlsx").exit_code == 0
    assert planted.read_bytes() == before


def test_subprocess_without_a_terminal_prints_no_escape_codes(
    planted: Path, tmp_path: Path
) -> None:
    completed = run_targetkit("report", planted, "-o", tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.startswith(f"Wrote {tmp_path / REPORT_NAME}:")
    assert len(completed.stdout.strip().splitlines()) == 1
    assert not re.search(r"\x1b\[", completed.stdout + completed.stderr)


def test_demo_tracking_workbook_gives_a_full_report(tmp_path: Path) -> None:
    from targetkit.demo import steps_tracking

    frame = steps_tracking(40, year_group=5, drops=6, seed=11)
    path = tmp_path / "steps-tracking.xlsx"
    frame.to_excel(path, index=False)
    result = cli("report", path, "-o", tmp_path, "--academic-year", "2026/27")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(tmp_path / "report-y5-sum2.xlsx")
    pupils = pd.DataFrame(book["Pupils"].values)
    assert len(pupils) == 41  # header + every pupil
    statuses = set(pupils.iloc[1:, list(pupils.iloc[0]).index("Reading status")])
    assert statuses <= {"ahead", "on track", "behind", "no data"}
    groups = [c.value for c in book["Groups"]["C"]][1:]
    assert set(groups) == {
        "autumn 1",
        "autumn 2",
        "spring 1",
        "spring 2",
        "summer 1",
        "summer 2",
    }


def test_pseudonymised_report_names_no_pupil(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGETKIT_KEY", "a-school-secret-of-enough-length")
    out = tmp_path / "r.xlsx"
    result = cli("report", planted, "-o", out, "--pseudonymise", "--format", "json")
    assert result.exit_code == 0, result.stderr
    names = [n for p in PLANTED for n in p[0].split()]
    upns = list(planted_frame()["UPN"])
    book = openpyxl.load_workbook(out)
    cells = [
        str(v)
        for sheet in ("Pupils", "Key questions", "Groups", "Summary")
        for row in book[sheet].iter_rows(values_only=True)
        for v in row
        if v is not None
    ]
    text = "\n".join(cells) + result.stdout
    assert not [n for n in names + upns if n in text]
    questions = [r[3] for r in book["Key questions"].iter_rows(min_row=2, values_only=True)]
    assert all(re.fullmatch(r"P-[0-9A-F]{12}", q) for q in questions if q != "(none)")
    # Statuses are unchanged by pseudonymising.
    header = [c.value for c in book["Pupils"][1]]
    status = [
        r[header.index("Maths status")]
        for r in book["Pupils"].iter_rows(min_row=2, values_only=True)
    ]
    assert status.count("behind") == 3


def test_header_only_tracking_and_targets_without_targets_are_refused(
    planted: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    planted_frame().head(0).to_csv(empty, index=False)
    result = cli("report", empty, "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 2
    assert f"{empty}: the tracking sheet has no pupil rows" in result.stderr
    not_targets = tmp_path / "cohort.csv"
    pd.DataFrame({"UPN": ["A801200222000"], "maths_ks1": ["2b"]}).to_csv(not_targets, index=False)
    result = cli("report", planted, "--targets", not_targets, "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 2
    assert "no target columns for maths (expected e.g. maths_target)" in result.stderr
