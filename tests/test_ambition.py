"""The pure ambition checks (`targetkit.pipeline.ambition`): each finding code on small frames
whose expected findings are worked out by hand from the guidance (seeds/000) and SPEC §7."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.pipeline.ambition import (
    FINDING_COLUMNS,
    ceiling_points,
    check_school,
    check_schools,
    floor_points,
    group_masks,
    school_percentages,
)
from targetkit.scales import load_scale

NC = load_scale("nc")


def upns(n: int, start: int = 0) -> list[str]:
    return [f"X80121032{i:04d}" for i in range(start, start + n)]


def submission(n: int, **columns: object) -> pd.DataFrame:
    """n pupils (index = Excel rows 2..n+1) with the given columns (a scalar fills them all)."""
    frame = pd.DataFrame(
        {"upn": upns(n), "forename": [f"Pupil{i}" for i in range(n)], "surname": "Test"},
        index=pd.RangeIndex(2, n + 2, name="source_row"),
    )
    for name, value in columns.items():
        frame[name] = value
    return frame


def expected_for(frame: pd.DataFrame, subject: str = "reading", **columns: object) -> pd.DataFrame:
    return pd.DataFrame(
        {f"{subject}_{name}": value for name, value in columns.items()}, index=frame.index
    )


def codes(result, code: str | None = None) -> pd.DataFrame:
    found = result.findings
    return found[found["code"] == code] if code else found


# ---------------------------------------------------------------------------------------------
# Points: whole levels compare by their digit (SPEC §7)


def test_a_whole_level_is_met_from_its_lowest_sub_level_and_reaches_its_highest():
    grades = pd.Series(["4", "4c", "4a", "W", "5"])
    # 4 → 4c = 25 as a minimum, 4a = 29 as a target's reach; sub-levels keep their own points.
    assert floor_points(NC, grades).tolist() == [25, 25, 29, 3, 31]
    assert ceiling_points(NC, grades).tolist() == [29, 25, 29, 3, 35]


# ---------------------------------------------------------------------------------------------
# BELOW_EXPECTED_PROGRESS and BELOW_BENCHMARK (pupil)


def test_level_2_pupils_targeted_below_level_4_are_challenged():
    # Guidance: every KS1 level-2 pupil is targeted at least level 4 at KS2.
    frame = submission(4, reading_target=["3", "3a", "4c", 4])
    expected = expected_for(frame, prior="2b", minimum="4", most_likely="4")
    result = check_school(frame, scale=NC, expected=expected)
    below = codes(result, "BELOW_EXPECTED_PROGRESS")
    # 3 and 3a are below level 4; 4c is level 4 (SPEC §7); a typed number 4 is the text "4".
    assert below["row"].tolist() == [2, 3]
    assert below["upn"].tolist() == upns(2)
    assert set(below["severity"]) == {"challenge"}
    assert below["message"].iloc[0] == "reading target 3 is below the minimum 4 expected from 2b."
    assert below["pupil"].iloc[0] == "Pupil0 Test"


def test_target_below_the_most_likely_outcome_is_information_for_the_moderator():
    # SPEC §8: a pupil below the most likely outcome is `info`; the school's share is challenged
    # KS1 2a: minimum level 4, most likely level 5 in top-25% schools (the table's mode).
    frame = submission(3, reading_target=["4", "5", "5c"])
    expected = expected_for(frame, prior="2a", minimum="4", most_likely="5")
    result = check_school(frame, scale=NC, expected=expected, benchmark="top25")
    warned = codes(result, "BELOW_BENCHMARK")
    assert warned["row"].tolist() == [2]  # 4 < 5; 5 and 5c are level 5
    assert warned["severity"].tolist() == ["info"]
    assert "most likely outcome for 2a in top25 schools" in warned["message"].iloc[0]
    assert codes(result, "BELOW_EXPECTED_PROGRESS").empty


def test_an_ehc_plan_target_below_the_rule_stands_and_is_only_noted():
    frame = submission(2, sen=["E", "N"], reading_target=["3", "3"], reading_plan_target="3")
    expected = expected_for(frame, prior="2c", minimum="4", most_likely="4")
    result = check_school(frame, scale=NC, expected=expected)
    assert codes(result, "EHC_TARGET_BELOW_RULE")["row"].tolist() == [2]
    assert codes(result, "EHC_TARGET_BELOW_RULE")["severity"].tolist() == ["info"]
    # The pupil without a plan is challenged as usual.
    assert codes(result, "BELOW_EXPECTED_PROGRESS")["row"].tolist() == [3]


# ---------------------------------------------------------------------------------------------
# MISSING_TARGET and EHC_INDIVIDUAL_TARGET


def test_blank_targets_are_missing_and_ehc_pupils_without_a_plan_target_are_noted():
    frame = submission(
        3,
        sen=["E", "E", "K"],
        reading_target=["4", None, "  "],
        reading_plan_target=[None, "3", None],
    )
    result = check_school(frame, scale=NC)
    assert codes(result, "MISSING_TARGET")["row"].tolist() == [3, 4]
    assert codes(result, "MISSING_TARGET")["message"].tolist() == ["No reading target is set."] * 2
    # Row 2 has an EHC plan and no plan target; row 3 has one; row 4 is SEN support.
    assert codes(result, "EHC_INDIVIDUAL_TARGET")["row"].tolist() == [2]


# ---------------------------------------------------------------------------------------------
# BELOW_PREVIOUS_BEST and TARGET_LOWERED


def test_a_target_below_the_latest_attainment_or_the_prior_is_below_previous_best():
    frame = submission(
        4,
        reading_ks1=["3", "2b", "3", "2b"],
        reading_aut1=["4c", "4a", None, "5c"],
        reading_spr1=[None, "5a", None, "4b"],  # latest: row 2 falls back to aut1
        reading_target=["4", "5", "3c", "4a"],
    )
    result = check_school(frame, scale=NC, prior_columns={"reading": "reading_ks1"})
    below = codes(result, "BELOW_PREVIOUS_BEST")
    # row 2: target 4 reaches 4a, latest 4c: fine. row 3: target 5 vs latest 5a: same level, fine.
    # row 4: no drop; target 3c (19) is below KS1 level 3 (counted from 3c... = 19): fine.
    # row 5: latest is spr1 4b (27), not the older 5c; target 4a (29): fine.
    assert below.empty
    frame["reading_target"] = ["3a", "4a", "2a", "4c"]
    below = codes(
        check_school(frame, scale=NC, prior_columns={"reading": "reading_ks1"}),
        "BELOW_PREVIOUS_BEST",
    )
    # 3a < 4c (latest); 4a < 5a (latest); 2a < 3 (prior); 4c (25) < 4b (27).
    assert below["row"].tolist() == [2, 3, 4, 5]
    assert below["message"].tolist() == [
        "reading target 3a is below the pupil's previous best 4c.",
        "reading target 4a is below the pupil's previous best 5a.",
        "reading target 2a is below the pupil's previous best 3.",
        "reading target 4c is below the pupil's previous best 4b.",
    ]


def test_a_prior_on_another_scale_is_not_a_previous_best():
    # Without prior_columns (e.g. KS2 scaled scores for GCSE targets) only drops count.
    frame = submission(1, reading_ks1=["3"], reading_target=["2a"])
    assert codes(check_school(frame, scale=NC), "BELOW_PREVIOUS_BEST").empty


def test_targets_lower_than_last_time_are_challenged():
    # Guidance: "schools should not lower pupils' targets".
    frame = submission(4, reading_target=["4", "4", "5", "4a"])
    previous = pd.DataFrame(
        {"upn": [u.lower() for u in upns(4)][::-1], "reading_target": ["4a", "5", "4", "4"][::-1]}
    )
    result = check_school(frame, scale=NC, previous_targets=previous)
    lowered = codes(result, "TARGET_LOWERED")
    # row 2: 4 vs 4 same; row 3: 4 vs 5 lowered; row 4: 5 vs 4 raised; row 5: 4a vs 4 same level.
    assert lowered["row"].tolist() == [3]
    assert lowered["message"].tolist() == ["reading target 4 is lower than the previous target 5."]


# ---------------------------------------------------------------------------------------------
# Groups


def test_groups_are_the_flags_and_each_minority_ethnicity_with_five_pupils():
    frame = submission(
        14,
        disadvantaged=["Y"] * 3 + ["N"] * 11,
        sen=["K"] * 2 + ["N"] * 12,
        ethnicity=["APKN"] * 5 + ["BCRB"] * 4 + ["WBRI"] * 5,
    )
    masks = group_masks(frame)
    assert list(masks) == ["Disadvantaged", "SEN support", "Ethnicity APKN"]
    assert masks["Disadvantaged"].sum() == 3 and masks["Ethnicity APKN"].sum() == 5
    result = check_school(frame.assign(reading_target="4"), scale=NC)
    small = codes(result, "SMALL_GROUP")
    assert small["group"].tolist() == ["Disadvantaged", "SEN support"]
    assert set(small["severity"]) == {"info"}


def _prior_one_school(group_targets: list[str], other_targets: list[str]) -> pd.DataFrame:
    n = len(group_targets) + len(other_targets)
    return submission(
        n,
        disadvantaged=[True] * len(group_targets) + [False] * len(other_targets),
        reading_target=group_targets + other_targets,
    )


def test_disadvantaged_pupils_targeted_lower_than_others_with_the_same_prior_are_challenged():
    # Five disadvantaged KS1 level-1 pupils all targeted level 3; five others all level 4.
    frame = _prior_one_school(["3"] * 5, ["4"] * 5)
    expected = expected_for(frame, prior="1")
    result = check_school(frame, scale=NC, expected=expected)
    lower = codes(result, "GROUP_EXPECTATION_LOWER")
    assert lower["group"].tolist() == ["Disadvantaged"]
    assert lower["severity"].tolist() == ["challenge"]
    assert lower["message"].tolist() == [
        "Disadvantaged pupils are targeted lower than other pupils with the same prior "
        "attainment in reading."
    ]


def test_same_targets_for_the_same_prior_raise_no_group_challenge():
    frame = _prior_one_school(["3", "4", "4", "3", "4"], ["4", "3", "4", "3", "4"])
    result = check_school(frame, scale=NC, expected=expected_for(frame, prior="1"))
    assert codes(result, "GROUP_EXPECTATION_LOWER").empty


def test_a_group_with_lower_priors_is_not_compared_with_pupils_of_other_priors():
    # Disadvantaged pupils all have KS1 level 1 (targeted 3), others level 2b (targeted 4):
    # no pupils share a prior, so there is nothing like for like to compare.
    frame = _prior_one_school(["3"] * 5, ["4"] * 5)
    expected = expected_for(frame, prior=["1"] * 5 + ["2b"] * 5)
    assert codes(check_school(frame, scale=NC, expected=expected), "GROUP_EXPECTATION_LOWER").empty


def test_group_comparison_allows_for_the_policy_s_own_suggestion():
    # set-targets chose the level-1 quota pupils by latest attainment: where the targets are
    # exactly the suggestions, the group is not expected less of than the rule gives it.
    frame = _prior_one_school(["3", "3", "3", "4", "4"], ["4"] * 5)
    expected = expected_for(frame, prior="1", suggested=frame["reading_target"].tolist())
    assert codes(check_school(frame, scale=NC, expected=expected), "GROUP_EXPECTATION_LOWER").empty


def test_targeted_gap_wider_than_last_year_s_actual_gap_is_a_warning():
    # Last year: 5 disadvantaged pupils at level 4 (27), 5 others at 5 (33): gap 6 points.
    previous = pd.DataFrame(
        {"disadvantaged": ["Y"] * 5 + ["N"] * 5, "reading_ks2": ["4"] * 5 + ["5"] * 5}
    )
    # This year targets: disadvantaged level 3 (21), others level 5 (33): gap 12 > 6.
    frame = _prior_one_school(["3"] * 5, ["5"] * 5)
    result = check_school(frame, scale=NC, previous_results=previous)
    wide = codes(result, "GROUP_GAP_WIDENING")
    assert wide["group"].tolist() == ["Disadvantaged"]
    assert wide["severity"].tolist() == ["warning"]
    assert wide["message"].iloc[0] == (
        "The gap for Disadvantaged pupils in reading is 12.0 points, wider than 6.0 last year."
    )
    # Targets of 4 for the group and 5 for others keep the gap at 6: not wider.
    narrower = _prior_one_school(["4"] * 5, ["5"] * 5)
    assert codes(
        check_school(narrower, scale=NC, previous_results=previous), "GROUP_GAP_WIDENING"
    ).empty


# ---------------------------------------------------------------------------------------------
# School level


def test_school_percentages_use_every_pupil_on_roll_and_also_pupils_with_a_prior():
    # 10 pupils on roll; 8 with a prior (chance 0.5 of level 4+ each), 2 without.
    # Targeted 4+: 5 of the 8 with a prior, and 1 of the 2 without.
    targets = ["4", "4", "4", "4", "4", "3", "3", "3", "4", "3"]
    frame = submission(10, reading_target=targets)
    chance = [0.5] * 8 + [None] * 2
    expected = expected_for(frame, chance_4plus=chance)
    figures = school_percentages(frame, ["reading"], NC, expected, {"reading": {"4plus": 25}})
    assert figures["reading 4plus targeted"] == pytest.approx(6 / 10)
    assert figures["reading 4plus benchmark"] == pytest.approx(4 / 10)
    assert figures["reading 4plus difference"] == pytest.approx(0.2)
    assert figures["reading 4plus targeted (with prior)"] == pytest.approx(5 / 8)
    assert figures["reading 4plus benchmark (with prior)"] == pytest.approx(0.5)


def test_school_targeting_fewer_than_the_benchmark_implies_is_challenged_at_the_key_threshold():
    # 10 KS1 level-1 pupils; top-25% schools: 56% reach level 4+. 5 targeted 4 (50% < 56%).
    frame = submission(10, reading_target=["4"] * 5 + ["3"] * 5)
    expected = expected_for(
        frame, prior="1", minimum="3", most_likely="3", chance_4plus=0.56, chance_5plus=0.1
    )
    thresholds = {"reading": {"4plus": 25.0, "5plus": 31.0}}
    result = check_school(
        frame, scale=NC, expected=expected, thresholds=thresholds, key_threshold="4plus"
    )
    school = codes(result, "BELOW_BENCHMARK")
    school = school[school["upn"].isna()]
    # 5plus: 0% targeted vs 10% implied → a warning; 4plus: 50% vs 56% → a challenge.
    assert school[["severity", "message"]].values.tolist() == [
        [
            "challenge",
            "reading: 50% of pupils with a prior are targeted 4plus, below the 56% that pupils "
            "with the same starting points reach in top25 schools.",
        ],
        [
            "warning",
            "reading: 0% of pupils with a prior are targeted 5plus, below the 10% that pupils "
            "with the same starting points reach in top25 schools.",
        ],
    ]
    # ceil(0.56 × 10) = 6 pupils targeted level 4 meets the benchmark: no school challenge.
    frame["reading_target"] = ["4"] * 6 + ["3"] * 4
    again = check_school(
        frame, scale=NC, expected=expected, thresholds=thresholds, key_threshold="4plus"
    )
    assert not (
        (again.findings["code"] == "BELOW_BENCHMARK")
        & again.findings["upn"].isna()
        & (again.findings["severity"] == "challenge")
    ).any()
    assert again.summary["reading 4plus targeted"] == pytest.approx(0.6)
    assert again.summary["pupils"] == 10


# ---------------------------------------------------------------------------------------------
# Contract: empty and header-only input, order and shape


@pytest.mark.parametrize("rows", [0, 1])
def test_every_check_runs_on_empty_and_header_only_input(rows):
    frame = submission(rows, reading_target="4", sen="N", disadvantaged="N", ethnicity="WBRI")
    frame = frame.iloc[:0] if rows == 0 else frame
    expected = expected_for(
        frame, prior="2b", minimum="4", most_likely="4", chance_4plus=0.9, suggested="4"
    )
    previous = pd.DataFrame({"upn": [], "reading_target": []})
    results = pd.DataFrame({"disadvantaged": [], "reading_ks2": []})
    result = check_school(
        frame,
        scale=NC,
        expected=expected,
        thresholds={"reading": {"4plus": 25.0}},
        previous_targets=previous,
        previous_results=results,
        prior_columns={"reading": "reading_ks1"},
    )
    assert result.findings.empty
    assert list(result.findings.columns) == [
        c for c in FINDING_COLUMNS if c not in ("school", "file")
    ]
    assert result.summary["pupils"] == len(frame)


GRADES = ["W", "1", "2c", "2b", "2a", "3", "3c", "3b", "3a", "4", "4c", "4b", "4a", "5", None]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(GRADES), st.sampled_from(["2", "3", "4", "5"])),
        min_size=1,
        max_size=25,
    )
)
def test_below_expected_progress_is_exactly_the_targets_below_the_minimum_s_level(pupils):
    targets = [t for t, _ in pupils]
    minimums = [m for _, m in pupils]
    frame = submission(len(pupils), reading_target=targets)
    expected = expected_for(frame, prior="2b", minimum=minimums)
    result = check_school(frame, scale=NC, expected=expected)

    def level(grade: str) -> int:  # W is level 0; a level's digit otherwise (SPEC §7)
        return 0 if grade == "W" else int(grade[0])

    by_hand = [
        row
        for row, (target, minimum) in zip(frame.index, pupils, strict=True)
        if target is not None and level(target) < int(minimum)
    ]
    assert codes(result, "BELOW_EXPECTED_PROGRESS")["row"].tolist() == by_hand
    assert codes(result, "MISSING_TARGET")["row"].tolist() == [
        row for row, t in zip(frame.index, targets, strict=True) if t is None
    ]
    # Pupil findings come in input order and only name pupils of the input.
    pupil_rows = result.findings["row"].dropna().tolist()
    assert set(pupil_rows) <= set(frame.index)


# ---------------------------------------------------------------------------------------------
# Many schools at once (check-ambition on an LA batch)


def planted_schools() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Three schools, each with problems planted, and columns that differ between them (the
    second has no `sen`, `ethnicity` or data drop; the third a plan target and an extra column)."""
    first = submission(
        12,
        reading_target=["3", "4", None, "5", "4", "3", "3", "3", "3", "3", "4", "4"],
        reading_ks1=["2b", "2b", "2b", "2b", "2b", "1", "1", "1", "1", "1", "1", "1"],
        reading_spr1=[None, "5a", None, None, None, "3a", "3a", "3a", "3a", "3a", "3c", "3c"],
        sen=["N", "N", "N", "E", "N", "N", "N", "N", "N", "N", "N", "N"],
        disadvantaged=["N"] * 5 + ["Y"] * 5 + ["N"] * 2,
        lac=["Y", "Y"] + ["N"] * 10,
        ethnicity=["BCRB"] * 6 + ["WBRI"] * 6,
    )
    second = submission(
        6, reading_target=["4", "2a", "4", 4, "W", None], reading_ks1="2b", fsm=["Y", "N"] * 3
    )
    second.index = pd.RangeIndex(5, 11, name="source_row")  # a title above the header
    third = submission(
        7,
        reading_target=["3", "5", "5", "4", "4", "4", "4"],
        reading_plan_target=["3", None, None, None, None, None, None],
        reading_ks1=["2b"] * 7,
        reading_sum2_2025=["3a", "4c", None, "3b", "3b", "3b", "3b"],
        sen=["E", "E", "K", "N", "N", "N", "N"],
        eal=["Y"] * 5 + ["N"] * 2,
        notes="kept",
    )
    planted = []
    for frame in (first, second, third):
        expected = expected_for(
            frame,
            prior=frame["reading_ks1"],
            minimum=frame["reading_ks1"].map({"2b": "4", "1": "3"}),
            most_likely=frame["reading_ks1"].map({"2b": "4b", "1": "3"}),
            suggested=frame["reading_ks1"].map({"2b": "4", "1": "3"}),
            chance_4plus=frame["reading_ks1"].map({"2b": 0.91, "1": 0.56}),
        )
        planted.append((frame, expected))
    return planted


def test_many_schools_checked_together_give_exactly_each_school_checked_alone():
    planted = planted_schools()
    previous = pd.DataFrame({"upn": upns(3), "reading_target": ["5", "5", "4a"]})
    results = [
        pd.DataFrame({"disadvantaged": ["Y"] * 5 + ["N"] * 5, "reading_ks2": ["4"] * 10}),
        None,
        pd.DataFrame({"eal": ["Y"] * 5 + ["N"] * 5, "reading_ks2": ["4"] * 5 + ["5"] * 5}),
    ]
    rules = {
        "scale": NC,
        "thresholds": {"reading": {"4plus": 25.0, "5plus": 31.0}},
        "prior_columns": {"reading": "reading_ks1"},
        "previous_targets": previous,
        "subjects": ["reading"],
        "key_threshold": "4plus",
    }
    together = check_schools(
        [frame for frame, _ in planted],
        expected=[expected for _, expected in planted],
        previous_results=results,
        **rules,
    )
    for (frame, expected), result, previous_results in zip(planted, together, results, strict=True):
        alone = check_school(frame, expected=expected, previous_results=previous_results, **rules)
        pd.testing.assert_frame_equal(result.findings, alone.findings)
        assert result.summary.keys() == alone.summary.keys()
        assert pd.Series(result.summary).equals(pd.Series(alone.summary))
    found = pd.concat([r.findings for r in together])
    # The planted problems were found, in more than one school.
    assert {"MISSING_TARGET", "BELOW_EXPECTED_PROGRESS", "BELOW_PREVIOUS_BEST"} <= set(
        found["code"]
    )
    assert {"TARGET_LOWERED", "EHC_INDIVIDUAL_TARGET", "EHC_TARGET_BELOW_RULE"} <= set(
        found["code"]
    )
    assert {"GROUP_EXPECTATION_LOWER", "SMALL_GROUP"} <= set(found["code"])
    assert sum(len(codes(r, "MISSING_TARGET")) > 0 for r in together) >= 2
    assert sum(len(codes(r, "BELOW_EXPECTED_PROGRESS")) > 0 for r in together) >= 2
    # A school without a column is checked as if the others did not have it either.
    assert codes(together[1], "EHC_INDIVIDUAL_TARGET").empty
    assert codes(together[1], "MISSING_TARGET")["row"].tolist() == [10]


def test_many_schools_without_expectations_or_schools_at_all():
    planted = [frame for frame, _ in planted_schools()]
    together = check_schools(planted, scale=NC, subjects=["reading"])
    for frame, result in zip(planted, together, strict=True):
        alone = check_school(frame, scale=NC, subjects=["reading"])
        pd.testing.assert_frame_equal(result.findings, alone.findings)
        assert result.summary == alone.summary
    assert check_schools([], scale=NC, subjects=["reading"]) == []
