"""report tracks every scale targetkit knows (issue 14, "Tracking (report)").

NC levels, GCSE 9-1, KS2 scaled scores and Year 1 from EYFS, on small tracking sheets written by
hand; the expected milestones, statuses, flags and % at the age-related expectation are worked
out by hand in the comments from the scale points (nc: 2 points a sub-level, 2b = 15, a whole
level counts as its b; gcse91: the grade number; ks2ss: the score; steps: 1b = 1).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.commands.report import report_file
from targetkit.errors import InputError
from targetkit.groups import command_groups, load_groups
from targetkit.pipeline import ambition, targets
from targetkit.pipeline import reporting as rp
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy
from targetkit.scales import load_scale

UPNS = [f"A80120022200{n}" for n in range(10)]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def pupil(n: int, year: int, **columns: object) -> dict[str, object]:
    return {"UPN": UPNS[n], "Forename": f"P{n}", "Surname": "Test", "Year Group": year, **columns}


def progress_of(outcome, subject: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return outcome.data.progress[subject].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# NC levels


@pytest.fixture
def levels(tmp_path: Path) -> tuple[Path, Path]:
    """Three pupils tracked in NC levels after autumn 2, with a targets file."""
    tracking = write(
        tmp_path / "levels.csv",
        [
            pupil(
                0, 4, reading_ks1="2b", reading_sum2_2026="3c", reading_aut1="3c", reading_aut2="3b"
            ),
            pupil(
                1, 4, reading_ks1="1a", reading_sum2_2026="2b", reading_aut1="2b", reading_aut2="2c"
            ),
            pupil(
                2, 6, reading_ks1="3c", reading_sum2_2026="4c", reading_aut1="4b", reading_aut2="4a"
            ),
        ],
    )
    given = write(
        tmp_path / "targets.csv",
        [
            {"UPN": UPNS[0], "reading_target": "4", "reading_milestone_y4": "3a"},
            {"UPN": UPNS[1], "reading_target": "4", "reading_milestone_y4": "3c"},
            {"UPN": UPNS[2], "reading_target": "5", "reading_milestone_y4": ""},
        ],
    )
    return tracking, given


def test_an_nc_levels_tracking_sheet_is_tracked_against_this_years_milestone(
    levels: tuple[Path, Path], tmp_path: Path
) -> None:
    tracking, given = levels
    outcome = report_file(tracking, targets=given, output=tmp_path / "r.xlsx")
    assert outcome.tracking.scale.name == "nc"
    p = progress_of(outcome, "reading")
    # Year 4 pupils are tracked against their Year 4 milestone, the Year 6 pupil (final year of
    # KS2) against the target: 3a = 23, 3c = 19, level 5 = 5b = 33.
    assert p["target"].tolist() == [23, 19, 33]
    # milestone after 2 half terms = baseline + floor((target - baseline) x 2 / 6):
    # 19 + floor(4/3) = 20; 15 + floor(4/3) = 16; 25 + floor(8/3) = 27.
    assert p["milestone"].tolist() == [20, 16, 27]
    # difference latest - milestone: 21-20 = 1, 13-16 = -3, 29-27 = 2 (points); a step is one
    # sub-level (2 points): behind at -2 points, ahead at +4 points.
    assert p["status"].tolist() == ["on track", "behind", "on track"]
    assert p["steps_made"].tolist() == [1, -1, 2]  # sub-levels since last summer
    assert p["regressed"].tolist() == [False, True, False]  # 2c after 2b
    # NOT_ON_TRACK: one level (6 points) a year is 1 point a half term; 4 half terms left:
    # pupil 1 needs 19 - 13 = 6 points > 4. Pupil 0 needs 2, pupil 2 needs 4: not more.
    assert p["not_on_track"].tolist() == [False, True, False]
    # CATCH_UP: last summer below the expectation at the end of Year 3: 2b (15) at Year 2 and
    # level 4 (4c, 25) at Year 6, a straight line: Year 3 17.5; Year 5 22.5.
    assert p["catch_up"].tolist() == [False, True, False]


def test_percent_at_the_expectation_per_drop_for_nc_levels(
    levels: tuple[Path, Path], tmp_path: Path
) -> None:
    tracking, given = levels
    outcome = report_file(tracking, targets=given, output=tmp_path / "r.xlsx")
    table = outcome.data.expectations
    everyone = table[table["group"] == "All pupils"].set_index("drop")
    # Expectation at aut1 (1 half term): Year 4 17.5 + 2.5/6 = 17.92, Year 6 22.5 + 2.5/6 =
    # 22.92. aut1: 3c (19) yes, 2b (15) no, 4b (27) yes; aut2 (Year 4 18.33, Year 6 23.33):
    # 3b (21) yes, 2c (13) no, 4a (29) yes.
    assert everyone.loc["aut1", "pupils"] == 3 and everyone.loc["aut1", "at_expected"] == 2
    assert everyone.loc["aut2", "pct"] == pytest.approx(2 / 3)
    book = openpyxl.load_workbook(outcome.output)
    rows = list(book["Expected"].iter_rows(values_only=True))
    # one row a subject and group, a column a drop (the year reads across a line)
    header = rows[0]
    assert header[:3] == ("Subject", "Group", "Pupils with a grade (latest drop)")
    autumn = [header.index(f"% at or above the expectation: autumn {n}") for n in (1, 2)]
    assert rows[1][:2] == ("reading", "All pupils")
    assert [rows[1][c] for c in autumn] == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    summary = outcome.summary()
    assert summary["scale"] == "nc"
    assert summary["at_expected"] == {"reading": {"pupils": 3, "at_expected": 2, "pct": 2 / 3}}
    assert book["Summary"]["A2"].value == (
        "Reading: 2 of 3 pupils (67%) are at or above the age-related expectation at autumn 2."
    )
    pupils = list(book["Pupils"].iter_rows(values_only=True))
    header = pupils[0]
    current = header.index(
        next(h for h in header if str(h).startswith("Reading") and "now" in str(h).lower())
    )
    assert [r[current] for r in pupils[1:]] == ["3b", "2c", "4a"]


def test_without_targets_nc_levels_take_set_targets_milestones(
    levels: tuple[Path, Path], tmp_path: Path
) -> None:
    """Report's default targets are the engine's, as set-targets writes them: the Year 4
    milestone for Year 4, the KS2 target for Year 6 (SPEC §8, one answer per question)."""
    tracking, _ = levels
    outcome = report_file(tracking, output=tmp_path / "r.xlsx")
    cohort = pd.read_csv(tracking, dtype=str).rename(
        columns={"UPN": "upn", "Year Group": "year_group"}
    )
    cohort["year_group"] = cohort["year_group"].astype(int)
    engine = compute_targets(
        cohort, load_policy("ks2"), subjects=["reading"], academic_year=2026
    ).pupils
    nc = load_scale("nc")
    expected = [
        nc.points_of[engine.loc[0, "reading_milestone_y4"]],
        nc.points_of[engine.loc[1, "reading_milestone_y4"]],
        nc.points_of[engine.loc[2, "reading_target"]],
    ]
    assert progress_of(outcome, "reading")["target"].tolist() == expected
    assert outcome.targets_from.startswith("the ks2 policy")


# ---------------------------------------------------------------------------------------------
# GCSE 9-1 and KS2 scaled scores


def test_gcse_grades_are_tracked_with_a_line_to_the_year_11_target(tmp_path: Path) -> None:
    tracking = write(
        tmp_path / "gcse.csv",
        [
            pupil(0, 11, english_sum2_2026="4", english_aut1="4", english_aut2="5"),
            pupil(1, 10, english_sum2_2026="5", english_aut1="5", english_aut2="5"),
        ],
    )
    given = write(
        tmp_path / "t.csv",
        [{"UPN": UPNS[0], "english_target": "6"}, {"UPN": UPNS[1], "english_target": "7"}],
    )
    outcome = report_file(tracking, targets=given, output=tmp_path / "r.xlsx")
    assert outcome.tracking.scale.name == "gcse91"  # digits in Years 10-11 are GCSE grades
    p = progress_of(outcome, "english")
    # Year 11: the target 6. Year 10, no milestone: a straight line from last summer's 5 to
    # the Year 11 target 7 over the two years left: 5 + 2/2 = 6.
    assert p["target"].tolist() == [6, 6]
    # milestones after 2 half terms: 4 + floor(2 x 2/6) = 4; 5 + floor(1 x 2/6) = 5
    assert p["milestone"].tolist() == [4, 5]
    assert p["status"].tolist() == ["on track", "on track"]
    # no documented rate for GCSE: each pupil's line a half term, (6-4)/6 = 1/3 and (6-5)/6 =
    # 1/6 grade; needed 1 and 1 grade in 4 half terms: 3 and 6 half terms' worth.
    assert p["not_on_track"].tolist() == [False, True]
    # the expectation is grade 4 in Year 11 (the ks4 policy); none is set for Year 10
    assert p["at_expected"].tolist() == [True, False]
    table = outcome.data.expectations
    assert table[(table["group"] == "All pupils") & (table["drop"] == "aut2")][
        ["pupils", "at_expected"]
    ].values.tolist() == [[1, 1]]


def test_ks2_scaled_scores_are_tracked_and_reviewed_against_results(tmp_path: Path) -> None:
    tracking = write(
        tmp_path / "ks2.csv",
        [
            pupil(0, 6, maths_sum2_2026="96", maths_aut1="98", maths_aut2="99"),
            pupil(1, 6, maths_sum2_2026="104", maths_aut1="103", maths_aut2="103"),
        ],
    )
    given = write(
        tmp_path / "t.csv",
        [{"UPN": UPNS[0], "maths_target": "102"}, {"UPN": UPNS[1], "maths_target": "108"}],
    )
    results = write(
        tmp_path / "results.csv",
        [{"UPN": UPNS[0], "maths_result": "104"}, {"UPN": UPNS[1], "maths_result": "107"}],
    )
    outcome = report_file(tracking, targets=given, results=results, output=tmp_path / "r.xlsx")
    assert outcome.tracking.scale.name == "ks2ss"
    p = progress_of(outcome, "maths")
    # milestones: 96 + floor(6 x 2/6) = 98; 104 + floor(4 x 2/6) = 105
    assert p["milestone"].tolist() == [98, 105]
    # 99 - 98 = +1: on track; 103 - 105 = -2: behind (a step is one point)
    assert p["status"].tolist() == ["on track", "behind"]
    # the expected standard 100 by the end of Year 6 (Year 6 all year, none set before it)
    assert p["at_expected"].tolist() == [False, True]
    review = outcome.data.review["maths"].reset_index(drop=True)
    assert review["outcome"].tolist() == ["exceeded", "missed"]
    assert review["difference"].tolist() == [2, -1]


# ---------------------------------------------------------------------------------------------
# Year 1


def test_year_1_is_tracked_from_its_eyfs_outcome(tmp_path: Path) -> None:
    tracking = write(
        tmp_path / "y1.csv",
        [
            pupil(0, 1, maths_eyfs="1", maths_aut1="1b", maths_aut2="1b+"),
            pupil(1, 1, maths_eyfs="2", maths_aut1="1b", maths_aut2="1w"),
            pupil(2, 1, maths_eyfs="3", maths_aut1="1b+", maths_aut2="1w+"),
            pupil(3, 1, maths_eyfs="", maths_aut1="1b", maths_aut2="1b"),
        ],
    )
    for targets_file in (None, "given"):
        given = None
        if targets_file:
            given = write(
                tmp_path / "t.csv",
                [
                    {"UPN": u, "maths_target": t}
                    for u, t in zip(UPNS[:4], ["1w", "1w+", "1s+", "1s"], strict=True)
                ],
            )
        outcome = report_file(
            tracking, targets=given, output=tmp_path / "r.xlsx", force=True, academic_year="2026/27"
        )
        p = progress_of(outcome, "maths")
        # the policy: EYFS 1 → 1w (3), 2 → 1w+ (4), 3 → 1s+ (6); none → the year's 1s (5)
        assert p["target"].tolist() == [3, 4, 6, 5]
        # Year 1 starts at "not yet 1b" (0): milestones after 2 half terms floor(t x 2/6)
        assert p["baseline"].tolist() == [0, 0, 0, 0]
        assert p["milestone"].tolist() == [1, 1, 2, 1]
        # differences 2-1, 3-1, 4-2, 1-1: ahead at +2
        assert p["status"].tolist() == ["on track", "ahead", "ahead", "on track"]
        assert (p["status"] != "no data").all()
    # at autumn 1: floor(3/6), floor(4/6), floor(6/6), floor(5/6) = 0, 0, 1, 0, never below
    # 1b (1), as set-targets' milestones
    early = report_file(
        tracking, output=tmp_path / "r.xlsx", force=True, academic_year="2026/27", term="aut1"
    )
    assert progress_of(early, "maths")["milestone"].tolist() == [1, 1, 1, 1]


def test_set_targets_fills_year_1_milestones_from_the_eyfs_target() -> None:
    cohort = pd.DataFrame({"upn": UPNS[:2], "year_group": [1, 1], "maths_eyfs": ["2", "3"]})
    pupils = compute_targets(cohort, load_policy("steps"), subjects=["maths"]).pupils
    # 1w+ (4) and 1s+ (6) from "not yet 1b" (0), floor(t x k/6), never below 1b:
    # 4: 0,1,2,2,3,4 → 1b,1b,1b+,1b+,1w,1w+; 6: 1,2,3,4,5,6 → 1b,1b+,1w,1w+,1s,1s+
    drops = ["aut1", "aut2", "spr1", "spr2", "sum1", "sum2"]
    assert [pupils.loc[0, f"maths_milestone_{d}"] for d in drops] == [
        "1b", "1b", "1b+", "1b+", "1w", "1w+",
    ]  # fmt: skip
    assert [pupils.loc[1, f"maths_milestone_{d}"] for d in drops] == [
        "1b", "1b+", "1w", "1w+", "1s", "1s+",
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The scale, groups


def test_the_scale_is_chosen_from_the_values_and_year_groups() -> None:
    scales = [load_scale(n) for n in rp.TRACKED_SCALES]
    column = pd.Series(["4", "5", ""])
    assert rp.choose_scale([column], scales, ["nc"]).name == "nc"  # Year 4: levels
    assert rp.choose_scale([column], scales, ["gcse91"]).name == "gcse91"  # Year 10: GCSE
    assert rp.choose_scale([pd.Series(["3s", "4b+"])], scales).name == "steps"
    assert rp.choose_scale([pd.Series(["B", "C", "A*"])], scales).name == "gcse"
    assert rp.choose_scale([pd.Series(["95", "110"])], scales).name == "ks2ss"


def test_an_unknown_grade_names_the_file_row_and_column_on_any_scale(tmp_path: Path) -> None:
    tracking = write(
        tmp_path / "bad.csv",
        [
            pupil(0, 4, reading_sum2_2026="3c", reading_aut1="3b"),
            pupil(1, 4, reading_sum2_2026="3b", reading_aut1="3q"),
        ],
    )
    with pytest.raises(InputError) as caught:
        report_file(tracking, output=tmp_path / "r.xlsx")
    text = str(caught.value)
    assert "'3q'" in text and "row 3" in text and "reading_aut1" in text


def test_an_intervention_group_in_the_settings_is_reported(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    shipped = rp.default_settings_path().read_text(encoding="utf-8")
    settings.write_text(
        shipped.replace(
            "groups: []",
            "groups:\n  - {key: booster, name: Reading booster, column: Reading Booster, "
            "kind: flag}",
        ),
        encoding="utf-8",
    )
    rows = [
        pupil(
            n,
            4,
            **{"Reading Booster": "Y" if n < 5 else "N"},
            reading_sum2_2026="3s",
            reading_aut1="3s" if n < 5 else "3s+",
        )
        for n in range(10)
    ]
    tracking = write(tmp_path / "booster.csv", rows)
    out = tmp_path / "r.xlsx"
    result = cli("report", tracking, "-o", out, "--settings", settings)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    groups = [r for r in book["Groups"].iter_rows(values_only=True)]
    booster = [r for r in groups if r[1] == "Reading booster"]
    # five booster pupils stayed at 3s (0 steps), the other five made one step: 0 on track vs
    # 100% (milestone 17 + floor(6/6) = 18)
    assert len(booster) == 1
    header = groups[0]
    assert booster[0][header.index("% on track")] == 0
    assert booster[0][header.index("% of other pupils on track")] == 1
    summary_groups = [r[0] for r in book["Summary"].iter_rows(min_row=1, values_only=True)]
    assert "Reading booster" in summary_groups


def test_every_command_takes_its_groups_from_the_one_groups_file() -> None:
    groups = load_groups()
    assert (
        tuple(dict.fromkeys(g.column for g in command_groups("set_targets")))
        == targets.GROUP_COLUMNS
    )
    assert {g.key: g.name for g in command_groups("check_ambition")} == ambition.FLAG_GROUPS
    report_keys = [g.key for g in rp.load_settings().groups]
    assert report_keys == groups.report
    # one name per group wherever it is shown
    assert ambition.FLAG_GROUPS["lac"] == next(g.name for g in groups.groups if g.key == "lac")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1, 3, 4, 6, 7]),  # year group (7: no steps expectation)
            st.sampled_from(["Y", "N", ""]),  # disadvantaged
            st.lists(st.one_of(st.none(), st.integers(0, 36)), min_size=4, max_size=4),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_percent_at_expectation_equals_a_pupil_by_pupil_count(rows) -> None:  # type: ignore[no-untyped-def]
    """For any cohort, the vectorised table counts exactly the pupils a plain loop counts."""
    report_settings = rp.load_settings()
    index = pd.RangeIndex(2, 2 + len(rows))
    drops = pd.DataFrame(
        [r[2] for r in rows], index=index, columns=["baseline", "aut1", "aut2", "spr1"]
    ).astype("float64")
    pupils = pd.DataFrame(
        {"year_group": [r[0] for r in rows], "disadvantaged": [r[1] for r in rows]}, index=index
    )
    groups = rp.pupil_groups(pupils, report_settings)
    history = rp.drop_history(
        drops, drops["baseline"] + 6, report_settings, rp.STEPS_RULES, pupils["year_group"]
    )
    table = rp.expectation_table({"maths": history}, groups, report_settings, index)
    expected_end = load_scale("steps").expected_by_year  # Year n: ns = 6n - 1
    for name, members in [("All pupils", pd.Series(True, index=index))] + [
        (g.name, g.members) for g in groups
    ]:
        for half_terms, drop in enumerate(["aut1", "aut2", "spr1"], start=1):
            graded = at = 0
            for row in index:  # the plain count, pupil by pupil
                year, value = int(pupils.loc[row, "year_group"]), drops.loc[row, drop]
                if not members[row] or pd.isna(value) or year not in expected_end:
                    continue
                start = expected_end.get(year - 1, expected_end[year] - 6)
                expectation = max(start + (expected_end[year] - start) * half_terms / 6, 0)
                graded += 1
                at += value >= expectation
            found = table[(table["group"] == name) & (table["drop"] == drop)]
            if graded == 0:
                assert found.empty
            else:
                assert found[["pupils", "at_expected"]].values.tolist() == [[graded, at]]


# ---------------------------------------------------------------------------------------------
# Every scale without --targets: the engine's targets (issue 14)


def test_without_targets_a_level_era_a_star_to_g_sheet_takes_ks4_levels_targets(
    tmp_path: Path,
) -> None:
    """Years 10 and 11 with KS2 levels, tracked in GCSE A*-G (gcse points: E 28, D 34, C 40, A
    52), no --targets: ks4_levels sets them, as set-targets would. KS2 4c → C (three levels of
    progress). The national table ks2_gcse_legacy_2016 (English, 4c): A*-C 41.8 + 10.6 + 1.0
    + 0.1 = 53.5% and A*-A 1.0 + 0.1 = 1.1% a pupil, so the school quotas (SPEC §8) want
    ceil(2 x 0.535) = 2 pupils at C+ (both are) and ceil(2 x 0.011) = 1 at A: the one with the
    better latest attainment, the Year 11 pupil at C (the Year 10 pupil is at D)."""
    tracking = write(
        tmp_path / "gcse.csv",
        [
            pupil(
                0, 11, english_ks2="4c", english_sum2_2026="D", english_aut1="D", english_aut2="C"
            ),
            pupil(
                1, 10, english_ks2="4c", english_sum2_2026="E", english_aut1="E", english_aut2="D"
            ),
        ],
    )
    outcome = report_file(tracking, output=tmp_path / "r.xlsx")
    assert outcome.tracking.scale.name == "gcse"
    assert outcome.targets_from.startswith("the ks4_levels policy")
    assert "--targets" not in outcome.targets_from
    p = progress_of(outcome, "english")
    # Year 11: the target A (52). Year 10: this year's milestone for a C target, a line from G
    # (16) at the end of Year 6 to C (40) at the end of Year 11: 16 + 24 x 4/5 = 35.2 → D (34).
    assert p["target"].tolist() == [52, 34]
    # after two half terms: 34 + (52 - 34) x 2/6 = 40 and 28 + (34 - 28) x 2/6 = 30
    assert p["milestone"].tolist() == [40, 30]
    assert p["status"].tolist() == ["on track", "on track"]
    # the expectation C at the end of Year 11 (ks4_levels' no-prior target); none for Year 10
    assert p["at_expected"].tolist() == [True, False]


def test_without_targets_ks2_scaled_scores_and_writing_take_the_ks1_ta_policies(
    tmp_path: Path,
) -> None:
    """Years 5 and 6 with KS1 teacher assessments, no --targets. Scaled scores (ks2_ta): EXS →
    100, GDS → 110, the one WTS pupil is the policy's ceil(50% x 1) = 1 targeted 100. Year 5
    (no milestone years): a line from last summer to the Year 6 target over the two years
    left, rounded up to a score: 96 + (100 - 96)/2 = 98; reading 97 + 3/2 = 98.5 → 99."""
    tracking = write(
        tmp_path / "ks2.csv",
        [
            pupil(
                0,
                6,
                maths_ks1="EXS",
                maths_sum2_2026="98",
                maths_aut1="99",
                maths_aut2="100",
                reading_ks1="GDS",
                reading_sum2_2026="105",
                reading_aut1="106",
                reading_aut2="107",
            ),
            pupil(
                1,
                6,
                maths_ks1="WTS",
                maths_sum2_2026="90",
                maths_aut1="92",
                maths_aut2="93",
                reading_ks1="WTS",
                reading_sum2_2026="94",
                reading_aut1="95",
                reading_aut2="95",
            ),
            pupil(
                2,
                5,
                maths_ks1="EXS",
                maths_sum2_2026="96",
                maths_aut1="97",
                maths_aut2="97",
                reading_ks1="EXS",
                reading_sum2_2026="97",
                reading_aut1="98",
                reading_aut2="99",
            ),
        ],
    )
    outcome = report_file(tracking, output=tmp_path / "r.xlsx")
    assert outcome.tracking.scale.name == "ks2ss"
    assert outcome.targets_from.startswith("the ks2_ta policy")
    assert progress_of(outcome, "maths")["target"].tolist() == [100, 100, 98]
    assert progress_of(outcome, "reading")["target"].tolist() == [110, 100, 99]
    # KS2 writing (WTS 7, EXS 8, GDS 9 on ks2writing) on its own sheet: ks2_ta_writing, which
    # --policy auto never picks for set-targets, covers Years 3-6 here. EXS → EXS; the WTS
    # pupil is the ceil(50% x 1) = 1 targeted EXS; Year 5 from WTS: 7 + (8 - 7)/2 = 7.5 → EXS.
    writing = write(
        tmp_path / "writing.csv",
        [
            pupil(0, 6, writing_ks1="EXS", writing_sum2_2026="EXS", writing_aut1="EXS"),
            pupil(1, 6, writing_ks1="WTS", writing_sum2_2026="WTS", writing_aut1="WTS"),
            pupil(2, 5, writing_ks1="EXS", writing_sum2_2026="WTS", writing_aut1="EXS"),
        ],
    )
    outcome = report_file(writing, output=tmp_path / "w.xlsx")
    assert outcome.tracking.scale.name == "ks2writing"
    assert outcome.targets_from.startswith("the ks2_ta_writing policy")
    p = progress_of(outcome, "writing")
    assert p["target"].tolist() == [8, 8, 8]
    # EXS is the expectation at the end of Year 6 (the policy's no-prior target)
    assert p["at_expected"].tolist() == [True, False, False]
    book = openpyxl.load_workbook(tmp_path / "w.xlsx", read_only=True)
    try:
        assert "Pupils" in book.sheetnames
    finally:
        book.close()


def test_policies_by_year_gives_a_policy_without_year_groups_its_key_stage_s_years() -> None:
    writing = load_scale("ks2writing")
    shipped = [load_policy(n) for n in ("ks2_ta", "ks2_ta_writing", "ks4_levels")]
    chosen = rp.policies_by_year([2, 3, 6, 7], writing, shipped, None)
    assert {y: p.name for y, p in chosen.items()} == {3: "ks2_ta_writing", 6: "ks2_ta_writing"}
    gcse = rp.policies_by_year([9, 10, 11], load_scale("gcse"), shipped, None)
    assert {y: p.name for y, p in gcse.items()} == {10: "ks4_levels", 11: "ks4_levels"}
