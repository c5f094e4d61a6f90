"""Attainment 8 and Progress 8 of a set of GCSE grades (e.g. a pupil's targets), by the DfE's rules.

Rules (DfE, Secondary accountability measures guide: "Calculating Attainment 8 and Progress 8";
see docs/gcse-subjects.md for the full list and what targetkit leaves out):

- maths element: the GCSE maths grade, double-weighted;
- English element: the better of English Language and English Literature, double-weighted only
  when the pupil takes both; the other then competes for the open slots;
- EBacc element: the 3 best grades in EBacc subjects (sciences, computer science, geography,
  history, ancient history, languages); Combined Science, a double award, fills up to two slots,
  each worth the mean of its two grades (`5-4` → 4.5 and 4.5);
- open element: the 3 best remaining grades of any GCSE (EBacc subjects not used above included);
- discounting: a subject entered twice counts once (its better grade); Combined Science and the
  single sciences count once as science: whichever route gives the higher Attainment 8;
- entries the matrices do not cover (unknown subjects, other qualifications) are not counted;
  empty slots score 0.

Progress 8 = (Attainment 8 − the DfE's estimate for the pupil's KS2 prior attainment group) / 10.
Pupils without a KS2 scaled score (or a score outside the groups) are outside Progress 8.
All of it is vectorised: a sort and a group rank over the entries, no loop over pupils.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from targetkit.conversion_tables import attainment8_estimate
from targetkit.scales import Scale
from targetkit.subjects import SubjectList

ELEMENT_COLUMNS = ["maths", "english", "ebacc", "open"]
A8_COLUMNS = [*ELEMENT_COLUMNS, "attainment8", "ebacc_slots_filled", "open_slots_filled"]
P8_COLUMNS = ["attainment8", "estimate", "progress8", "in_progress8"]
EBACC_SLOTS = 3
OPEN_SLOTS = 3
SCIENCE = "science"


ELEMENTS = ("maths", "english", "ebacc", "open")  # element codes 0..3 in the arrays below


def grade_points(
    grades: pd.DataFrame, subjects: SubjectList, single: Scale, double: Scale
) -> np.ndarray:
    """Attainment 8 points per slot of each grade (`subject`, `grade` columns); NaN if none.

    A double-award subject's grades are read on `double` (points per slot), the rest on
    `single`; `X`, blank, unknown grades and subjects not in the list have no points. Each
    distinct grade is parsed once.
    """
    codes, uniques = pd.factorize(grades["grade"], use_na_sentinel=True)
    distinct = pd.Series([*uniques, None], dtype=object)
    on_single = single.parse(distinct).points.to_numpy()[codes]
    on_double = double.parse(distinct).points.to_numpy()[codes]
    doubles = [k for k, s in subjects.subjects.items() if s.slots == 2]
    return np.where(grades["subject"].isin(doubles).to_numpy(), on_double, on_single)


def attainment8(
    grades: pd.DataFrame,
    subjects: SubjectList,
    single: Scale,
    double: Scale,
    pupils: pd.Index | None = None,
) -> pd.DataFrame:
    """Each pupil's Attainment 8 from grades in long form (`upn`, `subject`, `grade`).

    Rows with `known` False (where the column exists) are not counted. Returns one row per
    pupil (index `upn`: the UPNs of `pupils`, then any other in `grades`; 0 when nothing
    counts) with `A8_COLUMNS`.
    """
    if "known" in grades.columns:
        grades = grades[grades["known"].fillna(False).astype(bool).to_numpy()]
    keys = list(subjects.subjects)
    listed = [] if pupils is None else list(pupils)
    everyone = pd.Index(pd.unique(pd.Series([*listed, *grades["upn"]], dtype=object)), name="upn")
    pupil = everyone.get_indexer(grades["upn"])
    subject = pd.Categorical(grades["subject"], categories=keys).codes.astype(np.int64)
    points = grade_points(grades, subjects, single, double)
    keep = (subject >= 0) & ~np.isnan(points)
    pupil, subject, points = pupil[keep], subject[keep], points[keep]
    # Discounting, same subject twice: its better grade counts.
    order = np.lexsort((-points, subject, pupil))
    pupil, subject, points = pupil[order], subject[order], points[order]
    first = np.r_[True, (pupil[1:] != pupil[:-1]) | (subject[1:] != subject[:-1])][: len(pupil)]
    pupil, subject, points = pupil[first], subject[first], points[first]

    meta = _SubjectArrays(subjects)
    science = meta.discount[subject] == SCIENCE
    combined = science & (meta.slots[subject] == 2)
    single_science = science & ~combined
    size = len(everyone)
    both = (np.bincount(pupil[combined], minlength=size) > 0) & (
        np.bincount(pupil[single_science], minlength=size) > 0
    )
    # Pupils with both science routes: score each and keep the better (DfE discounting).
    routes = []
    for dropped in (both[pupil] & single_science, both[pupil] & combined):
        kept = ~dropped
        routes.append(_elements(pupil[kept], subject[kept], points[kept], meta, size))
    via_combined, via_singles = routes
    better = via_singles[:, 4] > via_combined[:, 4]
    values = np.where(better[:, None], via_singles, via_combined)
    result = pd.DataFrame(values, index=everyone, columns=A8_COLUMNS)
    return result.astype({"ebacc_slots_filled": int, "open_slots_filled": int})


class _SubjectArrays:
    """The subject list as arrays indexed by subject code (position in the list)."""

    def __init__(self, subjects: SubjectList) -> None:
        listed = list(subjects.subjects.values())
        self.element = np.array([ELEMENTS.index(s.element) for s in listed], dtype=np.int64)
        self.slots = np.array([s.slots for s in listed], dtype=np.int64)
        self.discount = np.array([s.discount or "" for s in listed], dtype=object)
        self.english = np.flatnonzero(self.element == ELEMENTS.index("english"))


def _elements(
    pupil: np.ndarray, subject: np.ndarray, points: np.ndarray, meta: _SubjectArrays, size: int
) -> np.ndarray:
    """Per pupil: the four elements, their total and the EBacc and open slots filled."""
    element = meta.element[subject]
    maths = np.zeros(size)
    is_maths = element == ELEMENTS.index("maths")
    maths[pupil[is_maths]] = 2 * points[is_maths]

    english = np.full((size, len(meta.english)), np.nan)
    for column, code in enumerate(meta.english):
        mine = subject == code
        english[pupil[mine], column] = points[mine]
    took = ~np.isnan(english)
    best = np.where(took, english, -np.inf).max(axis=1, initial=-np.inf)
    best = np.where(took.any(axis=1), best, 0.0)
    took_both = took.sum(axis=1) >= 2
    english_element = np.where(took_both, 2 * best, best)
    # The other English (when both are taken) competes for the open slots.
    other = np.where(took, english, np.inf).min(axis=1, initial=np.inf)

    in_slots = element >= ELEMENTS.index("ebacc")
    repeat = meta.slots[subject[in_slots]]
    extra = np.flatnonzero(took_both)
    pool_pupil = np.r_[np.repeat(pupil[in_slots], repeat), extra]
    pool_points = np.r_[np.repeat(points[in_slots], repeat), other[extra]]
    pool_ebacc = np.r_[
        np.repeat(element[in_slots] == ELEMENTS.index("ebacc"), repeat),
        np.zeros(len(extra), dtype=bool),
    ]
    order = np.lexsort((-pool_points, pool_pupil))
    pool_pupil, pool_points, pool_ebacc = pool_pupil[order], pool_points[order], pool_ebacc[order]
    in_ebacc = pool_ebacc & (_rank_within(pool_pupil, pool_ebacc) < EBACC_SLOTS)
    rest = ~in_ebacc
    in_open = rest & (_rank_within(pool_pupil, rest) < OPEN_SLOTS)

    ebacc = np.bincount(pool_pupil[in_ebacc], weights=pool_points[in_ebacc], minlength=size)
    open_ = np.bincount(pool_pupil[in_open], weights=pool_points[in_open], minlength=size)
    total = maths + english_element + ebacc + open_
    return np.column_stack(
        [
            maths,
            english_element,
            ebacc,
            open_,
            total,
            np.bincount(pool_pupil[in_ebacc], minlength=size),
            np.bincount(pool_pupil[in_open], minlength=size),
        ]
    )


def _rank_within(groups: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For sorted `groups`: how many earlier items of the same group have `mask` True."""
    before = np.cumsum(mask) - mask
    starts = np.r_[True, groups[1:] != groups[:-1]][: len(groups)]
    return before - np.maximum.accumulate(np.where(starts, before, 0))


def progress8(
    attainment8_scores: pd.Series, ks2_scores: pd.Series, estimates: pd.DataFrame
) -> pd.DataFrame:
    """Each pupil's Progress 8: (Attainment 8 − the DfE estimate for their KS2 prior) / 10.

    `ks2_scores`: the mean of KS2 reading and maths scaled scores, aligned with
    `attainment8_scores`; `estimates`: `conversion_tables.attainment8_estimates()`. A pupil with
    no score (or one outside the DfE's groups) has no estimate and is outside Progress 8.
    """
    estimate = attainment8_estimate(ks2_scores.reindex(attainment8_scores.index), table=estimates)
    result = pd.DataFrame(
        {
            "attainment8": attainment8_scores,
            "estimate": estimate.to_numpy(),
        },
        index=attainment8_scores.index,
    )
    result["progress8"] = (result["attainment8"] - result["estimate"]) / 10
    result["in_progress8"] = result["estimate"].notna()
    return result[P8_COLUMNS]


def school_measures(pupils: pd.DataFrame, school: pd.Series | None = None) -> pd.DataFrame:
    """Per school: pupils, average Attainment 8, pupils in Progress 8 and average Progress 8.

    `pupils`: `progress8`'s frame. Average Attainment 8 is over every pupil (as the DfE's
    school measure); Progress 8 over the pupils with a KS2 prior. Without `school`, one row
    (`all`).
    """
    school = (
        pd.Series("all", index=pupils.index)
        if school is None
        else school.reindex(pupils.index).fillna("")
    )
    grouped = pupils.assign(school=school.to_numpy()).groupby("school", sort=True)
    return pd.DataFrame(
        {
            "pupils": grouped.size(),
            "attainment8": grouped["attainment8"].mean(),
            "progress8_pupils": grouped["in_progress8"].sum().astype(int),
            "progress8": grouped["progress8"].mean(),
        }
    )
