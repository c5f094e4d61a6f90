"""A report reads one scale a sheet (docs/report.md, issue 15 and its item on KS2 writing): a
sheet with a subject on another scale says so and what to do (exit 2, one line naming the file
and column); a slip among a subject's grades is judged on the scale the year group's policies
use and named by row and column, as any bad grade in a tracking sheet."""

from __future__ import annotations

import pandas as pd
from helpers import cli, run_targetkit

UPNS = ["A801200222001", "A801200222002"]


def tracking(path, year: int, **subjects: list[str]):
    """Two pupils; each subject's values are last summer's (2025) then autumn 1."""
    frame = pd.DataFrame({"UPN": UPNS, "Surname": ["One", "Two"], "Year Group": [year] * 2})
    for subject, (summer, autumn) in subjects.items():
        frame[f"{subject}_sum2_2025"] = summer
        frame[f"{subject}_aut1"] = autumn
    frame.to_csv(path, index=False)
    return path


def report(path, tmp_path):
    return cli(
        "report", path, "-o", tmp_path / "report.xlsx", "--academic-year", "2025/26", "--force"
    )


def test_ks2_writing_assessments_beside_scaled_scores_say_to_track_writing_on_its_own(tmp_path):
    sheet = tracking(
        tmp_path / "year6.csv",
        6,
        reading=[["100", "95"], ["102", "97"]],
        maths=[["99", "96"], ["101", "98"]],
        writing=[["EXS", "WTS"], ["EXS", "WTS"]],
    )
    result = report(sheet, tmp_path)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line == (
        f"targetkit: error: {sheet}, column 'writing_sum2_2025': writing is on the scale "
        "'KS2 writing teacher assessment (since 2016)' and the other subjects on 'KS2 test "
        "scaled scores': a report reads one scale a sheet (track writing on a sheet or file of "
        "its own, read with --sheet, and the other subjects on this one)"
    )
    # as the message says: writing alone is tracked (EXS in Year 6, ks2_ta_writing)
    alone = tracking(tmp_path / "writing.csv", 6, writing=[["EXS", "WTS"], ["EXS", "WTS"]])
    assert report(alone, tmp_path).exit_code == 0
    without = tracking(
        tmp_path / "scores.csv",
        6,
        reading=[["100", "95"], ["102", "97"]],
        maths=[["99", "96"], ["101", "98"]],
    )
    assert report(without, tmp_path).exit_code == 0


def test_combined_science_double_grades_are_named_not_taken_for_a_slip(tmp_path):
    sheet = tracking(
        tmp_path / "year10.csv",
        10,
        maths=[["4", "3"], ["5", "3"]],
        combined_science=[["4-4", "3-3"], ["5-4", "4-3"]],
    )
    result = run_targetkit("report", sheet, "-o", tmp_path / "r.xlsx", "--academic-year", "2025/26")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"targetkit: error: {sheet}, column 'combined_science_sum2_2025': combined_science is "
        "on the scale 'GCSE 9-1 double award grades (Combined Science)' and the other subjects on "
        "'GCSE grades 9-1': a report reads one scale a sheet (Combined Science's double grades "
        "are not tracked by report yet: leave its columns out of this sheet; set-targets and "
        "check-ambition read them)"
    )


def test_a_double_grade_typed_for_history_is_a_bad_grade_on_the_9_to_1_scale(tmp_path):
    """Year 10's policies are on GCSE 9-1: `5-4` is judged there (it was judged on NC levels,
    which read the other values as well), and named by row and column."""
    sheet = tracking(
        tmp_path / "year10.csv",
        10,
        maths=[["4", "3"], ["5", "3"]],
        history=[["4", "3"], ["5", "5-4"]],
    )
    result = report(sheet, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"targetkit: error: {sheet}, row 3, column 'history_aut1': '5-4' is not on the scale "
        "'GCSE grades 9-1' (did you mean 5, 4?)"
    )
