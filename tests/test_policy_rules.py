"""Issue 14: the rules of the guidance (seeds/000) and the school policy (seeds/002) on every
key stage, each on a hand-made cohort with the expected targets worked out by hand.

Line numbers cite the two source documents' seed texts, 000_810c80f4b83d1e9a.txt ("seed 000")
and 002_eb9e0e05e90470b6.txt ("seed 002"); docs/rules.md lists each rule with its test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from targetkit.pipeline.targets import compute_targets
from targetkit.policies import choose_policy, load_policy
from tests.helpers import cli, read_named


def upns(n: int) -> list[str]:
    return [f"X80121032{i:04d}" for i in range(n)]


def cohort(year: int, **columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"upn": upns(n), "year_group": [year] * n, "sen": ["N"] * n, **columns})


def targets(frame: pd.DataFrame, policy: str, **options: object) -> pd.DataFrame:
    result = compute_targets(frame, load_policy(policy), academic_year=2026, **options)
    return result.pupils


# --- Primary (levels) -------------------------------------------------------------------------


def test_english_is_a_ks2_subject_its_prior_the_mean_of_reading_and_writing_rounded_down():
    """SPEC §8 "English at KS2"; seed 000 line 62 (rates "in English at KS2"). Reading 2 (15)
    and writing 3 (21) average 18 → 2a (17); W (3) and 2c (13) average 8 → 1c (7); a pupil
    with only reading 2b has the one prior they have; an english_ks1 column wins."""
    assert "english" in load_policy("ks2").subjects
    frame = cohort(
        6, reading_ks1=["2", "W", "2b"], writing_ks1=["3", "2c", None], maths_ks1=["2b"] * 3
    )
    pupils = targets(frame, "ks2", subjects=["english"])
    assert pupils["english_prior"].tolist() == ["2a", "1c", "2b"]
    assert pupils["english_minimum"].tolist() == ["4", "3", "4"]  # level 2 → 4, level 1 → 3
    frame["english_ks1"] = ["3", "3", "3"]
    assert targets(frame, "ks2", subjects=["english"])["english_prior"].tolist() == ["3"] * 3


@pytest.mark.parametrize(("benchmark", "at_level_4"), [("top25", 6), ("national", 3)])
def test_the_published_56_percent_is_the_floor_for_writing_in_top_25_schools(benchmark, at_level_4):
    """Seed 000 line 62: "in the top 25% of primary schools 56% of pupils with level 1 ... go
    on to achieve level 4+ in English"; SPEC §8: the floor for reading and writing too. Nine
    KS1 writing level-1 pupils: top25 ceil(0.56 x 9) = 6 targeted level 4+ (the table's
    illustrative writing rate, 0.46, would give ceil(4.14) = 5); national (no published floor):
    the table's 0.25 + 0.01 → ceil(9 x 0.26) = 3."""
    frame = cohort(6, writing_ks1=["1"] * 9)
    pupils = targets(frame, "ks2", subjects=["writing"], benchmark=benchmark)
    levels = pupils["writing_target"].str[0].astype(int)
    assert int((levels >= 4).sum()) == at_level_4
    assert set(pupils["writing_target"]) <= {"3", "4", "5"}
    if benchmark == "top25":
        assert pupils["writing_reason"].str.contains("at least 56% of pupils with KS1 1").any()


def test_ks1_a_level_a_year_counts_the_years_left_from_the_latest_drop():
    """Seed 000 line 269: "Children should generally make at least 1 level progress per year
    across the key stage"; 2c minimum at the end of Year 2. Year 1 at aut1 on 1c (7): the rest
    of Year 1 (5/6) and Year 2 → 7 + 6 x 11/6 = 18 → rounded down to 2a (17); Year 2 at aut1
    on 1c: 7 + 6 x 5/6 = 12 (1a), below the 2c minimum for EYFS 1, so 2c."""
    frame = cohort(1, reading_eyfs=["1", "1"], reading_aut1=["1c", "1c"])
    frame["year_group"] = [1, 2]
    pupils = targets(frame, "ks1", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["2a", "2c"]
    assert "a level a year" in pupils.loc[0, "reading_reason"]


def test_a_year_2_pupil_with_no_eyfs_result_gets_the_expectation_not_below_2c_and_is_flagged():
    """Seed 000 line 269: "level 2c as a minimum at end of year 2"; SPEC §8: no prior → the
    age-related expectation (2b), flagged NO_PRIOR_RESULT."""
    pupils = targets(cohort(2, reading_eyfs=[None, "A"]), "ks1", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["2b", "2b"]
    assert pupils["flags"].tolist() == ["NO_PRIOR_RESULT", "NO_PRIOR_RESULT"]


def test_steps_eyfs_baseline_is_for_year_1_only_older_pupils_without_a_baseline_are_flagged():
    """Seed 002 lines 330-336: EYFS 2 → 1w/1w+ at the end of Year 1; "the majority of children
    will be stage secure at the end of the year" (Y2 2S, Y3 3S). A Year 1 pupil with EYFS 2
    gets 1w+; Year 2 and Year 3 pupils with an EYFS result but no baseline get their year's
    secure step (2s, 3s), flagged NO_PRIOR_RESULT, never a Year 1 target."""
    frame = cohort(1, reading_eyfs=["2", "2", "2"], reading_sum2_2025=[None, None, None])
    frame["year_group"] = [1, 2, 3]
    pupils = targets(frame, "steps", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["1w+", "2s", "3s"]
    assert pupils["flags"].tolist() == ["", "NO_PRIOR_RESULT", "NO_PRIOR_RESULT"]


@pytest.mark.parametrize(
    ("columns", "year", "expected"),
    [
        ({"reading_ks1": ["2b", "2a"], "reading_sum2_2025": ["3c", "2a"]}, 4, "ks2"),
        # "1b" is spelt like a step, but "1a" is only a level: more levels than steps
        ({"reading_eyfs": ["2", "2"], "reading_sum2_2025": ["1a", "1b"]}, 2, "ks1"),
        # a real steps baseline still chooses steps
        ({"reading_ks1": ["2b", "3"], "reading_sum2_2025": ["3w", "2b"]}, 4, "steps"),
    ],
)
def test_nc_levels_in_a_sum2_column_do_not_switch_a_cohort_to_steps(columns, year, expected):
    """Issue 14: NC levels in `<subject>_sum2_<year>` are a levels drop, not a steps baseline."""
    frame = pd.DataFrame({"year_group": [year, year], **columns})
    assert choose_policy(frame)[0] == expected


# --- P scales -----------------------------------------------------------------------------------


def test_a_p7_pupil_gets_a_target_on_the_p_scales_by_the_policy_s_rule():
    """Seed 000 line 39 and para 31 (line 265): targets "using P scales or other performance
    measure". The policy's rule (illustrative, labelled): one step a year up P1i … P8, W, 1c …
    KS2 (4 years): P7 → P8, W, 1c, 1b → whole level 1 (minimum and target); P3i → P3ii, P4,
    P5, P6 → P6. KS3 (3 years): P7 → P8, W, 1c → level 1. P7 is a prior, not "no prior"."""
    frame = cohort(6, reading_ks1=["P7", "P3i"])
    pupils = targets(frame, "ks2", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["1", "P6"]
    assert pupils["reading_minimum"].tolist() == ["1", "P6"]
    assert pupils["flags"].tolist() == ["", ""]
    assert "illustrative" in pupils.loc[0, "reading_reason"]
    ks3 = targets(cohort(9, english_ks2=["P7"]), "ks3", subjects=["english"])
    assert ks3["english_target"].tolist() == ["1"]


def test_a_p_scale_pupil_is_not_held_below_their_latest_attainment():
    """The "never lower" floors hold on the P scales too: a KS1 P8 pupil already at 2c (spr1 of
    Year 6) is targeted level 2 (the whole level), not the P rule's level 1."""
    pupils = targets(
        cohort(6, reading_ks1=["P8"], reading_spr1=["2c"]), "ks2", subjects=["reading"]
    )
    assert pupils["reading_target"].tolist() == ["2"]


def _import_csv(path, text: str):
    """`text` written to `path` as an MIS export and imported as `targetkit import` reads it."""
    from targetkit.io import read_table
    from targetkit.pipeline.importing import SourceTable, import_cohort

    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    source = SourceTable(path.name, table.frame, table.header_row, table.blank_rows)
    return import_cohort([source], academic_year=2026)


def test_import_reads_p7_as_a_p_scale_grade_and_never_suggests_7(tmp_path):
    """Issue 14: `P7` is a grade of the NC scale's P scales, not a misspelt level 7."""
    imported = _import_csv(
        tmp_path / "export.csv",
        f"UPN,Surname,Forename,Year,KS1 Reading\n{upns(1)[0]},Test,Pupil,Year 5,P7\n",
    )
    assert imported.pupils["reading_ks1"].tolist() == ["P7"]
    issues = imported.issues
    about_p7 = issues[issues["value"].astype(str).str.contains("P7", case=False)]
    assert about_p7.empty, about_p7.to_string()


# --- Primary (today's assessments) --------------------------------------------------------------


def test_ks1_teacher_assessments_lead_to_the_expected_standard_and_the_high_score():
    """Seed 000 (line 64 and the grid, line 269): pupils meeting expectations at one key stage
    meet them at the next. EXS → 100 (expected standard), GDS → 110 (high score); of three
    WTS pupils ceil(0.5 x 3) = 2 targeted 100 (the policy's illustrative share), the third 95;
    the engagement model (EM) is a prior below the standard (80), never "no prior"."""
    frame = cohort(5, reading_ks1=["EXS", "GDS", "WTS", "WTS", "WTS", "EM"])
    pupils = targets(frame, "ks2_ta", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["100", "110", "100", "100", "95", "80"]
    assert pupils["flags"].tolist() == ["", "", "QUOTA_TARGET", "QUOTA_TARGET", "", ""]
    assert pupils.loc[5, "reading_prior"] == "BLW"
    assert "illustrative" in load_policy("ks2_ta").source


def test_ks1_writing_assessments_lead_to_ks2_writing_assessments():
    """EXS → EXS, GDS → GDS, WTS: ceil(0.5 x 2) = 1 of 2 targeted EXS, the other WTS; PK4
    (the highest KS1 pre-key stage standard) → PK6, two standards up (illustrative)."""
    frame = cohort(6, writing_ks1=["EXS", "GDS", "WTS", "WTS", "PK4"])
    pupils = targets(frame, "ks2_ta_writing")
    assert pupils["writing_target"].tolist() == ["EXS", "GDS", "EXS", "WTS", "PK6"]


def test_auto_policy_picks_the_teacher_assessment_policy_for_ks1_ta_cohorts():
    frame = pd.DataFrame({"year_group": [4, 4], "reading_ks1": ["EXS", "WTS"]})
    assert choose_policy(frame)[0] == "ks2_ta"


# --- Secondary ----------------------------------------------------------------------------------


def test_a_year_11_cohort_with_ks2_levels_gets_gcse_targets_and_the_81_percent():
    """Seed 000 line 64: "in the top 25% of schools at KS4, 81% of pupils with level 4 at KS2
    go on to achieve 5 A*-C grades". Ten pupils at level 4 in English and maths: ceil(0.81 x
    10) = 9 targeted yes (ties → lower UPN), the tenth no; a level-5 pupil yes. Subjects: three
    levels of progress (level 4 → C, 5 → B, 3 → D)."""
    frame = cohort(11, english_ks2=["4"] * 10 + ["5", "3"], maths_ks2=["4"] * 10 + ["5", "3"])
    pupils = targets(frame, "ks4_levels")
    assert pupils["target_5ac"].tolist() == ["yes"] * 9 + ["no", "yes", "no"]
    assert pupils["chance_5ac"].tolist()[:10] == [81.0] * 10
    assert pupils["english_minimum"].tolist() == ["C"] * 10 + ["B", "D"]
    assert pupils["english_target"].notna().all() and pupils["maths_target"].notna().all()


def test_a_ks3_only_cohort_is_not_refused_and_the_published_95_percent_reaches_its_pupil(tmp_path):
    """Seed 000 lines 101-102: 95% of pupils with level 6 in each of English, maths and
    science (92% in English and maths) achieved 5+ A*-C including English and maths; grid
    (line 269): all pupils averaging level 6 targeted. No KS2 scores: not refused (exit 0)."""
    path = tmp_path / "year10.csv"
    path.write_text(
        "upn,year_group,english_ks3,maths_ks3,science_ks3\n"
        f"{upns(2)[0]},10,6,6,6\n{upns(2)[1]},10,6,6,5\n",
        encoding="utf-8",
    )
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", path, "-o", out)
    assert result.exit_code == 0, result.stderr
    sheet = read_named(out, "Targets")
    # the workbook keeps chances as fractions in a percent format
    assert sheet["chance_5acem"].astype(float).tolist() == [0.95, 0.92]
    assert sheet["target_5acem"].tolist() == ["yes", "yes"]
    assert "needs KS2" not in result.stderr


def test_set_targets_on_a_year_11_cohort_with_ks2_levels_targets_every_pupil(tmp_path):
    """Issue 14: not "exit 0 with 0% targeted". Level 4 → C and level 5 → B (three levels of
    progress), through the command as a user runs it (`--policy auto`)."""
    path = tmp_path / "year11.csv"
    rows = "".join(
        f"{u},11,{lvl},{lvl}\n" for u, lvl in zip(upns(3), ["4", "5", "4b"], strict=True)
    )
    path.write_text("upn,year_group,english_ks2,maths_ks2\n" + rows, encoding="utf-8")
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", path, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "ks4_levels" in result.stderr + result.stdout
    sheet = read_named(out, "Targets")
    assert sheet["english_minimum"].tolist() == ["C", "B", "C"]
    assert sheet["english_target"].notna().all() and sheet["maths_target"].notna().all()
    about = read_named(out, "About")
    assert about.astype(str).apply(lambda c: c.str.contains("ks4_levels")).any().any()


# --- Milestones: from the end of the pupil's own year on (issue 14) ------------------------------


def no_quotas(name: str):  # type: ignore[no-untyped-def]
    """A shipped policy without its school-wide benchmark quota (SPEC §8), so each target is the
    policy's rule for the prior alone and can be worked out by hand."""
    return load_policy(name).model_copy(update={"school_quotas": False})


def milestones(pupils: pd.DataFrame, subject: str) -> dict[str, list]:
    prefix = f"{subject}_milestone_y"
    return {
        c.removeprefix(f"{subject}_milestone_"): [None if pd.isna(v) else v for v in pupils[c]]
        for c in pupils.columns
        if c.startswith(prefix)
    }


def test_milestones_start_at_the_end_of_the_pupil_s_own_year_on_every_policy():
    """Seed 000 para 7: "yearly progress indicators for each pupil"; a year already over has
    none. Scale points: nc 1b 9, 2a 17, 2b 15, 3a 23, 3b 21, 4 = 4b 27, 4a 29, 5 = 5b 33,
    5c 31; gcse91 the grade; gcse (A*-G) D 34, C 40, G 16."""
    # ks1: EYFS 2 → 2b (15); one level (6) a year back from the target: Year 1 15 - 6 = 9, 1b.
    # The Year 2 pupil's Year 1 is over: blank.
    pupils = compute_targets(
        cohort(1, reading_eyfs=["2", "2"]).assign(year_group=[1, 2]),
        no_quotas("ks1"),
        academic_year=2026,
        subjects=["reading"],
    ).pupils
    assert milestones(pupils, "reading") == {"y1": ["1b", None]}
    # ks2: KS1 2b (15) → level 4 (27), a straight line over Years 3-6: Year 3 15 + 12/4 = 18
    # → 2a, Year 4 21 → 3b, Year 5 24 → 3a (rounded down to a grade).
    pupils = compute_targets(
        cohort(3, reading_ks1=["2b"] * 4).assign(year_group=[3, 4, 5, 6]),
        no_quotas("ks2"),
        academic_year=2026,
        subjects=["reading"],
    ).pupils
    assert pupils["reading_target"].tolist() == ["4"] * 4
    assert milestones(pupils, "reading") == {
        "y3": ["2a", None, None, None],
        "y4": ["3b", "3b", None, None],
        "y5": ["3a", "3a", "3a", None],
    }
    # ks3: KS2 4 (27) → 5 (33) over Years 7-9: Year 7 29 → 4a, Year 8 31 → 5c.
    pupils = compute_targets(
        cohort(7, english_ks2=["4"] * 3).assign(year_group=[7, 8, 9]),
        no_quotas("ks3"),
        academic_year=2026,
        subjects=["english"],
    ).pupils
    assert milestones(pupils, "english") == {"y7": ["4a", None, None], "y8": ["5c", "5c", None]}
    # ks4 (9-1): KS2 104 → grade 4, a line from U (0) at the end of Year 6: Year 10 4 x 4/5 =
    # 3.2 → 3. Years 7-9 are over for every pupil: no column at all.
    pupils = compute_targets(
        cohort(10, reading_ks2=[104] * 2, maths_ks2=[104] * 2).assign(year_group=[10, 11]),
        no_quotas("ks4"),
        academic_year=2026,
        subjects=["english"],
    ).pupils
    assert pupils["english_target"].tolist() == ["4", "4"]
    assert milestones(pupils, "english") == {"y10": ["3", None]}
    # ks4_levels (A*-G): KS2 level 4 → C (40), a line from G (16): Year 10 16 + 24 x 4/5 =
    # 35.2 → D.
    pupils = compute_targets(
        cohort(10, english_ks2=["4"] * 2).assign(year_group=[10, 11]),
        no_quotas("ks4_levels"),
        academic_year=2026,
        subjects=["english"],
    ).pupils
    assert pupils["english_target"].tolist() == ["C", "C"]
    assert milestones(pupils, "english") == {"y10": ["D", None]}
    # a whole Year 6 cohort: every end-of-year milestone is past, so none is written
    pupils = targets(cohort(6, reading_ks1=["2b"] * 2), "ks2", subjects=["reading"])
    assert milestones(pupils, "reading") == {}


def test_gcse_subject_and_steps_milestones_are_this_year_s_and_after():
    """A GCSE subject's milestones (ks4 `subject_tables`) follow the same rule; the steps
    policy's milestones are this year's half terms (aut1 … sum2), all kept."""
    frame = cohort(10, reading_ks2=[104, 104], maths_ks2=[104, 104]).assign(year_group=[10, 11])
    frame["geography_entered"] = ["GCSE", "GCSE"]
    pupils = compute_targets(frame, no_quotas("ks4"), academic_year=2026).pupils
    geography = milestones(pupils, "geography")
    assert set(geography) == {"y10"}
    assert geography["y10"][1] is None and geography["y10"][0] is not None
    steps = targets(cohort(4, maths_sum2_2026=["3s"]), "steps", subjects=["maths"])
    drops = [c.removeprefix("maths_milestone_") for c in steps if c.startswith("maths_milestone")]
    assert drops == ["aut1", "aut2", "spr1", "spr2", "sum1", "sum2"]


def test_set_targets_workbook_leaves_a_year_2_pupil_s_year_1_milestone_blank(tmp_path):
    """Through the CLI: the Year 1 pupil's end-of-Year-1 milestone is 1b (15 - 6 = 9), the Year
    2 pupil's cell is empty."""
    import openpyxl

    from tests.helpers import column_numbers

    path = tmp_path / "infants.csv"
    cohort(1, reading_eyfs=["2", "2"]).assign(year_group=[1, 2]).to_csv(path, index=False)
    out = tmp_path / "t.xlsx"
    result = cli("set-targets", path, "-o", out, "--policy", "ks1", "--subjects", "reading")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        sheet = book["Targets"]
        column = column_numbers(sheet)["reading_milestone_y1"]
        cells = [row[column - 1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    finally:
        book.close()
    assert cells == ["1b", None]


# --- Expected progress from the latest drop, for the years left, on every key stage ------------


def test_ks2_and_ks3_targets_count_the_years_left_from_the_latest_drop():
    """Seed 000 para 5: "children move on at least 2 levels for Key Stage 2 and at least 1
    level for Key Stage 3" (ks2 3 points a year, ks3 2 a year, `progress_from_latest`); the
    grid: targets "revised if children are making faster progress than expected", flagged
    RAISED_FASTER_PROGRESS. nc points: 3a 23, 3c 19, 4b 27, 5c 31, 5a 35, 4a 29, 6b 39."""
    # ks2, Year 4 at aut1 (2 whole years + 5/6 of this one left: 8.5 points): 3a 23 + 8.5 =
    # 31.5 → 5c, level 5 above the KS1 2b rule (4); 3c 19 + 8.5 = 27.5 → 4b: the rule's 4.
    frame = cohort(4, maths_ks1=["2b", "2b"], maths_aut1=["3a", "3c"])
    pupils = compute_targets(frame, no_quotas("ks2"), academic_year=2026, subjects=["maths"]).pupils
    assert pupils["maths_target"].tolist() == ["5", "4"]
    assert pupils["flags"].tolist() == ["RAISED_FASTER_PROGRESS", ""]
    assert (
        "not below the two levels across the key stage from latest" in pupils.loc[0, "maths_reason"]
    )
    # ks3, Year 7 at spr1 (2 years + 3/6 left: 5 points): 5a 35 + 5 = 40 → 6b, level 6 above
    # the KS2 level 4 rule (5); 4a 29 + 5 = 34 → 5b: the rule's 5.
    frame = cohort(7, maths_ks2=["4", "4"], maths_spr1=["5a", "4a"])
    pupils = compute_targets(frame, no_quotas("ks3"), academic_year=2026, subjects=["maths"]).pupils
    assert pupils["maths_target"].tolist() == ["6", "5"]
    assert pupils["flags"].tolist() == ["RAISED_FASTER_PROGRESS", ""]


def test_ks1_s_level_a_year_floor_is_flagged_raised_for_faster_progress():
    """The ks1 floor (points_per_year 6) is the same rule: Year 1 at aut1 on 1c (7) + 6 x
    11/6 = 18 → 2a above EYFS 1's 2c: raised, flagged."""
    frame = cohort(1, reading_eyfs=["1"], reading_aut1=["1c"])
    pupils = targets(frame, "ks1", subjects=["reading"])
    assert pupils["reading_target"].tolist() == ["2a"]
    assert "RAISED_FASTER_PROGRESS" in pupils.loc[0, "flags"]


# --- Pre-key stage standards on every path; no baseline flagged on every policy ----------------


def test_pre_key_stage_standards_are_below_the_expected_standard_on_every_path(tmp_path):
    """Issue 14: `PK1`-`PK6` (and PKF/PKE/PKG, BLW, the engagement model EM) are a result below
    the expected standard, never unknown: import keeps them in KS1 and KS2 columns with no
    issue; the KS1 ones are a ks1ta grade below WTS; in a KS2 test column they are, like B, no
    scaled score; in KS2 writing they are grades below WTS."""
    from targetkit.scales import load_scale

    imported = _import_csv(
        tmp_path / "export.csv",
        "UPN,Surname,Forename,Year,KS1 Reading,KS1 Maths,KS2 Reading,KS2 Maths,KS2 Writing\n"
        f"{upns(2)[0]},Test,Pupil,Year 8,PK2,PK4,PK6,EM,PK5\n"
        f"{upns(2)[1]},Test,Other,Year 8,EXS,WTS,101,99,EXS\n",
    )
    row = imported.pupils.iloc[0]
    assert [row[c] for c in ("reading_ks1", "maths_ks1", "reading_ks2", "maths_ks2")] == [
        "PK2", "PK4", "PK6", "EM"
    ]  # fmt: skip
    assert row["writing_ks2"] == "PK5"
    about_grades = imported.issues[imported.issues["column"].ne("UPN")]  # made-up UPNs
    assert about_grades.empty, about_grades.to_string()
    ks1ta, ks2ss, writing = (load_scale(n) for n in ("ks1ta", "ks2ss", "ks2writing"))
    pk = pd.Series(["PK1", "PK4", "WTS"])
    assert ks1ta.parse(pk).points.is_monotonic_increasing  # PK1 < PK4 < WTS
    parsed = ks2ss.parse(pd.Series(["PK1", "PK6", "PKF", "BLW", "EM"]))
    assert not parsed.unknown.any() and parsed.points.isna().all()
    assert parsed.code.tolist() == ["PK1", "PK6", "PKF", "BLW", "EM"]
    ranks = writing.parse(pd.Series(["PK1", "PK6", "WTS", "EXS"])).points
    assert ranks.is_monotonic_increasing and not ranks.isna().any()


@pytest.mark.parametrize(
    ("policy", "year", "columns", "expected"),
    [
        ("ks1", 2, {"reading_eyfs": None}, "2b"),
        ("ks2", 4, {"reading_ks1": None}, "4"),
        ("ks2_ta", 5, {"reading_ks1": None}, "100"),
        ("ks2_ta_writing", 5, {"writing_ks1": None}, "EXS"),
        ("ks3", 8, {"english_ks2": None}, "5"),
        ("ks4", 10, {"reading_ks2": None, "maths_ks2": None}, "4"),
        ("ks4_levels", 11, {"english_ks2": None}, "C"),
        ("steps", 3, {"maths_sum2_2025": None}, "3s"),
    ],
)
def test_a_pupil_with_no_baseline_gets_the_expectation_flagged_on_every_policy(
    policy, year, columns, expected
):
    """SPEC §8 "no prior is not a low prior": a pupil after the key stage's first year with no
    baseline gets the policy's age-related expectation (ks1 2b, ks2 4, ks2_ta 100, writing EXS,
    ks3 5, ks4 grade 4, ks4_levels C, steps the year's secure step: Year 3 → 3s), flagged
    NO_PRIOR_RESULT, on every policy."""
    frame = cohort(year, **{name: [value] for name, value in columns.items()})
    subject = next(iter(columns)).split("_")[0]
    subject = "english" if policy in ("ks4",) else subject
    result = compute_targets(
        frame, no_quotas(policy), academic_year=2026, subjects=[subject]
    ).pupils
    assert result[f"{subject}_target"].tolist() == [expected]
    assert "NO_PRIOR_RESULT" in result.loc[0, "flags"].split("; ")


def test_without_a_year_group_column_every_milestone_stays():
    """No year group: no year is known to be over, so ks2's three milestones are all written
    (KS1 2b → level 4: 2a, 3b, 3a, as above)."""
    frame = cohort(3, reading_ks1=["2b"]).drop(columns="year_group")
    pupils = compute_targets(
        frame, no_quotas("ks2"), academic_year=2026, subjects=["reading"]
    ).pupils
    assert milestones(pupils, "reading") == {"y3": ["2a"], "y4": ["3b"], "y5": ["3a"]}


def test_the_legacy_a_star_to_g_matrices_are_labelled_gcse_2015_on_the_about_sheet(tmp_path):
    """DATA.md §4: `ks2_gcse_legacy_2016` holds the GCSE 2015 matrices; the About sheet gives the
    table's title beside its name (the name stays: check-ambition reads it back)."""
    import openpyxl

    path = tmp_path / "year11.csv"
    cohort(11, english_ks2=["4", "5"], maths_ks2=["4", "5"]).to_csv(path, index=False)
    out = tmp_path / "targets.xlsx"
    assert cli("set-targets", path, "-o", out, "--policy", "ks4_levels").exit_code == 0
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row}
    finally:
        book.close()
    assert about["conversion table"] == "ks2_gcse_legacy_2016"
    assert "GCSE 2015" in about["conversion data"]


def test_every_test_docs_rules_md_names_exists():
    """docs/rules.md's table names a test for each rule: each one is a test function of tests/
    (`::test_pooled_anchor_*` stands for the pooled-anchor tests)."""
    import re

    from tests.helpers import ROOT

    table = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    named = set(re.findall(r"::(test_[a-z0-9_]+)", table))
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    missing = {n for n in named if not re.search(rf"def {n}\w*\(", source)}
    assert missing == set()
    assert len(named) > 50
