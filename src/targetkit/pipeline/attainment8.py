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


def grade_points(
    grades: pd.DataFrame, subjects: SubjectList, single: Scale, double: Scale
) -> pd.Series:
    """Attainment 8 points per slot of each grade (`subject`, `grade` columns); NaN if none.

    A double-award subject's grades are read on `double` (points per slot), the rest on
    `single`; `X`, blank, unknown grades and subjects not in the list have no points.
    """
    is_double = grades["subject"].map(
        {k: s.slots == 2 for k, s in subjects.subjects.items()}
    ).fillna(False).astype(bool)
    text = grades["grade"]
    points = single.parse(text.where(~is_double)).points
    return points.where(~is_double, double.parse(text.where(is_double)).points)


def attainment8(
    grades: pd.DataFrame,
    subjects: SubjectList,
    single: Scale,
    double: Scale,
    pupils: pd.Index | None = None,
) -> pd.DataFrame:
    """Each pupil's Attainment 8 from grades in long form (`upn`, `subject`, `grade`).

    Rows with `known` False (where the column exists) are not counted. Returns one row per
    pupil (index `upn`; every UPN of `pupils` too, 0 when nothing counts) with `A8_COLUMNS`.
    """
    counted = grades
    if "known" in grades.columns:
        counted = grades[grades["known"].fillna(False).astype(bool)]
    items = pd.DataFrame(
        {
            "upn": counted["upn"].to_numpy(dtype=object),
            "subject": counted["subject"].to_numpy(dtype=object),
            "points": grade_points(counted, subjects, single, double).to_numpy(),
        }
    )
    items = items[items["subject"].isin(list(subjects.subjects)) & items["points"].notna()]
    # Discounting, same subject twice: its better grade counts.
    items = items.sort_values("points", ascending=False, kind="stable")
    items = items.drop_duplicates(["upn", "subject"]).reset_index(drop=True)
    everyone = pd.Index(pd.unique(pd.concat([pd.Series(pupils, dtype=object), items["upn"]])))
    everyone.name = "upn"

    discount = items["subject"].map({k: s.discount for k, s in subjects.subjects.items()})
    double_award = items["subject"].map({k: s.slots == 2 for k, s in subjects.subjects.items()})
    science = discount.eq(SCIENCE)
    combined = science & double_award
    single_science = science & ~double_award
    both = items["upn"].isin(items.loc[combined, "upn"]) & items["upn"].isin(
        items.loc[single_science, "upn"]
    )
    # Pupils with both science routes: score each and keep the better (DfE discounting).
    via_combined = _elements(items[~(both & single_science)], subjects, everyone)
    via_singles = _elements(items[~(both & combined)], subjects, everyone)
    better = via_singles["attainment8"] > via_combined["attainment8"]
    result = via_combined.mask(better, via_singles, axis=0)
    return result.astype({"ebacc_slots_filled": int, "open_slots_filled": int})


def _elements(items: pd.DataFrame, subjects: SubjectList, pupils: pd.Index) -> pd.DataFrame:
    """The four elements and their total, for items already discounted."""
    element = items["subject"].map({k: s.element for k, s in subjects.subjects.items()})
    slots = items["subject"].map({k: s.slots for k, s in subjects.subjects.items()})
    points_of = items.pivot_table(
        index="upn", columns="subject", values="points", aggfunc="max"
    ).reindex(pupils)

    def subject_points(key: str) -> pd.Series:
        return points_of[key] if key in points_of else pd.Series(np.nan, index=pupils)

    maths = 2 * subject_points("maths").fillna(0.0)
    english_keys = [k for k, s in subjects.subjects.items() if s.element == "english"]
    english = pd.concat([subject_points(k) for k in english_keys], axis=1)
    best_english = english.max(axis=1).fillna(0.0)
    took_both = english.notna().sum(axis=1) >= 2
    english_element = best_english.where(~took_both, 2 * best_english)
    # The other English (when both are taken) competes for the open slots.
    other_english = english.min(axis=1).where(took_both)

    slot_items = items[element.isin(["ebacc", "open"])]
    expanded = slot_items.loc[slot_items.index.repeat(slots[slot_items.index])]
    expanded = expanded.assign(ebacc=element[expanded.index].eq("ebacc").to_numpy())
    extra = other_english.dropna()
    pool = pd.concat(
        [
            expanded[["upn", "points", "ebacc"]],
            pd.DataFrame({"upn": extra.index, "points": extra.to_numpy(), "ebacc": False}),
        ],
        ignore_index=True,
    ).sort_values(["upn", "points"], ascending=[True, False], kind="stable")
    ebacc_rank = pool[pool["ebacc"]].groupby("upn", sort=False).cumcount()
    in_ebacc = pd.Series(False, index=pool.index)
    in_ebacc[ebacc_rank.index] = ebacc_rank < EBACC_SLOTS
    rest = pool[~in_ebacc]
    in_open = rest.groupby("upn", sort=False).cumcount() < OPEN_SLOTS

    ebacc_used = pool[in_ebacc].groupby("upn")["points"].agg(["sum", "size"]).reindex(pupils)
    open_used = rest[in_open].groupby("upn")["points"].agg(["sum", "size"]).reindex(pupils)
    result = pd.DataFrame(
        {
            "maths": maths,
            "english": english_element,
            "ebacc": ebacc_used["sum"].fillna(0.0),
            "open": open_used["sum"].fillna(0.0),
        },
        index=pupils,
    )
    result["attainment8"] = result[ELEMENT_COLUMNS].sum(axis=1)
    result["ebacc_slots_filled"] = ebacc_used["size"].fillna(0).astype(int)
    result["open_slots_filled"] = open_used["size"].fillna(0).astype(int)
    return result[A8_COLUMNS]


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
