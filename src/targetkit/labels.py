"""Headers in words for targetkit's columns, and the way back (`data/presentation/labels.yaml`).

`label("reading_chance_4plus", grade_word="level")` → `Reading: chance of level 4+`;
`column_name("Reading: chance of level 4+")` → `reading_chance_4plus`. `columns.canonical_name`
asks `column_name` last, so targetkit reads its own workbooks back by the words or the names.
No pandas here: it runs while headers are matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

_PLACEHOLDER = re.compile(r"\{(subject|Subject|threshold|point)\}")
GRADE_WORDS = ("level", "grade", "step")


class LabelsFile(BaseModel):
    """The labels data file: points and thresholds in words, then name → label patterns."""

    model_config = ConfigDict(extra="forbid")

    source: str
    points: dict[str, str]
    thresholds: dict[str, str]
    read_back: dict[str, str]
    written: dict[str, str]


@dataclass(frozen=True)
class _Pattern:
    name: str
    label: str
    name_regex: re.Pattern[str]
    label_regex: re.Pattern[str]
    read_back: bool


@cache
def labels_file() -> LabelsFile:
    from targetkit.datafiles import load_yaml_model

    path = resources.files("targetkit").joinpath("data/presentation/labels.yaml")
    return load_yaml_model(path, LabelsFile)  # type: ignore[arg-type]


def _alternatives(words: dict[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _regex(pattern: str, parts: dict[str, str], flags: int = 0) -> re.Pattern[str]:
    pieces, position = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        pieces.append(re.escape(pattern[position : match.start()]))
        pieces.append(parts[match[1]])
        position = match.end()
    pieces.append(re.escape(pattern[position:]))
    return re.compile("^" + "".join(pieces) + "$", flags)


@cache
def _patterns() -> tuple[_Pattern, ...]:
    data = labels_file()
    point_names = _alternatives(data.points)
    point_words = _alternatives({v: k for k, v in data.points.items()})
    from targetkit.columns import MULTIWORD_SUBJECTS

    # GCSE subjects are written by their names (`Media, film and TV studies`); those names and
    # the keys in words (`combined science`, as workbooks before them said) read back
    multi_names = "|".join(MULTIWORD_SUBJECTS)
    spoken = [*_subject_names().values(), *(s.replace("_", " ") for s in MULTIWORD_SUBJECTS)]
    multi_words = _alternatives(dict.fromkeys(spoken))
    by_name = {
        "subject": rf"(?P<subject>{multi_names}|[a-z][a-z0-9+]*)",
        "threshold": r"(?P<threshold>[a-z0-9_]+)",
        "point": rf"(?P<point>{point_names})",
    }
    threshold_words = _alternatives({v: k for k, v in data.thresholds.items()})
    by_label = {
        "subject": rf"(?P<subject>{multi_words}|[A-Za-z][A-Za-z0-9+]*)",
        "Subject": rf"(?P<subject>{multi_words}|[A-Za-z][A-Za-z0-9+]*)",
        "threshold": rf"(?:(?:{'|'.join(GRADE_WORDS)}) )?(?P<threshold>{threshold_words}|\S+)",
        "point": rf"(?P<point>{point_words})",
    }
    found = [
        _Pattern(
            name,
            label,
            _regex(name, by_name),
            _regex(" ".join(label.split()), by_label, re.IGNORECASE),
            read_back,
        )
        for read_back, table in ((True, data.read_back), (False, data.written))
        for name, label in table.items()
    ]
    # The longest fixed text first: `{subject}_milestone_{point}` before `{subject}_milestone`.
    return tuple(sorted(found, key=lambda p: -len(_PLACEHOLDER.sub("", p.name))))


@cache
def _subject_names() -> dict[str, str]:
    """Each GCSE subject key → its name in words (`subjects.display_name`: `Computer Science`)."""
    from targetkit.subjects import display_name, load_subjects

    return {key: display_name(key) for key in load_subjects().subjects}


def _subject_words(key: str) -> str:
    """A subject key in a header: a GCSE subject by its name, as the Summary says it
    (`computer_science` → `Computer Science`), any other key capitalised (`reading` → `Reading`)."""
    words = key.replace("_", " ")
    return _subject_names().get(key) or words[:1].upper() + words[1:]


def threshold_words(threshold: str, grade_word: str = "") -> str:
    """`4plus` → `level 4+`; a named threshold (`5acem`) in its own words."""
    special = labels_file().thresholds.get(threshold)
    if special:
        return special
    return f"{grade_word} {threshold.replace('plus', '+')}".strip()


def point_words(point: str) -> str:
    """`sum2` → `summer 2`; `y4` → `end of Year 4`; anything else as it is."""
    return labels_file().points.get(point, point)


@lru_cache(maxsize=4096)
def label(name: str, grade_word: str = "") -> str:
    """The header in words for one of targetkit's column names (the name itself if unknown)."""
    for pattern in _patterns():
        match = pattern.name_regex.match(name)
        if not match:
            continue
        parts = match.groupdict()
        subject = parts.get("subject") or ""
        return pattern.label.format(
            subject=subject.replace("_", " "),
            Subject=_subject_words(subject),
            threshold=threshold_words(parts.get("threshold") or "", grade_word),
            point=point_words(parts.get("point") or ""),
        )
    return name


@lru_cache(maxsize=1 << 14)
def column_name(header: str) -> str | None:
    """The column name a header in words stands for (read-back labels only), else None."""
    text = " ".join(str(header).split())
    for pattern in _patterns():
        if not pattern.read_back:
            continue
        match = pattern.label_regex.match(text)
        if not match:
            continue
        parts = {k: v for k, v in match.groupdict().items() if v is not None}
        threshold = parts.get("threshold", "")
        reverse = {v.casefold(): k for k, v in labels_file().thresholds.items()}
        threshold = reverse.get(threshold.casefold(), threshold.replace("+", "plus"))
        points = {v.casefold(): k for k, v in labels_file().points.items()}
        subject = parts.get("subject", "")
        by_name = {n.casefold(): k for k, n in _subject_names().items()}
        return pattern.name.format(
            subject=by_name.get(subject.casefold()) or subject.lower().replace(" ", "_"),
            threshold=threshold.lower(),
            point=points.get(parts.get("point", "").casefold(), ""),
        )
    return None
