"""Which GCSE subjects each pupil takes, from a cohort in wide or long form, as one long frame.

A school says it one of two ways. Wide: a column per subject, `<subject>_entered` (yes/no) or a
`<subject>_target` or working-at column (`history_aut1`): a non-blank cell is an entry. Long: a
sheet of entries, one row per pupil and subject (`upn`, `subject`, optional `qualification`).
Both give the same frame, one row per entry (`ENTRY_COLUMNS`): the pupil, the DfE subject key
(NaN when the name is not one targetkit knows), the qualification, the name as given and whether
the DfE matrices cover the entry. Unknown subjects and non-GCSE qualifications are kept and
marked, never dropped, and get no invented chances downstream.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from targetkit.columns import DATA_DROPS, header_key, parse_assessment
from targetkit.pipeline.values import NO_TEXTS
from targetkit.subjects import SubjectList, load_subjects, name_key, subject_keys

ENTRY_COLUMNS = ["upn", "subject", "qualification", "name", "known", "status"]
GCSE = "GCSE"
KNOWN = "known"
UNKNOWN_SUBJECT = "unknown subject"
NOT_GCSE = "no DfE matrix for this qualification"
_WIDE_SUFFIX = re.compile(r"^(?P<subject>.+)_(?P<kind>entered|target)$")
_NOT_ENTRY_TARGETS = ("_plan_target", "_previous_target")


def entries_from_long(
    frame: pd.DataFrame,
    *,
    upn: str = "upn",
    subject: str = "subject",
    qualification: str | None = "qualification",
    subjects: SubjectList | None = None,
) -> pd.DataFrame:
    """Entries from a long sheet (one row per pupil and subject); every row is kept.

    `qualification` may be absent (every entry is then a GCSE). A blank subject is kept as an
    unknown entry named ''.
    """
    for column in (upn, subject):
        if column not in frame.columns:
            raise ValueError(f"the entries have no {column!r} column")
    quals = (
        frame[qualification]
        if qualification and qualification in frame.columns
        else pd.Series(None, index=frame.index, dtype=object)
    )
    return _entries(frame[upn], frame[subject], quals, subjects)


def entries_from_wide(frame: pd.DataFrame, subjects: SubjectList | None = None) -> pd.DataFrame:
    """Entries from a cohort with a column per subject (`upn` plus subject columns).

    `<subject>_entered`: an entry where the cell says yes (any non-blank value that is not a
    "no"). Otherwise `<subject>_target` or a working-at column (`<subject>_<half term>`): an
    entry where the cell is not blank. A subject with an `_entered` column is decided by it
    alone. Key stage results (`maths_ks2`) and plan or previous targets are not entries.
    """
    if "upn" not in frame.columns:
        raise ValueError("the cohort has no 'upn' column")
    by_name: dict[str, list[tuple[str, str]]] = {}
    for column in frame.columns:
        found = _wide_column(str(column))
        if found:
            by_name.setdefault(found[0], []).append((found[1], column))
    names, masks = [], []
    for name, columns in by_name.items():
        entered = [c for kind, c in columns if kind == "entered"]
        chosen = entered or [c for _, c in columns]
        filled = np.zeros(len(frame), dtype=bool)
        for column in chosen:
            filled |= _says_entered(frame[column], yes_no=bool(entered))
        names.append(name)
        masks.append(filled)
    if not names:
        return _entries(frame["upn"].iloc[:0], pd.Series([], dtype="string"), None, subjects)
    taken = np.column_stack(masks)
    pupil, which = np.nonzero(taken)  # row-major: pupils in order, subjects in column order
    return _entries(
        frame["upn"].iloc[pupil].reset_index(drop=True),
        pd.Series(np.asarray(names, dtype=object)[which]),
        None,
        subjects,
    )


def _says_entered(cells: pd.Series, *, yes_no: bool) -> np.ndarray:
    """Which cells are not blank (and, for a yes/no `_entered` column, not a "no"); each
    distinct value is read once."""
    codes, distinct = pd.factorize(cells, use_na_sentinel=True)
    text = pd.Series(distinct, dtype=object).astype("string").str.strip().str.lower()
    filled = text.notna() & text.ne("")
    if yes_no:
        filled &= ~text.isin(NO_TEXTS).fillna(False)
    return np.r_[filled.to_numpy(dtype=bool), False][codes]


def _wide_column(column: str) -> tuple[str, str] | None:
    """(subject name, kind) of a wide entry column, or None: kind is entered, target or drop."""
    key = header_key(column)
    if key.endswith(_NOT_ENTRY_TARGETS):
        return None
    match = _WIDE_SUFFIX.match(key)
    if match:
        return match["subject"], match["kind"]
    parsed = parse_assessment(key)
    if parsed and parsed[1] in DATA_DROPS:
        return parsed[0], "drop"
    return None


def _entries(
    upns: pd.Series,
    names: pd.Series,
    qualifications: pd.Series | None,
    subjects: SubjectList | None,
) -> pd.DataFrame:
    """The entry frame in its canonical order: pupils as first listed, then subject key, then
    name. Names are trimmed (blank → ''); work is per distinct name, then spread by codes."""
    upns = upns.reset_index(drop=True)
    codes, uniques = pd.factorize(names.reset_index(drop=True), use_na_sentinel=True)
    distinct = pd.Series([*(str(u).strip() for u in uniques), ""], dtype=object)
    distinct_keys = subject_keys(distinct, subjects or load_subjects())
    name = pd.Series(distinct.to_numpy()[codes], dtype=object)
    keys = pd.Series(distinct_keys.to_numpy()[codes], dtype=object, name="subject")
    qualification = _qualification(
        qualifications.reset_index(drop=True)
        if qualifications is not None
        else pd.Series(None, index=name.index, dtype=object)
    )
    is_gcse = qualification.eq(GCSE)
    status = np.select(
        [keys.isna().to_numpy(), ~is_gcse.to_numpy()], [UNKNOWN_SUBJECT, NOT_GCSE], KNOWN
    )
    entries = pd.DataFrame(
        {
            "upn": upns.astype(object),
            "subject": keys,
            "qualification": qualification,
            "name": name,
            "known": status == KNOWN,
            "status": status,
        }
    )
    # Sort by integer ranks (one per distinct value), not by the strings themselves.
    key_rank = pd.Series(distinct_keys.fillna("~").to_numpy(dtype=object)).rank(method="dense")
    name_rank = distinct.rank(method="dense")
    order = np.lexsort(
        (
            name_rank.to_numpy()[codes],
            key_rank.to_numpy()[codes],
            pd.factorize(upns)[0],
        )
    )
    return entries.iloc[order].reset_index(drop=True)[ENTRY_COLUMNS]


def _qualification(values: pd.Series) -> pd.Series:
    """`GCSE` for a GCSE however written (blank counts as GCSE), else the text as given."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [str(u).strip() for u in uniques]
    labels = [GCSE if name_key(t) == "" else t for t in text]
    return pd.Series(np.array([*labels, GCSE], dtype=object)[codes], index=values.index)
