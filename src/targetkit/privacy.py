"""Personal data: keyed pseudonyms for pupils, and small-group suppression for group figures.

An LA or a researcher often needs pupil-level results without knowing who the pupils are.
`pseudonymise` replaces UPNs, admission numbers and names with HMAC-SHA256 pseudonyms under a
secret key the school keeps: the same pupil gets the same pseudonym in every file made with the
same key (so files can still be joined), and nobody without the key can work back to the pupil.
`suppress_small_groups` marks group figures for fewer than 5 pupils and blanks their
percentages, because a percentage of 3 pupils can identify a child.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from targetkit.columns import IDENTITY_COLUMNS
from targetkit.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

KEY_ENV = "TARGETKIT_KEY"
MIN_KEY_LENGTH = 16
PSEUDONYM_PREFIX = "P-"
PSEUDONYM_HEX_DIGITS = 12  # 48 bits: a clash among a million pupils is about 1 in 500
# Every column recognised as identifying a pupil, by canonical name (the one list: import,
# convert, set-targets, report and check-ambition all pseudonymise these; import recognises
# them from the header aliases in data/columns/aliases.yaml). Identifiers are compared in upper
# case, names (and e-mail addresses) case-folded. Dates of birth are kept.
IDENTIFIER_COLUMNS = ("upn", "pupil_id", "former_upn", "candidate_number")
NAME_COLUMNS = (
    "surname",
    "forename",
    *(c for c in IDENTITY_COLUMNS if c not in IDENTIFIER_COLUMNS),
)
IDENTIFYING_COLUMNS = IDENTIFIER_COLUMNS + NAME_COLUMNS
ALREADY_PSEUDONYMISED = re.compile(r"P-[0-9A-F]{12}")
SMALL_GROUP = 5  # SPEC §6: the one small-group size; every command reads it from here
SMALL_GROUP_COLUMN = "small_group"

_KEY_HINT = (
    "put a long random secret (at least 16 characters) in a file and give --key-file FILE, "
    f"or set {KEY_ENV}; use the same key for every file you want to match up"
)


def load_key(key_file: Path | None) -> bytes:
    """The pseudonymisation key: the contents of `key_file`, else the TARGETKIT_KEY variable.

    Surrounding whitespace (a trailing newline) is not part of the key. A short key is refused:
    a guessable key lets anyone rebuild the pseudonyms from a list of UPNs.
    """
    if key_file is not None:
        key_file = Path(key_file)
        if not key_file.is_file():
            raise UsageError("the key file does not exist", file=key_file, hint=_KEY_HINT)
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the key file: {exc.strerror}", file=key_file) from exc
        source = str(key_file)
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode("utf-8")
        source = KEY_ENV
        if not key:
            raise UsageError("--pseudonymise needs a secret key", hint=_KEY_HINT)
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(
            f"the key in {source} is shorter than {MIN_KEY_LENGTH} characters, so it could be "
            "guessed",
            hint=_KEY_HINT,
        )
    return key


def requested_key(pseudonymise: bool, key_file: Path | None) -> bytes | None:
    """The key when --pseudonymise was given (None otherwise); --key-file alone is a mistake."""
    if not pseudonymise:
        if key_file is not None:
            raise UsageError(
                "--key-file is only used with --pseudonymise", hint="add --pseudonymise"
            )
        return None
    return load_key(key_file)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """The pseudonym of one value: `P-` and the first 12 hex digits of HMAC-SHA256."""
    digest = hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS].upper()


def pseudonymise(
    frame: pd.DataFrame, key: bytes, *, left: Sequence[str] | None = None
) -> pd.DataFrame:
    """A copy of `frame` with every identifying column pseudonymised (`IDENTIFYING_COLUMNS`).

    Needs: nothing; a column counts when its header means one of those names (recognised by
    `columns.canonical_name`, so `UPN` and `Legal Surname` count, or spelt as the name itself).
    Identifiers are compared trimmed and in upper case, so `a123…` and `A123… ` are one pupil.
    A name is pseudonymised together with the pupil's UPN when the frame has one, so pupils
    who share a surname (siblings) do not share a pseudonym; blanks stay blank; every other
    column and the row order are unchanged. A column whose values are all pseudonyms already
    (`P-` and 12 hex digits) is kept as it is and said so, never hashed again; text columns
    that are not recognised are listed on screen, so the user knows what was left in clear
    (`left`: the list to give, when the frame holds targetkit's own text columns too).
    """
    from targetkit import console

    targets = identifying_columns(frame.columns)
    already = [c for c in targets if _already_pseudonymised(frame[c])]
    for column in already:
        console.warn(
            f"column {column!r} already holds pseudonyms (P-…); kept as it is, not hashed again"
        )
    left = left_in_clear(frame) if left is None else left
    if left:
        console.info(
            "left as they are (not recognised as identifying; remove them before sharing if "
            f"they name a pupil): {', '.join(left)}"
        )
    return _replaced(frame, key, {c: name for c, name in targets.items() if c not in already})


def pseudonymise_names(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """A copy of `frame` with its name columns pseudonymised as `pseudonymise` does (keyed with
    the pupil's UPN), and nothing said: for a command that shows a pupil as "Forename
    Surname" (check-ambition), which then shows the pseudonyms import and set-targets give the
    same pupil's forename and surname. UPNs stay for matching; columns already holding
    pseudonyms are kept."""
    fresh = {
        c: name
        for c, name in identifying_columns(frame.columns).items()
        if not _already_pseudonymised(frame[c])
    }
    upn = next((c for c, name in fresh.items() if name == "upn"), None)
    names = {c: name for c, name in fresh.items() if name in NAME_COLUMNS}
    return _replaced(frame, key, names, upn_column=upn)


def _replaced(
    frame: pd.DataFrame, key: bytes, targets: dict[object, str], *, upn_column: object = None
) -> pd.DataFrame:
    """A copy of `frame` with the `targets` columns (header → canonical name) replaced by
    their pseudonyms; names keyed with the UPN of `upn_column` (default: the targets' UPN)."""
    if not targets:
        return frame.copy()
    if upn_column is None:
        upn_column = next((c for c, name in targets.items() if name == "upn"), None)
    upn_text = _normalised(frame[upn_column], identifier=True) if upn_column is not None else None
    out = frame.copy()
    for column, name in targets.items():
        text = _normalised(frame[column], identifier=name in IDENTIFIER_COLUMNS)
        if name in NAME_COLUMNS and upn_text is not None:
            text = (upn_text.fillna("") + "\x1f" + text.fillna("")).where(text.notna(), None)
        lookup = {value: pseudonym(key, name, value) for value in text.dropna().unique()}
        if len(set(lookup.values())) < len(lookup):
            raise UsageError(  # about 1 in 500 for a million pupils; a new key fixes it
                f"two different values of column {column!r} got the same pseudonym",
                hint="use another key",
            )
        out[column] = text.map(lookup).astype(object).where(text.notna(), None)
    return out


def identifying_columns(headers: Sequence[object]) -> dict[object, str]:
    """Header → canonical identifying name, for the headers that identify a pupil."""
    from targetkit.columns import canonical_name, header_key

    found = {}
    for header in headers:
        name = canonical_name(header)
        name = name if name in IDENTIFYING_COLUMNS else header_key(header)
        if name in IDENTIFYING_COLUMNS:
            found[header] = name
    return found


def left_in_clear(frame: pd.DataFrame) -> list[str]:
    """Text columns targetkit does not recognise (notes, comments, a teacher's name): they
    are not pseudonymised, so the user is told which they are. targetkit's own bookkeeping
    columns (`source_file`, `row_issues`) are not the pupil's and are not listed."""
    from targetkit.columns import canonical_name
    from targetkit.pipeline.importing import BOOKKEEPING

    left = []
    for column in frame.columns:
        if column in BOOKKEEPING or canonical_name(column) is not None:
            continue
        if column in identifying_columns([column]):
            continue
        values = frame[column].dropna()
        if any(isinstance(v, str) and v.strip() and not _is_number(v) for v in values.head(200)):
            left.append(str(column))
    return left


def pseudonymisation(frame: pd.DataFrame) -> dict[str, list[str]]:
    """What --pseudonymise does to `frame` (a command's pupil-level input or output), for the
    run's summary (`--format json`) and its About sheet: the columns replaced and the text
    columns left as they are."""
    return {
        "replaced": [str(c) for c in identifying_columns(frame.columns)],
        "left_in_clear": left_in_clear(frame),
    }


def pseudonymised_about(done: pd.DataFrame | dict[str, list[str]] | None) -> str:
    """What an `About` sheet says of an output: `no`, or which columns were replaced and which
    text columns were left as they are (`done`: a frame, or `pseudonymisation`'s record)."""
    if done is None:
        return "no"
    record = done if isinstance(done, dict) else pseudonymisation(done)
    replaced = ", ".join(record["replaced"]) or "none"
    left = ", ".join(record["left_in_clear"]) or "none"
    return f"yes (replaced: {replaced}; text columns left as they are: {left})"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _already_pseudonymised(values: pd.Series) -> bool:
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    return bool(len(present)) and bool(present.str.fullmatch(ALREADY_PSEUDONYMISED.pattern).all())


def _normalised(values: pd.Series, *, identifier: bool) -> pd.Series:
    """Values as comparable text (computed once per distinct value); blanks as None.

    Trimmed, inner spaces single, identifiers in upper case and names case-folded; a whole
    number read from a workbook (1234.0) is the same text as "1234" read from a CSV.
    """
    lookup = {value: _normalised_one(value, identifier) for value in values.dropna().unique()}
    return values.map(lookup).astype(object).where(lambda text: text.notna(), None)


def _normalised_one(value: object, identifier: bool) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    if not text:
        return None
    return text.upper() if identifier else text.casefold()


def suppress_small_groups(
    frame: pd.DataFrame,
    count_column: str,
    value_columns: Sequence[str],
    minimum: int = SMALL_GROUP,
    *,
    show: bool = False,
) -> pd.DataFrame:
    """Mark groups of fewer than `minimum` pupils and blank their percentages.

    Needs: `count_column` (pupils in the group) and `value_columns` (figures that could
    identify a pupil in a small group, e.g. `% on track`). Adds: `small_group` (True when the
    group has fewer than `minimum` pupils, including none). With `show=True` (the commands'
    `--show-small-groups`) the figures are kept and only the mark is added. The counts stay.
    """
    out = frame.copy()
    counts = out[count_column]
    small = counts.isna() | (counts.astype("float64") < minimum)
    out[SMALL_GROUP_COLUMN] = small.astype(bool)
    if not show:
        for column in value_columns:
            out[column] = out[column].astype("float64").where(~small)
    return out


def hide_small_groups(
    table: pd.DataFrame,
    count_column: str = "pupils",
    *,
    keep: Sequence[str] = (),
    minimum: int = SMALL_GROUP,
    show: bool = False,
    total: tuple[str, str] = ("group", "all"),
) -> pd.DataFrame:
    """A copy of a group breakdown with every figure of a small group's row blanked.

    A row whose `count_column` is under `minimum` keeps its count and its labels; every other
    number in it is blanked: its own figures, and those they could be worked out from (the
    "others" figures and the gaps: others − gap = the group's own). The school's totals (rows
    whose `total[0]` is `total[1]`) are never hidden; `keep` names numeric columns that are
    labels (a drop number). With `show=True` (`--show-small-groups`) nothing is blanked.
    """
    import pandas as pd

    out = table.copy()
    if show or out.empty or count_column not in out:
        return out
    small = out[count_column].isna() | (out[count_column].astype("float64") < minimum)
    if total[0] in out:
        small &= out[total[0]].astype(str) != total[1]
    for column in out.columns:
        values = out[column]
        if (
            column == count_column
            or column in keep
            or not pd.api.types.is_numeric_dtype(values)
            or pd.api.types.is_bool_dtype(values)
        ):
            continue
        out[column] = values.astype("float64").where(~small.to_numpy())
    return out
