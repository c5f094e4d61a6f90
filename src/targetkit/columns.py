"""Canonical column names and forgiving header matching (SPEC §3).

`Reading KS1`, `reading_ks1`, ` READING-ks1 ` and `ReadingKS1` are the same column: headers are
matched by their *match key* (lower case, spaces, `_`, `-` and `.` removed, so camel case needs
no rule of its own). Text in brackets still counts: `KS2 Reading (Scaled score)` and
`KS2 Reading (Outcome)` are different columns. MIS and DfE spellings ("Legal Surname", "NC Year",
`READSCORE`, ...) come from the shipped alias file `data/columns/aliases.yaml`; the prefixes and
suffixes of DfE/NPD extracts (`KS2_READSCORE`, `FSMeligible_SPR24`) are stripped by its rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
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

# Further identifying columns (names, numbers, contact): `--pseudonymise` replaces them too.
IDENTITY_COLUMNS: tuple[str, ...] = (
    "full_name",
    "preferred_forename",
    "preferred_surname",
    "preferred_name",
    "middle_names",
    "former_surname",
    "former_upn",
    "candidate_number",
    "email",
)
# Further pupil columns targetkit reads: ever-6 FSM and ever in care feed `disadvantaged`
# (SPEC §8); an extended ethnicity code is kept as given beside its main CBDS code.
DETAIL_COLUMNS: tuple[str, ...] = ("fsm_ever6", "ever_in_care", "ethnicity_extended")
# What `--mapping` may map a header to besides a canonical name: kept, never interpreted.
IGNORE = "ignore"

SUBJECTS: tuple[str, ...] = ("reading", "writing", "maths", "english", "science")
KEY_STAGES: tuple[str, ...] = ("eyfs", "ks1", "ks2", "ks3", "ks4")
DATA_DROPS: tuple[str, ...] = ("aut1", "aut2", "spr1", "spr2", "sum1", "sum2")

_SEPARATORS = re.compile(r"[\s_\-]+")
# GCSE subject keys of more than one word (data/subjects/gcse.yaml; a test keeps them in step).
MULTIWORD_SUBJECTS: tuple[str, ...] = (
    "ancient_history",
    "art_and_design",
    "biblical_hebrew",
    "classical_civilisation",
    "classical_greek",
    "combined_science",
    "computer_science",
    "design_and_technology",
    "english_language",
    "english_literature",
    "film_studies",
    "food_preparation_and_nutrition",
    "media_film_tv",
    "other_modern_languages",
    "other_sciences",
    "physical_education",
    "religious_studies",
    "social_studies",
)
_SUBJECT = rf"(?P<subject>{'|'.join(MULTIWORD_SUBJECTS)}|[a-z][a-z0-9]*)"
_POINT = rf"(?P<point>eyfs|ks[1-5]|{'|'.join(DATA_DROPS)})"  # the drops: one list
ASSESSMENT_COLUMN = re.compile(rf"^{_SUBJECT}_{_POINT}(?:_(?P<year>\d{{4}}))?$")
_POINT_FIRST = re.compile(rf"^{_POINT}_{_SUBJECT}$")
# Subject names an MIS may use for the canonical ones.
_SUBJECT_ALIASES = {"mathematics": "maths", "math": "maths", "read": "reading", "eng": "english"}


_KEY_STAGE = re.compile(r"_ks(\d)(?:_|$)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # ReadingKS1 -> Reading_KS1
_MATCH_DROP = re.compile(r"[\s_\-.]+")


def header_key(header: object) -> str:
    """The comparison key of a header: lower case, trimmed, separators folded to `_`."""
    return _SEPARATORS.sub("_", str(header).strip().lower()).strip("_")


def match_key(header: object) -> str:
    """The key headers are matched by: lower case, no spaces, `_`, `-` or `.` (`DateOfBirth`
    and `Date of Birth` are one key); brackets and other text are kept."""
    return _MATCH_DROP.sub("", str(header).strip().lower())


@cache
def _alias_file() -> dict:
    from targetkit.datafiles import safe_load

    text = resources.files("targetkit").joinpath("data/columns/aliases.yaml").read_text("utf-8")
    return safe_load(text)


@cache
def mis_aliases() -> dict[str, str]:
    """Match key → canonical name, from the shipped alias file."""
    return {
        match_key(alias): canonical
        for canonical, names in _alias_file()["aliases"].items()
        for alias in [canonical, *names]
    }


@cache
def entry_headers() -> dict[str, str]:
    """Match key → `upn`, `subject` or `qualification`: the headers of GCSE entries (the alias
    file's `entries`), for set-targets' `Entries` sheet or `--entries FILE`."""
    return {
        match_key(alias): name
        for name, names in _alias_file()["entries"].items()
        for alias in [name, *names]
    }


@cache
def _affixes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The DfE/NPD extract prefixes (`KS2_`) and suffixes (`_SPR24`) of the alias file."""
    rules = _alias_file().get("affixes", {})
    prefixes = "|".join(rules.get("prefixes", [])) or "(?!)"
    suffixes = "|".join(rules.get("suffixes", [])) or "(?!)"
    return (
        re.compile(rf"^(?:{prefixes})[\s_\-.]*(?P<rest>.+)$", re.IGNORECASE),
        re.compile(rf"^(?P<rest>.+?)[\s_\-.]*(?:{suffixes})$", re.IGNORECASE),
    )


def without_affixes(header: str) -> list[tuple[str, str]]:
    """The header with an NPD prefix and/or suffix removed: (prefix, rest) pairs to try."""
    prefix_rule, suffix_rule = _affixes()
    found: list[tuple[str, str]] = []
    suffix = suffix_rule.match(header)
    bodies = [header] + ([suffix["rest"]] if suffix else [])
    for body in bodies:
        prefix = prefix_rule.match(body)
        if prefix:
            found.append((body[: prefix.start("rest")], prefix["rest"]))
        if body is not header:
            found.append(("", body))
    return found


def column_preferences() -> dict[str, list[str]]:
    """Canonical name → headers in order of preference, when several mean that column."""
    return dict(_alias_file().get("preferences", {}))


def canonical_name(header: object, extra: Mapping[str, str] | None = None) -> str | None:
    """The canonical name a header stands for, or None when it is not one targetkit knows.

    `extra` is a user mapping (header → canonical name, any other name, or `ignore`) that
    wins over the shipped aliases.
    """
    if extra:
        user = {match_key(k): v for k, v in extra.items()}
        if match_key(header) in user:
            return user[match_key(header)]
    return _shipped_name(str(header))


@lru_cache(maxsize=1 << 16)
def _shipped_name(header: str) -> str | None:
    """The canonical name by the shipped rules alone (cached: headers repeat across files).

    In order: a canonical name itself, an alias, an alias once an NPD prefix or suffix is
    removed (`KS2_READSCORE`), then the `<subject>_<point>` pattern (`ReadingKS1`).
    """
    key = header_key(header)
    if key in PUPIL_COLUMNS or key in IDENTITY_COLUMNS or key in DETAIL_COLUMNS:
        return key
    alias = mis_aliases().get(match_key(header))
    if alias:
        return alias
    for prefix, rest in without_affixes(header.strip()):
        stage = re.sub(r"[^0-9]", "", prefix)
        # `KS2_READSCORE` is reading_ks2 and `KS1_READTA` is `READTA_KS1`; a KS1 prefix never
        # turns a KS2 alias (`READOUTCOME`, reading_ks2_outcome) into a column.
        for spelling in (rest, f"{rest}_KS{stage}") if stage else (rest,):
            found = mis_aliases().get(match_key(spelling))
            if found and (not stage or _key_stage(found) in (None, stage)):
                return found
    from targetkit.labels import column_name  # headers in words of targetkit's own columns

    return assessment_name(header_key(_CAMEL.sub("_", header.strip()))) or column_name(header)


def _key_stage(name: str) -> str | None:
    """The key stage a canonical column belongs to (`reading_ks2_outcome` → "2"), if any."""
    match = _KEY_STAGE.search(name)
    return match[1] if match else None


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
    """`canonical_columns`, refusing two headers that mean one column (the error names both)
    unless the canonical name itself or the shipped preference list settles it."""
    from targetkit.errors import InputError

    mapping = canonical_columns(headers, extra)
    for name, originals in duplicates_of(mapping).items():
        chosen = preferred_header(name, originals)
        for other in originals if chosen is not None else ():
            if other != chosen:
                del mapping[other]  # kept as an ordinary column (e.g. LAESTAB beside school)
    clashes = duplicates_of(mapping)
    if clashes:
        name, originals = next(iter(clashes.items()))
        raise InputError(
            f"columns {', '.join(map(repr, originals))} both mean {name!r}",
            file=file,
            hint="rename or remove one of them",
        )
    return mapping


def preferred_header(canonical: str, headers: Sequence[str]) -> str | None:
    """The header the shipped preference list picks for `canonical`, or None if it cannot.

    A header that is the canonical name itself (a cohort targetkit wrote) always wins.
    """
    exact = [h for h in headers if str(h).strip() == canonical]
    if len(exact) == 1:
        return exact[0]
    ranked = [match_key(h) for h in column_preferences().get(canonical, [])]

    def rank(header: str) -> int:
        keys = [match_key(header)] + [match_key(rest) for _, rest in without_affixes(header)]
        return min((ranked.index(k) for k in keys if k in ranked), default=len(ranked))

    ranks = sorted((rank(h), i, h) for i, h in enumerate(headers))
    if ranks[0][0] == len(ranked) or (len(ranks) > 1 and ranks[0][0] == ranks[1][0]):
        return None
    return ranks[0][2]


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
