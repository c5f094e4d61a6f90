"""GCSE subjects (issue 15): the DfE's subject matrices as shipped, subject names, entries in
wide and long form, and each pupil's chances per subject.

Expected values come from the DfE's counts in `tests/reference/ks2_ks4_gcse_subjects_2024.csv`
(read with plain `csv`, DATA.md §5a) or were added up by hand from those rows (written out).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import DFE_GROUP_CODES
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit import columns
from targetkit.conversion_tables import ks2_band, list_tables, load_table
from targetkit.pipeline.entries import (
    ENTRY_COLUMNS,
    NOT_GCSE,
    UNKNOWN_SUBJECT,
    entries_from_long,
    entries_from_wide,
)
from targetkit.pipeline.subject_chances import SUBJECT_TABLES, subject_chances
from targetkit.scales import load_scale
from targetkit.subjects import load_subjects, subject_keys

GROUPS = DFE_GROUP_CODES


@functools.cache
def dfe_rows() -> tuple[dict[str, str], ...]:
    path = Path(__file__).parent / "reference" / "ks2_ks4_gcse_subjects_2024.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def dfe_band(subject: str, band: str, group: str = "Total") -> tuple[int, dict[str, int]]:
    """(band pupils, pupils per outcome) of one DfE band, straight from the reference CSV."""
    rows = [
        r
        for r in dfe_rows()
        if r["subject"] == subject and r["group"] == group and r["ks2_band"] == band
    ]
    return int(rows[0]["band_pupils"]), {r["outcome"]: int(r["pupils"]) for r in rows}


@functools.cache
def tables():
    return [load_table(name) for name in SUBJECT_TABLES]


# ---- the shipped matrices (DATA.md §5a)


def test_both_subject_tables_are_shipped_and_listed():
    assert set(SUBJECT_TABLES) <= set(list_tables())


def test_maths_band_100_102_is_59175_pupils_with_18362_at_grade_4():
    band_pupils, counts = dfe_band("mathematics", "100 - 102")
    assert (band_pupils, counts["4"]) == (59175, 18362)
    frame = tables()[0].frame
    rows = frame[(frame["subject"] == "maths") & (frame["group"] == "all")]
    rows = rows[rows["prior"] == "100 - 102"].set_index("outcome")
    assert rows["pupils"].sum() == 59175
    assert rows.loc["4", "pupils"] == 18362
    assert rows.loc["4", "proportion"] == pytest.approx(18362 / 59175, abs=1e-6)


def test_history_band_100_102_is_28366_pupils_with_4360_at_grade_4():
    band_pupils, counts = dfe_band("history", "100 - 102")
    assert (band_pupils, counts["4"]) == (28366, 4360)
    wide = tables()[0].distribution("national", "history")
    assert wide.loc["100 - 102", "4"] == pytest.approx(4360 / 28366, abs=1e-6)
    frame = tables()[0].frame
    rows = frame[(frame["subject"] == "history") & (frame["group"] == "all")]
    assert rows.loc[rows["prior"] == "100 - 102", "pupils"].sum() == 28366


def test_every_cell_matches_the_published_counts_groups_included():
    """All 41,670 reference rows: each cell with pupils is shipped with the same count and
    proportion (mathematics renamed maths, groups to codes); empty cells are left out."""
    source = {}
    for r in dfe_rows():
        subject = "maths" if r["subject"] == "mathematics" else r["subject"]
        key = (subject, GROUPS[r["group"]], r["ks2_band"], r["outcome"])
        source[key] = (int(r["pupils"]), int(r["band_pupils"]))
    shipped = {}
    for table in tables():
        for r in table.frame.itertuples():
            shipped[(r.subject, r.group, r.prior, r.outcome)] = (int(r.pupils), r.proportion)
    assert set(shipped) <= set(source)
    for key, (pupils, band_pupils) in source.items():
        if pupils == 0:
            assert key not in shipped, key
            continue
        assert shipped[key][0] == pupils, key
        assert shipped[key][1] == pytest.approx(pupils / band_pupils, abs=1e-6), key
    assert len(shipped) == sum(1 for p, _ in source.values() if p > 0)


def test_35_subjects_split_between_the_single_and_double_award_tables():
    single, double = tables()
    assert double.subjects == ["combined_science"]
    assert len(single.subjects) == 34 and "maths" in single.subjects
    dfe = {r["subject"] for r in dfe_rows()}
    assert {"maths" if s == "mathematics" else s for s in dfe} == {
        *single.subjects,
        *double.subjects,
    }
    assert single.metadata.outcome_scale == "gcse91"
    assert double.metadata.outcome_scale == "gcse91_double"


def test_x_and_covid_impacted_stay_in_the_denominator():
    """French, band 110 - 113: 23,401 pupils of whom 50 X and 3 covid_impacted (DfE rows)."""
    band_pupils, counts = dfe_band("french", "110 - 113")
    assert (band_pupils, counts["X"], counts["covid_impacted"]) == (23401, 50, 3)
    rates = tables()[0].rates("national", "french", "U")  # everyone with a grade, U or better
    assert rates["110 - 113"] == pytest.approx((23401 - 50 - 3) / 23401, abs=1e-5)


def test_combined_science_4plus_is_4_4_or_better_and_4_3_is_not():
    """Band 100 - 102, 52,136 pupils; 4-4 or better: 7244 + 6264 + 5416 + 1640 + 1233 + 766 +
    401 + 222 + 109 + 51 + 31 = 23,377 (4-3's 9,344 pupils not counted)."""
    band_pupils, counts = dfe_band("combined_science", "100 - 102")
    assert band_pupils == 52136 and counts["4-3"] == 9344
    table = tables()[1]
    assert table.outcomes_meeting("4plus")[0] == "4-4"
    assert "4-3" not in table.outcomes_meeting("4plus")
    assert table.rate("national", "combined_science", "100 - 102", "4plus") == pytest.approx(
        23377 / 52136, abs=1e-5
    )


def test_group_rows_are_shipped_for_gap_analysis():
    """Disadvantaged pupils reach 4+ in history less often than others at band 100 - 102."""
    table = tables()[0]
    gap = table.rates("national", "history", "4plus", "not_disadvantaged") - table.rates(
        "national", "history", "4plus", "disadvantaged"
    )
    assert gap["100 - 102"] > 0


# ---- the double award scale


def test_double_award_scale_reads_the_ways_grades_are_written():
    scale = load_scale("gcse91_double")
    parsed = scale.parse(pd.Series(["5-4", "4-5", "5/4", "54", "9 - 9", "U", "X", "3-1", ""]))
    assert parsed.grade.tolist() == ["5-4", "5-4", "5-4", "5-4", "9-9", "U", None, None, None]
    assert parsed.points.tolist()[:6] == [4.5, 4.5, 4.5, 4.5, 9.0, 0.0]
    assert parsed.code.tolist()[6] == "X"
    assert parsed.unknown.tolist()[7] is True  # 3-1 is not a double award grade
    assert scale.thresholds == {"standard_pass": "4-4", "strong_pass": "5-5"}
    assert len(scale.grade_names) == 18  # U and the 17 grades 1-1 ... 9-9


# ---- subject names


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Geography", "geography"),
        ("GCSE History", "history"),
        ("Computer Sci", "computer_science"),
        ("Computer Science", "computer_science"),
        ("Combined Science (Trilogy)", "combined_science"),
        ("Combined Science: Synergy", "combined_science"),
        ("English Lit", "english_literature"),
        ("English Language", "english_language"),
        ("Art & Design", "art_and_design"),
        ("Art and Design: Fine Art", "art_and_design"),
        ("Spanish", "spanish"),
        ("RE", "religious_studies"),
        ("Religious Studies", "religious_studies"),
        ("PE", "physical_education"),
        ("Physical Education", "physical_education"),
        ("Business Studies", "business"),
        ("Statistics", "statistics"),
        ("Mathematics (9-1)", "maths"),
        ("AQA English Language", "english_language"),
        ("D&T", "design_and_technology"),
        ("  combined_science ", "combined_science"),
        ("Food Prep & Nutrition", "food_preparation_and_nutrition"),
        ("Urdu", "other_modern_languages"),
    ],
)
def test_export_names_map_to_the_dfe_subject(name, key):
    assert subject_keys(pd.Series([name])).tolist() == [key]


def test_unknown_names_stay_unknown_in_place_never_dropped():
    names = pd.Series(["Klingon", "History", None, "Triple Science", ""], index=[7, 3, 9, 1, 5])
    keys = subject_keys(names)
    assert keys.index.tolist() == [7, 3, 9, 1, 5]
    assert keys.tolist() == [None, "history", None, None, None]


def test_every_subject_key_is_a_dfe_matrix_subject():
    subjects = load_subjects()
    matrix_subjects = {s for table in tables() for s in table.subjects}
    assert set(subjects.keys) == matrix_subjects


def test_multiword_subject_keys_are_assessment_column_subjects():
    multiword = sorted(k for k in load_subjects().keys if "_" in k)
    assert sorted(columns.MULTIWORD_SUBJECTS) == multiword
    assert columns.canonical_name("Computer Science Aut1") == "computer_science_aut1"
    assert columns.parse_assessment("english_literature_sum2_2026") == (
        "english_literature",
        "sum2",
        2026,
    )
    assert columns.parse_assessment("english_ks2") == ("english", "ks2", None)
    assert columns.canonical_name("reading_milestone_aut1") is None  # not an assessment


def test_a_subject_file_with_one_alias_for_two_subjects_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "subjects"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        "name: mine\ntitle: t\nsource: s\nsubjects:\n"
        "  history: {name: History, element: ebacc, aliases: [Hist]}\n"
        "  geography: {name: Geography, element: ebacc, aliases: [hist]}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(Exception, match=r"mine\.yaml.*alias 'hist' means both"):
        load_subjects("mine")


# ---- entries, wide and long


WIDE = pd.DataFrame(
    {
        "upn": ["A1", "B2", "C3"],
        "maths_target": ["5", "4", "6"],
        "history_entered": ["Y", "N", ""],
        "Computer Science Aut1": ["4", None, "3"],
        "combined_science_entered": ["Yes", "yes", "no"],
        "klingon_target": ["x", None, None],
        "maths_ks2": [101, 99, 110],  # a prior, not an entry
        "geography_plan_target": ["5", "", ""],  # an EHC plan target, not an entry
    }
)
LONG = pd.DataFrame(
    {
        "upn": ["A1", "A1", "A1", "A1", "A1", "B2", "B2", "C3", "C3"],
        "subject": [
            "maths",
            "history",
            "computer_science",
            "combined_science",
            "klingon",
            "maths",
            "combined_science",
            "maths",
            "computer_science",
        ],
    }
)


def test_long_and_wide_entries_give_the_same_frame():
    wide = entries_from_wide(WIDE)
    long = entries_from_long(LONG)
    pd.testing.assert_frame_equal(wide, long)
    assert wide.columns.tolist() == ENTRY_COLUMNS
    assert wide[["upn", "subject"]].fillna("?").values.tolist() == [
        ["A1", "combined_science"],
        ["A1", "computer_science"],
        ["A1", "history"],
        ["A1", "maths"],
        ["A1", "?"],
        ["B2", "combined_science"],
        ["B2", "maths"],
        ["C3", "computer_science"],
        ["C3", "maths"],
    ]


def test_long_entries_with_real_names_and_qualifications_keep_every_row():
    long = pd.DataFrame(
        {
            "upn": ["A1", "A1", "A1", "A1", "A1"],
            "subject": ["Computer Sci", "Klingon", "Combined Science (Trilogy)", "Sport", ""],
            "qualification": ["GCSE (9-1)", "GCSE", "", "BTEC Tech Award", "GCSE"],
        }
    )
    entries = entries_from_long(long)
    assert len(entries) == 5
    by_name = entries.set_index("name")
    assert by_name.loc["Computer Sci", "subject"] == "computer_science"
    assert by_name.loc["Combined Science (Trilogy)", "qualification"] == "GCSE"
    assert by_name.loc["Klingon", "status"] == UNKNOWN_SUBJECT
    assert by_name.loc["Sport", "status"] == UNKNOWN_SUBJECT
    assert by_name.loc["", "status"] == UNKNOWN_SUBJECT
    assert entries["known"].sum() == 2


def test_a_known_subject_in_another_qualification_has_no_matrix():
    long = pd.DataFrame(
        {"upn": ["A1", "A1"], "subject": ["Music", "Music"], "qualification": ["BTEC", "GCSE"]}
    )
    entries = entries_from_long(long).set_index("qualification")
    assert entries.loc["BTEC", "status"] == NOT_GCSE and not entries.loc["BTEC", "known"]
    assert entries.loc["GCSE", "known"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["U1", "U2", "U3", "U4"]),
            st.sampled_from(["maths", "history", "spanish", "art_and_design", "klingon"]),
        ),
        unique=True,
    )
)
def test_wide_and_long_agree_for_any_set_of_entries(pairs):
    """Property: the same entries written either way give the same frame."""
    pupils = ["U1", "U2", "U3", "U4"]
    subjects = ["maths", "history", "spanish", "art_and_design", "klingon"]
    wide = pd.DataFrame({"upn": pupils})
    for subject in subjects:
        wide[f"{subject}_entered"] = ["Y" if (p, subject) in pairs else "N" for p in pupils]
    ordered = sorted(pairs, key=lambda pair: pupils.index(pair[0]))
    long = pd.DataFrame(ordered, columns=["upn", "subject"])
    from_long = entries_from_long(long)
    from_wide = entries_from_wide(wide)
    assert len(from_wide) == len(pairs)
    present = [p for p in pupils if any(q == p for q, _ in pairs)]
    assert list(pd.unique(from_wide["upn"])) == present
    pd.testing.assert_frame_equal(from_wide, from_long)


# ---- chances per pupil and subject


def test_hand_worked_chances_in_six_subjects_from_the_dfe_rows():
    """Pupil P1, KS2 reading 101 and maths 101 → mean 101, band `100 - 102`; pupil P2, 110 and
    112 → 111, band `110 - 113`. Counts read from the DfE rows (all pupils):

    - P1 maths (59,175): 4+ = 18362+12248+3235+1211+312+41 = 35,409; mode 4 (18,362).
    - P1 history (28,366): 4+ = 4360+3656+2402+1010+410+90 = 11,928; 5+ = 7,568;
      7+ = 1010+410+90 = 1,510; mode 3 (6,799).
    - P1 Combined Science (52,136): 4-4+ = 23,377; 5-5+ = 23377-7244-6264 = 9,869;
      7-7+ = 401+222+109+51+31 = 814; mode 4-3 (9,344).
    - P1 Spanish (8,790): 4+ = 1444+1429+295+300+186+184 = 3,838; mode 3 (2,603).
    - P2 computer science (16,080): 7+ = 1406+2257+2409 = 6,072; mode 6 (3,563).
    - P2 French (23,401, X 50 and covid_impacted 3 included): 4+ = 3089+5667+2900+3935+2615+1710
      = 19,916; mode 5 (5,667).
    """
    long = pd.DataFrame(
        {
            "upn": ["P1"] * 4 + ["P2"] * 2,
            "subject": [
                "Maths",
                "GCSE History",
                "Combined Science (Trilogy)",
                "Spanish",
                "Computer Sci",
                "French",
            ],
        }
    )
    scores = pd.Series({"P1": (101 + 101) / 2, "P2": (110 + 112) / 2})
    result = subject_chances(entries_from_long(long), ks2_band(scores), tables()).chances
    got = result.set_index(["upn", "subject"])
    assert got.loc[("P1", "maths"), "chance_4plus"] == pytest.approx(35409 / 59175, abs=1e-5)
    assert got.loc[("P1", "maths"), "most_likely"] == "4"
    history = got.loc[("P1", "history")]
    assert history["chance_4plus"] == pytest.approx(11928 / 28366, abs=1e-5)
    assert history["chance_5plus"] == pytest.approx(7568 / 28366, abs=1e-5)
    assert history["chance_7plus"] == pytest.approx(1510 / 28366, abs=1e-5)
    assert history["most_likely"] == "3"
    science = got.loc[("P1", "combined_science")]
    assert science["chance_4plus"] == pytest.approx(23377 / 52136, abs=1e-5)
    assert science["chance_5plus"] == pytest.approx(9869 / 52136, abs=1e-5)
    assert science["chance_7plus"] == pytest.approx(814 / 52136, abs=1e-5)
    assert science["most_likely"] == "4-3"
    assert got.loc[("P1", "spanish"), "chance_4plus"] == pytest.approx(3838 / 8790, abs=1e-5)
    assert got.loc[("P1", "spanish"), "most_likely"] == "3"
    computing = got.loc[("P2", "computer_science")]
    assert computing["chance_7plus"] == pytest.approx(6072 / 16080, abs=1e-5)
    assert computing["most_likely"] == "6"
    assert got.loc[("P2", "french"), "chance_4plus"] == pytest.approx(19916 / 23401, abs=1e-5)
    assert got.loc[("P2", "french"), "most_likely"] == "5"
    # and the hand sums are the DfE rows
    assert dfe_band("history", "100 - 102")[1]["3"] == 6799
    assert dfe_band("computer_science", "110 - 113")[1]["6"] == 3563


def test_hand_worked_counts_agree_with_the_reference_rows():
    """The literals in the test above, re-added from the reference CSV."""

    def at_least(subject, band, grades):
        band_pupils, counts = dfe_band(subject, band)
        return sum(counts.get(g, 0) for g in grades), band_pupils

    assert at_least("mathematics", "100 - 102", "456789") == (35409, 59175)
    assert at_least("history", "100 - 102", "456789") == (11928, 28366)
    assert at_least("history", "100 - 102", "789") == (1510, 28366)
    double_4plus = ["4-4", "5-4", "5-5", "6-5", "6-6", "7-6", "7-7", "8-7", "8-8", "9-8", "9-9"]
    assert at_least("combined_science", "100 - 102", double_4plus) == (23377, 52136)
    assert at_least("spanish", "100 - 102", "456789") == (3838, 8790)
    assert at_least("french", "110 - 113", "456789") == (19916, 23401)


def test_unknown_subjects_other_qualifications_and_missing_bands_get_no_chances():
    long = pd.DataFrame(
        {
            "upn": ["A", "A", "A", "B", "C"],
            "subject": ["Klingon", "Music", "History", "History", "History"],
            "qualification": ["GCSE", "BTEC", "GCSE", "GCSE", "GCSE"],
        }
    )
    scores = pd.Series({"A": 104.0, "B": None})  # C not in the cohort's priors at all
    bands = ks2_band(scores, no_score_band=True)
    result = subject_chances(entries_from_long(long), bands, tables()).chances
    assert len(result) == 5
    assert result["has_chances"].tolist() == [True, False, False, True, False]
    by_row = result.set_index(["upn", "name"])
    assert pd.isna(by_row.loc[("A", "Klingon"), "chance_4plus"])
    assert pd.isna(by_row.loc[("A", "Music"), "most_likely"])
    # B has no KS2 score: the DfE's own `No scaled score` band
    _, counts = dfe_band("history", "No scaled score")
    assert by_row.loc[("B", "History"), "most_likely"] == max((c, g) for g, c in counts.items())[1]


def test_top25_falls_back_to_national_with_one_note_for_all_subjects():
    long = pd.DataFrame({"upn": ["A", "A", "A"], "subject": ["Maths", "History", "Drama"]})
    entries = entries_from_long(long)
    bands = pd.Series({"A": "100 - 102"})
    national = subject_chances(entries, bands, tables())
    top25 = subject_chances(entries, bands, tables(), benchmark="top25")
    assert national.notes == []
    assert top25.benchmark_used == "national"
    assert len(top25.notes) == 1 and "top-25%" in top25.notes[0]
    pd.testing.assert_frame_equal(national.chances, top25.chances)
    with pytest.raises(ValueError, match="unknown benchmark"):
        subject_chances(entries, bands, tables(), benchmark="best")


def test_a_pupils_group_never_changes_their_chances():
    """Chances come from the all-pupils rows whatever the pupil's group (SPEC §3)."""
    long = pd.DataFrame({"upn": ["A"], "subject": ["History"]})
    result = subject_chances(entries_from_long(long), pd.Series({"A": "100 - 102"}), tables())
    assert result.chances["chance_4plus"].iloc[0] == pytest.approx(11928 / 28366, abs=1e-5)


def test_the_docs_list_every_subject_key():
    text = (Path(__file__).parents[1] / "docs" / "gcse-subjects.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z_]+)`", text))
    assert set(load_subjects().keys) <= listed


def test_all_subjects_at_once_agree_with_the_tables_own_lookups():
    """One answer per question (SPEC §8): the bulk lookup equals `rates`, `modes` and
    `points_by_prior` subject by subject, for every subject and band."""
    from targetkit.pipeline.subject_chances import _by_subject_and_prior

    for table in tables():
        bulk = _by_subject_and_prior(table, "national")
        for subject in table.subjects:
            mine = bulk.loc[subject]
            for threshold in ("4plus", "5plus", "7plus"):
                own = table.rates("national", subject, threshold)
                pd.testing.assert_series_equal(
                    mine[f"chance_{threshold}"].reindex(own.index), own, check_names=False
                )
            modes = table.modes("national", subject)
            assert mine["most_likely"].reindex(modes.index).tolist() == modes.tolist()
            points = table.points_by_prior("national", subject)
            assert mine["expected_points"].reindex(points.index).to_numpy() == pytest.approx(
                points.to_numpy(), nan_ok=True
            )


def test_empty_cohorts_give_empty_frames_with_every_column():
    """Header-only input (SPEC contract): no entries, no chances, no error."""
    no_subjects = entries_from_wide(pd.DataFrame({"upn": ["A"], "surname": ["Khan"]}))
    no_rows = entries_from_long(pd.DataFrame({"upn": [], "subject": []}))
    for entries in (no_subjects, no_rows):
        assert entries.empty and entries.columns.tolist() == ENTRY_COLUMNS
        chances = subject_chances(entries, pd.Series(dtype=object), tables()).chances
        assert chances.empty and "chance_4plus" in chances.columns
    with pytest.raises(ValueError, match="no 'upn' column"):
        entries_from_wide(pd.DataFrame({"maths_target": ["4"]}))
