"""The one engine through the commands, on the demo's files (SPEC §8 "One answer per question"):
check-ambition on untouched set-targets workbooks is green; report without --targets uses
exactly set-targets' steps targets; a UPN in any case or spacing matches in every command."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import ROOT, cli

EXAMPLES = ROOT / "examples"


def _sheet(path: Path, name: str) -> pd.DataFrame:
    """A sheet as openpyxl reads it: header row (targetkit's words read back to column names,
    as targetkit reads them), then values."""
    from targetkit.columns import canonical_name

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(workbook[name].iter_rows(values_only=True))
    finally:
        workbook.close()
    return pd.DataFrame(rows[1:], columns=[canonical_name(h) or h for h in rows[0]])


@pytest.mark.parametrize(
    "name", ["primary-cohort", "infant-cohort", "ks3-cohort", "secondary-cohort", "steps-tracking"]
)
def test_check_ambition_on_untouched_set_targets_output_is_green(name, tmp_path):
    targets = tmp_path / f"{name}-targets.xlsx"
    assert cli("set-targets", EXAMPLES / f"{name}.xlsx", "-o", targets).exit_code == 0
    checked = cli(
        "check-ambition", targets, "--fail-on", "warning", "--format", "json", "--jobs", "1"
    )
    assert checked.exit_code == 0, checked.stdout
    # every pupil on roll has a target in every subject
    frame = _sheet(targets, "Targets")
    targets = [c for c in frame.columns if str(c).endswith("_target") and "_plan_" not in str(c)]
    assert targets
    for column in targets:
        assert frame[column].notna().all(), column


def test_report_without_targets_uses_set_targets_steps_targets(tmp_path):
    tracking = EXAMPLES / "steps-tracking.xlsx"
    targets = tmp_path / "targets.xlsx"
    report = tmp_path / "report.xlsx"
    assert cli("set-targets", tracking, "-o", targets, "--policy", "steps").exit_code == 0
    assert cli("report", tracking, "-o", report, "--term", "sum2").exit_code == 0
    set_by = _sheet(targets, "Targets")
    reported = _sheet(report, "Pupils")
    assert len(set_by) == len(reported) > 0
    for subject in ("reading", "writing", "maths"):
        assert reported[f"{subject}_target_grade"].tolist() == set_by[f"{subject}_target"].tolist()


def _mangled(upns: pd.Series) -> pd.Series:
    """The same UPNs in lower case with spaces inside and around."""
    return upns.str.lower().map(lambda u: f" {u[:5]} {u[5:]} ")


def test_report_matches_targets_by_upn_in_any_case_or_spacing(tmp_path):
    tracking = EXAMPLES / "steps-tracking.xlsx"
    targets = tmp_path / "targets.xlsx"
    assert cli("set-targets", tracking, "-o", targets, "--policy", "steps").exit_code == 0
    frame = _sheet(targets, "Targets")[["upn", "maths_target"]]
    frame["maths_target"] = "6s+"  # the top step: differs from every computed target
    exact, mangled = tmp_path / "exact.csv", tmp_path / "mangled.csv"
    frame.to_csv(exact, index=False)
    frame.assign(upn=_mangled(frame["upn"])).to_csv(mangled, index=False)
    grades = []
    for given in (exact, mangled):
        out = tmp_path / f"report-{given.stem}.xlsx"
        assert cli("report", tracking, "--targets", given, "-o", out).exit_code == 0
        grades.append(_sheet(out, "Pupils")["maths_target_grade"].tolist())
    assert grades[0] == grades[1] == ["6s+"] * len(frame)


def test_set_targets_previous_matches_upns_in_any_case_or_spacing(tmp_path):
    cohort = EXAMPLES / "primary-cohort.xlsx"
    first = tmp_path / "first.xlsx"
    assert cli("set-targets", cohort, "-o", first).exit_code == 0
    previous = _sheet(first, "Targets")[["upn", "maths_target"]]
    previous = previous.assign(upn=_mangled(previous["upn"]), maths_target="6")
    path = tmp_path / "previous.csv"
    previous.to_csv(path, index=False)
    second = tmp_path / "second.xlsx"
    assert cli("set-targets", cohort, "-o", second, "--previous", path).exit_code == 0
    # targets are never below a previous target for the same pupil: every maths target is 6,
    # except where an EHC plan target stands (SPEC §7)
    again = _sheet(second, "Targets")
    plan = again["sen"].eq("E") & again["maths_plan_target"].notna()
    assert set(again.loc[~plan, "maths_target"].astype(str)) == {"6"}
    assert (~plan).sum() > 0
