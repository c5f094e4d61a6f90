"""Unique Pupil Numbers: check letters, validation and synthetic UPNs, all vectorised.

A UPN has 13 characters: a check letter, then the LA number (3 digits), the school's DfE number
(4 digits), the year of allocation (2 digits) and a serial (3 characters; in a temporary UPN the
last one is a letter). The check letter is the weighted sum of characters 2–13 (a digit counts as
itself, a letter as its index in ``ALPHABET``; weights are the positions 2…13) modulo 23, used as
an index into ``ALPHABET``. Working on whole columns at once keeps a 100,000-pupil import fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ALPHABET",
    "UPN_LENGTH",
    "check_letter",
    "make_upns",
    "upn_key",
    "validate_upns",
]

ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""The 23 letters a UPN uses (no I, O or S, which look like 1, 0 and 5)."""

UPN_LENGTH = 13
_BODY_LENGTH = UPN_LENGTH - 1
_WEIGHTS = np.arange(2, UPN_LENGTH + 1, dtype=np.int64)  # positions 2…13
_ALPHABET_ARRAY = np.array(list(ALPHABET))

# Lookup tables indexed by Unicode code point (anything past 127 is folded onto 0 = "not allowed").
_VALUE = np.full(128, -1, dtype=np.int64)
_IS_DIGIT = np.zeros(128, dtype=bool)
_IS_LETTER = np.zeros(128, dtype=bool)
for _i in range(10):
    _VALUE[ord("0") + _i] = _i
    _IS_DIGIT[ord("0") + _i] = True
for _i, _letter in enumerate(ALPHABET):
    _VALUE[ord(_letter)] = _i
    _IS_LETTER[ord(_letter)] = True
del _i, _letter

MISSING = "missing UPN"
NOT_ALLOWED = "UPN has characters that are not allowed"


def _code_points(values: np.ndarray, width: int) -> np.ndarray:
    """Turn an array of strings (each at most ``width`` long) into an (n, width) code-point matrix.

    Short strings are padded with 0, and code points above 127 are folded onto 0, so the lookup
    tables above can be indexed directly.
    """
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.int64)
    fixed = np.asarray(values, dtype=f"<U{width}")
    points = fixed.view(np.uint32).reshape(len(fixed), width).astype(np.int64)
    points[points >= len(_VALUE)] = 0
    return points


def _letters_from_points(points: np.ndarray) -> np.ndarray:
    """Check letters for an (n, 12) code-point matrix of bodies already known to be allowed."""
    total = (_VALUE[points] * _WEIGHTS).sum(axis=1)
    return _ALPHABET_ARRAY[total % len(ALPHABET)]


def _normalise(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Strip and upper-case values as text; return them with a mask of missing (blank) ones."""
    cleaned = values.astype(object).astype("str").str.strip().str.upper()
    cleaned = cleaned.where(cleaned.str.len().fillna(0).to_numpy() > 0)
    return cleaned, cleaned.isna().to_numpy()


def upn_key(values: pd.Series) -> pd.Series:
    """The key every command matches pupils by: the UPN as text, upper case, without spaces.

    `a123 456 789 012` and `A123456789012` are one pupil; a blank UPN is missing (NA) and matches
    nobody. The index is kept.
    """
    text = values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    return text.mask(text.eq(""))


def _join(*parts: str | np.ndarray) -> np.ndarray:
    """Concatenate string arrays and constants element-wise (messages for many rows at once)."""
    result = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        result = result + np.asarray(part, dtype=object)
    return result


def check_letter(body: pd.Series) -> pd.Series:
    """The check letter for each 12-character UPN body (characters 2–13 of a UPN).

    Lets import tell a mistyped UPN from a real one, and lets the demo make valid ones. Bodies
    are stripped and upper-cased first; a body that is not 12 characters of digits and UPN letters
    gives a missing value rather than a guess.
    """
    cleaned, missing = _normalise(pd.Series(body))
    result = pd.Series([None] * len(cleaned), index=cleaned.index, dtype="str")
    candidate = ~missing & (cleaned.str.len().fillna(0).to_numpy() == _BODY_LENGTH)
    if candidate.any():
        points = _code_points(cleaned[candidate].to_numpy(dtype=object), _BODY_LENGTH)
        allowed = (_VALUE[points] >= 0).all(axis=1)
        letters = np.full(len(points), None, dtype=object)
        letters[allowed] = _letters_from_points(points[allowed])
        result[candidate] = pd.Series(letters, dtype="str").to_numpy()
    return result


def validate_upns(upns: pd.Series) -> pd.DataFrame:
    """Check a column of UPNs and say, for each, what (if anything) is wrong with it.

    Returns a frame with the input's index and columns ``upn`` (stripped, upper-case; missing
    when blank), ``problem`` (``None`` when the UPN is fine, else a short message a data manager
    can act on) and ``temporary`` (the 13th character is a letter). Duplicates are not checked
    here: a repeated UPN is a problem of the cohort, not of the number.
    """
    cleaned, missing = _normalise(pd.Series(upns))
    n = len(cleaned)
    lengths = cleaned.str.len().fillna(0).to_numpy().astype(np.int64)
    problem = np.full(n, None, dtype=object)
    temporary = np.zeros(n, dtype=bool)

    problem[missing] = MISSING
    wrong_length = ~missing & (lengths != UPN_LENGTH)
    if wrong_length.any():
        found_lengths = lengths[wrong_length].astype(str)
        problem[wrong_length] = _join(
            f"UPN must be {UPN_LENGTH} characters (found ", found_lengths, ")"
        )

    full = ~missing & ~wrong_length
    if full.any():
        points = _code_points(cleaned[full].to_numpy(dtype=object), UPN_LENGTH)
        first_ok = _IS_LETTER[points[:, 0]]
        middle_ok = _IS_DIGIT[points[:, 1:-1]].all(axis=1)
        last_is_letter = _IS_LETTER[points[:, -1]]
        last_ok = _IS_DIGIT[points[:, -1]] | last_is_letter
        allowed = first_ok & middle_ok & last_ok

        full_rows = np.flatnonzero(full)
        temporary[full_rows] = last_is_letter
        problem[full_rows[~allowed]] = NOT_ALLOWED

        expected = _letters_from_points(points[allowed, 1:])
        found = _ALPHABET_ARRAY[_VALUE[points[allowed, 0]]]
        wrong = expected != found
        if wrong.any():
            problem[full_rows[allowed][wrong]] = _join(
                "wrong check letter: expected ", expected[wrong], ", found ", found[wrong]
            )

    return pd.DataFrame(
        {
            "upn": cleaned,
            "problem": pd.Series(problem, index=cleaned.index, dtype=object),
            "temporary": pd.Series(temporary, index=cleaned.index, dtype=bool),
        },
        index=cleaned.index,
    )


def make_upns(
    n: int, *, la: int = 801, school: int = 2000, year: int = 15, start: int = 1
) -> list[str]:
    """``n`` distinct valid permanent UPNs, for synthetic cohorts and tests.

    Serials run from ``start``; past 999 they carry into the school number (2000 → 2001 …), so
    large benchmark cohorts still get distinct, well-formed numbers. Give different schools in one
    batch school numbers far enough apart (1 per 1,000 pupils) to keep UPNs unique across them.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if not 0 <= la <= 999 or not 0 <= year <= 99 or start < 0:
        raise ValueError("la must be 0–999, year 0–99 and start 0 or more")
    sequence = np.arange(start, start + n, dtype=np.int64)
    schools = school + sequence // 1000
    serials = sequence % 1000
    if n and (school < 0 or schools[-1] > 9999):
        raise ValueError(f"{n} UPNs from serial {start} do not fit in school numbers {school}–9999")
    digits = np.empty((n, _BODY_LENGTH), dtype=np.int64)
    digits[:, 0:3] = [la // 100, la // 10 % 10, la % 10]
    for column, power in enumerate((1000, 100, 10, 1)):
        digits[:, 3 + column] = schools // power % 10
    digits[:, 7:9] = [year // 10, year % 10]
    for column, power in enumerate((100, 10, 1)):
        digits[:, 9 + column] = serials // power % 10
    total = (digits * _WEIGHTS).sum(axis=1)
    letters = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)[total % len(ALPHABET)]
    ascii_codes = np.empty((n, UPN_LENGTH), dtype=np.uint8)
    ascii_codes[:, 0] = letters
    ascii_codes[:, 1:] = digits + ord("0")
    return np.frombuffer(ascii_codes.tobytes(), dtype=f"S{UPN_LENGTH}").astype(str).tolist()
