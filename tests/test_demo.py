"""The synthetic demo data: reproducible, realistic, and with the problems it promises."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from targetkit import demo
from targetkit.upn import validate_upns

PUPIL_COLUMNS = [
    "upn",
    "pupil_id",
    "surname",
    "forename",
    "school",
    "year_group",
    "gender",
    "dob",
    "fsm",
    "disadvantaged",
    "sen",
    "eal",
    "lac",
    "ethnicity",
    "gifted",
    "attendance",
]
BOOLEAN_COLUMNS = ["fsm", "disadvantaged", "eal", "lac", "gifted"]
SUBJECTS = ["reading", "writing", "maths"]
KS1_GRADES = {"W", "1c", "1b", "1a", "2c", "2b", "2a", "3"}
SUBLEVEL = re.compile(r"^[1-7][cba]$")
STEP = re.compile(r"^([1-9])(b|b\+|w|w\+|s|s\+)$")
STEP_NAMES = ["b", "b+", "w", "w+", "s", "s+"]
CBDS_ETHNICITY = set(
    [
        "WBRI",
        "WIRI",
        "WIRT",
        "WOTH",
        "WROM",
        "MWBC",
        "MWBA",
        "MWAS",
        "MOTH",
        "AIND",
        "APKN",
        "ABAN",
        "AOTH",
        "BCRB",
        "BAFR",
        "BOTH",
        "CHNE",
        "OOTH",
        "REFU",
        "NOBT",
    ]
)

Cohort = Callable[..., pd.DataFrame]
COHORTS: dict[str, tuple[Cohort, int]] = {
    "primary_cohort": (demo.primary_cohort, 6),
    "infant_cohort": (demo.infant_cohort, 2),
    "ks3_cohort": (demo.ks3_cohort, 9),
    "secondary_cohort": (demo.secondary_cohort, 11),
    "steps_tracking": (demo.steps_tracking, 4),
}


def nc_points(grades: pd.Series) -> pd.Series:
    """National Curriculum points as SPEC.md §3 gives them (whole levels count as their b)."""
    table = {"W": 3, "1": 9, "2": 15, "3": 21, "4": 27, "5": 33, "6": 39, "7": 45}
    for level in range(1, 8):
        for offset, letter in enumerate("cba"):
            table[f"{level}{letter}"] = 6 * level + 1 + 2 * offset
    return grades.map(table)


def step_points(grades: pd.Series) -> pd.Series:
    parts = grades.str.extract(STEP.pattern)
    index = parts[1].map({name: i + 1 for i, name in enumerate(STEP_NAMES)})
    return (parts[0].astype(float) - 1) * 6 + index.astype(float)


# ---------------------------------------------------------------------------------------------
# Every cohort
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COHORTS)
def test_same_arguments_give_identical_frames_and_another_seed_does_not(name: str) -> None:
    make, _ = COHORTS[name]
    pd.testing.assert_frame_equal(make(50), make(50))
    pd.testing.assert_frame_equal(make(50, seed=7), make(50, seed=7))
    assert not make(50).equals(make(50, seed=7))


@pytest.mark.parametrize("name", COHORTS)
@pytest.mark.parametrize("pupils", [0, 1, 37, 500])
def test_the_pupils_argument_is_the_row_count(name: str, pupils: int) -> None:
    make, _ = COHORTS[name]
    frame = make(pupils)
    assert len(frame) == pupils
    assert list(frame.columns[: len(PUPIL_COLUMNS)]) == PUPIL_COLUMNS
    assert frame.index.equals(pd.RangeIndex(pupils))


@pytest.mark.parametrize("name", COHORTS)
def test_upns_are_valid_permanent_and_unique(name: str) -> None:
    make, _ = COHORTS[name]
    frame = make(800)
    checked = validate_upns(frame["upn"])
    assert checked["problem"].isna().all()
    assert not checked["temporary"].any()
    assert frame["upn"].is_unique
    assert frame["pupil_id"].is_unique


@pytest.mark.parametrize("name", COHORTS)
def test_pupil_columns_hold_values_from_their_domains(name: str) -> None:
    make, year_group = COHORTS[name]
    frame = make(800)
    assert (frame["year_group"] == year_group).all()
    assert set(frame["gender"]) == {"F", "M"}
    assert set(frame["sen"]) == {"N", "K", "E"}
    assert set(frame["ethnicity"]) <= CBDS_ETHNICITY
    assert frame["ethnicity"].value_counts().idxmax() == "WBRI"
    assert (frame["ethnicity"] == "WBRI").mean() > 0.5
    for column in BOOLEAN_COLUMNS:
        assert frame[column].dtype == bool, column
    assert (frame["disadvantaged"] >= (frame["fsm"] | frame["lac"])).all()
    assert 0.1 < frame["fsm"].mean() < 0.4
    assert frame["attendance"].between(0, 100).all()
    assert (frame["attendance"] * 10).round(6).mod(1).eq(0).all()  # one decimal place
    assert frame[["surname", "forename", "school"]].notna().all().all()


@pytest.mark.parametrize("name", COHORTS)
def test_dates_of_birth_fit_the_year_group_in_2026_27(name: str) -> None:
    make, year_group = COHORTS[name]
    frame = make(800)
    first = dt.date(2026 - year_group - 5, 9, 1)
    last = dt.date(2026 - year_group - 4, 8, 31)
    assert all(type(dob) is dt.date for dob in frame["dob"])
    assert frame["dob"].min() >= first
    assert frame["dob"].max() <= last
    assert demo.dob_range(year_group) == (first, last)


def test_year_6_in_2026_27_were_born_between_september_2015_and_august_2016() -> None:
    assert demo.dob_range(6) == (dt.date(2015, 9, 1), dt.date(2016, 8, 31))


def test_names_include_accents_and_apostrophes() -> None:
    frame = demo.primary_cohort(3000)
    names = set(frame["forename"]) | set(frame["surname"])
    assert {"Zoë", "Chloé", "José"} & names
    assert any("'" in name for name in names)
    assert any(not name.isascii() for name in names)


# ---------------------------------------------------------------------------------------------
# Primary (KS1 → KS2)
# ---------------------------------------------------------------------------------------------


def test_primary_cohort_has_ks1_levels_and_spring_sublevels() -> None:
    frame = demo.primary_cohort(2000)
    for subject in SUBJECTS:
        ks1 = frame[f"{subject}_ks1"]
        assert set(ks1) <= KS1_GRADES | {"A"}
        assert (ks1 == "A").any()
        assert (ks1 == "A").mean() < 0.03
        assert ks1.isin(["2c", "2b", "2a"]).mean() > 0.4
        assert ks1.value_counts().index[:3].isin(["2b", "2a", "3"]).all()
        spring = frame[f"{subject}_spr1"]
        assert spring.str.match(SUBLEVEL).all()
        assert nc_points(spring).between(7, 37).all()


def test_spring_assessment_is_never_below_the_ks1_level() -> None:
    frame = demo.primary_cohort(2000)
    for subject in SUBJECTS:
        prior = nc_points(frame[f"{subject}_ks1"])
        latest = nc_points(frame[f"{subject}_spr1"])
        assert (latest[prior.notna()] >= prior[prior.notna()]).all()
        # …and typically about two levels on: KS1 2b → level 4 by spring of Year 6.
        assert latest[frame[f"{subject}_ks1"] == "2b"].median() in (25, 27)


def test_only_ehc_plan_pupils_have_plan_targets_and_not_all_of_them() -> None:
    frame = demo.primary_cohort(200)
    has_target = frame["maths_plan_target"].notna()
    ehc = frame["sen"] == "E"
    assert has_target.any()
    assert not (has_target & ~ehc).any()
    assert (ehc & ~has_target).any()
    assert frame.loc[has_target, "maths_plan_target"].str.match(SUBLEVEL).all()


def test_primary_cohort_scales_to_100000_pupils_with_unique_valid_upns() -> None:
    """Speed is measured by benchmarks/, not here."""
    frame = demo.primary_cohort(100_000)
    assert len(frame) == 100_000
    assert frame["upn"].is_unique
    assert validate_upns(frame["upn"])["problem"].isna().all()


# ---------------------------------------------------------------------------------------------
# Infant, KS3 and secondary cohorts
# ---------------------------------------------------------------------------------------------


def test_infant_cohort_has_eyfs_outcomes_1_to_3() -> None:
    frame = demo.infant_cohort(1000)
    for subject in SUBJECTS:
        eyfs = frame[f"{subject}_eyfs"]
        assert set(eyfs) == {1, 2, 3}
        assert eyfs.value_counts().idxmax() == 2
        assert nc_points(frame[f"{subject}_spr1"]).between(3, 23).all()


def test_ks3_cohort_has_ks2_levels_3_to_6() -> None:
    frame = demo.ks3_cohort(1000)
    for subject in ["english", "maths", "science"]:
        assert set(frame[f"{subject}_ks2"]) <= {"3", "4", "5", "6"}
        assert frame[f"{subject}_ks2"].isin(["4", "5"]).mean() > 0.6
        assert frame[f"{subject}_spr1"].str.match(SUBLEVEL).all()


def test_secondary_cohort_has_ks2_scaled_scores_and_ks3_sublevels() -> None:
    frame = demo.secondary_cohort(2000)
    for subject in ["english", "maths"]:
        scores = frame[f"{subject}_ks2"]
        assert str(scores.dtype) == "Int64"
        assert scores.dropna().between(80, 120).all()
        assert 0 < scores.isna().mean() < 0.05
        assert 100 < scores.mean() < 108
    for subject in ["english", "maths", "science"]:
        levels = frame[f"{subject}_ks3"]
        assert levels.str.match(r"^[4-7][cba]$").all()
    high = frame["maths_ks2"] >= 110
    low = frame["maths_ks2"] < 100
    maths_ks3 = nc_points(frame["maths_ks3"])
    assert maths_ks3[high.fillna(False)].mean() > maths_ks3[low.fillna(False)].mean()


# ---------------------------------------------------------------------------------------------
# Steps tracking
# ---------------------------------------------------------------------------------------------


def drop_columns(subject: str) -> list[str]:
    return [f"{subject}_{point}" for point in demo.TRACKING_POINTS]


def test_steps_tracking_has_a_baseline_and_six_drops_of_steps_grades() -> None:
    frame = demo.steps_tracking(300, year_group=4)
    for subject in SUBJECTS:
        baseline = frame[f"{subject}_sum2_2026"]
        assert baseline.str.match(STEP).all()
        for column in drop_columns(subject):
            assert frame[column].str.match(STEP).all(), column
        points = step_points(frame[drop_columns(subject)[-1]])
        assert points.max() <= 24  # nobody beyond 4s+ in Year 4
    assert (frame["reading_sum2_2026"] == "3s").mean() > 0.3  # the expectation for end of Y3


def test_most_pupils_make_one_step_each_half_term() -> None:
    frame = demo.steps_tracking(1000)
    for subject in SUBJECTS:
        columns = [f"{subject}_sum2_2026", *drop_columns(subject)]
        steps = np.diff(np.column_stack([step_points(frame[c]) for c in columns]), axis=1)
        assert (steps == 1).mean() > 0.75
        assert (steps >= 0).mean() > 0.99


def test_steps_tracking_plants_stalled_regressed_behind_and_more_able_pupils() -> None:
    frame = demo.steps_tracking(60)
    stalled = regressed = 0
    for subject in SUBJECTS:
        drops = [step_points(frame[c]) for c in drop_columns(subject)]
        stalled += (drops[-1] <= drops[-3]).sum()  # SPEC §7: no higher than two drops before
        regressed += (drops[-1] < drops[-2]).sum()
    assert stalled >= 3
    assert regressed >= 2
    baseline = frame["maths_sum2_2026"]
    assert (step_points(baseline) < 17).any()  # below 3s, the expectation at the end of Year 3
    assert (baseline == "3s+").any()


@pytest.mark.parametrize("drops", [0, 1, 2, 3, 5])
def test_only_the_first_drops_have_data_and_later_columns_are_empty(drops: int) -> None:
    frame = demo.steps_tracking(40, drops=drops)
    for subject in SUBJECTS:
        columns = drop_columns(subject)
        for column in columns[:drops]:
            assert frame[column].notna().all(), column
        for column in columns[drops:]:
            assert column in frame.columns
            assert frame[column].isna().all(), column


def test_planted_stalls_and_regressions_are_at_the_latest_drop_when_fewer_drops_are_in() -> None:
    frame = demo.steps_tracking(60, drops=3)  # aut1, aut2, spr1
    stalled = regressed = 0
    for subject in SUBJECTS:
        aut1, aut2, spr1 = (step_points(frame[f"{subject}_{p}"]) for p in ["aut1", "aut2", "spr1"])
        stalled += (spr1 <= aut1).sum()
        regressed += (spr1 < aut2).sum()
    assert stalled >= 3
    assert regressed >= 2


@pytest.mark.parametrize("year_group", [2, 3, 4, 5, 6])
def test_steps_tracking_works_for_each_primary_year(year_group: int) -> None:
    frame = demo.steps_tracking(100, year_group=year_group)
    assert (frame["year_group"] == year_group).all()
    expected = f"{year_group - 1}s"
    assert frame["writing_sum2_2026"].value_counts().idxmax() == expected
    assert step_points(frame["writing_sum2"]).max() <= 6 * year_group


def test_steps_tracking_refuses_year_groups_and_drops_it_cannot_make() -> None:
    with pytest.raises(ValueError):
        demo.steps_tracking(10, year_group=7)
    with pytest.raises(ValueError):
        demo.steps_tracking(10, drops=7)


def test_step_grade_follows_the_scale() -> None:
    assert demo.step_grade(np.array([1, 6, 7, 17, 36])).tolist() == ["1b", "1s+", "2b", "3s", "6s+"]


# ---------------------------------------------------------------------------------------------
# LA batch
# ---------------------------------------------------------------------------------------------


def test_la_submissions_gives_one_year_6_cohort_per_school() -> None:
    batch = demo.la_submissions(schools=5, pupils_per_school=30)
    assert len(batch) == 5
    assert next(iter(batch)) == "100001 Oakfield Primary"
    for key, frame in batch.items():
        assert re.match(r"^\d{6} \S", key)
        assert len(frame) == 30
        assert (frame["school"] == key).all()
        assert (frame["year_group"] == 6).all()
        assert not any(
            column.endswith("_target") and column != "maths_plan_target" for column in frame.columns
        )
    upns = pd.concat([frame["upn"] for frame in batch.values()])
    assert upns.is_unique
    assert validate_upns(upns)["problem"].isna().all()
    surnames = [tuple(frame["surname"]) for frame in batch.values()]
    assert len(set(surnames)) == 5


def test_la_submissions_is_deterministic_and_scales_to_a_large_authority() -> None:
    first = demo.la_submissions(3, 20)
    second = demo.la_submissions(3, 20)
    assert list(first) == list(second)
    for key in first:
        pd.testing.assert_frame_equal(first[key], second[key])
    large = demo.la_submissions(schools=160, pupils_per_school=5)
    assert len(set(large)) == 160
    assert pd.concat([frame["upn"] for frame in large.values()]).is_unique


# ---------------------------------------------------------------------------------------------
# Messy MIS export
# ---------------------------------------------------------------------------------------------


def test_messy_export_has_sims_headers_and_title_rows() -> None:
    frame, titles = demo.messy_mis_export()
    assert len(frame) == 40
    assert list(frame.columns) == list(demo.MESSY_COLUMNS.values())
    assert titles[0] == "Pupil Details Report"
    assert re.match(r"^Generated \d\d/\d\d/\d{4}$", titles[1])
    again, titles_again = demo.messy_mis_export()
    pd.testing.assert_frame_equal(frame, again)
    assert titles == titles_again


def test_messy_export_spells_values_the_ways_mis_exports_do() -> None:
    frame, _ = demo.messy_mis_export()
    assert set(frame["NC Year"]) <= {"Year 6", "Y6", "6"}
    assert frame["DOB"].str.match(r"^\d\d/\d\d/(2015|2016)$").all()
    assert set(frame["FSM Eligible"]) == {"Y", "N"}
    assert set(frame["In Care"]) <= {"Yes", "No"}
    assert set(frame["SEN Provision"]) <= {"N", "K", "E", "A", "P", "S"}
    assert set(frame["SEN Provision"]) & {"A", "P", "S"}
    assert set(frame["First Language"]) <= {"ENG", "OTH", "NOT"}
    grades = pd.concat([frame["Reading KS1"], frame["Writing KS1"], frame["Maths KS1"]])
    assert grades.str.match(r"^\d[CBA]$").any()  # 2B
    assert grades.str.match(r"^L\d").any()  # L2b
    assert grades.str.match(r"^Level \d").any()  # Level 3
    assert grades.str.match(r"^\d [cba]$").any()  # 2 c


@pytest.mark.parametrize("seed", [2026, 1, 99])
def test_messy_export_has_each_planted_problem_exactly_once(seed: int) -> None:
    frame, _ = demo.messy_mis_export(seed=seed)
    problems = validate_upns(frame["UPN"])["problem"]
    assert (problems == "missing UPN").sum() == 1
    assert problems.str.startswith("wrong check letter").sum() == 1
    assert problems.notna().sum() == 2
    duplicated = frame["UPN"].dropna().duplicated(keep=False)
    assert duplicated.sum() == 2
    assert (frame["Legal Surname"] == "=1+1").sum() == 1
    assert (frame["Reading KS1"] == "2d").sum() == 1
    all_grades = pd.concat([frame["Reading KS1"], frame["Writing KS1"], frame["Maths KS1"]])
    cleaned = all_grades.str.replace(r"^(Level |L)", "", regex=True).str.replace(" ", "")
    unknown = ~cleaned.str.lower().isin({g.lower() for g in KS1_GRADES | {"A"}})
    assert all_grades[unknown].tolist() == ["2d"]


def test_messy_export_needs_enough_pupils_to_plant_its_problems() -> None:
    with pytest.raises(ValueError):
        demo.messy_mis_export(5)
    frame, _ = demo.messy_mis_export(6)
    assert len(frame) == 6


def test_demo_files_never_give_one_upn_to_two_different_pupils() -> None:
    """The demo writes all of these side by side; a user joining two of them on UPN must not
    find the same UPN on two different children."""
    frames = [
        demo.primary_cohort(),
        demo.infant_cohort(),
        demo.ks3_cohort(),
        demo.secondary_cohort(),
        *(demo.steps_tracking(year_group=year) for year in range(2, 7)),
        *demo.la_submissions().values(),
    ]
    upns = pd.concat([frame["upn"] for frame in frames])
    messy, _ = demo.messy_mis_export()
    assert upns.is_unique
    assert not set(messy["UPN"].dropna()) & set(upns)
