"""Canonical column names and forgiving header matching (SPEC §3).

`Reading KS1`, `reading_ks1` and ` READING-ks1 ` are the same column: headers are compared by
their *key* (lower case, spaces/`_`/`-` folded to one `_`). MIS spellings ("Legal Surname",
"NC Year", ...) come from the shipped alias file `data/columns/aliases.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from importlib import resources

PUPIL_COLUMNS: tuple[str, ...] = (
    "upn",
    "pupil_id",
    "surname",
    "forename",
    "school",
    "year_group",
    "gender",
    "dob",
    "fsm",
    "disadvantaged",
    "sen",
    "eal",
    "lac",
    "ethnicity",
    "gifted",
    "attendance",
)

SUBJECTS: tuple[str, ...] = ("reading", "writing", "maths", "english", "science")
KEY_STAGES: tuple[str, ...] = ("eyfs", "ks1", "ks2", "ks3", "ks4")
DATA_DROPS: tuple[str, ...] = ("aut1", "aut2", "spr1", "spr2", "sum1", "sum2")

_SEPARATORS = re.compile(r"[\s_\-]+")
_SUBJECT = r"(?P<subject>[a-z][a-z0-9]*)"
_POINT = r"(?P<point>eyfs|ks[1-5]|aut[12]|spr[12]|sum[12])"
ASSESSMENT_COLUMN = re.compile(rf"^{_SUBJECT}_{_POINT}(?:_(?P<year>\d{{4}}))?$")
_POINT_FIRST = re.compile(rf"^{_POINT}_{_SUBJECT}$")
# Subject names an MIS may use for the canonical ones.
_SUBJECT_ALIASES = {"mathematics": "maths", "math": "maths", "read": "reading", "eng": "english"}


def header_key(header: object) -> str:
    """The comparison key of a header: lower case, trimmed, separators folded to `_`."""
    return _SEPARATORS.sub("_", str(header).strip().lower()).strip("_")


@cache
def mis_aliases() -> dict[str, str]:
    """Header key → canonical name, from the shipped alias file."""
    import yaml

    text = resources.files("targetkit").joinpath("data/columns/aliases.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return {
        header_key(alias): canonical
        for canonical, names in raw["aliases"].items()
        for alias in [canonical, *names]
    }


def canonical_name(header: object, extra: Mapping[str, str] | None = None) -> str | None:
    """The canonical name a header stands for, or None when it is not one targetkit knows.

    `extra` is a user mapping (header → canonical) that wins over the shipped aliases.
    """
    if extra:
        user = {header_key(k): v for k, v in extra.items()}
        if header_key(header) in user:
            return user[header_key(header)]
    return _shipped_name(str(header))


@lru_cache(maxsize=1 << 16)
def _shipped_name(header: str) -> str | None:
    """The canonical name by the shipped rules alone (cached: headers repeat across files)."""
    key = header_key(header)
    if key in PUPIL_COLUMNS:
        return key
    alias = mis_aliases().get(key)
    if alias:
        return alias
    from targetkit.labels import column_name  # headers in words of targetkit's own columns

    return assessment_name(key) or column_name(header)


def assessment_name(key: str) -> str | None:
    """`reading_ks1`, `KS1 Reading`, `maths_sum2_2025`, `maths_plan_target` → canonical form."""
    match = ASSESSMENT_COLUMN.match(key)
    if match:
        subject = _SUBJECT_ALIASES.get(match["subject"], match["subject"])
        year = f"_{match['year']}" if match["year"] else ""
        return f"{subject}_{match['point']}{year}"
    match = _POINT_FIRST.match(key)
    if match:
        subject = _SUBJECT_ALIASES.get(match["subject"], match["subject"])
        return f"{subject}_{match['point']}"
    for suffix in ("plan_target", "target", "previous_target"):
        if key.endswith("_" + suffix):
            subject = key[: -len(suffix) - 1]
            if subject in SUBJECTS or subject in _SUBJECT_ALIASES:
                return f"{_SUBJECT_ALIASES.get(subject, subject)}_{suffix}"
    return None


def is_known_header(header: str) -> bool:
    """Whether a header is a column targetkit recognises (used to find the header row)."""
    return canonical_name(header) is not None


def canonical_columns(
    headers: Iterable[object], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map each recognised original header to its canonical name.

    Headers that are not recognised are left out (they are kept unchanged by the callers).
    Two headers meaning the same column are an ambiguity the caller reports: see `duplicates_of`.
    """
    found: dict[str, str] = {}
    for header in headers:
        name = canonical_name(header, extra)
        if name is not None:
            found[str(header)] = name
    return found


def unambiguous_columns(
    headers: Iterable[object], file: object, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`canonical_columns`, refusing two headers that mean one column (the error names both)."""
    from targetkit.errors import InputError

    mapping = canonical_columns(headers, extra)
    clashes = duplicates_of(mapping)
    if clashes:
        name, originals = next(iter(clashes.items()))
        raise InputError(
            f"columns {', '.join(map(repr, originals))} both mean {name!r}",
            file=file,
            hint="rename or remove one of them",
        )
    return mapping


def duplicates_of(mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """Canonical names that more than one original header maps to."""
    seen: dict[str, list[str]] = {}
    for original, canonical in mapping.items():
        seen.setdefault(canonical, []).append(original)
    return {name: headers for name, headers in seen.items() if len(headers) > 1}


def parse_assessment(name: str) -> tuple[str, str, int | None] | None:
    """(subject, point, year) of a canonical assessment column, or None."""
    match = ASSESSMENT_COLUMN.match(name)
    if not match:
        return None
    return match["subject"], match["point"], int(match["year"]) if match["year"] else None
