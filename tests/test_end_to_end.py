"""Real subprocess runs, as a data manager or a cron job would run targetkit."""

from __future__ import annotations

import openpyxl
from helpers import ROOT, run_targetkit


def test_demo_then_convert_in_a_subprocess(tmp_path):
    made = run_targetkit("demo", tmp_path / "demo", "--pupils", "25")
    assert made.returncode == 0, made.stderr
    cohort = tmp_path / "demo" / "primary-cohort.xlsx"
    assert cohort.exists() and (tmp_path / "demo" / "messy-mis-export.csv").exists()
    assert len(list((tmp_path / "demo" / "submissions").glob("*.xlsx"))) == 5

    out = tmp_path / "points.xlsx"
    run = run_targetkit("convert", cohort, "--column", "reading_ks1", "--column", "maths_ks1",
                        "--from", "nc", "--to", "points", "-o", out)
    assert run.returncode == 0, run.stderr
    source = openpyxl.load_workbook(cohort)["Pupils"]
    result = openpyxl.load_workbook(out)["Converted"]
    headers = [c.value for c in result[1]]
    assert result.max_row == source.max_row == 26  # every pupil row, in order
    reading = headers.index("reading_ks1")
    assert headers[reading + 1] == "reading_ks1_points"
    points = {"W": 3, "1c": 7, "1b": 9, "1a": 11, "1": 9, "2c": 13, "2b": 15, "2a": 17, "3": 21}
    for row in result.iter_rows(min_row=2, values_only=True):
        assert row[reading + 1] == points.get(row[reading])  # codes such as A give blank
    source_upns = [r[0] for r in source.iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in result.iter_rows(min_row=2, values_only=True)] == source_upns

    again = run_targetkit("convert", cohort, "--column", "reading_ks1", "--from", "nc",
                          "--to", "points", "-o", out)
    assert again.returncode == 2 and "--force" in again.stderr


def test_the_readme_example_runs_on_the_shipped_example(tmp_path):
    run = run_targetkit("convert", ROOT / "examples" / "primary-cohort.xlsx", "--column",
                        "reading_ks1", "--column", "maths_ks1", "--from", "nc", "--to", "points",
                        "-o", tmp_path / "primary-cohort-points.xlsx", "--force")
    assert run.returncode == 0, run.stderr
    assert "Converted 2 column(s) for 30 rows" in run.stderr
