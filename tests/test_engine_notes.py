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
