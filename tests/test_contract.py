"""Contract: every shipped policy, scale and rule copes with empty and header-only input, and
every finding code is in the one catalogue.

As the LA validators we learn from do for every rule: no policy may crash, invent pupils or
drop columns when a cohort has no pupils (a header-only export is common at the start of a
year).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT, cli, read_named

from targetkit.findings import SEVERITY_RANK, catalogue
from targetkit.pipeline.importing import SourceTable, import_cohort
from targetkit.pipeline.targets import compute_targets
from targetkit.pipeline.values import normalise_ethnicity
from targetkit.policies import load_policy, policy_names
from targetkit.scales import load_scale, scale_names
from targetkit.upn import check_letter, make_upns


def header_only_cohort(policy) -> pd.DataFrame:
    columns = ["upn", "surname", "forename", "school", "year_group", "sen", "disadvantaged"]
    for subject in policy.subjects:
        columns.append(f"{subject}_{policy.prior_point}")
        columns.append(f"{subject}_spr1")
    columns += list(policy.prior_scaled_scores)
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in dict.fromkeys(columns)})


@pytest.mark.parametrize("name", policy_names())
def test_every_policy_gives_no_rows_and_its_columns_for_a_header_only_cohort(name):
    policy = load_policy(name)
    cohort = header_only_cohort(policy)
    result = compute_targets(cohort, policy)
    assert len(result.pupils) == 0
    for subject in result.subjects:
        assert f"{subject}_target" in result.pupils.columns
        assert f"{subject}_reason" in result.pupils.columns
    assert "flags" in result.pupils.columns


@pytest.mark.parametrize("name", scale_names())
def test_every_scale_parses_an_empty_column(name):
    parsed = load_scale(name).parse(pd.Series([], dtype=object))
    assert len(parsed.grade) == len(parsed.points) == len(parsed.code) == 0
    assert not parsed.unknown.any()
    assert parsed.problems("x").empty


# ---------------------------------------------------------------------------------------------
# The findings catalogue (issue 12 item 3): every code any command emits is in
# `data/findings.yaml`, every catalogue code is emitted by some rule, every rule copes with
# empty and header-only input.

ACADEMIC_YEAR = 2025  # 2025/26: Year 3 is born 1 Sep 2017 - 31 Aug 2018


def data_codes() -> set[str]:
    return {c for c, kind in catalogue().items() if kind.kind == "data"}


def target_codes() -> set[str]:
    return {c for c, kind in catalogue().items() if kind.kind == "target"}


def planted_import_sources() -> list[SourceTable]:
    """Two exports with one planted problem of every import code (rows as Excel numbers them)."""
    good = make_upns(6)
    temporary_body = good[5][1:-1] + "A"
    temporary = check_letter(pd.Series([temporary_body])).iloc[0] + temporary_body
    wrong_letter = ("B" if good[1][0] != "B" else "C") + good[1][1:]
    first = pd.DataFrame(
        {
            "upn": [
                good[0],
                None,
                wrong_letter,
                "ABC",
                temporary,
                good[2],
                good[2],
                good[3],
                "Total",
                None,
            ],
            "surname": ["A", "B", "C", "D", "E", "F", "G", "H", None, None],
            "year_group": ["3", "Year Z", "20", "3", "3", "3", "3", "3", None, None],
            "dob": [
                "01/01/18",
                "02/17/2016",
                "31/02/2016",
                None,
                None,
                None,
                None,
                "01/01/2012",
                None,
                None,
            ],
            "fsm": ["Y", "maybe", "N", None, None, None, None, None, None, None],
            "gender": ["F", "X", "M", None, None, None, None, None, None, None],
            "sen": ["A", "Q", "N", None, None, None, None, None, None, None],
            "eal": ["Polish", "123", "ENG", None, None, None, None, None, None, None],
            "ethnicity": ["WBRI", "ZZZZ", "WBRI", None, None, None, None, None, None, None],
            "attendance": ["95", "lots", "150", None, None, None, None, None, None, None],
            "reading_ks1": ["2B", "2x", "3", None, None, None, None, None, None, None],
            "comment": ["x" * 32_768, *[None] * 9],  # one character more than a cell holds
        },
        index=[2, 3, 4, 5, 6, 7, 8, 9, 12, 13],
    )
    first.loc[13] = None  # a trailing row of nothing (not a pupil, not listed)
    second = pd.DataFrame({"upn": [good[0], good[4]], "gender": ["M", "F"]}, index=[2, 3])
    return [
        SourceTable("first.csv", first, blank_rows=[10, 11], uncalculated=[(5, "attendance")]),
        SourceTable("second.csv", second),
    ]


# Codes only real export layouts raise (a CTF, DfE downloads, a SIMS Y/blank column): the
# hand-worked goldens of tests/golden/import make them, with their wording checked there.
REAL_EXPORT_CODES = {
    "COLUMN_CHOSEN",
    "BLANK_MEANS_NO",
    "EXTENDED_ETHNICITY_CODE",
    "CTF_RESULT_NOT_USED",
    "CTF_EARLIER_RESULT",
    "EYFS_AREA_INCOMPLETE",
}


def test_the_real_export_goldens_raise_the_real_export_codes():
    from targetkit.ctf import read_ctf
    from tests.test_import import GOLDEN, read_source

    sources = {
        2025: [read_ctf(GOLDEN / "ctf-oakfield.xml")],
        2026: [read_source(GOLDEN / "dfe-census-download.csv")],
    }
    codes = {
        code
        for year, tables in sources.items()
        for code in import_cohort(tables, academic_year=year).issues["code"]
    }
    codes |= set(
        import_cohort([read_source(GOLDEN / "sims-student-list.csv")], academic_year=2026).issues[
            "code"
        ]
    )
    assert codes >= REAL_EXPORT_CODES
    assert codes <= data_codes()


def test_every_import_rule_emits_its_catalogue_code_and_wording():
    result = import_cohort(planted_import_sources(), academic_year=ACADEMIC_YEAR)
    no_upn = import_cohort(
        [SourceTable("names.csv", pd.DataFrame({"surname": ["A"]}, index=[2]))],
        academic_year=ACADEMIC_YEAR,
    )
    issues = pd.concat([result.issues, no_upn.issues], ignore_index=True)
    assert set(issues["code"]) == data_codes() - REAL_EXPORT_CODES
    kinds = catalogue()
    assert (issues["severity"] == issues["code"].map(lambda c: kinds[c].severity)).all()
    by_code = issues.groupby("code").first()
    # Wording filled in from the catalogue, values quoted from the planted rows:
    assert by_code.loc["GRADE_SPELLING", "message"] == "grade written 2B recorded as 2b"
    assert by_code.loc["OLD_SEN_CODE", "message"].startswith("old SEN code A (")
    assert by_code.loc["OLD_SEN_CODE", "message"].endswith(") recorded as K")
    assert by_code.loc["LANGUAGE_NAMED", "message"] == (
        "first language 'Polish' taken as other than English (EAL)"
    )
    assert by_code.loc["TWO_DIGIT_YEAR", "message"] == "two-digit year read as 2018"
    assert by_code.loc["TEXT_TOO_LONG", "message"] == (
        "text of 32,768 characters: an Excel cell holds 32,767, so a workbook keeps the first "
        "32,767 (a CSV output keeps it whole)"
    )
    assert by_code.loc["TEXT_TOO_LONG", "source_row"] == 2
    assert by_code.loc["US_DATE", "suggestion"] == "17/02/2016"
    assert by_code.loc["NOT_AN_ETHNICITY_CODE", "suggestion"] != ""
    assert by_code.loc["YEAR_GROUP_OUT_OF_RANGE", "message"] == (
        "year group 20 is outside Nursery to Year 13; left blank"
    )
    assert by_code.loc["DUPLICATE_UPN", "message"] == "the same UPN is on rows 7, 8"
    assert by_code.loc["CONFLICTING_SOURCES", "message"] == "first.csv row 2 has F; kept that value"
    assert by_code.loc["NOT_IN_FIRST_SOURCE", "message"] == (
        "not in first.csv; added as a pupil at the end"
    )
    assert by_code.loc["DOB_OUTSIDE_YEAR_GROUP", "message"] == (
        "born 01/01/2012: the Year 9 age range in 2025/26, not Year 3"
    )
    attendance = issues[issues["code"] == "NOT_A_PERCENTAGE"]["message"].tolist()
    assert sorted(attendance) == [
        "attendance must be 0 to 100%; left blank",
        "not a percentage; left blank",
    ]


def test_the_ethnicity_suggestion_falls_back_when_no_code_is_near():
    found = normalise_ethnicity(pd.Series(["%%%%%%%%"], index=[2])).issues
    assert found["suggestion"].tolist() == ["see the CBDS code list"]


@pytest.mark.parametrize("rows", [0, 1], ids=["header-only", "empty"])
def test_every_import_rule_runs_on_empty_and_header_only_input(rows):
    columns = list(planted_import_sources()[0].frame.columns) if rows == 0 else []
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    result = import_cohort([SourceTable("empty.csv", frame)], academic_year=ACADEMIC_YEAR)
    assert len(result.pupils) == 0
    assert result.issues.empty
    assert result.counts() == {"error": 0, "warning": 0, "info": 0}


def codes_in(found: list[dict]) -> set[str]:
    return {f["code"] for f in found}


def flags_in(workbook: Path) -> set[str]:
    targets = read_named(workbook, "Targets")
    return {code for text in targets["flags"].dropna() for code in str(text).split("; ")}


def steps_cohort() -> pd.DataFrame:
    """Year 4: fell from 2s+ (one step above the expectation) to 3b (POSITION_RESTORED,
    CATCH_UP); Year 6 at 6w last summer: +6 is beyond 6s+ (TARGET_CAPPED)."""
    return pd.DataFrame(
        {
            "upn": make_upns(2, start=500),
            "year_group": [4, 6],
            "maths_sum2_2024": ["2s+", "5w"],
            "maths_sum2_2025": ["3b", "6w"],
        }
    )


@pytest.fixture(scope="module")
def emitted(tmp_path_factory) -> set[str]:
    """Every code the commands emit on the demo files, a planted LA batch and a steps cohort."""
    from test_ambition_rules import ambition_school
    from test_check_ambition_cli import planted_school

    root = tmp_path_factory.mktemp("contract")
    assert cli("demo", root / "demo").exit_code == 0
    demo = root / "demo"
    found: set[str] = set()
    for name in ("primary-cohort", "infant-cohort", "ks3-cohort", "secondary-cohort"):
        out = root / f"{name}-targets.xlsx"
        assert cli("set-targets", demo / f"{name}.xlsx", "-o", out).exit_code == 0
        found |= flags_in(out)
    steps_cohort().to_csv(root / "steps.csv", index=False)
    out = root / "steps-targets.xlsx"
    assert cli("set-targets", root / "steps.csv", "--policy", "steps", "-o", out).exit_code == 0
    found |= flags_in(out)
    gcse = root / "gcse.csv"  # issue 15: GCSE entries, one of them a subject nobody knows
    pd.DataFrame(
        {
            "upn": ["T801999900101", "T801999900102", "T801999900103"],
            "year_group": [10, 10, 10],
            "reading_ks2": [104, 99, "PK6"],  # PK6: the DfE's nominal score (NOMINAL_KS2_SCORE)
            "maths_ks2": [106, 101, 85],
            "history_entered": ["yes", "yes", "yes"],
            "triple_science_entered": ["yes", "no", "no"],
            "history_sum2": ["5-4", "4", "4"],  # a Combined Science grade typed for history
        }
    ).to_csv(gcse, index=False)
    out = root / "gcse-targets.xlsx"
    assert cli("set-targets", gcse, "-o", out).exit_code == 0
    found |= flags_in(out)
    batch = root / "batch"
    batch.mkdir()
    planted_school().to_csv(batch / "planted.csv", index=False)
    ambition_school().to_csv(batch / "ambition.csv", index=False)
    typed_off_the_list = planted_school()
    typed_off_the_list.loc[typed_off_the_list.index[0], "reading_target"] = "four"
    typed_off_the_list.to_csv(batch / "typed.csv", index=False)
    (batch / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not a real workbook")
    previous = root / "previous.csv"
    pd.DataFrame({"upn": ["T801999900006"], "reading_target": ["5"]}).to_csv(previous, index=False)
    results = root / "results.csv"
    pd.DataFrame({"disadvantaged": ["Y"] * 5 + ["N"] * 5, "reading_ks2": ["4"] * 10}).to_csv(
        results, index=False
    )
    checked = cli(
        "check-ambition",
        batch,
        "--previous-targets",
        previous,
        "--previous-results",
        results,
        "--format",
        "json",
        "--fail-on",
        "never",
    )
    found |= codes_in(json.loads(checked.stdout)["findings"])
    reported = cli(
        "report",
        demo / "steps-tracking.xlsx",
        "-o",
        root / "report.xlsx",
        "--format",
        "json",
        "--fail-on",
        "never",
    )
    found |= codes_in(json.loads(reported.stdout)["findings"])
    return found


def test_every_code_the_commands_emit_is_in_the_catalogue(emitted):
    assert emitted - set(catalogue()) == set()


def test_every_catalogue_code_is_emitted_by_some_rule(emitted):
    assert target_codes() - emitted == set()


def test_every_catalogue_code_is_named_in_the_source_that_emits_it():
    """A code only the YAML knows is dead; a grep of the source finds where each is raised."""
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "src" / "targetkit").rglob("*.py")
    )
    assert {c for c in catalogue() if f'"{c}"' not in source} == set()


def test_severities_are_one_ordered_scale_where_error_and_challenge_rank_together():
    rank = SEVERITY_RANK
    assert rank["info"] < rank["warning"] < rank["error"] == rank["challenge"]
    for kind in catalogue().values():
        expected = (
            ("error", "warning", "info")
            if kind.kind == "data"
            else ("challenge", "warning", "info")
        )
        assert kind.severity in expected


def test_every_command_copes_with_a_header_only_export(tmp_path):
    """check-ambition and set-targets run their rules on no pupils and find nothing; report,
    which has no drop to report on, says so in one line (exit 2), never a traceback."""
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    header = "upn,surname,forename,year_group,disadvantaged,sen,lac,eal,ethnicity"
    (submissions / "a.csv").write_text(f"{header},reading_ks1,reading_spr1,reading_target\n")
    checked = cli("check-ambition", submissions, "--format", "json")
    assert checked.exit_code == 0
    assert json.loads(checked.stdout)["findings"] == []
    tracking = tmp_path / "tracking.csv"
    tracking.write_text(f"{header},maths_sum2_2025,maths_aut1\n")
    targets = cli("set-targets", tracking, "-o", tmp_path / "t.xlsx", "--format", "json")
    assert targets.exit_code == 0
    assert json.loads(targets.stdout)["summary"]["pupils"] == 0
    reported = cli("report", tracking, "-o", tmp_path / "r.xlsx")
    assert reported.exit_code == 2
    assert reported.stderr.strip().count("\n") == 0
    assert "tracking.csv" in reported.stderr and "Traceback" not in reported.stderr
