"""Policy files: shipped ones load, bad ones are refused with file, line and field."""

from __future__ import annotations

import pandas as pd
import pytest

from targetkit.errors import DataFileError, InputError
from targetkit.policies import choose_policy, load_policy, policy_names


@pytest.mark.parametrize("name", ["ks1", "ks2", "ks3", "ks4", "ks4_levels", "steps"])
def test_every_shipped_policy_loads_and_says_where_its_rules_come_from(name):
    policy = load_policy(name)
    assert policy.name == name
    assert "DfE" in policy.source or "West Cornforth" in policy.source  # named, not a path


def test_policy_names_lists_the_shipped_policies():
    assert {"ks1", "ks2", "ks3", "ks4", "steps"} <= set(policy_names())


def test_a_bad_policy_file_names_the_file_line_and_field(tmp_path):
    text = tmp_path / "x.yaml"
    good = load_policy("ks2").model_dump(mode="json")
    import yaml

    body = yaml.safe_dump(good, sort_keys=False).replace("final_year: 6", "final_year: six")
    text.write_text(body, encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_policy(str(text))
    line = body.splitlines().index("final_year: six") + 1
    assert str(caught.value).startswith(f"{text}: line {line}, field final_year")


def test_a_minimum_that_is_not_a_grade_is_refused(tmp_path):
    import yaml

    good = load_policy("ks3").model_dump(mode="json")
    good["minimum"]["4"] = "5x"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(good), encoding="utf-8")
    with pytest.raises(DataFileError, match="'5x' is not a grade of the nc scale"):
        load_policy(str(path))


@pytest.mark.parametrize(
    ("columns", "year", "expected"),
    [
        ({"reading_ks1": ["2b", "3"]}, 6, "ks2"),
        ({"reading_eyfs": ["2", "3"]}, 2, "ks1"),
        ({"english_ks2": ["4b", "5"]}, 8, "ks3"),
        # KS2 scaled scores (not levels) are the KS4 policy's prior; a KS3 column changes nothing
        ({"english_ks2": ["96", "104.5"], "english_ks3": ["5c", "6"]}, 11, "ks4"),
        ({"reading_sum2_2026": ["2b", "3w"], "reading_aut1": ["3b", "3w+"]}, 4, "steps"),
        # ks1.yaml's year_groups are Years 1 and 2: EYFS outcomes in Year 1 are ks1, not steps
        ({"reading_eyfs": ["2", "3"]}, 1, "ks1"),
        # KS2 levels are the ks3 prior, scaled scores the ks4 prior: the scale decides
        ({"maths_ks2": ["4b", "5c"]}, 9, "ks3"),
        ({"maths_ks2": ["100", "110"]}, 10, "ks4"),
        # grades of no scale (all misspelt) cannot tell the scale: the year group decides
        ({"maths_ks2": ["4bb", "five"]}, 8, "ks3"),
        ({"maths_ks2": ["4bb", "five"]}, 11, "ks4"),
        # a steps baseline beside KS1 levels in Year 3: steps tracking wins
        ({"reading_ks1": ["2b", "3"], "reading_sum2_2025": ["2s", "2s+"]}, 3, "steps"),
    ],
)
def test_auto_policy_follows_the_policies_year_groups_and_the_scale_of_the_prior(
    columns, year, expected
):
    frame = pd.DataFrame({"year_group": [year, year], **columns})
    name, why = choose_policy(frame)
    assert name == expected
    assert f"Year {year}" in why


def test_auto_policy_agrees_with_every_policy_s_year_groups():
    """For each shipped policy, a cohort of each of its year groups with its prior on its
    scale gets that policy (steps tracking aside, which needs a baseline)."""
    from targetkit.scales import load_scale

    for name in ("ks1", "ks2", "ks3", "ks4"):
        policy = load_policy(name)
        grade = load_scale(policy.prior_scale).grade_names[-1]
        for year in policy.year_groups:
            frame = pd.DataFrame(
                {"year_group": [year], f"{policy.subjects[-1]}_{policy.prior_point}": [grade]}
            )
            assert choose_policy(frame)[0] == name, (name, year)


def test_a_cohort_whose_year_groups_need_different_policies_is_an_error_naming_them():
    frame = pd.DataFrame({"year_group": [2, 3, 6], "reading_ks1": ["2b", "2c", "3"]})
    with pytest.raises(InputError) as caught:
        choose_policy(frame)
    text = str(caught.value)
    assert "Year 3, Year 6 → ks2" in text
    assert "Year 2 → no policy" in text
    assert "--policy" in text
    years_apart = pd.DataFrame(
        {"year_group": [6, 7], "maths_ks1": ["3", None], "maths_ks2": [None, "4b"]}
    )
    with pytest.raises(InputError, match=r"Year 6 → ks2; Year 7 → ks3"):
        choose_policy(years_apart)


def test_ks2_levels_in_year_11_get_the_level_era_gcse_policy():
    """Issue 14: a Year 10/11 cohort with KS2 levels gets targets (ks4_levels), not a refusal."""
    frame = pd.DataFrame({"year_group": [11], "english_ks2": ["4b"]})
    assert choose_policy(frame)[0] == "ks4_levels"


def test_auto_policy_without_a_fitting_prior_is_a_clear_error():
    with pytest.raises(InputError, match="cannot tell which policy fits"):
        choose_policy(pd.DataFrame({"year_group": [5], "surname": ["X"]}))


def test_policy_names_are_matched_in_any_case():
    assert load_policy("KS2") is load_policy("ks2")
    assert load_policy(" Steps ").name == "steps"
    with pytest.raises(DataFileError, match="unknown policy 'KS9'; choose one of: ks1, ks2"):
        load_policy("KS9")
