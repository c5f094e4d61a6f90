"""`targetkit report` as a library: statuses, flags, key questions, group gaps, the review.

Every expected value is worked out by hand in the comments. Steps points: 2s = 11, 3b = 13,
3b+ = 14, 3w = 15, 3w+ = 16, 3s = 17, 3s+ = 18, 4b = 19, 4b+ = 20, 4w = 21, 4w+ = 22, 4s = 23.
Year 4: the expectation at the end of Year 3 is 3s (17), so a pupil at 3s last summer is
targeted 3s + 6 = 4s (23); the milestone at spr1 (3 half terms) is 17 + 3 = 20 (4b+).
Default settings: ahead = 2+ steps above the milestone, behind = 1+ below; very good progress =
steps made >= half terms + 2; poor = steps made <= half terms - 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targetkit.academic_year import parse_academic_year
from targetkit.commands.report import read_tracking, report_file
from targetkit.errors import InputError, UsageError
from targetkit.pipeline import reporting as rp
from targetkit.pipeline.steps import HALF_TERMS

# Eight Year 4 pupils, maths only, three drops made (aut1, aut2, spr1); spr2..sum2 still empty.
#        name       baseline aut1   aut2   spr1   disadv sen  eal  gifted
PLANTED = [
    ("Amy Steady", "3s", "3s+", "4b", "4b+", "Y", "N", "N", "N"),
    ("Ben Ahead", "3s", "4b", "4w", "4w+", "N", "N", "Y", "Y"),
    ("Cal Stalled", "3s", "3s+", "3s+", "3s+", "Y", "N", "N", "N"),
    ("Dee Regressed", "3w", "3s", "4b", "3s+", "N", "N", "N", "N"),
    ("Eli Catchup", "2s", "3b", "3b+", "3w+", "Y", "N", "N", "N"),
    ("Fay Behind", "3s", "3s+", "3s+", "4b", "N", "N", "N", "N"),
    ("Gus Absent", "3s", "3s+", "4b", "A", "N", "N", "N", "N"),
    ("Hal Poor", "3s", "3s", "3s+", "3s+", "N", "K", "N", "N"),
]


def planted_frame() -> pd.DataFrame:
    rows = []
    for number, (name, base, aut1, aut2, spr1, disadvantaged, sen, eal, gifted) in enumerate(
        PLANTED
    ):
        forename, surname = name.split()
        rows.append(
            {
                "UPN": f"A80120022200{number}",
                "Forename": forename,
                "Surname": surname,
                "Year Group": "4",
                "Disadvantaged": disadvantaged,
                "SEN": sen,
                "EAL": eal,
                "Gifted": gifted,
                "Gender": "F" if number % 2 else "M",
                "maths_sum2_2026": base,
                "maths_aut1": aut1,
                "maths_aut2": aut2,
                "maths_spr1": spr1,
                **{f"maths_{t}": "" for t in HALF_TERMS[3:]},
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    path = tmp_path / "tracking.csv"
    planted_frame().to_csv(path, index=False)
    return path


def by_name(outcome, column: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    progress = outcome.data.progress["maths"]
    names = [p[0] for p in PLANTED]
    return dict(zip(names, progress[column].tolist(), strict=True))


def test_planted_pupils_get_the_statuses_and_flags_worked_by_hand(
    planted: Path, tmp_path: Path
) -> None:
    outcome = report_file(planted, output=tmp_path / "r.xlsx", academic_year="2026/27")
    assert outcome.tracking.term == "spr1"
    # Milestones at spr1: 3s pupils 17 + 3 = 20. Dee: 3w (15), target 15 + 6 + ceil(2/2) = 22,
    # milestone 15 + floor(7 x 3 / 6) = 18. Eli: 2s (11), target 11 + 6 + 3 = 20, milestone
    # 11 + floor(9 x 3 / 6) = 15.
    assert by_name(outcome, "target") == {
        "Amy Steady": 23,
        "Ben Ahead": 23,
        "Cal Stalled": 23,
        "Dee Regressed": 22,
        "Eli Catchup": 20,
        "Fay Behind": 23,
        "Gus Absent": 23,
        "Hal Poor": 23,
    }
    assert by_name(outcome, "milestone") == {
        "Amy Steady": 20,
        "Ben Ahead": 20,
        "Cal Stalled": 20,
        "Dee Regressed": 18,
        "Eli Catchup": 15,
        "Fay Behind": 20,
        "Gus Absent": 20,
        "Hal Poor": 20,
    }
    # Amy 20 - 20 = 0 on track; Ben 22 - 20 = +2 ahead; Cal 18 - 20 = -2 behind; Dee 18 - 18 = 0
    # on track; Eli 16 - 15 = +1 on track; Fay 19 - 20 = -1 behind; Gus absent: no data;
    # Hal 18 - 20 = -2 behind.
    assert by_name(outcome, "status") == {
        "Amy Steady": "on track",
        "Ben Ahead": "ahead",
        "Cal Stalled": "behind",
        "Dee Regressed": "on track",
        "Eli Catchup": "on track",
        "Fay Behind": "behind",
        "Gus Absent": "no data",
        "Hal Poor": "behind",
    }
    # REGRESSED: Dee 18 < 19. STALLED (latest <= two drops before): Cal 18 <= 18 (aut1); Hal
    # 18 <= 17? no; Dee 18 <= 17? no. NOT_ON_TRACK (needed > 3 half terms left): Cal 23-18 = 5,
    # Dee 22-18 = 4, Eli 20-16 = 4, Fay 23-19 = 4, Hal 5; Amy 3 and Ben 1 can make it.
    # CATCH_UP: baseline below 3s (17): Dee (15) and Eli (11).
    assert by_name(outcome, "flags") == {
        "Amy Steady": "",
        "Ben Ahead": "",
        "Cal Stalled": "STALLED; NOT_ON_TRACK",
        "Dee Regressed": "REGRESSED; NOT_ON_TRACK; CATCH_UP",
        "Eli Catchup": "NOT_ON_TRACK; CATCH_UP",
        "Fay Behind": "NOT_ON_TRACK",
        "Gus Absent": "",
        "Hal Poor": "NOT_ON_TRACK",
    }
    # Steps made since the baseline: Amy 3, Ben 5, Cal 1, Dee 3, Eli 5, Fay 2, Gus ?, Hal 1.
    made = by_name(outcome, "steps_made")
    assert [made[n] for n in ("Amy Steady", "Ben Ahead", "Cal Stalled", "Hal Poor")] == [3, 5, 1, 1]
    assert np.isnan(made["Gus Absent"])


def test_the_five_key_questions_list_the_pupils_worked_by_hand(
    planted: Path, tmp_path: Path
) -> None:
    outcome = report_file(planted, output=tmp_path / "r.xlsx", academic_year="2026/27")
    questions = outcome.data.questions

    def answer(number: int) -> list[str]:
        return [p.split(" (")[0] for p in questions.loc[questions["question"] == number, "pupil"]]

    # 1. At risk: in a risk group (disadvantaged Amy, Cal, Eli; SEN Hal; EAL and gifted Ben)
    #    and behind / not on track / stalled / regressed: Cal, Eli, Hal (Amy and Ben are fine;
    #    Dee and Fay have concerns but are in no risk group).
    assert answer(1) == ["Cal Stalled", "Eli Catchup", "Hal Poor"]
    # 2. Very good progress (steps made >= 3 + 2 = 5): Ben (5) and Eli (5).
    assert answer(2) == ["Ben Ahead", "Eli Catchup"]
    # 3. Poor progress (steps made <= 3 - 2 = 1): Cal (1) and Hal (1).
    assert answer(3) == ["Cal Stalled", "Hal Poor"]
    # 4. Not on track: Cal, Dee, Eli, Fay, Hal.
    assert answer(4) == ["Cal Stalled", "Dee Regressed", "Eli Catchup", "Fay Behind", "Hal Poor"]
    # 5. Act now: regressed (Dee), stalled (Cal), then behind, furthest first: Hal (-2), Fay (-1).
    assert answer(5) == ["Dee Regressed", "Cal Stalled", "Hal Poor", "Fay Behind"]
    summary = outcome.summary()
    assert [q["count"] for q in summary["key_questions"]] == [3, 2, 2, 5, 4]
    risk = questions[questions["question"] == 1].set_index("pupil")["groups"]
    assert risk.str.contains("Disadvantaged").tolist() == [True, True, False]
    assert risk.iloc[2] == "SEN (support or EHC plan)"
    detail = questions[questions["question"] == 1]["detail"].tolist()
    assert detail == [
        "maths: behind; STALLED; NOT_ON_TRACK",
        "maths: on track; NOT_ON_TRACK; CATCH_UP",
        "maths: behind; NOT_ON_TRACK",
    ]


def test_findings_carry_catalogue_severities_and_sentences(planted: Path, tmp_path: Path) -> None:
    outcome = report_file(planted, output=tmp_path / "r.xlsx", academic_year="2026/27")
    regressed = [f for f in outcome.findings if f["code"] == "REGRESSED"]
    # Dee: spr1 3s+ is lower than aut2 4b.
    assert regressed == [
        {
            "code": "REGRESSED",
            "severity": "challenge",
            "pupil": "Dee Regressed (A801200222003)",
            "row": 5,
            "subject": "maths",
            "message": "maths: 3s+ is lower than the previous drop (4b).",
        }
    ]
    assert outcome.worst_severity() == "challenge"
    assert outcome.counts["regressed"] == 1 and outcome.counts["stalled"] == 1
    assert outcome.counts["not_on_track"] == 5 and outcome.counts["behind"] == 3


def test_the_academic_year_comes_from_the_baseline_column(planted: Path) -> None:
    # maths_sum2_2026 is last summer's drop, so the year in progress is 2026/27.
    tracking = read_tracking(planted)
    assert tracking.academic_year == 2026
    assert "from the baseline" in tracking.year_derived
    # Given 2027/28, the 2026 summer column is not last summer: there is no baseline.
    with pytest.raises(InputError, match="maths_sum2_2027"):
        read_tracking(planted, academic_year="2027/28")


def test_academic_year_text_is_checked() -> None:
    assert parse_academic_year("2026/27") == 2026
    assert parse_academic_year("2026-2027") == 2026
    with pytest.raises(UsageError, match="2026/28"):
        parse_academic_year("2026/28")
    import datetime as dt

    # 1 September starts a new academic year; 31 August still belongs to the old one.
    assert parse_academic_year(None, dt.date(2026, 9, 1)) == 2026
    assert parse_academic_year(None, dt.date(2026, 8, 31)) == 2025


def test_term_option_reports_an_earlier_drop(planted: Path) -> None:
    # At aut2 (2 half terms): Dee 4b (19) is not yet regressed (19 > 17 at aut1).
    tracking = read_tracking(planted, term="aut2")
    assert list(tracking.points["maths"].columns) == ["baseline", "aut1", "aut2"]
    with pytest.raises(InputError, match="no grades for sum1"):
        read_tracking(planted, term="sum1")


def test_unknown_grade_names_the_file_row_and_column(tmp_path: Path) -> None:
    frame = planted_frame()
    frame.loc[3, "maths_aut2"] = "4x"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_tracking(path)
    # Data row index 3 is the fifth line of the file (header on line 1).
    assert str(caught.value).startswith(f"{path}, row 5, column 'maths_aut2': '4x' is not a")


def test_targets_file_is_read_by_upn_and_missing_ones_fall_back(
    planted: Path, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.csv"
    # Amy gets 4w+ (22) instead of 4s; Ben 5b (25); nobody else is in the file.
    pd.DataFrame(
        {"UPN": ["a801200222000 ", "A801200222001"], "maths_target": ["4w+", "5b"]}
    ).to_csv(targets, index=False)
    outcome = report_file(
        planted, targets=targets, output=tmp_path / "r.xlsx", academic_year="2026/27"
    )
    target = by_name(outcome, "target")
    assert target["Amy Steady"] == 22 and target["Ben Ahead"] == 25
    assert target["Cal Stalled"] == 23  # from the steps policy
    missing = sorted(
        f["pupil"].split(" (")[0] for f in outcome.findings if f["code"] == "MISSING_TARGET"
    )
    assert missing == [p[0] for p in PLANTED[2:]]
    assert outcome.targets_from.startswith("targets.csv")
    # Ben: 22 against a milestone of 17 + floor(8 x 3 / 6) = 21: +1, on track (not ahead).
    assert by_name(outcome, "status")["Ben Ahead"] == "on track"


def gap_pupils() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten Year 4 pupils at 3s (17): five others make a step every half term; five
    disadvantaged pupils keep pace for two drops, then fall behind. One of them is looked after."""
    others = [18, 19, 20, 21, 22, 23]
    disadvantaged = [18, 19, 19, 20, 20, 21]
    rows = [others] * 5 + [disadvantaged] * 5
    drops = pd.DataFrame(rows, columns=list(HALF_TERMS), dtype="float64")
    drops.insert(0, "baseline", 17.0)
    pupils = pd.DataFrame(
        {
            "disadvantaged": ["N"] * 5 + ["Y"] * 5,
            "lac": ["N"] * 9 + ["Y"],
            "year_group": 4,
        }
    )
    return drops, pupils


def test_group_gap_trend_over_six_drops_flags_widening() -> None:
    settings = rp.load_settings()
    drops, pupils = gap_pupils()
    history = rp.drop_history(drops, pd.Series(23.0, index=drops.index), settings)
    groups = rp.pupil_groups(pupils, settings)
    trend = rp.group_trend({"maths": history}, groups, settings)
    disadvantaged = trend[trend["group"] == "Disadvantaged"]
    # Average steps made (others / disadvantaged): 1/1, 2/2, 3/2, 4/3, 5/3, 6/4;
    # gap = others - group: 0, 0, 1, 1, 2, 2; widening when the gap grew: aut1 (no previous)
    # no, aut2 no, spr1 yes, spr2 no, sum1 yes, sum2 no.
    assert disadvantaged["drop"].tolist() == list(HALF_TERMS)
    assert disadvantaged["gap_steps"].tolist() == [0, 0, 1, 1, 2, 2]
    assert disadvantaged["widening"].tolist() == [False, False, True, False, True, False]
    # % on track (at or above the milestone 17 + h): others always 100%; disadvantaged 19 vs
    # 20 at spr1 and behind from then on: 100, 100, 0, 0, 0, 0.
    assert disadvantaged["pct_on_track"].tolist() == [1, 1, 0, 0, 0, 0]
    assert disadvantaged["others_pct_on_track"].tolist() == [1] * 6
    assert disadvantaged["pupils"].tolist() == [5] * 6
    assert not disadvantaged["small"].any()
    # The one looked-after pupil is a small group: marked, never flagged as widening.
    looked_after = trend[trend["group"] == "Looked-after"]
    assert looked_after["small"].all() and not looked_after["widening"].any()
    assert looked_after["gap_steps"].tolist()[-1] == pytest.approx(
        (5 * 6 + 4 * 4) / 9 - 4  # others: five at 6 steps and four at 4
    )


def plain_group_trend(
    histories: dict[str, pd.DataFrame], groups: list[rp.Group]
) -> list[tuple[object, ...]]:
    """The group trend the slow, obvious way: pupil by pupil, for each subject, group and drop."""
    rows = []
    for subject, history in histories.items():
        for group in groups:
            for drop in dict.fromkeys(history["drop"]):  # the drops in order
                graded = [r for r in history.to_dict("records") if r["drop"] == drop]
                graded = [r for r in graded if r["has_data"]]
                mine = [r for r in graded if group.members[r["row"]]]
                theirs = [
                    r for r in graded if group.others[r["row"]] and not group.members[r["row"]]
                ]
                if not mine:
                    continue

                def share(chosen: list[dict[str, object]]) -> float:
                    return sum(bool(r["on_track"]) for r in chosen) / len(chosen)

                def steps(chosen: list[dict[str, object]]) -> float:
                    return sum(float(r["steps_made"]) for r in chosen) / len(chosen)

                rows.append(
                    (
                        subject,
                        group.name,
                        drop,
                        len(mine),
                        len(mine) < 5,
                        share(mine),
                        share(theirs) if theirs else np.nan,
                        steps(mine),
                        steps(theirs) if theirs else np.nan,
                    )
                )
    return rows


def test_group_trend_matches_a_pupil_by_pupil_count() -> None:
    settings = rp.load_settings()
    # Twelve Year 4 pupils (input rows 2-13), baseline 3s (17) or 3w (15), three drops made.
    # Some grades are missing (absent) and some group answers unknown (blank): an unknown pupil
    # is in neither the group nor the others; a pupil without a grade at a drop is not counted.
    index = pd.RangeIndex(2, 14)
    reading = pd.DataFrame(
        {
            "baseline": [17, 17, 15, 17, 15, 17, 17, 15, 17, 17, 15, 17],
            "aut1": [18, 19, 16, 17, np.nan, 18, 18, 16, 19, 18, 15, 18],
            "aut2": [19, 20, 16, 18, 17, np.nan, 19, 17, 20, 19, 16, 20],
            "spr1": [20, 21, 18, 18, 18, 20, np.nan, 19, 21, 19, 16, 21],
        },
        index=index,
        dtype="float64",
    )
    maths = reading.copy()
    maths["aut2"] = [18, 21, 17, 19, 16, 20, 20, 15, np.nan, 19, 17, 19]
    maths["spr1"] = np.nan  # spr1 not made in maths: no rows for it
    pupils = pd.DataFrame(
        {
            "disadvantaged": ["Y", "N", "Y", "", "Y", "N", "N", "Y", "N", None, "Y", "N"],
            "gender": ["F", "M", "F", "F", "M", "M", "F", "M", "F", "M", "F", "M"],
            "ethnicity": [
                "WBRI",
                "BCRB",
                "WBRI",
                "APKN",
                "WBRI",
                "",
                "BCRB",
                "WBRI",
                "WBRI",
                "APKN",
                "WBRI",
                "WBRI",
            ],
        },
        index=index,
    )
    groups = rp.pupil_groups(pupils, settings)
    targets = pd.Series([23, 24, 22, 23, 21, 23, 23, 21, 24, 23, 21, 23], index=index)
    histories = {
        "reading": rp.drop_history(reading, targets.astype("float64"), settings),
        "maths": rp.drop_history(maths, (targets - 1).astype("float64"), settings),
    }
    trend = rp.group_trend(histories, groups, settings)
    expected = plain_group_trend(histories, groups)
    got = list(trend[list(rp.TREND_COLUMNS)].itertuples(index=False, name=None))
    assert len(got) == len(expected) > 20
    for mine, plain in zip(got, expected, strict=True):
        assert mine[:5] == plain[:5]
        assert mine[5:] == pytest.approx(plain[5:], abs=1e-12, nan_ok=True)
    # The derived columns follow from those: the gap is the others' average minus the group's.
    assert trend["gap_steps"].tolist() == pytest.approx(
        (trend["others_avg_steps"] - trend["avg_steps"]).tolist(), nan_ok=True
    )
    assert set(trend["drop"]) == {"aut1", "aut2", "spr1"}
    assert "spr1" not in set(trend.loc[trend["subject"] == "maths", "drop"])


def test_end_of_year_review_counts_met_exceeded_and_missed() -> None:
    settings = rp.load_settings()
    # Targets 23, 23, 20, 22, 23, none; results 24, 23, 19, 20, none, 21.
    outcomes = rp.review_outcomes(
        pd.Series([23, 23, 20, 22, 23, np.nan]), pd.Series([24, 23, 19, 20, np.nan, 21])
    )
    assert outcomes["outcome"].tolist() == [
        "exceeded",
        "met",
        "missed",
        "missed",
        "no result",
        "no result",
    ]
    assert outcomes["difference"].tolist()[:4] == [1, 0, -1, -2]
    pupils = pd.DataFrame({"disadvantaged": ["Y", "N", "Y", "Y", "N", "N"]})
    groups = rp.pupil_groups(pupils, settings)
    summary = rp.review_summary({"maths": outcomes}, groups, settings).set_index("group")
    # All pupils: 4 with target and result: 1 exceeded, 1 met, 2 missed by 1 and 2 (avg 1.5).
    everyone = summary.loc["All pupils"]
    assert everyone["pupils"] == 4 and everyone["no_result"] == 2
    assert everyone[["pct_exceeded", "pct_met", "pct_met_or_exceeded", "pct_missed"]].tolist() == [
        0.25,
        0.25,
        0.5,
        0.5,
    ]
    assert everyone["avg_missed_by"] == 1.5
    # Disadvantaged (rows 0, 2, 3): exceeded 1 of 3, missed 2 of 3 by 1.5 on average; small.
    group = summary.loc["Disadvantaged"]
    assert group["pct_exceeded"] == pytest.approx(1 / 3)
    assert group["pct_missed"] == pytest.approx(2 / 3)
    assert group["avg_missed_by"] == 1.5 and bool(group["small"])


def test_review_from_a_results_file_lists_who_missed(planted: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    # Amy reaches 4s (23 = target), Ben 4w (21 < 23, missed by 2), Dee 4w+ (22 = 22).
    pd.DataFrame(
        {
            "UPN": ["A801200222000", "A801200222001", "A801200222003"],
            "maths_result": ["4s", "4w", "4w+"],
        }
    ).to_csv(results, index=False)
    outcome = report_file(
        planted, results=results, output=tmp_path / "r.xlsx", academic_year="2026/27"
    )
    review = outcome.data.review["maths"]
    assert review["outcome"].tolist()[:4] == ["met", "missed", "no result", "met"]
    summary = outcome.data.review_summary.set_index("group").loc["All pupils"]
    assert summary["pupils"] == 3 and summary["pct_missed"] == pytest.approx(1 / 3)
    assert summary["avg_missed_by"] == 2


def test_yes_no_columns_keep_unknown_as_unknown() -> None:
    answer = rp.yes_no(pd.Series(["Y", "no", "TRUE", "", None, "maybe", "1", 0]))
    assert answer.tolist()[:3] == [True, False, True]
    assert answer.isna().tolist()[3:6] == [True, True, True]
    assert answer.tolist()[6:] == [True, False]


def test_shipped_settings_are_valid_and_cite_their_source() -> None:
    settings = rp.load_settings()
    assert "West Cornforth Primary School target-setting policy" in settings.source
    assert {g.key for g in settings.groups} >= {"disadvantaged", "sen", "eal", "lac", "girls"}
