"""Steps arithmetic (pipeline/steps.py), worked by hand from the seed steps policy (seeds/002).

Points: 6 x (band - 1) + step, 1b = 1, b+ = 2, w = 3, w+ = 4, s = 5, s+ = 6 within a band, so
2s = 11, 3b = 13, 3w = 15, 3s = 17, 3s+ = 18, 4b = 19, 4b+ = 20, 4w = 21, 4s = 23, 4s+ = 24,
6s = 35, 6s+ = 36. The expectation at the end of year n is ns = 6n - 1.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from targetkit.pipeline.steps import (
    drop_progress,
    expected_points,
    half_terms_elapsed,
    join_flags,
    milestone_points,
    not_on_track,
    steps_targets,
)


def series(*values: float | None) -> pd.Series:
    return pd.Series([np.nan if v is None else v for v in values], dtype="float64")


def test_half_terms_count_the_drops_of_the_year() -> None:
    # aut1 is the first drop (one half term done) … sum2 the sixth.
    assert [half_terms_elapsed(t) for t in ("aut1", "AUT2", "spr1", "spr2", "sum1", "sum2")] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    with pytest.raises(ValueError):
        half_terms_elapsed("summer")


def test_expected_points_climb_one_step_per_half_term_from_last_years_expectation() -> None:
    # Year 4: end of Y3 = 3s = 17 on 1 September; +1 per half term; 4w (21) at spr2; 4s (23) at
    # sum2. Year 1 starts at 0 ("not yet 1b") and reaches 1s = 5. Year 7 has no steps band.
    year4 = pd.Series([4, 4, 4, 4])
    assert expected_points(year4, 0).tolist() == [17, 17, 17, 17]
    assert expected_points(year4, pd.Series([1, 4, 6, 0])).tolist() == [18, 21, 23, 17]
    assert expected_points(pd.Series([1, 1, 6]), 6).tolist()[:3] == [5, 5, 35]
    assert expected_points(pd.Series([1, 1, 1]), pd.Series([0, 1, 2])).tolist() == [0, 0, 1]
    assert math.isnan(expected_points(pd.Series([7]), 6).iloc[0])


def test_year_4_pupil_at_expectation_is_targeted_six_steps_on() -> None:
    # Year 4, baseline 3s (17) = end-of-Y3 expectation: no gap, target 17 + 6 = 23 = 4s.
    result = steps_targets(series(17), pd.Series([4]))
    assert result.loc[0, "expected_baseline"] == 17
    assert result.loc[0, "catch_up_steps"] == 0
    assert result.loc[0, "target_points"] == 23
    assert result.loc[0, "flags"] == ""


def test_year_3_pupil_at_3w_is_targeted_4w() -> None:
    # Year 3, baseline 3w (15) is above the end-of-Y2 expectation 2s (11): 15 + 6 = 21 = 4w.
    result = steps_targets(series(15), pd.Series([3]))
    assert result.loc[0, "target_points"] == 21
    assert result.loc[0, "catch_up_steps"] == 0


def test_year_4_pupil_at_2s_gets_three_catch_up_steps() -> None:
    # Year 4, baseline 2s (11); expectation end of Y3 = 3s (17); gap 6 over 2 years = 3 extra
    # steps this year; target 11 + 6 + 3 = 20 = 4b+.
    result = steps_targets(series(11), pd.Series([4]), catch_up_years=2)
    assert result.loc[0, "catch_up_steps"] == 3
    assert result.loc[0, "target_points"] == 20
    assert result.loc[0, "flags"] == "CATCH_UP"


def test_catch_up_steps_round_up() -> None:
    # Year 4 at 3w (15): gap 17 - 15 = 2 → ceil(2/2) = 1 → 22 (4w+).
    # Year 4 at 2w+ (10): gap 7 → ceil(3.5) = 4 → 10 + 6 + 4 = 20.
    # Over one year the whole gap of 7 is added: 10 + 6 + 7 = 23 = 4s, back at expectation.
    result = steps_targets(series(15, 10), pd.Series([4, 4]))
    assert result["catch_up_steps"].tolist() == [1, 4]
    assert result["target_points"].tolist() == [22, 20]
    one_year = steps_targets(series(10), pd.Series([4]), catch_up_years=1)
    assert one_year.loc[0, "target_points"] == 23


def test_secure_plus_pupil_is_targeted_secure_plus_of_the_next_band() -> None:
    # Year 3 at 3s+ (18), well above 2s: 18 + 6 = 24 = 4s+.
    assert steps_targets(series(18), pd.Series([3])).loc[0, "target_points"] == 24


def test_target_above_6s_plus_is_capped_and_flagged() -> None:
    # Year 6 at 6s (35): 35 + 6 = 41 is beyond the scale; capped at 6s+ (36).
    result = steps_targets(series(35), pd.Series([6]))
    assert result.loc[0, "target_points"] == 36
    assert result.loc[0, "flags"] == "TARGET_CAPPED"


def test_pupil_whose_position_fell_gets_a_target_that_restores_it() -> None:
    # Year 4 pupils; expectation end Y3 = 17, end Y4 = 23.
    # A: was 2 steps above (history +2), now at 17 (0): restore → 23 + 2 = 25 (> 17 + 6 = 23).
    # B: was +2, still +2 (19): no fall → 19 + 6 = 25, no flag.
    # C: was 0, now 11 (-6): catch-up 3 → 20; restoring 0 → 23 is higher → 23, both flags.
    # D: no history → ordinary 23.
    result = steps_targets(
        series(17, 19, 11, 17), pd.Series([4, 4, 4, 4]), history=series(2, 2, 0, None)
    )
    assert result["target_points"].tolist() == [25, 25, 23, 23]
    assert result["flags"].tolist() == ["POSITION_RESTORED", "", "CATCH_UP; POSITION_RESTORED", ""]


def test_missing_baseline_gives_missing_target_without_flags() -> None:
    result = steps_targets(series(None), pd.Series([4]))
    assert math.isnan(result.loc[0, "target_points"])
    assert result.loc[0, "flags"] == ""


def test_milestones_spread_catch_up_evenly_rounding_down() -> None:
    # Baseline 11, target 20 (9 steps): 11 + floor(9h/6) for h = 0..6
    # = 11, 12 (1.5), 14 (3), 15 (4.5), 17 (6), 18 (7.5), 20 (9).
    baseline, target = series(*[11] * 7), series(*[20] * 7)
    h = pd.Series(range(7))
    assert milestone_points(baseline, target, h).tolist() == [11, 12, 14, 15, 17, 18, 20]
    # Ordinary pupil 17 → 23 is one step per half term: spr1 (3) → 20.
    assert milestone_points(series(17), series(23), 3).tolist() == [20]


def test_not_on_track_when_steps_needed_exceed_half_terms_left() -> None:
    # At spr2 two half terms are left. Needs 3 → not on track; needs 2 → on track; reached → on.
    result = not_on_track(series(20, 21, 24, None), series(23, 23, 23, 23), half_terms_left=2)
    assert result.tolist() == [True, False, False, False]


def test_drop_progress_finds_stalled_and_regressed_pupils() -> None:
    # Columns: last summer's baseline, aut1, aut2, spr1 (not yet made: empty, ignored).
    drops = pd.DataFrame(
        {
            "maths_sum2_2026": series(17, 17, 17, 15, 17, 17),
            "maths_aut1": series(18, 17, 18, 18, 18, 19),
            "maths_aut2": series(19, 17, 18, 17, None, 17),
            "maths_spr1": series(None, None, None, None, None, None),
        }
    )
    result = drop_progress(drops)
    # 0 steady 17→18→19: fine. 1 flat 17,17,17: stalled (17 <= 17), not regressed.
    # 2 17→18→18: gained a step over two drops, not stalled. 3 15→18→17: regressed (17 < 18),
    # not stalled (17 > 15). 4 no aut2 value: unknown, neither. 5 17→19→17: regressed and
    # stalled (17 <= 17).
    assert result["latest_drop"].tolist() == ["maths_aut2"] * 6
    assert result["latest"].tolist()[:4] == [19, 17, 18, 17]
    assert result["previous"].tolist() == [18, 17, 18, 18, 18, 19]
    assert result["stalled"].tolist() == [False, True, False, False, False, True]
    assert result["regressed"].tolist() == [False, False, False, True, False, True]


def test_drop_progress_with_only_a_baseline_flags_nothing() -> None:
    drops = pd.DataFrame({"maths_sum2_2026": series(17, 11), "maths_aut1": series(None, None)})
    result = drop_progress(drops)
    assert result["latest"].tolist() == [17, 11]
    assert result["latest_drop"].tolist() == ["maths_sum2_2026"] * 2
    assert not result["stalled"].any() and not result["regressed"].any()


def test_flags_are_joined_with_semicolons_in_catalogue_order() -> None:
    flags = join_flags(
        {"STALLED": pd.Series([True, False, True]), "REGRESSED": pd.Series([True, False, False])},
        index=pd.RangeIndex(3),
    )
    assert flags.tolist() == ["STALLED; REGRESSED", "", "STALLED"]


@given(
    baseline=st.integers(min_value=1, max_value=36),
    year=st.integers(min_value=1, max_value=6),
    catch_up_years=st.integers(min_value=1, max_value=4),
)
def test_every_target_is_six_steps_on_or_the_top_of_the_scale(
    baseline: int, year: int, catch_up_years: int
) -> None:
    result = steps_targets(series(baseline), pd.Series([year]), catch_up_years=catch_up_years)
    target = result.loc[0, "target_points"]
    assert target == min(36, baseline + 6 + result.loc[0, "catch_up_steps"])
    assert target >= min(36, baseline + 6)
    # Catch-up never overshoots: after catch_up_years years of targets the pupil is at or above
    # expectation, and a pupil at or above it gets none.
    gap = max(0, 6 * (year - 1) - 1 - baseline) if year > 1 else 0
    assert result.loc[0, "catch_up_steps"] == math.ceil(gap / catch_up_years)


@given(
    baseline=st.integers(min_value=0, max_value=30),
    extra=st.integers(min_value=0, max_value=12),
)
def test_milestones_run_from_baseline_to_target_without_going_down(
    baseline: int, extra: int
) -> None:
    target = baseline + 6 + extra
    milestones = milestone_points(
        series(*[baseline] * 7), series(*[target] * 7), pd.Series(range(7))
    ).tolist()
    assert milestones[0] == baseline and milestones[-1] == target
    assert all(b - a >= 1 for a, b in itertools.pairwise(milestones))


# ---------------------------------------------------------------------------------------------
# The age-related expectation comes from steps.yaml's `expected:` (issue 12)


def test_the_shipped_expectations_are_the_secure_step_of_each_year():
    from targetkit.scales import load_scale

    # end_of_year_n: ns, and ns = 6(n - 1) + 5 points (1s = 5 ... 6s = 35)
    assert load_scale("steps").expected_by_year == {n: 6 * n - 1 for n in range(1, 7)}


def test_a_user_steps_scale_with_other_expectations_moves_the_expectation(tmp_path, monkeypatch):
    """A school whose end-of-Year-4 expectation is 4w+ (22), not 4s (23), puts the steps
    scale with that `expected:` in TARGETKIT_DATA_DIR; the ARE follows it."""
    import yaml

    from targetkit.scales import load_scale

    shipped = yaml.safe_load(load_scale.__wrapped__("steps").model_dump_json())
    shipped["expected"]["end_of_year_4"] = "4w+"
    (tmp_path / "scales").mkdir()
    (tmp_path / "scales" / "steps.yaml").write_text(yaml.safe_dump(shipped), encoding="utf-8")
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(tmp_path))
    load_scale.cache_clear()
    try:
        years = pd.Series([4, 4, 5])
        # Year 4 from 3s (17) to 4w+ (22): five steps over six half terms; Year 5 from 4w+ (22)
        # to 5s (29): seven steps over six half terms.
        start = expected_points(years, 0).tolist()
        assert start == [17, 17, 22]
        assert expected_points(years, 6).tolist() == [22, 22, 29]
        assert expected_points(pd.Series([4]), 3).tolist() == [17 + 5 * 3 / 6]
    finally:
        load_scale.cache_clear()


def test_an_expectation_that_is_not_end_of_year_n_is_refused(tmp_path):
    import yaml

    from targetkit.errors import DataFileError
    from targetkit.scales import load_scale

    shipped = yaml.safe_load(load_scale("steps").model_dump_json())
    shipped["expected"]["year 4"] = "4s"
    path = tmp_path / "steps.yaml"
    path.write_text(yaml.safe_dump(shipped), encoding="utf-8")
    with pytest.raises(DataFileError, match="end_of_year_<n>"):
        load_scale(str(path))
