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
    run = run_targetkit(
        "convert",
        cohort,
        "--column",
        "reading_ks1",
        "--column",
        "maths_ks1",
        "--from",
        "nc",
        "--to",
        "points",
        "-o",
        out,
    )
    assert run.returncode == 0, run.stderr
    source = openpyxl.load_workbook(cohort)["Pupils"]
    result = openpyxl.load_workbook(out)["Converted"]
    headers = [c.value for c in result[1]]
    assert result.max_row == source.max_row == 26  # every pupil row, in order
    reading = headers.index("reading_ks1")
    assert headers[reading + 1] == "reading_ks1 as points"
    points = {"W": 3, "1c": 7, "1b": 9, "1a": 11, "1": 9, "2c": 13, "2b": 15, "2a": 17, "3": 21}
    for row in result.iter_rows(min_row=2, values_only=True):
        assert row[reading + 1] == points.get(row[reading])  # codes such as A give blank
    source_upns = [r[0] for r in source.iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in result.iter_rows(min_row=2, values_only=True)] == source_upns

    again = run_targetkit(
        "convert", cohort, "--column", "reading_ks1", "--from", "nc", "--to", "points", "-o", out
    )
    assert again.returncode == 2 and "--force" in again.stderr


def test_the_readme_first_command_runs_on_the_shipped_example(tmp_path):
    """The README's first command, run as written (from a copy of the checkout's examples)."""
    import re
    import shlex
    import shutil

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)[0]
    args = shlex.split(first.split(" && ")[-1])
    assert args[0] == ".venv/bin/targetkit"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    run = run_targetkit(*args[1:], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    book = openpyxl.load_workbook(tmp_path / "primary-cohort-targets.xlsx")
    targets = book["Targets"]
    headers = [c.value for c in targets[1]]
    assert targets.max_row == 31  # 30 pupils + header
    ks1 = headers.index("reading_ks1")  # the user's own column keeps its header
    target = headers.index("Reading target")
    for row in targets.iter_rows(min_row=2, values_only=True):
        if row[ks1] in ("2c", "2b", "2a", "2"):  # seed: every KS1 level-2 pupil -> level 4+
            assert row[target][0] in "45678", row


def test_demo_submissions_challenge_only_the_planted_low_targets(tmp_path):
    """The demo moderates three maths targets of school 100002 down to level 3 where the
    minimum is level 4; every other school's targets are set-targets' own suggestions."""
    import json

    assert run_targetkit("demo", tmp_path / "d", "--pupils", "20").returncode == 0
    # Excel leaves a lock file beside a workbook someone has open: skipped, never a warning.
    (tmp_path / "d" / "submissions" / "~$100001.xlsx").write_bytes(b"lock")
    run = run_targetkit("check-ambition", tmp_path / "d" / "submissions", "--format", "json")
    assert run.returncode == 1, run.stderr  # challenges found: findings need attention
    document = json.loads(run.stdout)
    assert document["command"] == "check-ambition"
    findings = document["findings"]
    assert not [line for line in run.stderr.splitlines() if "warning:" in line], run.stderr
    challenged = {f["school"] for f in findings if f["severity"] == "challenge"}
    assert challenged == {"100002 St Mary's CE Primary"}
    below = [f for f in findings if f["code"] == "BELOW_EXPECTED_PROGRESS"]
    assert len(below) == 3 and {f["subject"] for f in below} == {"maths"}
    # SPEC §8: a finding citing a benchmark rate says what the rate rests on. The demo's
    # primary schools use the KS1→KS2 table, whose rows are all marked illustrative.
    benchmark = [f for f in findings if f["code"] == "BELOW_BENCHMARK"]
    assert benchmark and {f["basis"] for f in benchmark} == {"illustrative"}
    assert all("basis" not in f for f in findings if f["code"] != "BELOW_BENCHMARK")
