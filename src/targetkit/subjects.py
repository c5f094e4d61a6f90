"""GCSE subjects: the DfE's subject list and the names exports give them (data/subjects/).

Exports spell a subject many ways (`Computer Sci`, `Combined Science (Trilogy)`, `Art & Design`,
`GCSE History`); the DfE's KS2 → GCSE matrices know 35 subjects by key (`computer_science`,
`combined_science`, ...). `subject_keys` maps names to keys through the aliases of a data file,
one lookup per distinct name; a name it cannot place stays unknown (NaN), never dropped, so the
caller can list it. `english` is not a key here: it stays the English of English-and-maths
measures (the better of Language and Literature), beside `english_language` and
`english_literature`, the GCSE subjects.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from targetkit.datafiles import find_data_file, load_yaml_model

if TYPE_CHECKING:
    import pandas as pd

Element = Literal["maths", "english", "ebacc", "open"]

_BOARDS = r"aqa|ocr|edexcel|pearson|eduqas|wjec|ccea|cie|caie"
_NOISE = re.compile(rf"\b(?:gcse|full course|{_BOARDS})\b|\(?\b9\s*-\s*1\b\)?")
_QUALIFIER = re.compile(r"\([^)]*\)|\[[^]]*\]|\s*:.*$|\s+-\s+.*$")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


class Subject(BaseModel):
    """One DfE GCSE subject: its names and the Attainment 8 element it can fill."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    label: str | None = None  # how targetkit writes it for people, where not `name` (Maths)
    dfe: str | None = None  # the DfE's key where it differs from ours (mathematics)
    element: Element
    slots: int = Field(default=1, ge=1, le=2)  # Attainment 8 slots it can fill (double award: 2)
    discount: str | None = None  # subjects sharing a discount group count once (best route)
    aliases: list[str] = []


class SubjectList(BaseModel):
    """The subject file: every subject by key, validated (no alias may mean two subjects)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    source: str = Field(min_length=1)
    description: str = ""
    subjects: dict[str, Subject] = Field(min_length=1)

    @model_validator(mode="after")
    def _aliases_unique(self) -> SubjectList:
        seen: dict[str, str] = {}
        for key, subject in self.subjects.items():
            if not re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", key):
                raise ValueError(f"subject key {key!r} must be lower case words joined by _")
            for alias in [key, subject.name, *subject.aliases]:
                folded = name_key(alias)
                if seen.setdefault(folded, key) != key:
                    raise ValueError(f"alias {alias!r} means both {seen[folded]!r} and {key!r}")
        return self

    @property
    def keys(self) -> list[str]:
        return list(self.subjects)

    def lookup(self) -> dict[str, str]:
        """Folded name → subject key, for every key, name and alias."""
        return {
            name_key(alias): key
            for key, subject in self.subjects.items()
            for alias in [key, subject.name, *subject.aliases]
        }


def name_key(name: object) -> str:
    """A name folded for matching: case, `&`, punctuation, `GCSE`, `(9-1)`, board names ignored."""
    text = str(name).lower().replace("&", " and ")
    text = _NOISE.sub(" ", text)
    return _NOT_WORD.sub(" ", text).strip()


def _without_qualifier(name: object) -> str:
    """The name with bracketed text and anything after a colon or ` - ` left out."""
    return name_key(_QUALIFIER.sub(" ", str(name).lower().replace("&", " and ")))


@cache
def load_subjects(name: str = "gcse") -> SubjectList:
    """The shipped subject list (or a user's, by name in TARGETKIT_DATA_DIR or by path)."""
    return load_yaml_model(find_data_file("subjects", name), SubjectList)


def subject_keys(names: pd.Series, subjects: SubjectList | None = None) -> pd.Series:
    """The DfE subject key of each name (e.g. `Computer Sci` → `computer_science`), NaN if unknown.

    Vectorised: each distinct name is matched once. A name matches by its folded form, then
    without its qualifier (`Art and Design: Fine Art` → `art and design`).
    """
    import numpy as np
    import pandas as pd

    subjects = subjects or load_subjects()
    table = subjects.lookup()
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    found = [table.get(name_key(u)) or table.get(_without_qualifier(u)) for u in uniques]
    keys = np.array([*found, None], dtype=object)[codes]
    return pd.Series(keys, index=names.index, name="subject", dtype=object)


ANY_AWARD = "gcse91_any"


def award_scale(subject: str, scale: str) -> str:
    """The scale one subject's grades must be on. `gcse91_any` reads single and double awards
    side by side (a ks4 submission), but each subject has one kind: Combined Science (a
    two-slot subject) takes double grades (`5-4`), every other subject single grades (`5`), so
    a `5-4` typed for history, or a `5` for Combined Science, is not a grade of that subject.
    Any other scale is every subject's."""
    if scale != ANY_AWARD:
        return scale
    found = load_subjects().subjects.get(subject)
    return "gcse91_double" if found is not None and found.slots == 2 else "gcse91"


# Measures that sit in the subject column of a summary beside the subjects
_MEASURES = {"attainment8": "Attainment 8", "progress8": "Progress 8"}


def display_name(key: object) -> str:
    """A subject key in words, for what people read (Summary sheets, sentences, findings):
    a GCSE subject by its name in the subject list (`computer_science` → `Computer Science`,
    `maths` → `Maths`), any other key as before, capitalised with spaces (`english` →
    `English`, `english+maths` → `English+maths`). JSON keeps the keys."""
    text = str(key)
    found = load_subjects().subjects.get(text)
    if found is not None:
        return found.label or found.name
    return _MEASURES.get(text) or text.replace("_", " ").capitalize()
