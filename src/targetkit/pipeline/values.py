"""Normalise the values of pupil columns as MIS exports spell them (SPEC §3, §7 "Unknown values").

Each normaliser takes one column (index = the source row) and returns the canonical values plus
the issues found: `error` when the value cannot be used (left blank), `info` when targetkit changed
it for the user (old SEN code `A` → `K`). The vocabularies are data (`data/columns/values.yaml`);
each issue's severity and wording come from the findings catalogue (`data/findings.yaml`).
Work is done once per *distinct* value and mapped back, so 100,000 rows cost a lookup each.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from targetkit import findings
from targetkit.datafiles import load_yaml_model

ISSUE_COLUMNS = ["severity", "code", "value", "message", "suggestion"]
EXCEL_EPOCH = dt.date(1899, 12, 30)
_FOLD = re.compile(r"[\s_\-.]+")
_UK_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_SERIAL = re.compile(r"^\d{4,5}(?:\.0+)?$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
# `13 April 2004`, `13 Apr 2014`, `13-Apr-2014`, `13th April 2004`, `Tue 13 Apr 2014`.
_WORDS_DATE = re.compile(
    r"^(?:[a-z]{3,9},?\s+)?(\d{1,2})(?:st|nd|rd|th)?[\s/.\-]+([a-z]{3,9})\.?,?[\s/.\-]+(\d{4}|\d{2})$",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
# "K - SEN Support", "WBRI: White British", "E – EHCP": a code, a dash or colon, words.
_CODE_AND_WORDS = re.compile(r"^([A-Za-z]{1,4})\s*[-\u2013\u2014:]\s*\S.*$")
# A DfE first-language code (CBDS: POL, URD, PNJ, ...): three or four capital letters.
_LANGUAGE_CODE = re.compile(r"^[A-Z]{3,4}$")


# ---------------------------------------------------------------------------------------------
# The vocabulary file


class YearGroups(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefixes: list[str]
    named: dict[str, int]
    lowest: int
    highest: int


class OldSen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Literal["N", "K", "E"]
    title: str


class Sen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: dict[Literal["N", "K", "E"], list[str]]
    old: dict[str, OldSen]


class FirstLanguage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    english: list[str]
    other: list[str]
    unknown: list[str]


class ExtendedEthnicity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    codes: dict[str, list[str]]


class Vocabulary(BaseModel):
    """`data/columns/values.yaml`, validated when loaded."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    booleans: dict[Literal["true", "false"], list[str]]
    year_groups: YearGroups
    gender: dict[Literal["F", "M"], list[str]]
    sen: Sen
    first_language: FirstLanguage
    ethnicity: dict[str, list[str]]
    ethnicity_extended: ExtendedEthnicity
    coded_columns: dict[str, dict[str, str]] = {}
    totals_patterns: list[str] = []


@cache
def vocabulary() -> Vocabulary:
    path = resources.files("targetkit").joinpath("data/columns/values.yaml")
    return load_yaml_model(path, Vocabulary)  # type: ignore[arg-type]


def fold(value: object) -> str:
    """Compare vocabulary words ignoring case and runs of spaces, `_`, `-` and `.`."""
    return _FOLD.sub(" ", str(value).strip().lower()).strip()


# ---------------------------------------------------------------------------------------------
# The shared machinery: judge each distinct value once


@dataclass(frozen=True)
class Verdict:
    """What a normaliser makes of one distinct value: the value, and the finding code (with the
    values its message quotes and its wording variant) when there is something to say."""

    value: object = None
    code: str = ""
    quotes: Mapping[str, object] = field(default_factory=dict)
    variant: str | None = None

    def message(self) -> str:
        return str(findings.message(self.code, variant=self.variant, **self.quotes))

    def suggestion(self) -> str:
        return str(findings.suggestion(self.code, **self.quotes))


@dataclass
class Normalised:
    """A normalised column and its issues (index = source row; columns `ISSUE_COLUMNS`)."""

    values: pd.Series
    issues: pd.DataFrame


def is_blank(values: pd.Series) -> np.ndarray:
    """Missing values and text that is only spaces."""
    text = values.astype(object)
    missing = text.isna().to_numpy(dtype=bool)
    spaces = [u for u in pd.unique(text[~missing]) if isinstance(u, str) and not u.strip()]
    return missing | text.isin(spaces).to_numpy(dtype=bool)


def judge_distinct(
    values: pd.Series, judge: Callable[[object], Verdict], dtype: str | None = None
) -> Normalised:
    """Apply `judge` to each distinct non-blank value and map the verdicts back onto the rows."""
    raw = values.astype(object)
    blank = is_blank(raw)
    present = raw[~blank]
    verdicts: dict[Hashable, Verdict] = {v: judge(v) for v in pd.unique(present)}
    result = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    if len(present):
        result[~blank] = present.map({k: v.value for k, v in verdicts.items()}).to_numpy(
            dtype=object
        )
    result = result.where(result.notna(), None) if dtype is None else result.astype(dtype)
    flagged = {k: v for k, v in verdicts.items() if v.code}
    bad = present[present.isin(list(flagged))] if flagged else present.iloc[:0]
    issues = pd.DataFrame(
        {
            "severity": bad.map({k: findings.severity(v.code) for k, v in flagged.items()}),
            "code": bad.map({k: v.code for k, v in flagged.items()}),
            "value": bad.map(_display),
            "message": bad.map({k: v.message() for k, v in flagged.items()}),
            "suggestion": bad.map({k: v.suggestion() for k, v in flagged.items()}),
        },
        index=bad.index,
        columns=ISSUE_COLUMNS,
    ).astype(object)
    return Normalised(result, issues)


def _display(value: object) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def empty_issues(index: pd.Index | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series(dtype=object) for name in ISSUE_COLUMNS},
        index=index if index is not None else pd.Index([], dtype="int64"),
    )


# ---------------------------------------------------------------------------------------------
# Normalisers, one per kind of pupil column


def _word_table(groups: dict[str, list[str]]) -> dict[str, str]:
    return {fold(word): name for name, words in groups.items() for word in [name, *words]}


# How a yes/no flag reads in a cohort targetkit already tidied (import writes TRUE/FALSE; a
# workbook may hold real booleans, 1/0 or Y/N). Import itself uses the fuller vocabulary.
YES_TEXTS = frozenset({"y", "yes", "true", "t", "1", "1.0"})
NO_TEXTS = frozenset({"n", "no", "false", "f", "0", "0.0"})


def yes_no(values: pd.Series) -> pd.Series:
    """A yes/no column as True/False, blank or unrecognised as missing (unknown)."""
    text = values.astype("string").str.strip().str.lower()
    answer = pd.Series(pd.NA, index=values.index, dtype="boolean")
    answer[text.isin(YES_TEXTS).fillna(False).to_numpy()] = True
    answer[text.isin(NO_TEXTS).fillna(False).to_numpy()] = False
    return answer


def normalise_boolean(values: pd.Series) -> Normalised:
    """Y/N, Yes/No, True/False, T/F, 1/0 → True/False; blank stays blank (unknown)."""
    words = _word_table(vocabulary().booleans)

    def judge(value: object) -> Verdict:
        if isinstance(value, bool):
            return Verdict(value)
        found = words.get(fold(value))
        if found is None:
            return Verdict(None, "NOT_YES_NO")
        return Verdict(found == "true")

    return judge_distinct(values, judge, "boolean")


def year_group_of(value: object) -> int | None:
    """`Year 3`, `Y3`, `3`, `R`/`Rec` → 0, `N1`/`N2` → -1; None when not a year group."""
    rules = vocabulary().year_groups
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return int(number) if number.is_integer() else None
    text = fold(value)
    candidates = [text]
    for prefix in sorted(rules.prefixes, key=len, reverse=True):
        if text.startswith(prefix):
            candidates.append(text[len(prefix) :].strip())
    for candidate in candidates:
        if candidate in rules.named:
            return rules.named[candidate]
        if re.fullmatch(r"-?\d{1,3}", candidate):  # 5,000 digits is not a year group
            return int(candidate)
    return None


def year_label(year_group: int) -> str:
    """How a school names a year group: Nursery, Reception, Year 1 ... Year 13."""
    return {-2: "Nursery", -1: "Nursery", 0: "Reception"}.get(year_group, f"Year {year_group}")


def normalise_year_group(values: pd.Series) -> Normalised:
    """Year groups as integers (Reception 0, Nursery -1); out of range or unreadable → error."""
    rules = vocabulary().year_groups

    def judge(value: object) -> Verdict:
        number = year_group_of(value)
        if number is None:
            return Verdict(None, "NOT_A_YEAR_GROUP")
        if not rules.lowest <= number <= rules.highest:
            return Verdict(
                None,
                "YEAR_GROUP_OUT_OF_RANGE",
                {"year_group": number, "highest": rules.highest},
            )
        return Verdict(number)

    return judge_distinct(values, judge, "Int64")


def normalise_gender(values: pd.Series) -> Normalised:
    """F/M (also Female/Male, Girl/Boy)."""
    words = _word_table(vocabulary().gender)

    def judge(value: object) -> Verdict:
        found = words.get(fold(value))
        if found is None:
            return Verdict(None, "NOT_A_GENDER")
        return Verdict(found)

    return judge_distinct(values, judge)


def code_part(value: object) -> str | None:
    """The code of a "code - words" value (`K - SEN Support` → `K`), else None."""
    match = _CODE_AND_WORDS.match(str(value).strip())
    return match[1] if match else None


def normalise_sen(values: pd.Series) -> Normalised:
    """SEN provision N/K/E, also as code plus words (`K - SEN Support`) or in words (`EHCP`);
    the retired codes A/P (→ K) and S (→ E) are changed with a note."""
    sen = vocabulary().sen
    words = _word_table(sen.codes)
    old = {fold(code): item for code, item in sen.old.items()}

    def judge(value: object) -> Verdict:
        key = fold(value)
        if key not in words and key not in old and code_part(value):
            key = fold(code_part(value))
        if key in words:
            return Verdict(words[key])
        if key in old:
            item = old[key]
            quotes = {"old": str(value).strip(), "old_title": item.title, "recorded": item.code}
            return Verdict(item.code, "OLD_SEN_CODE", quotes)
        return Verdict(None, "NOT_A_SEN_CODE")

    return judge_distinct(values, judge)


def normalise_eal(values: pd.Series) -> Normalised:
    """EAL from a yes/no column or a first-language column (ENG/ENB → False, OTH/OTB → True).

    NOT/REF (not obtained, refused) give blank: unknown, not "not EAL". Any other DfE language
    code (`POL`, `URD`: three or four capitals) is a first language other than English; a
    language named in full ("Polish") too, with a note.
    """
    language = vocabulary().first_language
    booleans = _word_table(vocabulary().booleans)
    english = {fold(w) for w in language.english}
    other = {fold(w) for w in language.other}
    unknown = {fold(w) for w in language.unknown}

    def judge(value: object) -> Verdict:
        if isinstance(value, bool):
            return Verdict(value)
        key = fold(value)
        if key in english:
            return Verdict(False)
        if key in other:
            return Verdict(True)
        if key in unknown:
            return Verdict(None)
        if key in booleans:
            return Verdict(booleans[key] == "true")
        if isinstance(value, str) and _LANGUAGE_CODE.match(value.strip()):
            return Verdict(True)  # a DfE language code other than ENG/ENB (NOT/REF above)
        if re.fullmatch(r"[a-z][a-z ()']{2,}", key):
            return Verdict(True, "LANGUAGE_NAMED", {"language": str(value).strip()})
        return Verdict(None, "NOT_A_LANGUAGE")

    return judge_distinct(values, judge, "boolean")


@cache
def ethnicity_lookup() -> tuple[dict[str, str], dict[str, str]]:
    """Folded code or label → main CBDS code, and extended code → main code."""
    vocab = vocabulary()
    main = {fold(code): code for code in vocab.ethnicity}
    main |= {fold(label): code for code, labels in vocab.ethnicity.items() for label in labels}
    extended = {
        fold(sub): code for code, subs in vocab.ethnicity_extended.codes.items() for sub in subs
    }
    return main, extended


def normalise_ethnicity(values: pd.Series) -> Normalised:
    """CBDS ethnicity codes (upper case): a code, its label in full (`White - British`, `Asian
    or Asian British - Pakistani`), code plus words (`WBRI - White British`); an extended code
    (`WSCO`) is recorded as its main code with a note (the caller keeps the code as given)."""
    main, extended = ethnicity_lookup()
    codes = list(vocabulary().ethnicity)

    def judge(value: object) -> Verdict:
        key = fold(value)
        part = code_part(value)
        for candidate in (key, fold(part) if part else None):
            if candidate in main:
                return Verdict(main[candidate])
            if candidate in extended:
                return Verdict(
                    extended[candidate],
                    "EXTENDED_ETHNICITY_CODE",
                    {"given": candidate.upper(), "main": extended[candidate]},
                )
        near = difflib.get_close_matches(str(value).strip().upper(), codes, n=3, cutoff=0.5)
        return Verdict(None, "NOT_AN_ETHNICITY_CODE", {"nearest": ", ".join(near)})

    return judge_distinct(values, judge)


def extended_ethnicity(values: pd.Series) -> pd.Series:
    """The extended ethnicity code a value holds (`WSCO`, `WSCO - Scottish`), else blank."""
    _, extended = ethnicity_lookup()

    def code(value: object) -> str | None:
        for candidate in (fold(value), fold(code_part(value) or "")):
            if candidate in extended:
                return candidate.upper()
        return None

    text = values.astype(object)
    distinct = pd.unique(text.dropna())
    return text.map({value: code(value) for value in distinct}, na_action="ignore")


def normalise_text(values: pd.Series) -> Normalised:
    """Names, ids, schools: text with surrounding spaces removed, otherwise exactly as typed."""

    def judge(value: object) -> Verdict:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return Verdict(str(value).strip())

    return judge_distinct(values, judge)


def normalise_attendance(values: pd.Series) -> Normalised:
    """Attendance as a percentage: `95.5`, `95.5%`; a column of fractions (0.955) × 100."""

    def judge(value: object) -> Verdict:
        text = str(value).strip().rstrip("%").strip()
        if isinstance(value, bool) or not _NUMBER.match(text):
            return Verdict(None, "NOT_A_PERCENTAGE")
        return Verdict(float(text))

    result = judge_distinct(values, judge)
    numbers = pd.to_numeric(result.values, errors="coerce").astype("float64")
    present = numbers.dropna()
    if len(present) and (present <= 1).all() and (present < 1).any():
        numbers = numbers * 100  # Excel stores a cell shown as 95.5% as 0.955
    wrong = numbers.notna() & ((numbers < 0) | (numbers > 100))
    if wrong.any():
        extra = pd.DataFrame(
            {
                "severity": findings.severity("NOT_A_PERCENTAGE"),
                "code": "NOT_A_PERCENTAGE",
                "value": values[wrong].map(_display),
                "message": findings.message("NOT_A_PERCENTAGE", variant="out_of_range"),
                "suggestion": findings.suggestion("NOT_A_PERCENTAGE"),
            },
            index=values.index[wrong],
        )
        numbers = numbers.where(~wrong)
        result.issues = pd.concat([result.issues, extra]).astype(object)
    return Normalised(numbers, result.issues)


def normalise_date(values: pd.Series, *, latest_year: int | None = None) -> Normalised:
    """Dates as `datetime.date`: dd/mm/yyyy (UK order, never read as US), ISO, Excel serials,
    and dates with the month in words (`13 April 2004`, `13 Apr 2014`, `13-Apr-2014`).

    A value that is only a date when read month first (`02/17/2016`) is an error with the UK
    spelling suggested, never silently swapped. Two-digit years are read as 20yy unless that is
    after `latest_year`, with a note.
    """
    latest = latest_year or dt.date.today().year

    def judge(value: object) -> Verdict:
        if isinstance(value, dt.datetime):
            return Verdict(value.date())
        if isinstance(value, dt.date):
            return Verdict(value)
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return _serial(float(value), value)
        text = str(value).strip()
        match = _ISO_DATE.match(text)
        if match:
            return _make(int(match[1]), int(match[2]), int(match[3]), value)
        match = _UK_DATE.match(text)
        if match:
            day, month, year = int(match[1]), int(match[2]), match[3]
            full_year = int(year)
            two_digit = len(year) == 2
            if two_digit:
                full_year = 2000 + full_year if 2000 + full_year <= latest else 1900 + full_year
            verdict = _make(full_year, month, day, value)
            if verdict.value is None and 1 <= day <= 12 and 13 <= month <= 31:
                swapped = _make(full_year, day, month, value)
                if swapped.value is not None:
                    uk_date = f"{swapped.value:%d/%m/%Y}"  # type: ignore[str-format]
                    return Verdict(None, "US_DATE", {"uk_date": uk_date})
            if verdict.value is not None and two_digit:
                return Verdict(verdict.value, "TWO_DIGIT_YEAR", {"year": full_year})
            return verdict
        if _SERIAL.match(text):
            return _serial(float(text), value)
        match = _WORDS_DATE.match(text)
        if match and match[2].lower() in _MONTHS:
            year = int(match[3])
            if len(match[3]) == 2:
                year = 2000 + year if 2000 + year <= latest else 1900 + year
            verdict = _make(year, _MONTHS[match[2].lower()], int(match[1]), value)
            if verdict.value is not None and len(match[3]) == 2:
                return Verdict(verdict.value, "TWO_DIGIT_YEAR", {"year": year})
            return verdict
        return Verdict(None, "NOT_A_DATE")

    return judge_distinct(values, judge)


def _make(year: int, month: int, day: int, original: object) -> Verdict:
    try:
        return Verdict(dt.date(year, month, day))
    except ValueError:
        return Verdict(None, "NOT_A_DATE", variant="not_real")


def _serial(number: float, original: object) -> Verdict:
    """An Excel serial day number (1 = 01/01/1900; Excel's 1900 leap-year bug allowed for)."""
    if not 1 <= number < 2958466:
        return Verdict(None, "NOT_A_DATE")
    return Verdict(EXCEL_EPOCH + dt.timedelta(days=int(number)))


# ---------------------------------------------------------------------------------------------
# Row-level checks that need two columns


def birth_year_group(dob: pd.Series, academic_year: int) -> pd.Series:
    """The year group of a date of birth in the academic year starting 1 Sep `academic_year`.

    A pupil born between 1 September of year Y-5-g and 31 August of year Y-4-g is in year group g
    (Reception g=0) in academic year Y/Y+1. Needs dates (`datetime.date` or blank).
    """
    stamps = pd.to_datetime(dob.astype(object), errors="coerce")
    born_in = stamps.dt.year - 1 + (stamps.dt.month >= 9).astype("float64")  # its academic year
    return (academic_year - 5 - born_in).astype("Int64")


# ---------------------------------------------------------------------------------------------
# Column-wide readings


def blank_means_no(raw: pd.Series, normalised: Normalised) -> Normalised | None:
    """A yes/no column exported as `Y` and blank (SIMS writes "no" as blank), read as yes/no.

    Applies when every non-blank value is one and the same spelling of yes and some are blank
    (SPEC §8); returns the column with blanks as False, or None when the rule does not apply
    (blank then stays unknown, SPEC §7).
    """
    blank = is_blank(raw)
    if not blank.any() or blank.all():
        return None
    spellings = {fold(value) for value in pd.unique(raw.astype(object)[~blank])}
    yes = {fold(word) for word in vocabulary().booleans["true"]}
    if len(spellings) != 1 or not spellings <= yes:
        return None
    values = normalised.values.copy()
    values[blank] = False
    return Normalised(values, normalised.issues)


def decode_column(header: str, raw: pd.Series) -> pd.Series:
    """Values of a DfE/NPD coded column (`EALGRP` 1/2/3) as the words the normalisers read;
    other columns, and values the code list does not have, unchanged."""
    from targetkit.columns import match_key, without_affixes

    coded = {match_key(name): codes for name, codes in vocabulary().coded_columns.items()}
    keys = [match_key(header)] + [match_key(rest) for _, rest in without_affixes(header)]
    codes = next((coded[k] for k in keys if k in coded), None)
    if codes is None:
        return raw

    def decode(value: object) -> object:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return codes.get(str(value).strip(), value)

    return raw.astype(object).map(decode, na_action="ignore")
