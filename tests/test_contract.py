"""Contract: every shipped policy and scale copes with empty and header-only input.

As the LA validators we learn from do for every rule: no policy may crash, invent pupils or
drop columns when a cohort has no pupils (a header-only export is common at the start of a
year).
"""

from __future__ import annotations

import pandas as pd
import pytest

from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy, policy_names
from targetkit.scales import load_scale, scale_names


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
