"""Scale.parse classifies each distinct value once (issue #8): results identical to before."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.scales import load_scale


def parse_as_before(scale, values):
    """Scale.parse as it was before the change (the oracle): grade, points, code, unknown."""
    text = values.astype("string").str.strip()
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
    text = text.astype(object).where(~blank, None)
    lookups = {value: scale.classify(str(value)) for value in pd.unique(text[~blank])}
    kind = text.map({v: k for v, (k, _) in lookups.items()}).to_numpy(dtype=object)
    name = text.map({v: n for v, (_, n) in lookups.items()}).to_numpy(dtype=object)
    grade = pd.Series(np.where(kind == "grade", name, None), index=values.index, dtype=object)
    points = grade.map(scale.points_of).astype("float64")
    code = pd.Series(np.where(kind == "code", name, None), index=values.index, dtype=object)
    unknown = pd.Series(kind == "unknown", index=values.index, dtype=bool)
    return grade, points, code, unknown


def assert_same(scale, values):
    parsed = scale.parse(values)
    grade, points, code, unknown = parse_as_before(scale, values)
    pd.testing.assert_series_equal(parsed.grade, grade, check_exact=True)
    pd.testing.assert_series_equal(parsed.points, points, check_exact=True)
    pd.testing.assert_series_equal(parsed.code, code, check_exact=True)
    pd.testing.assert_series_equal(parsed.unknown, unknown, check_exact=True)
    assert parsed.original is values


GRADE_LIKE = ("2b", " 2B ", "L2b", "Level 3", "3", "4s+", "4S+", "W", "A", "D", "x", "", "  ")
MORE = ("2d", "A star", "A*", "9", "U", "1b", "6s+", "3w", "P1i", "120", "2 b", "3.0")
texts = st.sampled_from([*GRADE_LIKE, *MORE])
cells = st.one_of(st.none(), texts, st.integers(0, 9), st.sampled_from([3.0, 4.0, 2.5, np.nan]))


@settings(max_examples=150, deadline=None)
@given(
    scale=st.sampled_from(["nc", "steps", "gcse", "gcse91", "eyfs", "ks2ss", "pscales"]),
    column=st.lists(cells, max_size=30),
    start=st.integers(0, 5),
)
def test_parse_gives_what_it_gave_before_on_mixed_columns(scale, column, start):
    values = pd.Series(column, index=range(start, start + len(column)), dtype=object)
    assert_same(load_scale(scale), values)


def test_parse_of_a_text_column_and_a_number_column_is_unchanged():
    nc = load_scale("nc")
    # A grade column of numbers that later has `2b`, read as text (pandas `str` dtype).
    assert_same(nc, pd.Series(["3", "4", None, "2b", "A", "2d"] * 50, dtype="str"))
    assert_same(nc, pd.Series([3.0, 4.0, np.nan, 5.0], dtype="float64"))
    parsed = nc.parse(pd.Series(["3", " 2B", None, "A", "2d", ""], dtype=object))
    # Worked by hand: whole level 3 counts its b points (21); 2B is 2b (15); A is absent.
    assert parsed.grade.tolist() == ["3", "2b", None, None, None, None]
    assert parsed.points.tolist()[:2] == [21.0, 15.0]
    assert parsed.code.tolist() == [None, None, None, "A", None, None]
    assert parsed.unknown.tolist() == [False, False, False, False, True, False]
