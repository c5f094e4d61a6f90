"""Steps arithmetic on steps points: expectations, targets, milestones and drop-to-drop progress.

Points follow `data/scales/steps.yaml`: points = 6 x (band - 1) + step, so 1b = 1 … 6s+ = 36.
The seed policy (seeds/002) expects one step per half term, six a year. The age-related
expectation (ARE) at the end of each year is the scale file's `expected:` (`end_of_year_4: 4s`,
i.e. `ns` = 6n - 1 points in the shipped file); a user's steps scale may set other ones.

Everything here is vectorised: Series in, Series or DataFrames out, no loops over pupils.
Missing points (NaN) stay missing; a comparison with a missing value is False, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from targetkit.columns import DATA_DROPS
from targetkit.scales import load_scale

HALF_TERMS: tuple[str, ...] = DATA_DROPS
"""The six data drops of an academic year, in order; drop k is made after k half terms."""

STEPS_PER_YEAR = 6
TOP_POINTS = 36  # 6s+, the top of the steps scale
FLAG_SEPARATOR = "; "  # SPEC §7: codes in one `flags` column separated by "; "

CATCH_UP = "CATCH_UP"
TARGET_CAPPED = "TARGET_CAPPED"
POSITION_RESTORED = "POSITION_RESTORED"


def half_terms_elapsed(term: str) -> int:
    """How many half terms of the year are done at a drop: aut1 → 1 … sum2 → 6."""
    return HALF_TERMS.index(term.lower()) + 1


def expected_points(
    year_group: pd.Series,
    half_terms_elapsed: int | pd.Series = STEPS_PER_YEAR,
    end_of_year: Mapping[int, float] | None = None,
    first_year_gain: float = STEPS_PER_YEAR,
) -> pd.Series:
    """The age-related expectation in points for each pupil after `half_terms_elapsed` half terms.

    `end_of_year`: the ARE at the end of each year group in points (default: the steps scale's
    `expected:`, 1s … 6s). Linear interpolation over the six half terms from the ARE at the end
    of the previous year (or, for the first year listed, one year's steps below its own) to the
    ARE at the end of this year (`first_year_gain`: how far below its own end the first year
    listed starts; 0 keeps that year's expectation all year): a Year 4 pupil is expected at
    3s (17) on 1 September, 3s+ (18) after autumn 1, 4w (21) at spring 2 and 4s (23) at sum2.
    Year 1 starts one step below 1b, shown as 0 ("not yet 1b"), and ends at 1s (5). Year
    groups the file does not list give NaN.
    """
    if end_of_year is None:
        end_of_year = load_scale("steps").expected_by_year
    year = pd.to_numeric(year_group, errors="coerce").astype("float64")
    elapsed = (
        pd.to_numeric(half_terms_elapsed, errors="coerce").astype("float64")
        if isinstance(half_terms_elapsed, pd.Series)
        else float(half_terms_elapsed)
    )
    end = year.map(end_of_year).astype("float64")
    start = (year - 1).map(end_of_year).astype("float64").fillna(end - first_year_gain)
    expected = (start + (end - start) * elapsed / STEPS_PER_YEAR).clip(lower=0)
    return expected.rename("expected_points")


def steps_targets(
    baseline: pd.Series,
    year_group: pd.Series,
    *,
    catch_up_years: int = 2,
    history: pd.Series | None = None,
) -> pd.DataFrame:
    """End-of-year steps targets: six steps a year, more for pupils who must catch up.

    - `expected_baseline`: the ARE at the end of the previous year (Year 4 → 3s = 17).
    - `catch_up_steps`: a pupil below it closes the gap over `catch_up_years` years, so this year
      gets ceil(gap / catch_up_years) extra steps (rounded up: a gap is never left unclosed).
    - `target_points`: at least baseline + 6 + catch-up. `history` is the pupil's earlier position
      relative to the ARE in points (e.g. +2 = two steps above, from KS1 or last summer); a pupil
      whose position has fallen gets at least ARE at the end of this year + history, which
      restores it (flag `POSITION_RESTORED`). An s+ pupil (3s+ = 18) gets s+ of the next band
      (4s+ = 24) because +6 is one whole band. Targets above 6s+ (36) are capped (`TARGET_CAPPED`).
    - `flags`: codes separated by "; " (`CATCH_UP`, `POSITION_RESTORED`, `TARGET_CAPPED`).

    A missing baseline gives a missing target and no flags.
    """
    if catch_up_years < 1:
        raise ValueError("catch_up_years must be at least 1")
    points = pd.to_numeric(baseline, errors="coerce").astype("float64")
    expected_start = expected_points(year_group, 0)
    expected_end = expected_points(year_group, STEPS_PER_YEAR)
    gap = (expected_start - points).clip(lower=0)
    catch_up = np.ceil(gap / catch_up_years).where(points.notna() & expected_start.notna(), 0)
    target = points + STEPS_PER_YEAR + catch_up
    restored = pd.Series(False, index=points.index)
    if history is not None:
        earlier = pd.to_numeric(history, errors="coerce").astype("float64")
        earlier.index = points.index
        fell = (points - expected_start) < earlier  # NaN compares False: no history, no change
        restore_to = expected_end + earlier
        restored = fell & (restore_to > target)
        target = target.where(~restored, restore_to)
    capped = target > TOP_POINTS
    target = target.clip(upper=TOP_POINTS)
    flags = join_flags(
        {CATCH_UP: catch_up > 0, POSITION_RESTORED: restored, TARGET_CAPPED: capped},
        index=points.index,
    )
    return pd.DataFrame(
        {
            "expected_baseline": expected_start,
            "catch_up_steps": catch_up.astype("float64"),
            "target_points": target,
            "flags": flags,
        },
        index=points.index,
    )


def milestone_points(
    baseline: pd.Series, target: pd.Series, half_terms_elapsed: int | pd.Series
) -> pd.Series:
    """Where a pupil should be after `half_terms_elapsed` half terms on the way to the target.

    baseline + floor((target - baseline) x half terms / 6): one step per half term plus the
    catch-up steps spread evenly over the six half terms, rounded down so a milestone never asks
    for a part-step early (baseline 11, target 20, after 3 half terms: 11 + floor(4.5) = 15).
    At sum2 (6) the milestone is the target itself.
    """
    start = pd.to_numeric(baseline, errors="coerce").astype("float64")
    end = pd.to_numeric(target, errors="coerce").astype("float64")
    elapsed = (
        pd.to_numeric(half_terms_elapsed, errors="coerce").astype("float64")
        if isinstance(half_terms_elapsed, pd.Series)
        else float(half_terms_elapsed)
    )
    return (start + np.floor((end - start) * elapsed / STEPS_PER_YEAR)).rename("milestone_points")


def steps_needed(current: pd.Series, target: pd.Series) -> pd.Series:
    """Steps still to make to reach the target (0 once reached)."""
    return (target - current).clip(lower=0).rename("steps_needed")


def not_on_track(current: pd.Series, target: pd.Series, half_terms_left: int) -> pd.Series:
    """`NOT_ON_TRACK` (SPEC §7): the steps still needed exceed the half terms left."""
    needed = steps_needed(current, target)
    return (needed > half_terms_left).rename("not_on_track")


def drop_progress(drops: pd.DataFrame) -> pd.DataFrame:
    """Latest attainment and drop-to-drop flags from drop columns of points, oldest first.

    Columns with no values at all (a drop not yet made) are ignored when finding the latest.
    Include last summer's baseline as the first column so that aut1 can be compared with it.
    Adds: `latest` (points at the latest drop), `latest_drop` (its column name), `previous`
    (points at the drop before), `two_before` (points two drops before), `regressed` (latest lower
    than previous), `stalled` (latest no higher than two drops before; a regressed pupil may also
    be stalled). A pupil with no value at a drop being compared is neither stalled nor regressed.
    """
    points = drops.apply(pd.to_numeric, errors="coerce").astype("float64")
    made = [c for c in points.columns if points[c].notna().any()]
    nan = pd.Series(np.nan, index=drops.index, dtype="float64")
    latest = points[made[-1]] if made else nan
    previous = points[made[-2]] if len(made) >= 2 else nan
    two_before = points[made[-3]] if len(made) >= 3 else nan
    return pd.DataFrame(
        {
            "latest": latest,
            "latest_drop": pd.Series(made[-1] if made else None, index=drops.index, dtype="str"),
            "previous": previous,
            "two_before": two_before,
            "regressed": latest < previous,
            "stalled": latest <= two_before,
        },
        index=drops.index,
    )


def join_flags(conditions: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """One `flags` string per row: the codes whose condition holds, separated by "; "."""
    codes = {code: pd.Series(code, index=index, dtype="str") for code in conditions}
    return join_where(codes, conditions, index)


def join_where(
    texts: dict[str, pd.Series],
    conditions: dict[str, pd.Series],
    index: pd.Index,
    separator: str = FLAG_SEPARATOR,
) -> pd.Series:
    """Per row, the texts whose condition holds (and that are not blank), joined by `separator`."""
    joined = pd.Series("", index=index, dtype="str")
    for key, text in texts.items():
        hit = conditions[key].fillna(False).astype(bool) & text.notna()
        joined = joined.mask(hit & (joined != ""), joined + separator + text.astype("str"))
        joined = joined.mask(hit & (joined == ""), text.astype("str"))
    return joined
