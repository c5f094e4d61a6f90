"""Per pupil and GCSE subject: the chances of 4+, 5+ and 7+ and the most likely grade.

The chances are the DfE's national KS2 → GCSE matrices (2023/24) for the subject and the pupil's
KS2 band: the share of every pupil of the band entered for the subject (those with `X`, entered
but no result, included, as the DfE counts) who reached the threshold. Combined Science is a
double award: 4+ means 4-4 or better (the DfE's standard pass), 5+ 5-5 and 7+ 7-7, and its most
likely grade is a double grade (`5-4`). Always the "all pupils" rows: the matrices' group rows
are for gap analysis, never for a pupil's chances (SPEC §3). The DfE publishes no top-25% or
top-50% matrices for KS4, so those benchmarks use the national ones, with one note saying so.

Conversion tables are loaded by the caller and passed in (the pipeline opens no file); one
lookup per subject and band, then a merge, so 100,000 pupils × 10 subjects cost a join.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetkit.conversion_tables import DEFAULT_GROUP, ConversionTable

SUBJECT_TABLES = ("ks2_gcse_subjects_2024", "ks2_gcse_combined_science_2024")
THRESHOLDS = ("4plus", "5plus", "7plus")
NATIONAL = "national"
CHANCE_COLUMNS = [
    "prior",
    *(f"chance_{t}" for t in THRESHOLDS),
    "most_likely",
    "expected_points",
    "has_chances",
]


@dataclass
class SubjectChances:
    """`chances`: the entries with `CHANCE_COLUMNS` added (same rows, same order); `notes`:
    what the reader must be told once (e.g. the benchmark fell back to national)."""

    chances: pd.DataFrame
    benchmark_used: str
    notes: list[str] = field(default_factory=list)


def subject_chances(
    entries: pd.DataFrame,
    priors: pd.Series,
    tables: Sequence[ConversionTable],
    *,
    benchmark: str = NATIONAL,
) -> SubjectChances:
    """Chances for each entry (`pipeline.entries` frame) from the pupil's KS2 band.

    `priors`: the DfE KS2 band label of each pupil (`ks2_band(scores, no_score_band=True)`),
    indexed by UPN. `tables`: the subject matrices (`load_table` of `SUBJECT_TABLES`). An entry
    the matrices do not cover (unknown subject, not a GCSE, no band, a band with no pupils in
    that subject) gets NaN chances and `has_chances` False.
    """
    used, notes = _benchmark(benchmark, tables)
    by_cell = pd.concat(
        [per_table(table, ("chances", used), _by_subject_and_prior) for table in tables]
    )
    by_cell = by_cell[~by_cell.index.duplicated(keep="first")]
    if priors.index.has_duplicates:
        priors = priors[~priors.index.duplicated(keep="first")]
    prior = entries["upn"].map(priors)
    key = pd.MultiIndex.from_arrays(
        [entries["subject"].astype(object), prior.astype(object)], names=["subject", "prior"]
    )
    looked_up = by_cell.reindex(key)
    known = entries["known"].to_numpy(dtype=bool)
    looked_up.loc[~known, :] = np.nan  # a non-GCSE entry borrows no subject's chances
    result = pd.DataFrame(index=entries.index)
    result["prior"] = prior
    for column in by_cell.columns:
        result[column] = looked_up[column].to_numpy()
    result["has_chances"] = result[f"chance_{THRESHOLDS[0]}"].notna()
    return SubjectChances(
        chances=pd.concat([entries, result[CHANCE_COLUMNS]], axis=1),
        benchmark_used=used,
        notes=notes,
    )


_DERIVED: weakref.WeakKeyDictionary[ConversionTable, dict] = weakref.WeakKeyDictionary()


def per_table(
    table: ConversionTable, key: tuple[str, str], make: Callable[[ConversionTable, str], object]
) -> pd.DataFrame:
    """`make(table, key[1])`, worked out once per loaded table (a batch of submissions, or a
    cohort's 12 subjects, asks for the same pivot of the same matrices). Read-only."""
    mine = _DERIVED.setdefault(table, {})
    if key not in mine:
        mine[key] = make(table, key[1])
    return mine[key]


def _benchmark(benchmark: str, tables: Sequence[ConversionTable]) -> tuple[str, list[str]]:
    """The benchmark the tables can answer, and a note when it is not the one asked for."""
    offered = set.intersection(*(set(t.benchmarks) for t in tables))
    if benchmark in offered:
        return benchmark, []
    if benchmark in ("top25", "top50") and NATIONAL in offered:
        share = "25%" if benchmark == "top25" else "50%"
        return NATIONAL, [
            f"The DfE publishes no top-{share}-of-schools matrices for GCSE subjects: the "
            f"national KS2 to GCSE matrices (2023/24) are used for every subject."
        ]
    raise ValueError(
        f"unknown benchmark {benchmark!r} for the GCSE subject matrices "
        f"(they have: {', '.join(sorted(offered))})"
    )


def _by_subject_and_prior(table: ConversionTable, benchmark: str) -> pd.DataFrame:
    """Chances, most likely grade and expected points per (subject, prior) of one table.

    The same figures as the table's `rates`, `modes` and `points_by_prior`, for every subject
    at once (one pivot of the all-pupils rows instead of one per subject).
    """
    frame = table.frame
    rows = frame[(frame["benchmark"] == benchmark) & (frame["group"] == DEFAULT_GROUP)]
    wide = rows.pivot_table(
        index=["subject", "prior"], columns="outcome", values="proportion", aggfunc="sum"
    )
    wide = wide.reindex(columns=table.outcome_order).fillna(0.0)
    values = wide.to_numpy()
    result = pd.DataFrame(index=wide.index)
    for threshold in THRESHOLDS:
        meets = wide.columns.isin(table.outcomes_meeting(threshold))
        result[f"chance_{threshold}"] = values[:, meets].sum(axis=1).round(12).clip(0.0, 1.0)
    reversed_ = values.round(9)[:, ::-1]  # argmax takes the first: the highest grade wins a tie
    mode = len(wide.columns) - 1 - reversed_.argmax(axis=1)
    result["most_likely"] = np.asarray(wide.columns, dtype=object)[mode]
    points = table.metadata.outcome_points
    scored = wide.columns.isin(list(points))
    weights = values[:, scored]
    total = weights.sum(axis=1)
    expected = weights @ np.array([points[o] for o in wide.columns[scored]], dtype=float)
    result["expected_points"] = np.divide(
        expected, total, out=np.full(len(total), np.nan), where=total > 0
    )
    return result
