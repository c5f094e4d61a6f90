"""Attainment 8 and Progress 8 of a set of grades (issue 15), by the DfE's slot rules.

Pupils worked out by hand (arithmetic in each docstring); DfE estimates read from
`tests/reference/attainment8_estimates_2024.csv` with plain `csv`.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.conversion_tables import attainment8_estimates
from targetkit.pipeline.attainment8 import attainment8, progress8, school_measures
from targetkit.scales import load_scale
from targetkit.subjects import load_subjects


@functools.cache
def rules():
    return load_subjects(), load_scale("gcse91"), load_scale("gcse91_double")


def a8(rows: list[tuple[str, str, str]], pupils=None) -> pd.DataFrame:
    grades = pd.DataFrame(rows, columns=["upn", "subject", "grade"])
    return attainment8(grades, *rules(), pupils=pupils)


def dfe_estimate(group: int) -> float:
    path = Path(__file__).parent / "reference" / "attainment8_estimates_2024.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        row = next(
            r for r in csv.DictReader(handle) if r["ks2_prior_attainment_group"] == str(group)
        )
    return float(row["attainment8"])


PUPIL_A = [
    ("A", "maths", "6"),
    ("A", "english_language", "5"),
    ("A", "english_literature", "7"),
    ("A", "combined_science", "5-4"),
    ("A", "history", "6"),
    ("A", "french", "4"),
    ("A", "art_and_design", "5"),
    ("A", "music", "3"),
    ("A", "religious_studies", "6"),
]
PUPIL_B = [
    ("B", "maths", "4"),
    ("B", "english_language", "4"),
    ("B", "combined_science", "4-4"),
    ("B", "biology", "5"),
    ("B", "geography", "3"),
    ("B", "statistics", "5"),
]


def test_pupil_a_attainment8_and_progress8_by_hand():
    """Targets: maths 6, English Language 5, English Literature 7, Combined Science 5-4,
    history 6, French 4, art 5, music 3, RS 6. KS2 reading 104, maths 105 → mean 104.5 →
    DfE group 19 (104.5 to 105), estimate 45.12.

    maths: 6 × 2 = 12. English: both taken, so the better (Literature 7) doubled = 14; Language 5
    goes to the open pool. EBacc: history 6, Combined Science 5-4 = 4.5 + 4.5 (two slots, the
    mean of its grades each), French 4 → best three 6 + 4.5 + 4.5 = 15. Open: French 4, art 5,
    music 3, RS 6, Language 5 → 6 + 5 + 5 = 16. A8 = 12 + 14 + 15 + 16 = 57.
    P8 = (57 − 45.12) / 10 = 1.188.
    """
    result = a8(PUPIL_A).loc["A"]
    assert result[["maths", "english", "ebacc", "open"]].tolist() == [12, 14, 15, 16]
    assert result["attainment8"] == 57
    assert (result["ebacc_slots_filled"], result["open_slots_filled"]) == (3, 3)
    assert dfe_estimate(19) == 45.12
    p8 = progress8(
        pd.Series({"A": 57.0}), pd.Series({"A": (104 + 105) / 2}), attainment8_estimates()
    )
    assert p8.loc["A", "estimate"] == 45.12
    assert p8.loc["A", "progress8"] == pytest.approx(1.188)


def test_pupil_b_attainment8_and_progress8_by_hand_science_discounted():
    """Targets: maths 4, English Language 4 (no Literature), Combined Science 4-4, biology 5,
    geography 3, statistics 5. KS2 reading 99, maths 100 → 99.5 → group 14, estimate 35.46.

    maths 4 × 2 = 8. English: Language only, so not doubled: 4. Combined Science and biology are
    one science (discounting): via Combined Science, EBacc 4 + 4 + geography 3 = 11, open
    statistics 5 → 8 + 4 + 11 + 5 = 28; via biology, EBacc 5 + 3 = 8, open 5 → 25. The better
    route counts: A8 = 28. P8 = (28 − 35.46) / 10 = −0.746.
    """
    result = a8(PUPIL_B).loc["B"]
    assert result[["maths", "english", "ebacc", "open"]].tolist() == [8, 4, 11, 5]
    assert result["attainment8"] == 28
    assert (result["ebacc_slots_filled"], result["open_slots_filled"]) == (3, 1)
    assert dfe_estimate(14) == 35.46
    p8 = progress8(pd.Series({"B": 28.0}), pd.Series({"B": 99.5}), attainment8_estimates())
    assert p8.loc["B", "progress8"] == pytest.approx(-0.746)


def test_single_sciences_count_instead_when_they_are_the_better_route():
    """Combined Science 3-3 (3 + 3) against biology, chemistry, physics 7 each (21): the single
    sciences fill the EBacc slots, Combined Science is discounted: A8 = 21."""
    rows = [("S", "combined_science", "3-3")] + [
        ("S", s, "7") for s in ("biology", "chemistry", "physics")
    ]
    result = a8(rows).loc["S"]
    assert (result["ebacc"], result["open"], result["attainment8"]) == (21, 0, 21)


def test_school_averages_and_a_pupil_without_ks2_outside_progress8():
    """A 57 (P8 1.188), B 28 (P8 −0.746), C maths 5 only → 10 with no KS2 score.
    Average A8 over all three = 95 / 3; P8 over A and B = (1.188 − 0.746) / 2 = 0.221.
    By school, X1 = {A, C}: A8 (57 + 10) / 2 = 33.5, P8 over A alone = 1.188."""
    scores = a8(PUPIL_A + PUPIL_B + [("C", "maths", "5")])
    assert scores["attainment8"].tolist() == [57, 28, 10]
    ks2 = pd.Series({"A": 104.5, "B": 99.5, "C": None})
    pupils = progress8(scores["attainment8"], ks2, attainment8_estimates())
    assert pupils["in_progress8"].tolist() == [True, True, False]
    assert pd.isna(pupils.loc["C", "progress8"])
    school = school_measures(pupils).loc["all"]
    assert school["pupils"] == 3 and school["progress8_pupils"] == 2
    assert school["attainment8"] == pytest.approx(95 / 3)
    assert school["progress8"] == pytest.approx(0.221)
    by_school = school_measures(pupils, pd.Series({"A": "X1", "B": "X2", "C": "X1"}))
    assert by_school.loc["X1", "attainment8"] == pytest.approx(33.5)
    assert by_school.loc["X1", "progress8"] == pytest.approx(1.188)


def test_a_subject_twice_counts_once_and_uncounted_entries_add_nothing():
    """Fine Art 7 and Photography 5 are both art and design: 7 counts. A BTEC (known False),
    an unknown subject and an X count nothing; an EBacc grade left over fills an open slot."""
    grades = pd.DataFrame(
        [
            ("D", "art_and_design", "7", True),
            ("D", "art_and_design", "5", True),
            ("D", "music", "8", False),
            ("D", None, "9", False),
            ("D", "history", "X", True),
            ("D", "geography", "6", True),
            ("D", "spanish", "6", True),
            ("D", "computer_science", "6", True),
            ("D", "german", "2", True),
        ],
        columns=["upn", "subject", "grade", "known"],
    )
    result = attainment8(grades, *rules(), pupils=pd.Index(["D", "E"]))
    assert result.loc["D", ["maths", "english", "ebacc", "open"]].tolist() == [0, 0, 18, 9]
    assert result.loc["E"].tolist() == [0, 0, 0, 0, 0, 0, 0]


def test_english_tie_doubles_one_and_frees_the_other():
    """Language 6, Literature 6: 6 × 2 = 12 in English, the other 6 in the open element."""
    result = a8([("F", "english_language", "6"), ("F", "english_literature", "6")]).loc["F"]
    assert (result["english"], result["open"]) == (12, 6)


GRADE = st.sampled_from(["U", "1", "2", "3", "4", "5", "6", "7", "8", "9", "X"])
DOUBLE = st.sampled_from(["U", "1-1", "3-2", "4-4", "5-4", "6-6", "9-8", "9-9"])
SUBJECTS = [k for k in load_subjects().keys if k != "combined_science"]


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from(SUBJECTS), GRADE, max_size=14),
    st.one_of(st.none(), DOUBLE),
    st.sampled_from(SUBJECTS),
    GRADE,
)
def test_attainment8_is_bounded_and_an_extra_grade_never_lowers_it(grades, science, extra, mark):
    rows = [("P", s, g) for s, g in grades.items()]
    if science:
        rows.append(("P", "combined_science", science))
    before = a8(rows, pupils=pd.Index(["P"])).loc["P"]
    assert 0 <= before["attainment8"] <= 90
    assert before["maths"] <= 18 and before["english"] <= 18
    assert before["ebacc"] <= 27 and before["open"] <= 27
    assert before["attainment8"] == pytest.approx(
        before[["maths", "english", "ebacc", "open"]].sum()
    )
    after = a8([*rows, ("P", extra, mark)], pupils=pd.Index(["P"])).loc["P"]
    assert after["attainment8"] >= before["attainment8"] - 1e-9
    shuffled = a8(rows[::-1], pupils=pd.Index(["P"])).loc["P"]
    assert shuffled["attainment8"] == before["attainment8"]
