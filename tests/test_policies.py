"""Policy files: shipped ones load, bad ones are refused with file, line and field."""

from __future__ import annotations

import pandas as pd
import pytest

from targetkit.errors import DataFileError, InputError
from targetkit.policies import choose_policy, load_policy, policy_names


@pytest.mark.parametrize("name", ["ks1", "ks2", "ks3", "ks4", "steps"])
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
        (["reading_ks1"], 6, "ks2"),
        (["reading_eyfs"], 2, "ks1"),
        (["english_ks2"], 8, "ks3"),
        (["english_ks2", "english_ks3"], 11, "ks4"),
        (["reading_sum2_2026", "reading_aut1"], 4, "steps"),
    ],
)
def test_auto_policy_follows_year_groups_and_columns(columns, year, expected):
    frame = pd.DataFrame({"year_group": [year, year], **{c: ["2b", "3"] for c in columns}})
    name, why = choose_policy(frame)
    assert name == expected
    assert f"Year {year}" in why


def test_auto_policy_without_a_fitting_prior_is_a_clear_error():
    with pytest.raises(InputError, match="cannot tell which policy fits"):
        choose_policy(pd.DataFrame({"year_group": [5], "surname": ["X"]}))
