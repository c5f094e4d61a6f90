"""The KS2 prior of KS4 targets: the mean of the KS2 reading and maths scaled scores (SPEC §8),
with the DfE's nominal scores for outcomes below the standard of the test.

"No prior is not a low prior": a reading or maths outcome of `N`, `B`, a pre-key stage
standard, `BLW`, `EM` or a P scale is a prior below 80 (`nominal_scores.py`), so the pupil is in
the lowest KS2 bands and inside Progress 8. Where the score cell is blank the test outcome column
(`reading_ks2_outcome`, which a KS2 results CTF fills with `B` or `N`) is read, and a `B` (or a
blank test) takes the nominal score of the teacher assessment (`reading_ks2_ta`) where there is
one, as the DfE does. `A`, blank and every other code stay no prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from targetkit.nominal_scores import ks2_nominal_scores
from targetkit.policies import Policy
from targetkit.scales import Scale, load_scale

BELOW_THE_TEST = "B"
# the columns beside a score column a prior may come from (the KS2 results CTF fills both)
DETAIL_SUFFIXES = ("_outcome", "_ta")


@dataclass(frozen=True)
class Ks2Prior:
    """Each pupil's KS2 prior: `average` (NaN with no prior) and `nominal`, the words saying
    which outcomes took a nominal score ("reading PK6 → 79"), blank where none did."""

    average: pd.Series
    nominal: pd.Series


def score_columns(cohort: pd.DataFrame, policy: Policy) -> dict[str, str]:
    """Each of the policy's KS2 scaled-score columns → the cohort column holding it: the
    column itself or else its first alias present (`english_ks2` for `reading_ks2`)."""
    found = {}
    for name in policy.prior_scaled_scores:
        candidates = [name, *policy.prior_score_aliases.get(name, [])]
        present = [c for c in candidates if c in cohort]
        if present:
            found[name] = present[0]
    return found


def is_detail_column(column: str) -> bool:
    """Whether a cohort column is a KS2 test outcome or teacher assessment a prior may use."""
    return column.endswith(tuple(f"_ks2{s}" for s in DETAIL_SUFFIXES))


def ks2_prior(cohort: pd.DataFrame, policy: Policy, scale: Scale | None = None) -> Ks2Prior:
    """The DfE's KS2 prior of each pupil (module docstring); `scale`: the policy's prior scale,
    loaded before the pipeline runs (SPEC §8 purity), else loaded here."""
    scale = scale or load_scale(policy.prior_scale)
    nominal = ks2_nominal_scores().by_code()
    index = cohort.index
    values, notes = {}, []
    for name, column in score_columns(cohort, policy).items():
        parsed = scale.parse(cohort[column])
        value = parsed.points.to_numpy(dtype="float64", copy=True)
        note = np.full(len(index), "", dtype=object)
        rows = np.flatnonzero(np.isnan(value))  # no scaled score: a prior only for a few
        if len(rows):
            code = parsed.code.iloc[rows]
            beside = [c for s in DETAIL_SUFFIXES for c in (f"{column}{s}", f"{name}{s}")]
            detail = cohort[[c for c in dict.fromkeys(beside) if c in cohort]].iloc[rows]
            scores, words = _nominal(detail, name, column, code, nominal)
            value[rows] = scores
            note[rows] = words
        values[name] = value
        notes.append(note)
    if not values:
        empty = pd.Series(np.nan, index=index, dtype="float64")
        return Ks2Prior(empty, pd.Series("", index=index, dtype=object))
    average = pd.DataFrame(values, index=index).mean(axis=1, skipna=True)
    joined = notes[0]
    for note in notes[1:]:
        both = (joined != "") & (note != "")
        joined = np.where(joined != "", joined, note)
        joined[both] = joined[both] + "; " + note[both]
    return Ks2Prior(average, pd.Series(joined, index=index, dtype=object))


def _nominal(
    rows: pd.DataFrame, name: str, column: str, code: pd.Series, nominal: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The nominal score (NaN for none) and its words for pupils without a scaled score: the
    code of the score cell, else of the test outcome column; B (or no test) takes the teacher
    assessment's score where there is one."""
    test = _codes(code)
    outcome = _detail(rows, name, column, "_outcome")
    if outcome is not None:  # a blank score cell: the test outcome (B, N) says why
        test = test.fillna(_codes(outcome))
    teacher = _detail(rows, name, column, "_ta")
    ta_code = _codes(teacher) if teacher is not None else pd.Series(None, index=rows.index)
    ta_score = ta_code.where(~ta_code.isin([BELOW_THE_TEST, "N"])).map(nominal)
    use_ta = ((test.isna() | test.eq(BELOW_THE_TEST)) & ta_score.notna()).to_numpy()
    test_score = test.map(nominal).astype("float64")
    scores = np.where(use_ta, ta_score.to_numpy(dtype="float64"), test_score.to_numpy())
    from_test = ~use_ta & test_score.notna().to_numpy()
    words = _note(name.removesuffix("_ks2"), test, ta_code, ta_score, test_score, from_test, use_ta)
    return scores, words


def _note(
    label: str,
    test: pd.Series,
    ta_code: pd.Series,
    ta_score: pd.Series,
    test_score: pd.Series,
    from_test: np.ndarray,
    use_ta: np.ndarray,
) -> np.ndarray:
    """"reading PK6 → 79" or "reading B, teacher assessment PK3 → 70" where a nominal score
    was used, else ""; the words are built for those pupils only."""
    note = np.full(len(test), "", dtype=object)
    if from_test.any():
        note[from_test] = (
            f"{label} " + test[from_test].astype(str) + " → " + _points(test_score[from_test])
        ).to_numpy()
    if use_ta.any():
        note[use_ta] = (
            f"{label} "
            + test[use_ta].fillna("no test").astype(str)
            + ", teacher assessment "
            + ta_code[use_ta].astype(str)
            + " → "
            + _points(ta_score[use_ta])
        ).to_numpy()
    return note


def _points(scores: pd.Series) -> pd.Series:
    """Scores as the file writes them (79, not 79.0); each distinct score formatted once."""
    return scores.map({s: f"{s:g}" for s in scores.unique()})


def _detail(cohort: pd.DataFrame, name: str, column: str, suffix: str) -> pd.Series | None:
    """The outcome or teacher-assessment column beside a score column, if the cohort has one."""
    for candidate in (f"{column}{suffix}", f"{name}{suffix}"):
        if candidate in cohort:
            return cohort[candidate]
    return None


def _codes(values: pd.Series) -> pd.Series:
    """Cell texts as upper-case codes (`pk6` → `PK6`), None where blank; each distinct value
    normalised once (a million cells cost a lookup each)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    texts = [str(v).strip().upper() or None for v in distinct]
    normalised = np.array([*texts, None], dtype=object)[codes]
    return pd.Series(normalised, index=values.index, dtype=object)
