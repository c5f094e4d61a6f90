"""`compute_targets(notes=False)`: the words left out, every target, chance and flag the same.

check-ambition recomputes each school's expected targets and never reads the reasons, cell
comments or column descriptions; building them was a fifth of the engine's time on an LA batch
(docs/performance.md). The targets must not depend on whether the words were built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_engine_invariants import FAST, POLICIES, cohorts

from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy


def _with_ehc_plans(cohort: pd.DataFrame, policy: str, seed: int) -> pd.DataFrame:
    """A few pupils with an EHC plan (sen E), half of them with a plan target (its words
    differ: "EHC plan target ... (suggestion ...)")."""
    rng = np.random.default_rng(seed)
    cohort = cohort.copy()
    ehc = rng.random(len(cohort)) < 0.2
    cohort.loc[ehc, "sen"] = "E"
    subject = load_policy(policy).subjects[0]
    grades = cohort.get(f"{subject}_target")  # none: the plan target is a prior-like grade
    if grades is None:
        priors = [c for c in cohort.columns if c.startswith(f"{subject}_")]
        grades = cohort[priors[0]] if priors else None
    if grades is not None:
        plan = grades.where(ehc & (rng.random(len(cohort)) < 0.5), None)
        cohort[f"{subject}_plan_target"] = plan.astype(object)
    return cohort


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("benchmark", ["top25"])  # the words do not depend on it
@FAST
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_without_notes_only_the_words_are_left_out(policy, benchmark, data, seed):
    cohort = _with_ehc_plans(data.draw(cohorts(policy)), policy, seed)
    settings = {"benchmark": benchmark, "academic_year": 2026, "summaries": False}
    full = compute_targets(cohort, load_policy(policy), **settings)
    lean = compute_targets(cohort, load_policy(policy), notes=False, **settings)
    reasons = [c for c in full.pupils.columns if str(c).endswith("_reason")]
    assert reasons  # the full run has them (one a subject)
    assert not [c for c in lean.pupils.columns if str(c).endswith("_reason")]
    pd.testing.assert_frame_equal(lean.pupils, full.pupils.drop(columns=reasons), check_exact=True)
    assert lean.comments == {} and lean.descriptions == {}
    assert full.comments and full.descriptions
    assert lean.notes == full.notes  # the About sheet's notes (fallbacks) are not words left out


READER_ONLY_FLAGS = {
    "BORDERLINE",
    "EHC_TARGET_BELOW_RULE",
    "EHC_INDIVIDUAL_TARGET",
    "WORKING_AT_NOT_A_GRADE",
}


def _without_reader_flags(flags: pd.Series) -> pd.Series:
    return flags.map(
        lambda text: "; ".join(c for c in str(text).split("; ") if c and c not in READER_ONLY_FLAGS)
    )


@pytest.mark.parametrize("policy", POLICIES)
@FAST
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_lean_leaves_out_only_milestones_and_the_reader_only_flags(policy, data, seed):
    # check-ambition's expectations (`lean=True`): every target, chance and the flags it reads
    # (RAISED_FASTER_PROGRESS among them) as the full run gives them
    cohort = _with_ehc_plans(data.draw(cohorts(policy)), policy, seed)
    cohort.loc[cohort.index[0], "sen"] = "E"  # an EHC plan pupil: flagged in the full run
    subject = load_policy(policy).subjects[0]
    if f"{subject}_plan_target" in cohort:
        cohort.loc[cohort.index[0], f"{subject}_plan_target"] = None
    settings = {"benchmark": "top25", "academic_year": 2026, "summaries": False}
    full = compute_targets(cohort, load_policy(policy), notes=False, **settings)
    lean = compute_targets(cohort, load_policy(policy), lean=True, **settings)
    milestones = [c for c in full.pupils.columns if "_milestone_" in str(c)]
    assert not [c for c in lean.pupils.columns if "_milestone_" in str(c)]
    assert not [c for c in lean.pupils.columns if str(c).endswith("_reason")]
    kept = full.pupils.drop(columns=milestones)
    pd.testing.assert_frame_equal(
        lean.pupils.drop(columns="flags"), kept.drop(columns="flags"), check_exact=True
    )
    assert "EHC_INDIVIDUAL_TARGET" in full.pupils["flags"].iloc[0]
    assert not set(" ".join(lean.pupils["flags"]).replace(";", " ").split()) & READER_ONLY_FLAGS
    assert lean.pupils["flags"].tolist() == _without_reader_flags(full.pupils["flags"]).tolist()
    assert lean.notes == full.notes
