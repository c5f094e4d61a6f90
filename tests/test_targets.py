"""compute_targets against the seed guidance's rules, worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.pipeline.targets import compute_targets
from targetkit.policies import Policy
from targetkit.policies import load_policy as load_shipped_policy


def load_policy(name: str) -> Policy:
    """A shipped policy with its per-prior rules alone: these tests check the guidance's rules
    one by one; the school-wide benchmark quota (SPEC §8) is tested on its own below."""
    return load_shipped_policy(name).model_copy(update={"school_quotas": False})


UPNS = [f"A{n:012d}" for n in range(1, 41)]


def cohort(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"upn": UPNS[:n], "year_group": [6] * n, "sen": ["N"] * n}
    base.update(columns)
    return pd.DataFrame(base)


def test_level_2_pupils_are_targeted_at_least_level_4():
    # seeds/000: "all pupils leaving Key Stage 1 with level 2 ... a target for achieving level 4"
    frame = cohort(reading_ks1=["2c", "2b", "2a", "2"])
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"])
    assert result.pupils["reading_target"].tolist() == ["4", "4", "4", "4"]
    assert result.pupils["reading_minimum"].tolist() == ["4", "4", "4", "4"]


def test_level_3_pupils_are_targeted_at_least_level_5():
    frame = cohort(maths_ks1=["3", "3c", "3a"])
    result = compute_targets(frame, load_policy("ks2"), subjects=["maths"])
    assert result.pupils["maths_target"].tolist() == ["5", "5", "5"]


def test_56_percent_of_level_1_pupils_are_targeted_level_4_with_top25_data():
    # 10 level-1 pupils; top-25% English rate 56% -> ceil(0.56 x 10) = 6 at L4, 4 at L3.
    # Chosen by latest attainment: the six with the highest spring grades.
    latest = ["2c", "3c", "2b", "1a", "3b", "2a", "1b", "2c", "3c", "2b"]
    frame = cohort(english_ks1=["1"] * 10, english_spr1=latest)
    result = compute_targets(frame, load_policy("ks2"), subjects=["english"])
    targets = result.pupils["english_target"].tolist()
    # points: 3c 19 (x2), 3b 21, 2a 17, 2b 15 (x2), 2c 13 (x2), 1a 11, 1b 9
    # top six by latest: row 4 (3b), rows 1 and 8 (3c), row 5 (2a), rows 2 and 9 (2b) -> L4.
    chosen = [1, 2, 4, 5, 8, 9]
    assert [i for i, t in enumerate(targets) if t == "4"] == chosen
    assert [t for i, t in enumerate(targets) if i not in chosen] == ["3", "3", "3", "3"]
    assert "QUOTA_TARGET" in result.pupils.loc[1, "flags"]


def test_quota_ties_go_to_the_lower_upn():
    # 3 level-1 pupils, identical prior and latest: ceil(0.56 x 3) = 2 -> the two lowest UPNs.
    frame = cohort(english_ks1=["1", "1", "1"]).iloc[::-1].reset_index(drop=True)
    result = compute_targets(frame, load_policy("ks2"), subjects=["english"])
    by_upn = dict(zip(frame["upn"], result.pupils["english_target"], strict=True))
    assert by_upn == {UPNS[0]: "4", UPNS[1]: "4", UPNS[2]: "3"}


def test_level_3_by_end_of_year_4_is_the_on_track_milestone_for_level_4():
    # KS1 1b (9 points) -> L4 (27): the straight line gives 18 at Y4 (2a), the floor lifts it to 3.
    # A Year 3 pupil: milestones from the end of Year 3 on (issue 14: none for years passed).
    frame = cohort(english_ks1=["1b"], year_group=[3])
    result = compute_targets(frame, load_policy("ks2"), subjects=["english"])
    assert result.pupils.loc[0, "english_target"] == "4"
    assert result.pupils.loc[0, "english_milestone_y4"] == "3"
    # yearly milestones from Year 3: 9 + 18/4 = 13.5 -> 2c at Y3; 22.5 -> 3b at Y5.
    assert result.pupils.loc[0, "english_milestone_y3"] == "2c"
    assert result.pupils.loc[0, "english_milestone_y5"] == "3b"


def test_ks2_level_4_pupils_are_targeted_level_5_and_level_5_pupils_level_6():
    frame = cohort(english_ks2=["4", "4b", "5", "5a"], year_group=[9] * 4)
    result = compute_targets(frame, load_policy("ks3"), subjects=["english"])
    assert result.pupils["english_target"].tolist() == ["5", "5", "6", "6"]


def test_57_percent_of_ks2_level_3_pupils_are_targeted_level_5_with_top25_data():
    frame = cohort(english_ks2=["3"] * 10, year_group=[9] * 10)
    result = compute_targets(frame, load_policy("ks3"), subjects=["english"])
    # ceil(0.57 x 10) = 6 at level 5, the other 4 at level 4 (one level of progress)
    assert result.pupils["english_target"].value_counts().to_dict() == {"5": 6, "4": 4}


def test_at_least_40_percent_of_ks2_level_3_pupils_are_targeted_level_5_nationally():
    # the national table gives 38%, below the guidance's 40%: ceil(0.40 x 10) = 4.
    frame = cohort(english_ks2=["3"] * 10, year_group=[9] * 10)
    result = compute_targets(frame, load_policy("ks3"), subjects=["english"], benchmark="national")
    assert result.pupils["english_target"].value_counts().to_dict() == {"4": 6, "5": 4}


def test_ks1_targets_are_at_least_2c_and_a_level_a_year():
    frame = cohort(reading_eyfs=["1", "2", "3", "1"], reading_spr1=[None, None, None, "1a"])
    frame["year_group"] = 1
    result = compute_targets(frame, load_policy("ks1"), subjects=["reading"])
    # EYFS 1 -> 2c, 2 -> 2b, 3 -> 2a; 1a (11) at spr1 of Year 1 has a year and a half left
    # (the half of Year 1 after spr1, then Year 2): 11 + 6 x 1.5 = 20 -> rounded down to 3c (19)
    assert result.pupils["reading_target"].tolist() == ["2c", "2b", "2a", "3c"]


def test_ks4_ks2_expected_standard_leads_to_gcse_grade_4():
    # mean of 101 and 101 is 101, band "100 - 102": minimum grade 4; 110/112 -> "110 - 113" -> 6
    frame = cohort(english_ks2=["101", "110"], maths_ks2=["101", "112"], year_group=[11, 11])
    result = compute_targets(frame, load_policy("ks4"), subjects=["maths"])
    assert result.pupils["maths_prior"].tolist() == ["100 - 102", "110 - 113"]
    assert result.pupils["maths_target"].tolist() == ["4", "6"]
    assert "national" in result.notes[0]
    # the KS2 average behind the band: (101 + 101) / 2 = 101 and (110 + 112) / 2 = 111
    assert result.pupils["ks2_average_scaled_score"].tolist() == [101.0, 111.0]


def test_ks4_english_and_maths_4_plus_is_the_key_school_threshold():
    # both pupils targeted 4+ in English and maths; DfE basics 9-4: band 100-102 51.5%,
    # band 110-113 93.9% -> implied (51.4568 + 93.9186) / 2 = 72.7%
    frame = cohort(english_ks2=["101", "110"], maths_ks2=["101", "112"], year_group=[11, 11])
    result = compute_targets(frame, load_policy("ks4"))
    row = result.summary.set_index("threshold").loc["basics_4plus"]
    assert (row["targeted"], row["pct_targeted"], row["benchmark_pct"]) == (2, 100.0, 72.7)
    assert result.pupils["chance_basics_4plus"].tolist() == [51.5, 93.9]


def test_ks2_average_of_100_has_the_dfe_attainment8_estimate_35_46():
    frame = cohort(english_ks2=["100"], maths_ks2=["100"], year_group=[11])
    result = compute_targets(frame, load_policy("ks4"), subjects=["english"])
    assert result.pupils.loc[0, "attainment8_estimate"] == 35.46


def test_pupils_averaging_level_6_at_ks3_are_targeted_5_a_star_to_c_with_english_and_maths():
    # averages: 6b 6b 6b -> L6 -> yes; ten pupils at 5b 5b 5b -> L5: rate max(50%, table 55%)
    # -> ceil(0.55 x 10) = 6 yes (highest averages first: all equal, so the six lowest UPNs);
    # one pupil at 4b -> no.
    ks3 = ["6b"] + ["5b"] * 10 + ["4b"]
    n = len(ks3)
    frame = cohort(english_ks3=ks3, maths_ks3=ks3, science_ks3=ks3, year_group=[11] * n)
    result = compute_targets(frame, load_policy("ks4"), subjects=["maths"])
    targets = result.pupils["target_5acem"].tolist()
    assert targets == ["yes"] + ["yes"] * 6 + ["no"] * 4 + ["no"]
    row = result.summary[result.summary["threshold"] == "5acem"].iloc[0]
    assert (row["pupils"], row["targeted"]) == (12, 7)


def test_at_least_half_of_pupils_averaging_level_5_are_targeted_5_a_star_to_c():
    # the guidance's 50% floor, whatever the table: 4 pupils at L5 -> at least ceil(0.5 x 4) = 2
    ks3 = ["5c", "5b", "5a", "5b"]
    frame = cohort(english_ks3=ks3, maths_ks3=ks3, science_ks3=ks3, year_group=[11] * 4)
    result = compute_targets(frame, load_policy("ks4"), subjects=["maths"])
    assert (result.pupils["target_5acem"] == "yes").sum() >= 2
    # highest average first: 5a (row 2), then the two 5b tie -> lower UPN (row 1)
    assert result.pupils.loc[2, "target_5acem"] == "yes"
    assert result.pupils.loc[1, "target_5acem"] == "yes"


def test_targets_are_never_below_latest_attainment_or_previous_target():
    frame = cohort(reading_ks1=["2b", "2b"], reading_spr1=["5c", "3a"])
    previous = pd.DataFrame({"upn": [UPNS[1]], "reading_target": [5]})  # a typed number 5
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"], previous=previous)
    assert result.pupils["reading_target"].tolist() == ["5", "5"]
    assert "latest attainment 5c" in result.pupils.loc[0, "reading_reason"]
    assert "previous target" in result.pupils.loc[1, "reading_reason"]


def test_ehc_plan_target_is_used_and_flagged_when_below_the_rule():
    frame = cohort(
        maths_ks1=["2b", "2b", "2b"],
        sen=["E", "E", "N"],
        maths_plan_target=["3", None, "3"],
        year_group=[4] * 3,
    )
    result = compute_targets(frame, load_policy("ks2"), subjects=["maths"])
    pupils = result.pupils
    assert pupils["maths_target"].tolist() == ["3", "4", "4"]  # plan only for the EHC pupil
    assert pupils["maths_suggested"].tolist() == ["4", "4", "4"]
    assert pupils.loc[0, "flags"] == "EHC_TARGET_BELOW_RULE"
    assert pupils.loc[1, "flags"] == "EHC_INDIVIDUAL_TARGET"
    assert pupils.loc[2, "flags"] == ""
    # milestones lead to the plan target: KS1 2b (15) -> 3 (21), Y4 = 15 + 6 x 2/4 = 18 -> 2a
    # (towards the suggestion 4 it would be 15 + 12 x 2/4 = 21 -> 3b, as for pupil 3)
    assert pupils.loc[0, "maths_milestone_y4"] == "2a"
    assert pupils.loc[2, "maths_milestone_y4"] == "3b"


def test_an_ehc_plan_target_of_4c_meets_a_level_4_rule():
    # SPEC §7: "at least level 4" is any grade of level 4, so 4c is not below the rule
    frame = cohort(maths_ks1=["2b"], sen=["E"], maths_plan_target=["4c"])
    result = compute_targets(frame, load_policy("ks2"), subjects=["maths"])
    assert result.pupils.loc[0, "maths_target"] == "4c"
    assert result.pupils.loc[0, "flags"] == ""


def test_school_percentages_use_every_pupil_on_roll():
    # 4 pupils, one absent at KS1 (A) and one W: the absent pupil takes the age-related
    # expectation, level 4 (SPEC §8), the W pupil level 2 (the policy's minimum for W):
    # 3 of 4 on roll targeted 4+ (75%), and 2 of the 3 with a result (66.7%)
    frame = cohort(reading_ks1=["2b", "W", "3", "A"])
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"])
    row = result.summary[result.summary["threshold"] == "4+"].iloc[0]
    assert (row["pupils"], row["targeted"], row["pct_targeted"]) == (4, 3, 75.0)
    assert (row["pupils_with_result"], row["pct_targeted_with_result"]) == (3, 66.7)
    assert result.pupils["reading_target"].tolist() == ["4", "2", "5", "4"]
    assert "NO_PRIOR_RESULT" in result.pupils.loc[3, "flags"]


def test_steps_target_is_baseline_plus_six_steps_with_catch_up():
    # Year 4: expected baseline 3s (17). 3s -> 4s (23); 3w (15) is 2 behind -> +1 catch-up -> 22
    frame = pd.DataFrame({"upn": UPNS[:2], "year_group": [4, 4], "reading_sum2_2026": ["3s", "3w"]})
    result = compute_targets(frame, load_policy("steps"), subjects=["reading"])
    assert result.pupils["reading_target"].tolist() == ["4s", "4w+"]
    assert result.pupils.loc[1, "flags"] == "CATCH_UP"
    # milestones one step per half term: 3s + 1 at aut1 = 3s+
    assert result.pupils.loc[0, "reading_milestone_aut1"] == "3s+"


def test_eyfs_outcomes_give_year_1_steps_targets():
    frame = pd.DataFrame({"upn": UPNS[:3], "year_group": [1] * 3, "maths_eyfs": ["1", "2", "3"]})
    result = compute_targets(frame, load_policy("steps"), subjects=["maths"])
    assert result.pupils["maths_target"].tolist() == ["1w", "1w+", "1s+"]


GRADES = st.sampled_from(["W", "1c", "1b", "1a", "2c", "2b", "2a", "3c", "3b", "A", None])
LATEST = st.sampled_from(["2c", "3b", "4c", "4a", "5b", None])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(GRADES, LATEST, st.booleans(), st.booleans()), min_size=1, max_size=25))
def test_same_prior_and_latest_get_the_same_target_whatever_the_group(rows):
    # Quotas are excluded (no level-1 priors here would make rank matter): use no-quota grades.
    rows = [(p if p not in ("1c", "1b", "1a") else "2c", lt, d, e) for p, lt, d, e in rows]
    frame = cohort(
        reading_ks1=[r[0] for r in rows],
        reading_spr1=[r[1] for r in rows],
        disadvantaged=[r[2] for r in rows],
        eal=[r[3] for r in rows],
    )
    frame["ethnicity"] = ["BCRB" if r[2] else "WBRI" for r in rows]
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"])
    keyed = pd.DataFrame(
        {
            "prior": frame["reading_ks1"].astype(object).fillna("-"),
            "latest": frame["reading_spr1"].astype(object).fillna("-"),
            "target": result.pupils["reading_target"].astype(object).fillna("-"),
        }
    )
    assert (keyed.groupby(["prior", "latest"])["target"].nunique() == 1).all()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(GRADES, LATEST, st.sampled_from(["3", "5", "6", None])), min_size=1, max_size=25
    )
)
def test_rows_are_conserved_and_targets_never_below_prior_latest_or_previous(rows):
    frame = cohort(reading_ks1=[r[0] for r in rows], reading_spr1=[r[1] for r in rows])
    frame.index = pd.RangeIndex(100, 100 + len(frame))  # input row numbers survive
    previous = pd.DataFrame({"upn": frame["upn"], "reading_target": [r[2] for r in rows]})
    before = frame.copy()
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"], previous=previous)
    pd.testing.assert_frame_equal(frame, before)  # input unchanged
    assert list(result.pupils.index) == list(frame.index)
    level = {"W": 0, "A": None, None: None}

    def lvl(grade):  # the NC level digit of a grade
        return level[grade] if grade in level else int(str(grade)[0])

    for (prior, latest, prev), target in zip(rows, result.pupils["reading_target"], strict=True):
        floors = [lvl(g) for g in (prior, latest, prev) if lvl(g) is not None]
        if floors:
            assert target is not None and lvl(target) >= max(floors)


def test_a_pupil_whose_position_fell_gets_a_target_that_restores_it():
    # Year 4. End of Y2: 2s+ (12), one step above the ARE 2s (11): position +1.
    # End of Y3: 3w (15), two below the ARE 3s (17). Default: 15 + 6 + ceil(2 / 2) = 22 (4w+);
    # restoring the position: ARE at the end of Y4 (4s = 23) + 1 = 24 (4s+), which is higher.
    frame = pd.DataFrame(
        {
            "upn": UPNS[:1],
            "year_group": [4],
            "maths_sum2_2025": ["2s+"],
            "maths_sum2_2026": ["3w"],
        }
    )
    result = compute_targets(frame, load_policy("steps"), subjects=["maths"])
    assert result.pupils.loc[0, "maths_target"] == "4s+"
    assert "POSITION_RESTORED" in result.pupils.loc[0, "flags"]
    assert result.pupils.loc[0, "maths_prior"] == "3w"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(GRADES, LATEST), min_size=1, max_size=20),
    st.data(),
)
def test_group_membership_never_changes_any_target(rows, data):
    # Quotas included: swapping disadvantaged, LAC, EAL, SEN support and ethnicity at random
    # must leave every pupil's target exactly as it was.
    n = len(rows)
    frame = cohort(reading_ks1=[r[0] for r in rows], reading_spr1=[r[1] for r in rows])
    first = compute_targets(frame, load_policy("ks2"), subjects=["reading"])
    other = frame.assign(
        disadvantaged=data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        lac=data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        eal=data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        sen=data.draw(st.lists(st.sampled_from(["N", "K"]), min_size=n, max_size=n)),
        ethnicity=data.draw(
            st.lists(st.sampled_from(["WBRI", "BCRB", "APKN"]), min_size=n, max_size=n)
        ),
    )
    second = compute_targets(other, load_policy("ks2"), subjects=["reading"])
    assert first.pupils["reading_target"].tolist() == second.pupils["reading_target"].tolist()


def test_group_figures_under_5_pupils_are_marked_small():
    # 6 pupils: 5 not disadvantaged (not small), 1 disadvantaged (small); LAC: 6 "no"
    frame = cohort(reading_ks1=["2b"] * 6, disadvantaged=[False] * 5 + [True], lac=["N"] * 6)
    result = compute_targets(frame, load_policy("ks2"), subjects=["reading"])
    rows = result.by_group[result.by_group["threshold"] == "4+"].set_index(["group", "value"])
    assert rows.loc[("disadvantaged", "yes"), "small"] == "small (<5)"
    assert rows.loc[("disadvantaged", "no"), "small"] == ""
    assert rows.loc[("lac", "no"), "pupils"] == 6
    assert rows.loc[("disadvantaged", "yes"), "pct_targeted"] == 100.0


@pytest.mark.parametrize("name", ["ks1", "ks2", "ks3", "ks4", "steps"])
def test_every_policy_runs_on_a_header_only_cohort(name):
    frame = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ["upn", "year_group", "sen", "reading_ks1"]}
    )
    result = compute_targets(frame, load_policy(name))
    assert len(result.pupils) == 0
    assert f"{result.subjects[0]}_target" in result.pupils.columns


def test_the_school_share_at_every_threshold_is_at_least_the_sum_of_chances():
    # SPEC §8: ten KS1 2a pupils. Top-25% reading rates from 2a reach 5+ at some rate r; the
    # school needs ceil(sum of chances) of them targeted 5+, the rest keep the level-2 rule's 4.
    frame = cohort(reading_ks1=["2a"] * 10)
    result = compute_targets(frame, load_shipped_policy("ks2"), subjects=["reading"])
    chance = result.pupils["reading_chance_5plus"].iloc[0] / 100
    needed = math.ceil(round(chance * 10, 9))
    targets = result.pupils["reading_target"].tolist()
    assert targets == ["5"] * needed + ["4"] * (10 - needed)  # ties: the lowest UPNs first
    assert 0 < needed < 10
    assert all("QUOTA_TARGET" in f for f in result.pupils["flags"].iloc[:needed])


def test_a_pupil_absent_at_ks1_gets_the_age_related_expectation():
    frame = cohort(maths_ks1=["A", None], year_group=[6, 6])
    result = compute_targets(frame, load_shipped_policy("ks2"), subjects=["maths"])
    assert result.pupils["maths_target"].tolist() == ["4", "4"]
    assert result.pupils["flags"].str.contains("NO_PRIOR_RESULT").all()


def test_ks4_prior_is_the_one_scaled_score_a_pupil_has():
    # SPEC §8: reading 104 alone -> band "102.5 - 104.5" (minimum grade 4); no score at all ->
    # the DfE's "No scaled score" band, targeted the age-related expectation, grade 4
    frame = cohort(reading_ks2=["104", None], maths_ks2=[None, None], year_group=[11, 11])
    result = compute_targets(frame, load_policy("ks4"), subjects=["maths"])
    assert result.pupils["maths_prior"].tolist() == ["102.5 - 104.5", "No scaled score"]
    assert result.pupils["maths_target"].tolist() == ["4", "4"]


def test_a_reason_labels_illustrative_figures_and_only_those():
    # SPEC §8 "Illustrative numbers are labelled": the KS1 → KS2 level tables are illustrative
    # (every row of ks1_ks2_levels.csv has status illustrative); the KS2 → GCSE matrices are
    # the DfE's (derived from published counts), so their reasons carry no label.
    ks2 = compute_targets(cohort(reading_ks1=["2b"]), load_policy("ks2"), subjects=["reading"])
    assert "% reach 4+ (illustrative figures)" in ks2.pupils["reading_reason"].iloc[0]
    ks4 = compute_targets(
        pd.DataFrame(
            {"upn": UPNS[:1], "year_group": [11], "reading_ks2": [101], "maths_ks2": [101]}
        ),
        load_policy("ks4"),
        subjects=["maths"],
    )
    reason = ks4.pupils["maths_reason"].iloc[0]
    assert "% reach" in reason and "illustrative" not in reason
