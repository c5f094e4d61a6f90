"""set-targets and check-ambition on GCSE subjects (issue 15), through the one engine.

Expected chances are read from the DfE's rows (`tests/reference/ks2_ks4_gcse_subjects_2024.csv`,
plain `csv`: pupils at or above the threshold / every entered pupil of the band, `X` included),
and worked by hand for two of them; Attainment 8 and Progress 8 of targets are worked out by
hand with the slot rules, the DfE estimates read from
`tests/reference/attainment8_estimates_2024.csv`.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.helpers import cli, read_named, run_targetkit

REFERENCE = Path(__file__).parent / "reference"
KS4_POLICY = Path(__file__).parents[1] / "src" / "targetkit" / "data" / "policies" / "ks4.yaml"
UPNS = ["A100000000001", "A100000000002", "A100000000003"]

# Pupil 1: KS2 104 and 105 → mean 104.5, DfE band "102.5 - 104.5", estimate group 19.
# Pupil 2: KS2 110 and 112 → mean 111, band "110 - 113", estimate group 25.
# Pupil 3: no KS2 score (band "No scaled score"), outside Progress 8.
COHORT = pd.DataFrame(
    {
        "UPN": UPNS,
        "Surname": ["Ahmed", "Brown", "Cole"],
        "Forename": ["Asha", "Ben", "Cara"],
        "Year Group": [10, 10, 10],
        "reading_ks2": [104, 110, None],
        "maths_ks2": [105, 112, None],
    }
)
ENTRIES = [
    (UPNS[0], "Maths", "GCSE"),
    (UPNS[0], "English Language", "GCSE"),
    (UPNS[0], "English Lit", "GCSE"),
    (UPNS[0], "Combined Science (Trilogy)", "GCSE"),
    (UPNS[0], "GCSE History", "GCSE"),
    (UPNS[0], "French", "GCSE"),
    (UPNS[0], "Art & Design", "GCSE"),
    (UPNS[0], "Music", "GCSE"),
    (UPNS[0], "RE", "GCSE"),
    (UPNS[1], "Maths", "GCSE"),
    (UPNS[1], "English", "GCSE"),
    (UPNS[1], "Biology", "GCSE"),
    (UPNS[1], "Chemistry", "GCSE"),
    (UPNS[1], "Physics", "GCSE"),
    (UPNS[1], "Geography", "GCSE"),
    (UPNS[1], "Spanish", "GCSE"),
    (UPNS[1], "Computer Sci", "GCSE"),
    (UPNS[2], "Maths", "GCSE"),
    (UPNS[2], "English", "GCSE"),
    (UPNS[2], "Business Studies", "BTEC"),
    (UPNS[2], "Triple Science", "GCSE"),
]


def write_cohort(path: Path, entries: list[tuple[str, str, str]] = ENTRIES) -> Path:
    """The cohort workbook with its GCSE entries on an `Entries` sheet (long form)."""
    with pd.ExcelWriter(path) as writer:
        COHORT.to_excel(writer, sheet_name="Cohort", index=False)
        pd.DataFrame(entries, columns=["UPN", "Subject", "Qualification"]).to_excel(
            writer, sheet_name="Entries", index=False
        )
    return path


def set_minimum_targets(tmp_path: Path, cohort: Path | None = None) -> Path:
    """set-targets under ks4 with the school-wide quotas off: each target is the policy's
    minimum for the band. Gives the targets workbook."""
    out = tmp_path / "targets.xlsx"
    cohort = cohort or write_cohort(tmp_path / "cohort.xlsx")
    result = cli("set-targets", cohort, "-o", out, "--policy", no_quota_policy(tmp_path))
    assert result.exit_code == 0, result.output
    return out


def no_quota_policy(tmp_path: Path) -> Path:
    """ks4 with the school-wide quotas off, so each target is the policy's minimum for the band
    (what the hand-worked Attainment 8 below starts from)."""
    path = tmp_path / "ks4-minimum.yaml"
    path.write_text(KS4_POLICY.read_text(encoding="utf-8") + "\nschool_quotas: false\n")
    return path


@functools.cache
def dfe_rows(group: str = "Total") -> list[dict[str, str]]:
    with (REFERENCE / "ks2_ks4_gcse_subjects_2024.csv").open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["group"] == group]


def dfe_chance(subject: str, band: str, threshold: int, group: str = "Total") -> float:
    """% of every entered pupil of the band reaching the threshold (double award: both grades
    count, 4-4 or better is 4+), from the DfE's pupil counts."""
    rows = [r for r in dfe_rows(group) if r["subject"] == subject and r["ks2_band"] == band]
    band_pupils = int(rows[0]["band_pupils"])

    def meets(outcome: str) -> bool:
        grades = outcome.split("-")
        if not all(g.isdigit() for g in grades):
            return False  # U, X, covid_impacted
        return sum(int(g) for g in grades) / len(grades) >= threshold

    return round(100 * sum(int(r["pupils"]) for r in rows if meets(r["outcome"])) / band_pupils, 1)


def dfe_estimate(score: float) -> float:
    with (REFERENCE / "attainment8_estimates_2024.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            low, high = (float(x) for x in row["ks2_average_scaled_score_range"].split(" to "))
            if low <= score <= high:
                return float(row["attainment8"])
    raise AssertionError(score)


def targets_of(path: Path) -> pd.DataFrame:
    return read_named(path, "Targets")


def summary_of(path: Path) -> tuple[list[str], pd.DataFrame]:
    """The Summary sheet's sentences (above the table) and its table, by label."""
    rows = list(openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Subject and threshold")
    intro = [str(row[0]) for row in rows[:start] if row[0]]
    table = pd.DataFrame(rows[start + 1 :], columns=rows[start]).dropna(how="all")
    return intro, table.set_index("Subject and threshold")


def test_hand_worked_pupil_in_five_subjects_with_combined_science(tmp_path):
    out = set_minimum_targets(tmp_path)
    pupil = targets_of(out).iloc[0]
    band = "102.5 - 104.5"
    # By hand from the DfE's history row for the band: 280 + 1,044 + 2,540 + 4,914 + 6,233 +
    # 6,373 = 21,384 of 39,469 entered pupils reach 4+ (54.2%); the mode is grade 3 (8,038).
    assert pupil["history_chance_4plus"] == pytest.approx(0.542)
    assert str(pupil["history_most_likely"]) == "3"
    # Combined Science: 4-4 and better, 39,101 of 66,939 (58.4%); mode 4-3 (10,439 pupils).
    assert pupil["combined_science_chance_4plus"] == pytest.approx(0.584)
    assert pupil["combined_science_most_likely"] == "4-3"
    for subject, dfe in [
        ("combined_science", "combined_science"),
        ("history", "history"),
        ("french", "french"),
        ("art_and_design", "art_and_design"),
        ("music", "music"),
        ("english_literature", "english_literature"),
        ("religious_studies", "religious_studies"),
    ]:
        for threshold in (4, 5, 7):
            expected = dfe_chance(dfe, band, threshold) / 100
            assert pupil[f"{subject}_chance_{threshold}plus"] == pytest.approx(expected), subject
        assert pupil[f"{subject}_prior"] == band
    # the band's minimum (ks4: 102.5-104.5 → 4) in every subject; Combined Science's is 4-4
    assert pupil["combined_science_minimum"] == "4-4"
    assert pupil["combined_science_target"] == "4-4"
    assert str(pupil["history_target"]) == "4"
    # pupil 2 is not entered for history: no chances, no target, nothing invented
    assert pd.isna(targets_of(out).iloc[1]["history_target"])
    assert pd.isna(targets_of(out).iloc[1]["history_chance_4plus"])
    # the reason is the target cell's comment
    sheet = openpyxl.load_workbook(out)["Targets"]
    header = {c.value: c.column for c in sheet[1]}
    comment = sheet.cell(2, header["Combined Science target"]).comment.text
    assert "102.5 - 104.5" in comment and "58% reach 4+" in comment and "4-4" in comment
    cell = sheet.cell(2, header["Combined Science target"]).coordinate
    lists = [dv.formula1 for dv in sheet.data_validations.dataValidation if cell in dv.sqref]
    history = sheet.cell(2, header["History target"]).coordinate
    single = [dv.formula1 for dv in sheet.data_validations.dataValidation if history in dv.sqref]
    # Combined Science has its own drop-down: the 18 double-award grades (U, 1-1 ... 9-9)
    assert lists and single and lists != single
    assert lists[0].endswith("$18")


def test_attainment8_and_progress8_of_targets_by_hand(tmp_path):
    out = set_minimum_targets(tmp_path)
    targets = targets_of(out)
    # Pupil 1, every target 4 (4-4): maths 4 x 2 = 8; English Language and Literature both
    # taken, so the better (4) x 2 = 8; EBacc: Combined Science 4 + 4 (two slots) + history 4
    # = 12; open: French, art and music 4 each = 12 (RS 4 is a ninth grade: not counted) → 40.
    # Pupil 2, every target 6 (band 110 - 113): maths 12; English Language alone counts once,
    # 6; EBacc: 3 of biology, chemistry, physics, geography, Spanish, computer science = 18;
    # open: the other three = 18 → 54.
    # Pupil 3 (no KS2): grade 4, the national expectation: maths 8 + English 4 = 12; a BTEC
    # in Business Studies and "Triple Science" have no matrix and count nothing.
    assert targets["attainment8_of_targets"].tolist() == [40, 54, 12]
    p8_1 = (40 - dfe_estimate(104.5)) / 10  # 45.12 → -0.512
    p8_2 = (54 - dfe_estimate(111)) / 10  # 60.22 → -0.622
    assert targets["progress8_of_targets"].iloc[0] == pytest.approx(round(p8_1, 2))
    assert targets["progress8_of_targets"].iloc[1] == pytest.approx(round(p8_2, 2))
    assert pd.isna(targets["progress8_of_targets"].iloc[2])  # outside Progress 8
    intro, summary = summary_of(out)
    a8 = summary.loc["Attainment 8 of targets (average)", "Average target points"]
    p8 = summary.loc["Progress 8 of targets (average)", "Average target points"]
    assert a8 == pytest.approx(round((40 + 54 + 12) / 3, 2))
    assert p8 == pytest.approx(round((p8_1 + p8_2) / 2, 2), abs=0.006)
    # the guidance's three KS4 school targets together, first on the Summary
    assert intro[0].startswith("KS4 school targets: English and maths 4+: ")
    assert "English and maths 5+: " in intro[0] and "Attainment 8 of targets: 35.3" in intro[0]


def test_set_targets_raises_suggestions_until_progress8_of_targets_is_at_least_zero(tmp_path):
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out)
    assert result.exit_code == 0, result.output
    targets = targets_of(out)
    in_p8 = targets["progress8_of_targets"].notna()
    assert in_p8.tolist() == [True, True, False]
    assert targets.loc[in_p8, "progress8_of_targets"].mean() >= 0
    assert targets["flags"].str.contains("QUOTA_TARGET").any()
    reasons = targets.filter(like="_reason").stack().astype(str)
    assert reasons.str.contains("Progress 8 of targets is at least 0").any()
    # the raise never lowers: every target is at least the band's minimum
    for subject in ("history", "french", "biology", "spanish"):
        has = targets[f"{subject}_target"].notna()
        assert (
            pd.to_numeric(targets.loc[has, f"{subject}_target"])
            >= pd.to_numeric(targets.loc[has, f"{subject}_minimum"])
        ).all()


def test_unknown_and_aliased_subject_names(tmp_path):
    out = tmp_path / "targets.xlsx"
    result = cli(
        "set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    targets = targets_of(out)
    # aliases found their DfE subject: a target for the pupil who takes it
    for upn, subject in [
        (0, "history"),  # GCSE History
        (0, "combined_science"),  # Combined Science (Trilogy)
        (0, "english_literature"),  # English Lit
        (0, "art_and_design"),  # Art & Design
        (0, "religious_studies"),  # RE
        (1, "computer_science"),  # Computer Sci
        (1, "english_language"),  # English
    ]:
        assert pd.notna(targets.iloc[upn][f"{subject}_target"]), subject
    # unknown subject and a BTEC: listed on the pupil's row, flagged, never given chances
    listed = targets.iloc[2]["subjects_not_targeted"]
    assert "Triple Science (unknown subject)" in listed
    assert "BTEC Business Studies (no DfE matrix for this qualification)" in listed
    assert "SUBJECT_NOT_TARGETED" in targets.iloc[2]["flags"]
    assert not [c for c in targets.columns if "triple" in str(c).lower() or "business" in str(c)]
    assert len(targets) == 3  # every pupil kept


def test_long_and_wide_entries_give_the_same_workbook(tmp_path):
    entries = [e for e in ENTRIES if e[1] not in ("Business Studies", "Triple Science")]
    long_out = tmp_path / "long.xlsx"
    long_cohort = write_cohort(tmp_path / "cohort-long.xlsx", entries)
    assert cli("set-targets", long_cohort, "-o", long_out).exit_code == 0
    from targetkit.subjects import load_subjects, subject_keys

    keys = subject_keys(pd.Series([e[1] for e in entries]), load_subjects())
    wide = COHORT.copy()
    for (upn, _, _), key in zip(entries, keys, strict=True):
        column = f"{key}_entered"
        if column not in wide:
            wide[column] = "no"
        wide.loc[wide["UPN"] == upn, column] = "yes"
    wide_file = tmp_path / "cohort-wide.xlsx"
    wide.to_excel(wide_file, index=False)
    wide_out = tmp_path / "wide.xlsx"
    result = run_targetkit("set-targets", wide_file, "-o", wide_out)
    assert result.returncode == 0, result.stderr
    a = targets_of(long_out)
    b = targets_of(wide_out)
    ours = [c for c in a.columns if c not in COHORT.columns]
    assert ours == [c for c in b.columns if c not in wide.columns]
    pd.testing.assert_frame_equal(a[ours], b[ours])
    pd.testing.assert_frame_equal(summary_of(long_out)[1], summary_of(wide_out)[1])
    assert summary_of(long_out)[0] == summary_of(wide_out)[0]
    pd.testing.assert_frame_equal(
        read_named(long_out, "Summary by group"), read_named(wide_out, "Summary by group")
    )


def test_top25_falls_back_to_national_once(tmp_path):
    out = tmp_path / "targets.xlsx"
    result = run_targetkit("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out,
                           "--benchmark", "top25")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Note:") == 1
    assert "national" in result.stdout.split("Note:")[1]
    about = [row for row in openpyxl.load_workbook(out)["About"].iter_rows(values_only=True)]
    notes = [value for item, value in about if item == "note"]
    assert len(notes) == 1 and "national" in notes[0]


def test_year7_with_ks2_scores_gets_year11_targets_with_yearly_milestones(tmp_path):
    cohort = COHORT.assign(**{"Year Group": 7})
    path = tmp_path / "y7.xlsx"
    with pd.ExcelWriter(path) as writer:
        cohort.to_excel(writer, sheet_name="Cohort", index=False)
        pd.DataFrame(ENTRIES, columns=["UPN", "Subject", "Qualification"]).to_excel(
            writer, sheet_name="Entries", index=False
        )
    targets = targets_of(set_minimum_targets(tmp_path, path))
    # a straight line from U at the end of Year 6 to the Year 11 target: grade 6 (pupil 2)
    # → 6 x 1/5 = 1.2 → 1 by Year 7, 2.4 → 2 by Year 8, 3.6 → 3 by Year 9, 4.8 → 4 by Year 10
    for subject in ("maths", "geography", "computer_science"):
        milestones = [str(targets.iloc[1][f"{subject}_milestone_y{y}"]) for y in (7, 8, 9, 10)]
        assert milestones == ["1", "2", "3", "4"], subject
    # Combined Science 4-4 (pupil 1) on the double scale: 4 x 4/5 = 3.2 → 3-3 by Year 10,
    # 4 x 3/5 = 2.4 → 2-2 by Year 9
    assert targets.iloc[0]["combined_science_milestone_y10"] == "3-3"
    assert targets.iloc[0]["combined_science_milestone_y9"] == "2-2"
    # auto chooses ks4 for Year 7 with KS2 scaled scores
    auto = cli("set-targets", path, "-o", tmp_path / "auto.xlsx", "--format", "json")
    assert json.loads(auto.stdout)["summary"]["policy"] == "ks4"
    labels = list(summary_of(tmp_path / "auto.xlsx")[1].index)
    assert not [label for label in labels if "5 A*-C" in str(label)]  # no KS3 levels, no row
    assert "English and maths grade 5+ in English and maths" in labels or any(
        "5+ in English and maths" in str(label) for label in labels
    )


def test_check_ambition_checks_every_subject_and_the_schools_progress8(tmp_path):
    out = tmp_path / "targets.xlsx"
    assert cli("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out).exit_code == 0
    untouched = cli("check-ambition", out, "--format", "json")
    found = json.loads(untouched.stdout)["findings"]
    assert [f for f in found if f["severity"] in ("warning", "challenge", "error")] == []
    # lower every GCSE target to 1 (1-1): each subject is checked on its own, and the targets
    # now add up to a Progress 8 below 0
    book = openpyxl.load_workbook(out)
    sheet = book["Targets"]
    header = {c.value: c.column for c in sheet[1]}
    for name in ("History target", "Combined Science target", "French target", "Biology target"):
        for row in range(2, sheet.max_row + 1):
            cell = sheet.cell(row, header[name])
            if cell.value:
                cell.value = "1-1" if "-" in str(cell.value) else "1"
    lowered = tmp_path / "lowered.xlsx"
    book.save(lowered)
    result = cli("check-ambition", lowered, "--format", "json")
    found = json.loads(result.stdout)["findings"]
    below = {(f["upn"], f["subject"]) for f in found if f["code"] == "BELOW_EXPECTED_PROGRESS"}
    assert below == {
        (UPNS[0], "history"),
        (UPNS[0], "combined_science"),
        (UPNS[0], "french"),
        (UPNS[1], "biology"),
    }
    assert not [f for f in found if f["code"] in ("MISSING_TARGET", "INVALID_TARGET")]
    # every English, maths and GCSE target to 1: the targets' Progress 8 is below 0
    for name, column in header.items():
        if str(name).endswith(" target"):
            for row in range(2, sheet.max_row + 1):
                cell = sheet.cell(row, column)
                if cell.value:
                    cell.value = "1-1" if "-" in str(cell.value) else "1"
    book.save(lowered)
    found = json.loads(cli("check-ambition", lowered, "--format", "json").stdout)["findings"]
    school = [f for f in found if f["code"] == "BELOW_BENCHMARK" and f["subject"] == "progress8"]
    assert len(school) == 1 and school[0]["severity"] == "challenge"
    # pupils 1 and 2 in Progress 8: A8 (1+1)x... by hand: pupil 1 maths 2 + English 2 + EBacc
    # (1 + 1 + 1) + open (1 + 1 + 1) = 10; pupil 2 maths 2 + English 1 + 3 + 3 = 9
    expected = ((10 - dfe_estimate(104.5)) / 10 + (9 - dfe_estimate(111)) / 10) / 2
    assert f"{expected:+.2f}" in school[0]["message"]


def test_group_rows_feed_the_gap_analysis_never_the_pupils_row(tmp_path):
    """Six pupils in band 102.5 - 104.5 taking history, five disadvantaged: the group sheet
    compares their targeted share with what disadvantaged pupils with the same bands reach
    nationally (the DfE's disadvantaged rows); each pupil's own chance is the all-pupils one."""
    upns = [f"B10000000000{i}" for i in range(6)]
    cohort = pd.DataFrame(
        {
            "UPN": upns,
            "Year Group": 10,
            "reading_ks2": 104,
            "maths_ks2": 105,
            "disadvantaged": ["Y", "Y", "Y", "Y", "Y", "N"],
            "history_entered": "yes",
        }
    )
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    out = tmp_path / "targets.xlsx"
    assert cli("set-targets", path, "-o", out).exit_code == 0
    targets = targets_of(out)
    band = "102.5 - 104.5"
    # every pupil's chance is the all-pupils rate (54.2%), disadvantaged or not
    assert targets["history_chance_4plus"].tolist() == [pytest.approx(0.542)] * 6
    rows = list(openpyxl.load_workbook(out)["Summary by group"].iter_rows(values_only=True))
    groups = pd.DataFrame(rows[1:], columns=rows[0])
    row = groups[
        groups["Subject"].eq("History")
        & groups["Group"].eq("disadvantaged")
        & groups["Value"].eq("yes")
        & groups["Threshold"].eq("4+")
    ].iloc[0]
    expected = dfe_chance("history", band, 4, group="Disadvantaged") / 100
    assert expected < 0.542  # the DfE's gap: disadvantaged pupils with the same KS2 reach less
    national = "% this group reaches nationally (same KS2 bands)"
    assert row[national] == pytest.approx(expected, abs=0.0005)
    assert row["% the benchmark implies"] == pytest.approx(0.542, abs=0.0005)
