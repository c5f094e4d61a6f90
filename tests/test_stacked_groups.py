"""The group checks of an LA batch, worked out for every school at once, are each school's own.

`stacked_group_checks` holds the group rule (GROUP_EXPECTATION_LOWER, SMALL_GROUP) once: a
school checked alone (`check_school`) is a stack of one, an LA chunk (`check_schools`) a stack
of many (docs/check-ambition.md, "Speed"). Schools differ in the groups they have (columns
missing, ethnicity codes with 5+ pupils in one school and not another), in their priors and in
which targets were lowered; every finding, and its order, must be exactly what the school
checked alone gets: nothing of one school may reach another's counts. The rule itself is
checked against hand-worked cases in test_ambition.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_engine_invariants import FAST, cohorts

from targetkit.conversion_tables import load_table
from targetkit.pipeline.ambition import (
    PolicyData,
    check_school,
    check_schools,
    cohort_columns,
    expected_targets,
    policy_rules,
)
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy
from targetkit.scales import load_scale

GROUP_COLUMNS = ["disadvantaged", "fsm", "lac", "eal", "gender", "ethnicity", "sen"]


@st.composite
def schools(draw: st.DrawFn, policy: str) -> list[pd.DataFrame]:
    """2 to 4 schools' submissions: set-targets' output with some targets lowered by a grade or
    two (more often for one group), and some group columns dropped."""
    chosen = load_policy(policy)
    scale = load_scale(chosen.target_scale)
    grades = list(scale.points_of)
    found = []
    for _ in range(draw(st.integers(2, 4))):
        cohort = draw(cohorts(policy))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        cohort["ethnicity"] = rng.choice(["WBRI", "APKN", "BCRB", "WIRT"], len(cohort))
        result = compute_targets(cohort, chosen, academic_year=2026, summaries=False)
        submission = pd.concat([cohort, result.pupils], axis=1)
        group = rng.choice(["disadvantaged", "fsm", "eal"])
        for subject in chosen.subjects:
            target = submission[f"{subject}_target"]
            chance = np.where(submission[group].eq("Y"), 0.5, 0.1)
            lowered = rng.random(len(submission)) < chance
            moved = [
                grades[max(grades.index(t) - int(rng.integers(1, 3)), 0)] if t in grades else t
                for t in target
            ]
            submission[f"{subject}_target"] = np.where(lowered, moved, target).astype(object)
        dropped = [c for c in GROUP_COLUMNS if rng.random() < 0.2]
        found.append(submission.drop(columns=dropped))
    return found


@pytest.mark.parametrize("policy", ["ks2", "ks3", "ks2_ta", "steps"])
@FAST
@given(data=st.data())
def test_each_school_gets_the_group_findings_it_gets_alone(policy, data):
    submissions = data.draw(schools(policy))
    chosen = load_policy(policy)
    scale = load_scale(chosen.submission_scale or chosen.target_scale)
    subjects = list(chosen.subjects)
    table = load_table(chosen.conversion) if chosen.conversion else None
    expected, _ = expected_targets(
        [cohort_columns(s) for s in submissions],
        chosen,
        benchmark="top25",
        academic_year=2026,
        subjects=subjects,
    )
    thresholds, prior_columns = policy_rules(chosen, subjects, scale)
    rules = {
        "scale": scale,
        "thresholds": thresholds,
        "benchmark": "top25",
        "prior_columns": prior_columns,
        "subjects": subjects,
        "key_threshold": chosen.key_threshold,
        "data": PolicyData(chosen, table, load_scale(chosen.prior_scale)),
    }
    together = check_schools(submissions, expected=expected, **rules)
    for submission, own, result in zip(submissions, expected, together, strict=True):
        alone = check_school(submission, expected=own, **rules)
        pd.testing.assert_frame_equal(result.findings, alone.findings, check_exact=True)
        assert pd.Series(result.summary).equals(pd.Series(alone.summary))
