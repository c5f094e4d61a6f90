"""The one engine's invariants (SPEC §8, issue 12), as property tests over generated cohorts.

For every shipped policy and every benchmark: set-targets' own output raises nothing at warning
or above in check-ambition; every pupil on roll has a target in every subject; the school's share
targeted at each threshold is at least the benchmark-implied share; group flags and UPN order
never make a group "lower"; lowering a group below same-prior pupils always does; a UPN in any
case or spacing matches. The checks run the same pipeline functions the commands run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from targetkit.conversion_tables import load_table
from targetkit.findings import SEVERITY_RANK
from targetkit.pipeline.ambition import (
    PolicyData,
    check_school,
    cohort_columns,
    expected_targets,
    policy_rules,
    target_points,
)
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy
from targetkit.scales import load_scale

POLICIES = ("ks1", "ks2", "ks3", "ks4", "ks4_levels", "ks2_ta", "ks2_ta_writing", "steps")
BENCHMARKS = ("top25", "top50", "national")
FAST = settings(
    max_examples=3,  # the suite stays fast: 15 policy x benchmark pairs, several properties
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NC_PRIORS = [
    "P7", "W", "1c", "1b", "1a", "1", "2c", "2b", "2a", "2", "3c", "3b", "3a", "3", "A", None
]  # fmt: skip
KS2_LEVELS = ["P8", "2", "3c", "3", "3a", "4c", "4b", "4", "4a", "5c", "5", "5a", "6", "A", None]
KS1_TA = ["BLW", "EM", "PK2", "PKF", "PK4", "WTS", "EXS", "GDS", "A", None]
KS2_BELOW_THE_TEST = ["N", "B", "PK1", "PK6", "BLW", "EM", "P4"]
STEPS = [f"{band}{step}" for band in range(1, 7) for step in ("b", "b+", "w", "w+", "s", "s+")]


def _upn(number: int) -> str:
    return f"A{number:012d}"


@st.composite
def cohorts(draw: st.DrawFn, policy: str) -> pd.DataFrame:
    """A school's cohort for the policy: priors (with absences and blanks), some in-year results,
    and the group columns (disadvantaged, FSM, looked-after, SEN, EAL, gender, ethnicity)."""
    n = draw(st.integers(min_value=8, max_value=30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    upns = [_upn(int(u)) for u in rng.choice(10**9, size=n, replace=False)]
    frame = pd.DataFrame(
        {
            "upn": upns,
            "forename": [f"P{i}" for i in range(n)],
            "surname": "Test",
            "disadvantaged": rng.choice(["Y", "N"], n),
            "fsm": rng.choice(["Y", "N"], n),
            "lac": rng.choice(["Y", "N", "N", "N", "N"], n),
            "eal": rng.choice(["Y", "N"], n),
            "gender": rng.choice(["F", "M"], n),
            "ethnicity": rng.choice(["WBRI", "APKN", "BCRB"], n),
            "sen": rng.choice(["N", "N", "N", "K"], n),
        }
    )
    subjects = load_policy(policy).subjects
    if policy == "ks1":
        frame["year_group"] = 2
        for s in subjects:
            frame[f"{s}_eyfs"] = rng.choice(["1", "2", "3", "A", None], n)
    elif policy == "ks2":
        frame["year_group"] = 6
        for s in subjects:
            frame[f"{s}_ks1"] = rng.choice(np.array(NC_PRIORS, dtype=object), n)
            if draw(st.booleans()):
                frame[f"{s}_spr1"] = rng.choice(["2a", "3c", "3b", "4c", "4b", None], n)
    elif policy == "ks3":
        frame["year_group"] = 9
        for s in subjects:
            frame[f"{s}_ks2"] = rng.choice(np.array(KS2_LEVELS, dtype=object), n)
    elif policy == "ks4_levels":
        frame["year_group"] = 11
        for s in subjects:
            frame[f"{s}_ks2"] = rng.choice(np.array(KS2_LEVELS, dtype=object), n)
    elif policy in ("ks2_ta", "ks2_ta_writing"):
        frame["year_group"] = 6
        for s in subjects:
            frame[f"{s}_ks1"] = rng.choice(np.array(KS1_TA, dtype=object), n)
    elif policy == "ks4":
        frame["year_group"] = 11
        scores = rng.integers(85, 120, size=(2, n)).astype(object)
        scores[rng.random((2, n)) < 0.15] = None
        # SPEC §8: outcomes below the test take the DfE's nominal scores (a prior, lowest bands)
        below = rng.random((2, n)) < 0.1
        scores[below] = rng.choice(np.array(KS2_BELOW_THE_TEST, dtype=object), int(below.sum()))
        frame["reading_ks2"] = scores[0]
        frame["maths_ks2"] = scores[1]
    else:
        year = draw(st.integers(2, 6))
        frame["year_group"] = year
        near = [g for g in STEPS if abs(STEPS.index(g) - 6 * (year - 1)) <= 8]
        for s in subjects:
            frame[f"{s}_sum2_2026"] = rng.choice(np.array([*near, None], dtype=object), n)
            frame[f"{s}_sum2_2025"] = rng.choice(np.array(near, dtype=object), n)
    return frame


def set_targets(cohort: pd.DataFrame, policy: str, benchmark: str) -> pd.DataFrame:
    """What set-targets writes on the Targets sheet: the cohort, then the engine's columns
    (chances as percentages)."""
    result = compute_targets(
        cohort, load_policy(policy), benchmark=benchmark, academic_year=2026, summaries=False
    )
    return pd.concat([cohort, result.pupils], axis=1)


def check(
    submission: pd.DataFrame,
    policy: str,
    benchmark: str,
    *,
    subjects: list[str] | None = None,
    every_subject: bool = False,
    data: PolicyData | str | None = "loaded",
    **options: object,
):
    """check-ambition's check of one submission: the engine recomputed from its cohort columns
    (as check-ambition does it), the policy's thresholds and prior columns, and its loaded data
    (conversion table, prior scale: the realism check runs too; `data` overrides it).
    `every_subject`: every target column (a ks4 submission's GCSE subjects), on the policy's
    submission scale. `options`: more `check_school` options (`previous_results`)."""
    from targetkit.pipeline.ambition import target_subjects

    chosen = load_policy(policy)
    scale = load_scale(chosen.submission_scale or chosen.target_scale)
    if every_subject:
        subjects = target_subjects(submission)
    subjects = list(subjects or chosen.subjects)
    if data == "loaded":
        table = load_table(chosen.conversion) if chosen.conversion else None
        data = PolicyData(chosen, table, load_scale(chosen.prior_scale))
    [expected], _ = expected_targets(
        [cohort_columns(submission)],
        chosen,
        benchmark=benchmark,
        academic_year=2026,
        subjects=subjects,
    )
    thresholds, prior_columns = policy_rules(chosen, subjects, scale)
    return check_school(
        submission,
        scale=scale,
        expected=expected,
        thresholds=thresholds,
        benchmark=benchmark,
        prior_columns=prior_columns,
        subjects=subjects,
        key_threshold=chosen.key_threshold,
        data=data,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    ).findings


def serious(found: pd.DataFrame) -> pd.DataFrame:
    return found[found["severity"].map(SEVERITY_RANK) >= SEVERITY_RANK["warning"]]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_set_targets_output_is_as_ambitious_as_the_benchmark_and_raises_nothing(policy, benchmark):
    chosen = load_policy(policy)
    scale = load_scale(chosen.target_scale)
    lowest = policy_rules(chosen, chosen.subjects, scale)[0]

    @FAST
    @given(cohorts(policy))
    def run(cohort: pd.DataFrame) -> None:
        submission = set_targets(cohort, policy, benchmark)
        for subject in chosen.subjects:
            # every pupil on roll has a target in every subject of the policy
            assert submission[f"{subject}_target"].notna().all(), subject
            # at each threshold: pupils targeted >= the sum of their chances, rounded up
            points = target_points(scale, submission[f"{subject}_target"])
            for name, floor in lowest[subject].items():
                chance = submission.get(f"{subject}_chance_{name}")
                if chance is None:
                    continue
                has = chance.notna()
                targeted = int(((points >= floor) & has).sum())
                assert targeted >= math.ceil(round(chance[has].sum() / 100, 9)), (subject, name)
        # check-ambition on the untouched output: nothing at warning or above
        found = check(submission, policy, benchmark)
        assert serious(found).empty, serious(found)[["code", "subject", "message"]].to_string()
        # in particular no target set-targets gives is "unrealistic" (issue 14)
        assert "UNREALISTIC_TARGET" not in set(found["code"])

    run()


@pytest.mark.parametrize("policy", POLICIES)
def test_group_flags_and_upn_order_never_make_a_group_lower(policy):
    @FAST
    @given(cohorts(policy), st.randoms(use_true_random=False))
    def run(cohort: pd.DataFrame, random) -> None:
        shuffled = cohort.copy()
        for column in ("disadvantaged", "fsm", "lac", "eal", "gender", "ethnicity", "sen"):
            values = shuffled[column].tolist()
            random.shuffle(values)
            shuffled[column] = values
        upns = shuffled["upn"].tolist()
        random.shuffle(upns)
        shuffled["upn"] = upns
        found = check(set_targets(shuffled, policy, "top25"), policy, "top25")
        assert "GROUP_EXPECTATION_LOWER" not in set(found["code"])

    run()


def _grade_below(scale, whole: bool, points: float) -> str | None:
    """The highest grade below `points` (a whole level for whole-level targets), None if none."""
    if whole:
        from targetkit.pipeline.targets import whole_levels

        names = list(whole_levels(scale).values())
    else:
        names = scale.grade_names
    below = [g for g in names if scale.points_of[g] < points - 1e-9]
    return below[-1] if below else None


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("group", ("disadvantaged", "lac"))
def test_lowering_a_group_below_same_prior_pupils_is_always_found(policy, group):
    chosen = load_policy(policy)
    scale = load_scale(chosen.target_scale)
    subject = chosen.subjects[0]

    @FAST
    @given(cohorts(policy))
    def run(cohort: pd.DataFrame) -> None:
        submission = set_targets(cohort, policy, "top25")
        prior = submission[f"{subject}_prior"]
        members = submission[group].eq("Y") & prior.notna()
        if group == "lac":  # one looked-after pupil is enough (SPEC §8)
            members &= members.cumsum().eq(1)
        suggested = target_points(scale, submission[f"{subject}_suggested"])
        cell_low = suggested.where(prior.notna()).groupby(prior).transform("min")
        others = prior[~submission[group].eq("Y")]
        comparable = members & prior.isin(set(others.dropna()))
        lowered = {
            i: _grade_below(scale, chosen.whole_levels, cell_low[i])
            for i in submission.index[comparable]
        }
        lowered = {i: g for i, g in lowered.items() if g is not None}
        assume(len(lowered) >= (1 if group == "lac" else 5))
        moderated = submission.copy()
        for i, grade in lowered.items():
            moderated.loc[i, f"{subject}_target"] = grade
        if group == "disadvantaged":  # only the lowered pupils are the group
            moderated[group] = np.where(moderated.index.isin(list(lowered)), "Y", "N")
        found = check(moderated, policy, "top25")
        lower = found[found["code"].eq("GROUP_EXPECTATION_LOWER") & found["subject"].eq(subject)]
        label = "Looked-after" if group == "lac" else "Disadvantaged"
        assert label in set(lower["group"])

    run()


@pytest.mark.parametrize("policy", POLICIES)
def test_a_upn_in_any_case_or_spacing_matches_previous_targets(policy):
    @FAST
    @given(cohorts(policy))
    def run(cohort: pd.DataFrame) -> None:
        chosen = load_policy(policy)
        scale = load_scale(chosen.target_scale)
        subject = chosen.subjects[0]
        top = scale.grade_names[-1]
        spaced = cohort["upn"].str.lower().map(lambda u: f" {u[:4]} {u[4:]} ")
        previous = pd.DataFrame({"upn": spaced, f"{subject}_target": top})
        result = compute_targets(cohort, chosen, previous=previous, academic_year=2026)
        assert result.pupils[f"{subject}_target"].eq(top).all()
        # and check-ambition finds each target lowered below it, matched the same way
        submission = set_targets(cohort, policy, "top25")
        from targetkit.pipeline.ambition import check_school as checked

        found = checked(
            submission,
            scale=scale,
            previous_targets=previous,
            subjects=[subject],
        ).findings
        lowered = found[found["code"].eq("TARGET_LOWERED")]
        below = target_points(scale, submission[f"{subject}_target"]) < scale.points_of[top]
        assert len(lowered) == int(below.sum())

    run()


# GCSE subjects (issue 15): a ks4 cohort with entries in up to 12 subjects, Combined Science among
# them, is checked subject by subject exactly as check-ambition reads a submission.
GCSE_SUBJECTS = (
    "english_language",
    "english_literature",
    "combined_science",
    "biology",
    "chemistry",
    "physics",
    "history",
    "geography",
    "french",
    "spanish",
    "art_and_design",
    "music",
    "religious_studies",
    "computer_science",
)


@st.composite
def gcse_cohorts(draw: st.DrawFn) -> pd.DataFrame:
    """A ks4 cohort (Years 7-11 with KS2 scores, some missing) with wide GCSE entries."""
    frame = draw(cohorts("ks4"))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame["year_group"] = int(rng.choice([7, 9, 10, 11]))
    for subject in GCSE_SUBJECTS:
        frame[f"{subject}_entered"] = rng.choice(["yes", "yes", "no"], len(frame))
    frame["triple_science_entered"] = rng.choice(["yes", "no"], len(frame))  # unknown: listed
    return frame


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_multi_subject_ks4_output_raises_nothing_and_progress8_is_at_least_zero(benchmark):
    @FAST
    @given(gcse_cohorts())
    def run(cohort: pd.DataFrame) -> None:
        result = compute_targets(
            cohort, load_policy("ks4"), benchmark=benchmark, academic_year=2026
        )
        submission = pd.concat([cohort, result.pupils], axis=1)
        entered = [s for s in GCSE_SUBJECTS if f"{s}_target" in submission]
        assert len(entered) >= 10
        for subject in entered:
            # a target for every pupil entered, none for a pupil who is not
            taken = cohort[f"{subject}_entered"].eq("yes")
            assert submission.loc[taken, f"{subject}_target"].notna().all(), subject
            assert submission.loc[~taken, f"{subject}_target"].isna().all(), subject
        # the school's Progress 8 of targets is at least 0 (pupils with a KS2 score)
        progress = submission["progress8_of_targets"].dropna()
        assert progress.empty or progress.mean() >= -0.005
        # the unknown subject is listed for every pupil who takes it, never targeted
        listed = submission["subjects_not_targeted"].notna()
        assert listed.equals(cohort["triple_science_entered"].eq("yes"))
        found = check(submission, "ks4", benchmark, every_subject=True)
        assert serious(found).empty, serious(found)[["code", "subject", "message"]].to_string()

    run()
