"""`targetkit set-targets` end to end: the workbook reopened with openpyxl, every policy."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pandas as pd
import pytest
from helpers import ROOT, cli, column_numbers, read_named, run_targetkit

EXAMPLES = ROOT / "examples"


@pytest.fixture
def primary(tmp_path):
    path = tmp_path / "primary-cohort.xlsx"
    shutil.copy(EXAMPLES / "primary-cohort.xlsx", path)
    return path


def test_targets_workbook_has_sheets_frozen_header_comments_and_drop_downs(primary):
    result = cli("set-targets", primary)
    assert result.exit_code == 0, result.stderr
    assert "Policy ks2" in result.output
    out = primary.with_name("primary-cohort-targets.xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:2] == ["Targets", "Summary"]
    assert {"Read me", "About"} <= set(book.sheetnames)
    sheet = book["Targets"]
    # UPN, admission number, surname and forename stay in view and print on every page
    assert sheet.freeze_panes == "E2"
    assert sheet.print_title_rows == "$1:$1" and sheet.print_title_cols == "$A:$D"
    assert "&A" in sheet.oddFooter.left.text and "&P" in sheet.oddFooter.right.text
    headers = [c.value for c in sheet[1]]
    numbers = column_numbers(sheet)
    source = pd.read_excel(primary, sheet_name="Pupils", dtype=object, engine="openpyxl")
    # input columns first, unchanged, then targetkit's
    assert headers[: len(source.columns)] == list(source.columns)
    assert sheet.max_row == len(source) + 1
    upns = [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)]
    assert upns == source["upn"].tolist()
    for subject in ("reading", "writing", "maths"):
        column = numbers[f"{subject}_target"]
        assert headers[column - 1] == f"{subject.capitalize()} target"
        letter = openpyxl.utils.get_column_letter(column)
        comment = sheet.cell(2, column).comment
        assert comment is not None and "KS1" in comment.text and "rule:" in comment.text
        ranges = [str(v.sqref) for v in sheet.data_validations.dataValidation]
        assert any(r.startswith(f"{letter}2:{letter}") for r in ranges)
    # pupil 1 (Grace Adeyemi): KS1 reading 3 -> at least level 5; spring 5b is level 5 too
    assert sheet.cell(2, numbers["reading_target"]).value == "5"
    chance = sheet.cell(2, numbers["reading_chance_4plus"])
    assert headers[chance.column - 1] == "Reading: chance of level 4+"
    assert chance.value == pytest.approx(0.99) and chance.number_format == "0%"
    with __import__("zipfile").ZipFile(out) as archive:
        assert any(name.startswith("xl/charts/chart") for name in archive.namelist())


def test_json_prints_the_school_level_summary(primary, tmp_path):
    result = cli("--quiet", "set-targets", primary, "-o", tmp_path / "t.xlsx", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == "set-targets"
    data = document["summary"]
    assert data["policy"] == "ks2" and data["pupils"] == 30
    rows = {(r["subject"], r["threshold"]): r for r in data["thresholds"]}
    assert rows[("reading", "4+")]["pupils"] == 30
    # SPEC §8: the KS1 → KS2 table's rows are all marked illustrative, and JSON says so.
    assert {r["basis"] for r in data["thresholds"]} == {"illustrative"}
    # The findings are the pupils' flags: row 5 of the example (KS1 'A' in every subject) has
    # no prior result; each flag in the workbook's flags column is one finding on its row.
    findings = document["findings"]
    assert [f["row"] for f in findings if f["code"] == "NO_PRIOR_RESULT"] == [5]
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["Targets"]
    flags_column = column_numbers(sheet)["flags"] - 1
    in_workbook = sorted(
        (row, code.strip())
        for row, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2)
        for code in (values[flags_column] or "").split(";")
        if code.strip()
    )
    assert sorted((f["row"], f["code"]) for f in findings) == in_workbook
    quota = [f for f in findings if f["code"] == "QUOTA_TARGET"]
    assert quota and all(f["basis"] == "illustrative" for f in quota)
    assert data["by_severity"]["info"] == len(findings)


def test_an_existing_output_is_not_overwritten_without_force(primary, tmp_path):
    out = tmp_path / "t.xlsx"
    out.write_text("keep me")
    result = cli("set-targets", primary, "-o", out)
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "keep me"


def test_a_cohort_without_prior_results_is_one_clear_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("upn,year_group,surname\nA801200120001,6,X\n")
    result = cli("set-targets", path, "--policy", "ks2")
    assert result.exit_code == 2
    assert "no prior results for the ks2 policy" in result.stderr


def test_previous_moderated_targets_are_kept(primary, tmp_path):
    first = tmp_path / "first.xlsx"
    assert cli("set-targets", primary, "-o", first).exit_code == 0
    book = openpyxl.load_workbook(first)
    sheet = book["Targets"]
    column = column_numbers(sheet)["maths_target"]
    sheet.cell(2, column).value = 6  # a teacher types the number 6
    book.save(first)
    second = tmp_path / "second.xlsx"
    assert cli("set-targets", primary, "-o", second, "--previous", first).exit_code == 0
    again = openpyxl.load_workbook(second)["Targets"]
    assert again.cell(2, column).value == "6"


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("primary-cohort", "ks2"),
        ("infant-cohort", "ks1"),
        ("ks3-cohort", "ks3"),
        ("secondary-cohort", "ks4"),
        ("steps-tracking", "steps"),
    ],
)
def test_every_policy_runs_on_its_demo_cohort(name, policy, tmp_path):
    out = tmp_path / f"{name}.xlsx"
    result = cli("set-targets", EXAMPLES / f"{name}.xlsx", "-o", out, "--policy", "auto")
    assert result.exit_code == 0, result.stderr
    assert f"Policy {policy}" in result.output
    frame = read_named(out, "Targets")
    assert len(frame) == 30
    targets = [c for c in frame.columns if c.endswith("_target") and "plan" not in c]
    # every pupil has a target, except where the prior is missing, which is flagged instead
    missing = frame[targets].isna().any(axis=1)
    assert targets and frame.loc[missing, "flags"].str.contains("NO_PRIOR_RESULT").all()
    assert missing.sum() <= 2


def test_subprocess_run_as_cron_would(primary, tmp_path):
    out = tmp_path / "cron.xlsx"
    done = run_targetkit("set-targets", primary, "-o", out, "--benchmark", "national")
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    about = dict(
        (row[0].value, row[1].value) for row in openpyxl.load_workbook(out)["About"].iter_rows()
    )
    assert about["benchmark"] == "national"
    assert len(about["cohort SHA-256"]) == 64


def test_pseudonymise_replaces_upns_and_names_but_not_targets(primary, tmp_path):
    key = tmp_path / "key.txt"
    key.write_text("a school secret of enough length for HMAC\n")
    plain, hidden = tmp_path / "plain.xlsx", tmp_path / "hidden.xlsx"
    assert cli("set-targets", primary, "-o", plain).exit_code == 0
    result = cli("set-targets", primary, "-o", hidden, "--pseudonymise", "--key-file", key)
    assert result.exit_code == 0, result.stderr
    a = read_named(plain, "Targets")
    b = read_named(hidden, "Targets")
    assert b["upn"].str.startswith("P-").all() and b["surname"].str.startswith("P-").all()
    assert not set(a["upn"]) & set(b["upn"])
    assert b["maths_target"].tolist() == a["maths_target"].tolist()


def test_a_policy_file_and_subjects_can_be_given(tmp_path):
    import yaml

    from targetkit.policies import load_policy

    custom = load_policy("ks3").model_dump(mode="json", exclude_none=True)
    custom["name"] = "ks3-ambitious"
    custom["quotas"][0]["min_rate"] = 1.0  # every KS2 level-3 pupil to level 5
    path = tmp_path / "ambitious.yaml"
    path.write_text(yaml.safe_dump(custom), encoding="utf-8")
    out = tmp_path / "t.xlsx"
    result = cli(
        "set-targets",
        EXAMPLES / "ks3-cohort.xlsx",
        "-o",
        out,
        "--policy",
        path,
        "--subjects",
        "english",
    )
    assert result.exit_code == 0, result.stderr
    frame = read_named(out, "Targets")
    assert "maths_target" not in frame.columns
    level_3 = frame["english_ks2"].astype(str).eq("3")
    assert level_3.any() and frame.loc[level_3, "english_target"].astype(str).eq("5").all()


def test_policy_option_is_matched_in_any_case(tmp_path):
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", EXAMPLES / "primary-cohort.xlsx", "-o", out, "--policy", "KS2")
    assert result.exit_code == 0, result.stderr
    assert "reading_target" in read_named(out, "Targets").columns
    auto = cli("set-targets", EXAMPLES / "primary-cohort.xlsx", "-o", out, "--policy", "AUTO")
    assert auto.exit_code == 2  # the output exists: refused without --force, not "no policy AUTO"
    assert "AUTO" not in auto.stderr


def test_auto_policy_refuses_a_cohort_needing_two_policies(tmp_path):
    cohort = tmp_path / "mixed.csv"
    pd.DataFrame(
        {
            "upn": ["A801200015001", "A801200015002"],
            "year_group": [6, 7],
            "maths_ks1": ["3", None],
            "maths_ks2": [None, "4b"],
        }
    ).to_csv(cohort, index=False)
    result = cli("set-targets", cohort, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "mixed.csv" in result.stderr
    assert "Year 6 → ks2; Year 7 → ks3" in result.stderr
    assert "--policy" in result.stderr
