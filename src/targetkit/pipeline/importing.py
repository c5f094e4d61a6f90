"""Turn raw MIS tables into one clean cohort, listing every problem and dropping no pupil.

Pure pandas (SPEC §4 `import`, §7 "Import severities"): the caller reads the files and hands
over `SourceTable`s; this module maps headers to canonical names, leaves out blank and totals
rows (listing each), normalises values, checks UPNs, year groups, dates of birth and grades, and
joins several sources on `upn` (else `pupil_id`). Every check works on whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetkit import findings
from targetkit.columns import (
    DATA_DROPS,
    IGNORE,
    PUPIL_COLUMNS,
    canonical_columns,
    duplicates_of,
    parse_assessment,
    preferred_header,
)
from targetkit.errors import InputError, UsageError
from targetkit.pipeline import values as v
from targetkit.scales import load_scale
from targetkit.upn import MISSING, validate_upns
from targetkit.wording import counted

ISSUE_SHEET_COLUMNS = [
    "severity",
    "code",
    "source_file",
    "source_row",
    "column",
    "value",
    "message",
    "suggestion",
]
WHOLE_ROW = "(whole row)"
BOOKKEEPING = ("source_file", "source_row", "row_issues")
SEVERITIES = findings.KIND_SEVERITIES["data"]  # import's words, worst first
BOOLEAN_COLUMNS = ("fsm", "disadvantaged", "lac", "gifted", "fsm_ever6", "ever_in_care")
TEXT_COLUMNS = ("pupil_id", "surname", "forename", "school")
# Which scales a grade column may be on, by its point; the first wins a tie (SPEC §3 "Scales").
SCALE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "eyfs": ("eyfs",),
    "ks1": ("nc", "ks1ta"),
    "ks2": ("nc", "ks2ss", "ks2writing", "ks2science"),
    "ks3": ("nc",),
    "ks4": ("gcse91", "gcse"),
    **{drop: ("steps", "nc") for drop in DATA_DROPS},
    "target": ("nc", "steps", "gcse91", "gcse", "ks2ss", "pscales"),
}
# Teacher assessments of science are on a scale of their own (EXS/HNM) at KS1 and KS2.
SCIENCE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "ks1": ("nc", "ks2science", "ks1ta"),
    "ks2": ("nc", "ks2ss", "ks2science", "ks2writing"),
}
_TARGET_SUFFIXES = ("_plan_target", "_previous_target", "_target")


@dataclass
class SourceTable:
    """One table as read from a file: cells as stored, index = the row number seen in Excel."""

    name: str
    frame: pd.DataFrame
    header_row: int = 1
    blank_rows: Sequence[int] = ()
    uncalculated: Sequence[tuple[int, str]] = ()  # (row, column) of formulas never calculated
    # Issues found while reading (a CTF's results that map to no column), in ISSUE_COLUMNS
    # plus `column`, index = source row.
    notes: Sequence[pd.DataFrame] = ()


@dataclass
class Prepared:
    """One source after mapping and checks; all frames indexed by source row."""

    source: SourceTable
    canonical: pd.DataFrame
    unmapped: pd.DataFrame
    issues: pd.DataFrame  # ISSUE_SHEET_COLUMNS, index = source row
    headers: dict[str, str]  # canonical name -> original header
    scales: dict[str, str]  # grade column -> scale used


@dataclass
class ImportResult:
    """The cohort (`pupils`), every issue, and how the cohort was put together."""

    pupils: pd.DataFrame
    issues: pd.DataFrame
    key: str | None
    disadvantaged_from: str
    headers: list[dict[str, str]] = field(default_factory=list)  # per source: original -> canon
    scales: dict[str, str] = field(default_factory=dict)
    # The position in `pupils` of each issue's pupil (None for a file-level issue), so that
    # `row_issues` can be rebuilt after the issues' wording changes (`row_issue_texts`).
    issue_pupils: pd.Series | None = None

    def counts(self) -> dict[str, int]:
        found = self.issues["severity"].value_counts()
        return {severity: int(found.get(severity, 0)) for severity in SEVERITIES}

    def top_problems(self, n: int = 5) -> list[dict[str, object]]:
        """The most frequent kinds of issue, errors first, each with an example message."""
        if self.issues.empty:
            return []
        rank = self.issues["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
        grouped = (
            self.issues.assign(rank=rank)
            .groupby(["rank", "severity", "code", "column"], sort=False)
            .agg(count=("message", "size"), example=("message", "first"), rows=("source_row", list))
            .reset_index()
            .sort_values(["rank", "count"], ascending=[True, False], kind="stable")
            .head(n)
        )
        return [
            {
                "severity": row.severity,
                "code": row.code,
                "column": row.column,
                "count": int(row.count),
                "example": row.example,
                "rows": [int(r) for r in row.rows[:5] if r == r],
            }
            for row in grouped.itertuples(index=False)
        ]


# ---------------------------------------------------------------------------------------------
# Headers


def map_headers(
    source: SourceTable, mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], pd.DataFrame]:
    """Original header → canonical name for the columns targetkit knows, and the notes made.

    Several headers meaning one column (a DfE download's `LAESTAB`, `URN` and `ESTAB`) are
    settled by the preference list of `data/columns/aliases.yaml`: the first listed becomes the
    column, the others are kept under their own names, with an info saying so. A clash the
    list does not settle is an error naming both. Headers mapped to `ignore` are kept as they
    are, not interpreted.
    """
    found = {
        header: name
        for header, name in canonical_columns(source.frame.columns, mapping).items()
        if name != IGNORE
    }
    notes = []
    for canonical, headers in duplicates_of(found).items():
        chosen = preferred_header(canonical, headers)
        if chosen is None:
            names = " and ".join(repr(h) for h in headers)
            raise InputError(
                f"the columns {names} both mean {canonical!r}",
                file=source.name,
                row=source.header_row,
                hint="remove or rename one, or map one to another name (or to ignore) with "
                "--mapping",
            )
        others = [h for h in headers if h != chosen]
        for header in others:
            del found[header]
        notes.append(
            _row_issues(
                [source.header_row],
                "COLUMN_CHOSEN",
                chosen,
                "",
                headers=" and ".join(map(repr, [chosen, *others])),
                both="both" if len(headers) == 2 else "all",
                canonical=canonical,
                chosen=chosen,
                others="the other kept under its own name"
                if len(others) == 1
                else "the others kept under their own names",
            )
        )
    return found, _stack(notes)


def grade_scale(name: str) -> tuple[str, ...] | None:
    """The scales a canonical grade column may be on, or None when it is not a grade column."""
    if name.endswith(_TARGET_SUFFIXES):
        return SCALE_CANDIDATES["target"]
    if name.endswith("_ks2_outcome"):
        return ("ks2outcome",)
    parsed = parse_assessment(name)
    if parsed is None:
        return None
    if parsed[0] == "science" and parsed[1] in SCIENCE_CANDIDATES:
        return SCIENCE_CANDIDATES[parsed[1]]
    return SCALE_CANDIDATES.get(parsed[1])


# ---------------------------------------------------------------------------------------------
# Rows that are not pupils


def totals_rows(frame: pd.DataFrame, identity: Sequence[str]) -> pd.Series:
    """Rows that are totals or counts ("Total", "Count: 30", "30 pupils"), not pupils.

    Needs: the raw frame and the headers of its identity columns (UPN, ids, names). A row is a
    totals row when one of its cells starts like a total and its identity cells hold nothing
    else. Returns the matching text per totals row (index = source row).
    """
    pattern = "|".join(f"(?:{p})" for p in v.vocabulary().totals_patterns)
    matched = pd.Series(None, index=frame.index, dtype=object)
    if not pattern or frame.empty:
        return matched.dropna()
    looks_like_total = re.compile(pattern, re.IGNORECASE)
    hits = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for column in frame.columns:
        values = frame[column]
        totals = {
            u: u.strip()
            for u in pd.unique(values.dropna())
            if isinstance(u, str) and looks_like_total.match(u.strip())
        }
        if totals:
            hit = values.isin(list(totals)).to_numpy(dtype=bool)
            hits[column] = hit
            matched = matched.where(matched.notna() | ~hit, values.map(totals))
    any_hit = hits.any(axis=1)
    identity_empty = pd.Series(True, index=frame.index)
    for column in identity:
        identity_empty &= pd.Series(v.is_blank(frame[column]), index=frame.index) | hits[column]
    return matched[any_hit & identity_empty]


def _row_issues(
    rows: Sequence[int] | pd.Index,
    code: str,
    column: str,
    value: object,
    /,
    *,
    variant: str | None = None,
    **quotes: object,
) -> pd.DataFrame:
    """One issue per row, worded by the catalogue: `quotes` fill the message and suggestion
    (a Series gives one value per row, in the order of `rows`)."""
    index = pd.Index(list(rows), dtype="int64")
    quotes = {k: _by_position(q, index) for k, q in quotes.items()}
    return pd.DataFrame(
        {
            "severity": findings.severity(code),
            "code": code,
            "column": column,
            "value": _by_position(value, index),
            "message": findings.message(code, variant=variant, index=index, **quotes),
            "suggestion": findings.suggestion(code, index=index, **quotes),
        },
        index=index,
    ).astype(object)


def _by_position(value: object, index: pd.Index) -> object:
    """A Series (or array) as the values of `index` in order; a scalar as it is."""
    if isinstance(value, (pd.Series, np.ndarray, list)):
        return pd.Series(np.asarray(value, dtype=object), index=index, dtype=object)
    return value


# ---------------------------------------------------------------------------------------------
# One source


def prepare_source(
    source: SourceTable, *, academic_year: int, mapping: Mapping[str, str] | None = None
) -> Prepared:
    """Map, filter and check one source table. Adds nothing to the input; returns new frames."""
    frame = source.frame
    found, column_notes = map_headers(source, mapping)
    headers = {canonical: original for original, canonical in found.items()}
    identity = [headers[c] for c in ("upn", "pupil_id", "surname", "forename") if c in headers]
    totals = totals_rows(frame, identity)
    issues = [column_notes, *source.notes]
    last_row = int(frame.index.max()) if len(frame) else 0
    inside = [row for row in source.blank_rows if row < last_row]
    for column in dict.fromkeys(column for _, column in source.uncalculated):
        rows = [row for row, at in source.uncalculated if at == column]
        issues.append(_row_issues(rows, "FORMULA_NOT_CALCULATED", column, ""))
    if inside:
        issues.append(_row_issues(inside, "BLANK_ROW", WHOLE_ROW, ""))
    if len(totals):
        issues.append(_row_issues(totals.index, "TOTALS_ROW", WHOLE_ROW, totals))
    pupils = frame.drop(index=totals.index)
    issues.append(_long_text_issues(pupils))
    canonical = pd.DataFrame(index=pupils.index)
    scales: dict[str, str] = {}
    for name, original in headers.items():
        raw = v.decode_column(original, pupils[original])
        normalised, used = _normalise_column(name, raw)
        if used:
            scales[name] = used
        if name in (*BOOLEAN_COLUMNS, "eal"):
            read_as_no = v.blank_means_no(raw, normalised)
            if read_as_no is not None:
                normalised = read_as_no
                issues.append(_blank_means_no_note(source, original, raw))
        canonical[name] = normalised.values
        if name == "ethnicity" and "ethnicity_extended" not in headers:
            extended = v.extended_ethnicity(raw)
            if extended.notna().any():
                canonical["ethnicity_extended"] = extended.to_numpy(dtype=object)
        found_issues = normalised.issues.assign(column=original)
        issues.append(found_issues)
    if "upn" in canonical:
        issues.append(_upn_issues(canonical, headers["upn"]))
    elif len(pupils):
        issues.append(_row_issues([source.header_row], "NO_UPN_COLUMN", WHOLE_ROW, ""))
    if "dob" in canonical and "year_group" in canonical:
        issues.append(_dob_issues(canonical, headers["dob"], academic_year))
    unmapped = pupils[[c for c in pupils.columns if c not in found]]
    # A re-imported cohort already has targetkit's bookkeeping columns: keep them, renamed.
    unmapped = unmapped.rename(columns={c: f"{c} (input)" for c in BOOKKEEPING if c in unmapped})
    all_issues = _in_sheet_order(_stack(issues), list(frame.columns)).assign(
        source_file=source.name
    )
    return Prepared(source, canonical, unmapped, all_issues, headers, scales)


def _long_text_issues(pupils: pd.DataFrame) -> pd.DataFrame:
    """A text longer than an Excel cell holds (a pasted document, a corrupt export): a
    workbook output keeps it to the limit, so it is said, naming its row and column."""
    from targetkit.io import MAX_CELL_TEXT, long_text_cells

    found = long_text_cells(pupils)
    return _stack(
        [
            _row_issues(
                cells["row"].to_numpy(),
                "TEXT_TOO_LONG",
                column,
                "",
                length=cells["length"].map("{:,}".format),
                limit=f"{MAX_CELL_TEXT:,}",
            )
            for column, cells in found.groupby("column", sort=False)
        ]
    )


def _blank_means_no_note(source: SourceTable, header: str, raw: pd.Series) -> pd.DataFrame:
    """The one info saying a `Y`-and-blank column was read with blank as no."""
    blank = int(v.is_blank(raw).sum())
    yes = str(raw[~v.is_blank(raw)].iloc[0]).strip()
    return _row_issues(
        [source.header_row],
        "BLANK_MEANS_NO",
        header,
        yes,
        yes=yes,
        blanks=counted(blank, "blank cell"),
    )


def _normalise_column(name: str, raw: pd.Series) -> tuple[v.Normalised, str | None]:
    if name == "upn":
        cleaned = raw.map(lambda x: str(x).strip().upper() or None, na_action="ignore")
        return v.Normalised(cleaned.astype(object), v.empty_issues()), None
    if name in BOOLEAN_COLUMNS:
        return v.normalise_boolean(raw), None
    if name == "eal":
        return v.normalise_eal(raw), None
    if name == "year_group":
        return v.normalise_year_group(raw), None
    if name == "gender":
        return v.normalise_gender(raw), None
    if name == "sen":
        return v.normalise_sen(raw), None
    if name == "ethnicity":
        return v.normalise_ethnicity(raw), None
    if name == "dob":
        return v.normalise_date(raw), None
    if name == "attendance":
        return v.normalise_attendance(raw), None
    candidates = grade_scale(name)
    if candidates:
        return _normalise_grades(raw, candidates)
    return v.normalise_text(raw), None


def _normalise_grades(raw: pd.Series, candidates: Sequence[str]) -> tuple[v.Normalised, str]:
    """Grades on the candidate scale that reads most of the column (first wins a tie).

    The column gets the canonical grade (`2B` → `2b`, with an info issue) or the non-grade
    code (`A`); a value no candidate scale knows is an error with the nearest grades, left blank.
    """
    text = raw.map(lambda x: str(x).strip(), na_action="ignore")
    parsed = [load_scale(name).parse(text) for name in candidates]
    counts = [int(p.grade.notna().sum()) for p in parsed]
    best = parsed[int(np.argmax(counts))]
    values = best.grade.where(best.grade.notna(), best.code)
    respelt = best.grade.notna() & (best.grade != text)
    issues = [
        _row_issues(
            raw.index[respelt],
            "GRADE_SPELLING",
            "",
            text[respelt],
            written=text[respelt],
            grade=best.grade[respelt],
        )
    ]
    problems = best.problems("")
    if len(problems):
        issues.append(
            _row_issues(
                problems.index,
                "UNKNOWN_GRADE",
                "",
                problems["value"],
                scale=best.scale.name,
                scale_title=best.scale.title,
                nearest=problems["suggestion"],
            )
        )
    frame = _stack(issues)[v.ISSUE_COLUMNS]
    return v.Normalised(values.astype(object), frame), best.scale.name


def _upn_issues(canonical: pd.DataFrame, header: str) -> pd.DataFrame:
    """Missing, malformed, wrong-check-letter, temporary and duplicate UPNs (every row involved)."""
    checked = validate_upns(canonical["upn"])
    problem = checked["problem"]
    codes = np.select(
        [
            problem.eq(MISSING).to_numpy(dtype=bool),
            problem.str.startswith("wrong check letter").fillna(False).to_numpy(dtype=bool),
        ],
        ["MISSING_UPN", "UPN_CHECK_LETTER"],
        default="UPN_FORMAT",
    )
    bad = problem.notna().to_numpy(dtype=bool)
    found = [
        _row_issues(
            canonical.index[bad & (codes == code)],
            code,
            header,
            canonical["upn"][bad & (codes == code)].fillna(""),
            problem=problem[bad & (codes == code)],
        )
        for code in ("MISSING_UPN", "UPN_CHECK_LETTER", "UPN_FORMAT")
    ]
    temporary = checked["temporary"] & ~bad
    if temporary.any():
        found.append(
            _row_issues(
                canonical.index[temporary], "TEMPORARY_UPN", header, canonical["upn"][temporary]
            )
        )
    upn = canonical["upn"]
    repeated = upn.notna() & upn.duplicated(keep=False)
    if repeated.any():
        rows = pd.Series(upn.index[repeated], index=upn.index[repeated])
        where = rows.groupby(upn[repeated]).agg(lambda r: ", ".join(str(x) for x in r))
        found.append(
            _row_issues(
                upn.index[repeated],
                "DUPLICATE_UPN",
                header,
                upn[repeated],
                rows=upn[repeated].map(where),
            )
        )
    return _stack(found)


def _dob_issues(canonical: pd.DataFrame, header: str, academic_year: int) -> pd.DataFrame:
    """A date of birth outside the age range of the pupil's year group is a warning."""
    year_group = canonical["year_group"].astype("Int64")
    expected = v.birth_year_group(canonical["dob"], academic_year)
    nursery_ok = year_group.eq(-1) & expected.isin([-1, -2])
    wrong = (
        (year_group.notna() & expected.notna() & year_group.ne(expected) & ~nursery_ok)
        .fillna(False)
        .astype(bool)
    )
    if not wrong.any():
        return v.empty_issues()
    labels = {g: v.year_label(g) for g in range(-6, 20)}
    dob_text = canonical["dob"][wrong].map(lambda d: d.strftime("%d/%m/%Y"))
    year_text = f"{academic_year}/{(academic_year + 1) % 100:02d}"
    return _row_issues(
        canonical.index[wrong],
        "DOB_OUTSIDE_YEAR_GROUP",
        header,
        dob_text,
        dob=dob_text,
        expected=expected[wrong].map(labels).fillna("another year").astype(str),
        academic_year=year_text,
        year_group=year_group[wrong].map(labels).astype(str),
    )


def _in_sheet_order(issues: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Issues by source row, then left to right as the columns stand in the file."""
    position = {name: i for i, name in enumerate(columns)}
    order = issues["column"].map(position).fillna(-1)
    keys = pd.DataFrame({"row": issues.index.to_numpy(), "position": order.to_numpy()})
    return issues.iloc[keys.sort_values(["row", "position"], kind="stable").index.to_numpy()]


def _stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if len(f)]
    if not kept:
        return v.empty_issues().assign(column=pd.Series(dtype=object))
    return pd.concat(kept).astype(object)


# ---------------------------------------------------------------------------------------------
# Several sources: one cohort


def join_key(prepared: Sequence[Prepared]) -> str | None:
    """`upn` when every source has it, else `pupil_id`; None for a single source."""
    if len(prepared) == 1:
        return None
    for key in ("upn", "pupil_id"):
        if all(key in p.canonical for p in prepared):
            return key
    names = ", ".join(p.source.name for p in prepared if "upn" not in p.canonical)
    raise UsageError(
        f"cannot join the sources: {names} has neither a UPN nor an admission number column",
        hint="import the files one at a time, or add a UPN column",
    )


def import_cohort(
    sources: Sequence[SourceTable],
    *,
    academic_year: int,
    mapping: Mapping[str, str] | None = None,
) -> ImportResult:
    """The whole import: every pupil row of every source in `pupils`, every problem in `issues`.

    `pupils` has the canonical columns (normalised), then the unmapped columns unchanged, then
    `source_file`, `source_row` and `row_issues`. Pupils of the first source come first in its
    order; later sources fill in their columns by key and add pupils the first does not have.
    """
    prepared = [prepare_source(s, academic_year=academic_year, mapping=mapping) for s in sources]
    key = join_key(prepared)
    base = prepared[0]
    cohort = pd.concat(
        [base.canonical.reset_index(drop=True), base.unmapped.reset_index(drop=True)], axis=1
    )
    origin = [base.source.name] * len(base.canonical)
    origin_rows = list(base.canonical.index)
    positions = [pd.Series(np.arange(len(base.canonical)), index=base.canonical.index)]
    issues = [base.issues]
    for other in prepared[1:]:
        cohort, placed, extra = _join_source(cohort, origin, origin_rows, base, other, key)
        origin += [other.source.name] * (len(cohort) - len(origin))
        origin_rows += list(other.canonical.index[(placed >= len(origin_rows)).to_numpy()])
        positions.append(placed)
        issues.append(pd.concat([other.issues, extra]) if len(extra) else other.issues)
    pupils, disadvantaged_from = _with_disadvantaged(cohort, prepared)
    pupils = _order_columns(pupils, prepared)
    pupils["source_file"] = origin
    pupils["source_row"] = pd.array(origin_rows, dtype="Int64")
    all_issues, issue_pupils = _collect_issues(issues, positions)
    pupils["row_issues"] = row_issue_texts(all_issues, issue_pupils, len(pupils))
    scales: dict[str, str] = {}
    for p in prepared:
        scales.update(p.scales)
    return ImportResult(
        pupils=pupils,
        issues=all_issues,
        key=key,
        disadvantaged_from=disadvantaged_from,
        headers=[{o: c for c, o in p.headers.items()} for p in prepared],
        scales=scales,
        issue_pupils=issue_pupils,
    )


def _join_source(
    cohort: pd.DataFrame,
    origin: list[str],
    origin_rows: list[int],
    base: Prepared,
    other: Prepared,
    key: str | None,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Fill `other`'s columns into the cohort by key; report conflicts; append the unmatched."""
    assert key is not None
    cohort_keys = _join_values(cohort[key], key)
    unique_keys = cohort_keys.notna() & ~cohort_keys.duplicated(keep=False)
    where = pd.Series(np.flatnonzero(unique_keys.to_numpy()), index=cohort_keys[unique_keys])
    theirs = _join_values(other.canonical[key], key)
    joinable = theirs.notna() & ~theirs.duplicated(keep=False) & theirs.isin(where.index)
    placed = pd.Series(-1, index=other.canonical.index, dtype="int64")
    placed[joinable] = where.reindex(theirs[joinable]).to_numpy()
    unmatched = ~joinable
    placed[unmatched] = np.arange(len(cohort), len(cohort) + int(unmatched.sum()))
    extra_issues = []
    renamed = {
        c: f"{c} ({other.source.name})" for c in other.unmapped.columns if c in cohort.columns
    }
    additions = pd.concat([other.canonical, other.unmapped.rename(columns=renamed)], axis=1)
    appended = additions[unmatched.to_numpy()].reset_index(drop=True)
    matched_rows = additions[joinable.to_numpy()]
    target = placed[joinable].to_numpy()
    for column in additions.columns:
        incoming = matched_rows[column]
        if column not in cohort.columns:
            cohort[column] = pd.Series([None] * len(cohort), dtype=incoming.dtype)
            cohort.loc[target, column] = incoming.to_numpy()
            continue
        current = cohort[column].iloc[target]
        both = current.notna().to_numpy() & incoming.notna().to_numpy()
        differ = both.copy()
        differ[both] = current.to_numpy(dtype=object)[both] != incoming.to_numpy(dtype=object)[both]
        if differ.any() and column != key:
            first_rows = np.array(origin_rows, dtype=object)[target[differ]]
            kept = current.to_numpy(dtype=object)[differ]
            extra_issues.append(
                _row_issues(
                    incoming.index[differ],
                    "CONFLICTING_SOURCES",
                    other.headers.get(column, column),
                    incoming[differ].map(_text),
                    first_file=base.source.name,
                    first_row=pd.Series(first_rows, dtype=object),
                    kept=pd.Series(kept, dtype=object).map(_text),
                )
            )
        fill = current.isna().to_numpy() & incoming.notna().to_numpy()
        if fill.any():
            cohort.loc[target[fill], column] = incoming.to_numpy(dtype=object)[fill]
    if len(appended):
        missing_key = appended[key].isna().to_numpy()
        keyed = other.canonical.index[unmatched.to_numpy()][~missing_key]
        if len(keyed):
            extra_issues.append(
                _row_issues(
                    keyed,
                    "NOT_IN_FIRST_SOURCE",
                    other.headers[key],
                    other.canonical.loc[keyed, key],
                    first_file=base.source.name,
                )
            )
        cohort = pd.concat([cohort, appended], ignore_index=True)
    extra = _stack(extra_issues).assign(source_file=other.source.name)
    return cohort, placed, extra


def _join_values(values: pd.Series, key: str) -> pd.Series:
    """Keys as compared when joining: an admission number `001258` (CSV) is `1258` (workbook)."""
    keys = values.astype(object)
    if key == "pupil_id":
        keys = keys.map(lambda k: str(k).lstrip("0") or "0", na_action="ignore")
    return keys


def _text(value: object) -> str:
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")  # type: ignore[union-attr]
    return str(value)


def _with_disadvantaged(
    cohort: pd.DataFrame, prepared: Sequence[Prepared]
) -> tuple[pd.DataFrame, str]:
    """`disadvantaged` from its column when any source has one, else derived (SPEC §7, §8).

    Derived as the DfE's pupil premium definition where the data allows: ever-6 FSM, looked
    after or ever in care; without an ever-6 FSM column, current FSM stands in for it.
    """
    for p in prepared:
        if "disadvantaged" in p.headers:
            return cohort, f"from the column {p.headers['disadvantaged']!r} of {p.source.name}"
    first = "fsm_ever6" if "fsm_ever6" in cohort else "fsm"
    parts = [c for c in (first, "lac", "ever_in_care") if c in cohort]
    if not parts:
        return cohort, "not available: no disadvantaged, pupil premium, FSM or looked-after column"
    derived = pd.Series(pd.NA, index=cohort.index, dtype="boolean")
    derived[:] = False
    for column in parts:
        derived = derived | cohort[column].astype("boolean")
    cohort = cohort.assign(disadvantaged=derived)
    titles = {
        "fsm_ever6": "ever-6 FSM",
        "fsm": "FSM",
        "lac": "looked after",
        "ever_in_care": "ever in care",
    }
    names = " or ".join(titles[c] for c in parts)
    return cohort, f"derived as {names} (no disadvantaged or pupil premium column)"


def _order_columns(cohort: pd.DataFrame, prepared: Sequence[Prepared]) -> pd.DataFrame:
    canonical: list[str] = [c for c in PUPIL_COLUMNS if c in cohort.columns]
    for p in prepared:
        canonical += [c for c in p.canonical.columns if c not in canonical]
    rest = [c for c in cohort.columns if c not in canonical]
    return cohort[canonical + rest].copy()


def _collect_issues(
    issues: Sequence[pd.DataFrame], positions: Sequence[pd.Series]
) -> tuple[pd.DataFrame, pd.Series]:
    """All issues in source order, and the position in the cohort of each issue's pupil."""
    frames = []
    for order, (found, where) in enumerate(zip(issues, positions, strict=True)):
        if not len(found):
            continue
        frames.append(
            found.assign(
                source_row=found.index.to_numpy(),
                pupil=where.reindex(found.index).to_numpy(),
                file_order=order,
            )
        )
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_SHEET_COLUMNS})
        return empty, pd.Series([], dtype=object)
    every = pd.concat(frames, ignore_index=True)
    every = every.sort_values(["file_order", "source_row"], kind="stable")
    every["source_row"] = every["source_row"].astype("int64")
    for column in ("value", "suggestion"):
        every[column] = every[column].fillna("").astype(object)
    pupil = every["pupil"].astype(object).where(every["pupil"].notna(), None)
    return every[ISSUE_SHEET_COLUMNS].reset_index(drop=True), pupil.reset_index(drop=True)


def row_issue_texts(issues: pd.DataFrame, issue_pupils: pd.Series, n: int) -> pd.Series:
    """Each of `n` pupils' errors and warnings as one text (`row_issues`), from the issues
    and the position of each issue's pupil."""
    if issues.empty:
        return pd.Series([None] * n, dtype=object)
    pupil = issue_pupils.reset_index(drop=True)
    kept = (issues["severity"].isin(["error", "warning"]) & pupil.notna()).to_numpy()
    row_text = issues[kept]
    text = (
        (row_text["severity"] + " " + row_text["column"].astype(str) + ": " + row_text["message"])
        .groupby(pupil[kept].astype("int64").to_numpy())
        .agg("; ".join)
    )
    return pd.Series(text.reindex(range(n)).to_numpy(dtype=object), dtype=object)
