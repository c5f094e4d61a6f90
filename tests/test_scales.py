"""Grade scales: the SPEC §3 table, forgiving aliases, non-grade codes, user scales."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from targetkit.errors import DataFileError
from targetkit.scales import load_scale, scale_names

SHIPPED = ["nc", "steps", "eyfs", "gcse", "gcse91", "ks2ss", "pscales"]


def test_every_scale_in_the_spec_is_shipped():
    assert set(SHIPPED) <= set(scale_names())


def test_nc_points_follow_the_dfe_points_table():
    nc = load_scale("nc")
    expected = {
        "W": 3,
        "1c": 7,
        "1b": 9,
        "1a": 11,
        "2c": 13,
        "2b": 15,
        "2a": 17,
        "3c": 19,
        "3b": 21,
        "3a": 23,
        "4c": 25,
        "4b": 27,
        "4a": 29,
        "5c": 31,
        "5b": 33,
        "5a": 35,
        "6c": 37,
        "6b": 39,
        "6a": 41,
        "7c": 43,
        "7b": 45,
        "7a": 47,
        "8": 51,
        "EP": 57,
    }
    assert {g.grade: g.points for g in nc.grades if g.band is not None} == expected


def test_p_scales_sit_below_w_in_order_with_no_nc_level():
    """Issue 14: `P7` is a grade (below W), never unknown; P scales have no NC level."""
    nc = load_scale("nc")
    below = [g for g in nc.grades if g.band is None]
    assert [g.grade for g in below] == [
        "P1i", "P1ii", "P2i", "P2ii", "P3i", "P3ii", "P4", "P5", "P6", "P7", "P8"
    ]  # fmt: skip
    assert all(g.points < nc.points_of["W"] for g in below)
    parsed = nc.parse(pd.Series(["P7", "p7", "P1(ii)", "7"]))
    assert parsed.grade.tolist() == ["P7", "P7", "P1ii", "7"]
    assert not parsed.unknown.any()


def test_a_whole_level_counts_its_b_points_and_stays_whole():
    nc = load_scale("nc")
    parsed = nc.parse(pd.Series(["1", "2", "3", "4", "5", "6", "7"]))
    assert parsed.grade.tolist() == ["1", "2", "3", "4", "5", "6", "7"]
    assert parsed.points.tolist() == [9, 15, 21, 27, 33, 39, 45]


def test_steps_points_are_six_per_band():
    steps = load_scale("steps")
    points = steps.points_of
    assert points["1b"] == 1 and points["1s+"] == 6 and points["2b"] == 7
    assert points["4w+"] == 6 * 3 + 4 and points["6s+"] == 36
    assert steps.expected["end_of_year_3"] == "3s"


def test_other_scales_match_the_spec_table():
    assert load_scale("gcse").points_of == {
        "U": 0,
        "G": 16,
        "F": 22,
        "E": 28,
        "D": 34,
        "C": 40,
        "B": 46,
        "A": 52,
        "A*": 58,
    }
    assert load_scale("gcse91").points_of["9"] == 9 and load_scale("gcse91").points_of["U"] == 0
    ks2 = load_scale("ks2ss")
    assert ks2.grade_names[0] == "80" and ks2.grade_names[-1] == "120" and len(ks2.grades) == 41
    assert ks2.thresholds == {"expected": "100", "high": "110"}
    assert load_scale("eyfs").parse(
        pd.Series(["emerging", "Expected", "exceeding"])
    ).grade.tolist() == ["1", "2", "3"]
    assert load_scale("pscales").grade_names == [
        "P1i",
        "P1ii",
        "P2i",
        "P2ii",
        "P3i",
        "P3ii",
        "P4",
        "P5",
        "P6",
        "P7",
        "P8",
    ]


@pytest.mark.parametrize(
    ("scale", "spellings", "canonical"),
    [
        ("nc", ["2B", "2 b", "L2b", "Level 2b", "level 2B", " 2b "], "2b"),
        ("steps", ["4S+", "4s +", "4 s+"], "4s+"),
        ("gcse", ["A*", "A star", "a*", "Astar"], "A*"),
        ("ks2ss", ["100", "100.0", 100, 100.0], "100"),
    ],
)
def test_spec_aliases_parse_to_the_canonical_grade(scale, spellings, canonical):
    parsed = load_scale(scale).parse(pd.Series(spellings, dtype=object))
    assert parsed.grade.tolist() == [canonical] * len(spellings)
    assert not parsed.unknown.any()


@pytest.mark.parametrize("code", ["A", "D", "N", "B", "T", "X"])
def test_nc_non_grade_codes_are_missing_with_a_reason_not_errors(code):
    parsed = load_scale("nc").parse(pd.Series([code, code.lower()]))
    assert parsed.code.tolist() == [code, code]
    assert parsed.grade.isna().all() and parsed.points.isna().all()
    assert not parsed.unknown.any()


def test_unknown_grade_is_reported_with_row_column_value_and_nearest_grades():
    values = pd.Series(["2b", "2d", None, "zz"], index=[7, 8, 9, 10])
    parsed = load_scale("nc").parse(values)
    problems = parsed.problems("reading_ks1")
    assert problems.index.tolist() == [8, 10]
    assert problems.loc[8, "column"] == "reading_ks1"
    assert problems.loc[8, "value"] == "2d"
    assert "2c" in problems.loc[8, "suggestion"].split(", ")
    assert parsed.unknown.tolist() == [False, True, False, True]


def test_blank_cells_are_neither_grades_nor_problems():
    parsed = load_scale("nc").parse(pd.Series([None, "", "  ", float("nan")], dtype=object))
    assert parsed.grade.isna().all() and not parsed.unknown.any() and parsed.code.isna().all()


@given(st.sampled_from(SHIPPED), st.data())
def test_every_grade_parses_back_to_itself_from_canonical_and_alias_spellings(name, data):
    scale = load_scale(name)
    grade = data.draw(st.sampled_from(list(scale.points_of)))
    spellings = [grade, grade.upper(), grade.lower(), f" {grade} ", " ".join(grade)]
    spellings += [alias for alias, target in scale.aliases.items() if target == grade]
    spellings += [f"{prefix.title()} {grade}" for prefix in scale.strip_prefixes]
    parsed = scale.parse(pd.Series(spellings, dtype=object))
    assert parsed.grade.tolist() == [grade] * len(spellings)
    assert parsed.points.tolist() == [scale.points_of[grade]] * len(spellings)


@given(st.sampled_from(SHIPPED))
def test_points_strictly_increase_along_every_scale(name):
    points = [g.points for g in load_scale(name).grades]
    assert all(low < high for low, high in itertools.pairwise(points))


@given(st.sampled_from(SHIPPED), st.data())
def test_grade_at_or_below_inverts_points(name, data):
    scale = load_scale(name)
    grade = data.draw(st.sampled_from(scale.grade_names))
    points = scale.points_of[grade]
    # half way to the next grade (the P scales below W are a quarter point apart)
    gap = min(high - low for low, high in itertools.pairwise(g.points for g in scale.grades))
    within = points + gap / 2
    assert scale.grade_at_or_below(pd.Series([points, within])).tolist() == [grade, grade]


def test_a_scale_file_with_points_out_of_order_is_refused_naming_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ntitle: Bad\nsource: test\ngrades:\n"
        "  - {grade: a, points: 2}\n  - {grade: b, points: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as caught:
        load_scale(str(path))
    assert str(path) in str(caught.value)
    assert "strictly increasing" in str(caught.value)


def test_a_scale_file_with_a_wrong_field_names_its_line(tmp_path):
    path = tmp_path / "bad2.yaml"
    path.write_text(
        "name: bad\ntitle: Bad\nsource: test\ngrades:\n"
        "  - {grade: a, points: 1}\n  - {grade: b, points: lots}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as caught:
        load_scale(str(path))
    assert "line 6" in str(caught.value) and "grades.1.points" in str(caught.value)


def test_users_add_their_own_scale_through_targetkit_data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "scales"
    folder.mkdir()
    (folder / "reading_age.yaml").write_text(
        "name: reading_age\ntitle: Reading age bands\nsource: our school\ngrades:\n"
        "  - {grade: below, points: 1}\n  - {grade: at, points: 2}\n"
        "  - {grade: above, points: 3}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(tmp_path))
    load_scale.cache_clear()
    try:
        assert "reading_age" in scale_names()
        assert load_scale("reading_age").parse(pd.Series(["Above"])).points.tolist() == [3]
    finally:
        load_scale.cache_clear()
