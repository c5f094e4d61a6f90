"""A published KS3 -> KS4 rate reaches exactly the pupil it describes (issue 14).

The 2006 guidance ("Key Stage 4") publishes the national rates of reaching 5+ A*-C including
English and maths for pupils with level 6 in each of English, maths and science at KS3 (95%),
level 6 in English and maths (92%), level 5 in each (71%) and level 5 in English and maths
(67%). `ConversionTable.profile_priors` turns a pupil's KS3 levels into the table's prior key
following the rule in `ks3_ks4_5acem.yaml` (`prior_profiles`).
"""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit import conversion_tables as ct
from targetkit.conversion_tables import ConversionTableError, load_table

EXACT = 1e-9


@functools.cache
def shipped() -> ct.ConversionTable:
    return load_table("ks3_ks4_5acem")


@pytest.fixture
def table() -> ct.ConversionTable:
    return shipped()


def chances(table, levels: pd.DataFrame, **kwargs) -> pd.Series:
    return table.chance("national", "overall", table.profile_priors(levels, **kwargs), "5acem")


def test_level6_in_each_of_english_maths_and_science_gets_the_published_95_percent(table):
    levels = pd.DataFrame({"english": [6], "maths": [6], "science": [6]}, index=["amy"])
    assert table.profile_priors(levels).tolist() == ["L6_EMS"]
    assert chances(table, levels)["amy"] == pytest.approx(0.95, abs=EXACT)


def test_each_published_profile_gets_its_own_rate_and_the_rest_their_average(table):
    levels = pd.DataFrame(
        {
            "english": [6, 6, 5, 5, 6, 7, 4, 6],
            "maths": [6, 6, 5, 5, 5, 7, 4, 7],
            "science": [6, 5, 5, 4, 6, 7, 4, 7],
        },
        index=list("abcdefgh"),
    )
    expected = {
        "a": ("L6_EMS", 0.95),  # level 6 in each of English, maths and science
        "b": ("L6_EM", 0.92),  # level 6 in English and maths (science 5)
        "c": ("L5_EMS", 0.71),  # level 5 in each
        "d": ("L5_EM", 0.67),  # level 5 in English and maths (science 4)
        "e": ("avg_L5", 0.55),  # 6, 5, 6: in no published group; averages 5.67 -> level 5
        "f": ("avg_L7", 0.98),  # level 7 in each: averages level 7
        "g": ("avg_L4", 0.15),
        "h": ("avg_L6", 0.90),  # 6, 7, 7: maths is not level 6, averages 6.67
    }
    priors = table.profile_priors(levels)
    assert priors.to_dict() == {k: v[0] for k, v in expected.items()}
    assert chances(table, levels).to_dict() == pytest.approx({k: v[1] for k, v in expected.items()})


def test_a_ks3_cohort_with_only_english_and_maths_still_gets_the_em_rates(table):
    """No science column: the English-and-maths groups need no science; averages need all three."""
    levels = pd.DataFrame({"english": [6, 5, 6], "maths": [6, 5, 5]}, index=[10, 11, 12])
    assert table.profile_priors(levels).tolist() == ["L6_EM", "L5_EM", None]
    result = chances(table, levels)
    assert result[10] == pytest.approx(0.92, abs=EXACT)
    assert result[11] == pytest.approx(0.67, abs=EXACT)
    assert np.isnan(result[12])


def test_nc_grades_count_by_their_whole_level_and_blanks_are_unknown(table):
    levels = pd.DataFrame(
        {
            "english": ["6c", "6a", "5a", "", "W", "EP"],
            "maths": ["6b", "6", "6c", "6", "3", "8"],
            "science": ["6A", "6b", "6c", "6", "2", "8"],
        }
    )
    # 5a, 6c, 6c average 5.89 (sub-levels as thirds): level 5; W (level 0) clips to avg_L2;
    # EP, 8, 8 clip to the top row avg_L7; a blank English leaves the pupil without a group.
    assert table.profile_priors(levels).tolist() == [
        "L6_EMS",
        "L6_EMS",
        "avg_L5",
        None,
        "avg_L2",
        "avg_L7",
    ]


def test_the_callers_own_average_level_is_used_for_pupils_in_no_published_group(table):
    levels = pd.DataFrame({"english": [6, 6], "maths": [5, 6], "science": [6, 6]})
    average = pd.Series([6.0, 4.0])  # e.g. the engine's average from points
    assert table.profile_priors(levels, average_level=average).tolist() == ["avg_L6", "L6_EMS"]


def test_a_table_without_profiles_says_so():
    with pytest.raises(ValueError, match="no prior_profiles"):
        load_table("ks2_ks4_5ac").profile_priors(pd.DataFrame({"english": [4]}))


def test_a_profile_rule_naming_an_unknown_prior_or_subject_is_refused(tmp_path):
    for suffix in (".csv", ".yaml"):
        shutil.copy(ct.CONVERSIONS_DIR / f"ks3_ks4_5acem{suffix}", tmp_path / f"t{suffix}")
    meta = tmp_path / "t.yaml"
    text = meta.read_text()
    assert "{prior: L5_EM, levels: {english: 5, maths: 5}}" in text
    meta.write_text(
        text.replace(
            "{prior: L5_EM, levels: {english: 5, maths: 5}}",
            "{prior: L4_EM, levels: {english: 4, history: 4}}",
        ).replace("average_prefix: avg_L", "average_prefix: mean_L")
    )
    with pytest.raises(ConversionTableError) as caught:
        load_table(tmp_path / "t.csv")
    message = str(caught.value)
    assert "unknown prior 'L4_EM'" in message
    assert "subject 'history' not in its subjects" in message
    assert "average_prefix 'mean_L' matches no prior" in message


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.integers(2, 8)] * 3), min_size=1, max_size=30))
def test_every_pupil_with_three_levels_gets_a_row_and_its_published_rate(profiles):
    table = shipped()
    levels = pd.DataFrame(profiles, columns=["english", "maths", "science"])
    priors = table.profile_priors(levels)
    result = chances(table, levels)
    assert priors.isin(table.priors).all()
    published = {"L6_EMS": 0.95, "L6_EM": 0.92, "L5_EMS": 0.71, "L5_EM": 0.67}
    for (english, maths, science), prior, chance in zip(profiles, priors, result, strict=True):
        if english == maths and english in (5, 6):
            group = f"L{english}_EM" + ("S" if science == english else "")
            assert prior == group and chance == pytest.approx(published[group], abs=EXACT)
        else:
            average = (english + maths + science) / 3
            assert prior == f"avg_L{min(max(int(average), 2), 7)}"


def test_set_targets_gives_each_published_ks3_group_its_own_rate(tmp_path):
    """Seed 000, "Key Stage 4" (national, KS3 2003 → GCSE 2005): level 6 in each of English,
    maths and science → 95% reach 5+ A*-C incl. English and maths; level 6 in English and
    maths → 92%; level 5 in each → 71%; level 5 in English and maths → 67%. Worked by hand:
    6b/6c/6a is level 6 in all three (95); 6b/6c/7c level 6 in English and maths only (92);
    5c/5b/5a level 5 in all three (71); 5b/5b/6c level 5 in English and maths (67); 7b/6a/6a is
    in no published group and takes the illustrative 'averaging level 6' row (90)."""
    from helpers import cli, read_named

    cohort = tmp_path / "year10.csv"
    cohort.write_text(
        "upn,surname,forename,school,year_group,english_ks3,maths_ks3,science_ks3,"
        "reading_ks2,maths_ks2\n"
        "A801200015001,One,Amy,1,10,6b,6c,6a,105,105\n"
        "A801200015002,Two,Bo,1,10,6b,6c,7c,105,105\n"
        "A801200015003,Three,Cy,1,10,5c,5b,5a,105,105\n"
        "A801200015004,Four,Di,1,10,5b,5b,6c,105,105\n"
        "A801200015005,Five,Ed,1,10,7b,6a,6a,105,105\n",
        encoding="utf-8",
    )
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", cohort, "--policy", "ks4", "--benchmark", "national", "-o", out)
    assert result.exit_code == 0, result.stderr
    chances = read_named(out, "Targets")["chance_5acem"].astype(float)  # fractions, shown as %
    assert [round(c * 100) for c in chances] == [95, 92, 71, 67, 90]
