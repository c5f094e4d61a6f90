"""Grade scales as data: load, parse forgivingly, convert (SPEC §3 "Scales").

A scale is an ordered list of grades with strictly increasing points, plus equivalents (a whole
NC level `3` counts as `3b`), aliases (`Level 2b`, `4S+`, `A star`) and non-grade codes (`A`
absent, `D` disapplied, ...) that mean "missing, with a reason" and are never errors.
Parsing works on the distinct values of a column and maps them back, so a million cells cost a
dictionary lookup each.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from targetkit.datafiles import available, find_data_file, load_yaml_model
from targetkit.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_SPACES = re.compile(r"\s+")
_TRAILING_ZEROS = re.compile(r"^(\d+)\.0+$")
POINTS = "points"


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: str = Field(min_length=1)
    points: float
    band: int | None = None


class Scale(BaseModel):
    """One assessment scale, validated when loaded."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    source: str = Field(min_length=1)
    grades: list[Grade] = Field(min_length=1)
    equivalents: list[Grade] = []
    aliases: dict[str, str] = {}
    codes: dict[str, str] = {}
    strip_prefixes: list[str] = []
    thresholds: dict[str, str] = {}
    expected: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Scale:
        points = [g.points for g in self.grades]
        if any(b <= a for a, b in itertools.pairwise(points)):
            raise ValueError("grades must be listed lowest first with strictly increasing points")
        names = [g.grade for g in self.grades + self.equivalents]
        keys = [_key(n) for n in names]
        if len(set(keys)) != len(keys):
            raise ValueError("grade names must be unique (ignoring case and spaces)")
        for equivalent in self.equivalents:
            if equivalent.points not in points:
                raise ValueError(f"equivalent {equivalent.grade!r} has points no grade has")
        clash = {_key(c) for c in self.codes} & set(keys)
        if clash:
            raise ValueError(f"codes {sorted(clash)} are also grades")
        for alias, target in {**self.aliases, **self.thresholds, **self.expected}.items():
            if _key(target) not in keys:
                raise ValueError(f"{alias!r} refers to {target!r}, which is not a grade")
        for name in self.expected:
            if not _END_OF_YEAR.fullmatch(name):
                raise ValueError(f"expected: {name!r} is not end_of_year_<n> (e.g. end_of_year_4)")
        return self

    @property
    def expected_by_year(self) -> dict[int, float]:
        """The age-related expectation at the end of each year group, in points (`expected:`
        in the scale file: `end_of_year_4: 4s` → {4: 23.0})."""
        points = {_key(g.grade): g.points for g in self.grades + self.equivalents}
        return {
            int(_END_OF_YEAR.fullmatch(name)[1]): points[_key(grade)]  # type: ignore[index]
            for name, grade in self.expected.items()
        }

    @property
    def grade_names(self) -> list[str]:
        """The main grades, lowest first."""
        return [g.grade for g in self.grades]

    @cached_property
    def points_of(self) -> dict[str, float]:
        return {g.grade: g.points for g in self.grades + self.equivalents}

    @cached_property
    def band_of(self) -> dict[str, int]:
        return {g.grade: g.band for g in self.grades + self.equivalents if g.band is not None}

    @cached_property
    def _lookup(self) -> dict[str, tuple[Literal["grade", "code"], str]]:
        table: dict[str, tuple[Literal["grade", "code"], str]] = {}
        for name in self.points_of:
            table[_key(name)] = ("grade", name)
        for alias, target in self.aliases.items():
            table.setdefault(_key(alias), ("grade", self._canonical(target)))
        for code in self.codes:
            table[_key(code)] = ("code", code)
        return table

    def _canonical(self, name: str) -> str:
        return next(g for g in self.points_of if _key(g) == _key(name))

    def classify(self, value: str) -> tuple[Literal["grade", "code", "unknown"], str]:
        """Whether one text value is a grade (and which), a non-grade code, or unknown."""
        key = _key(value)
        found = self._lookup.get(key)
        if found is None:
            for prefix in self.strip_prefixes:
                if key.startswith(prefix) and key != prefix:
                    found = self._lookup.get(key[len(prefix) :])
                    if found and found[0] == "grade":
                        break
                    found = None
        if found is None:
            return "unknown", value
        return found

    def nearest(self, value: str, n: int = 3) -> list[str]:
        """The valid grades closest in spelling to an unknown value, for error messages."""
        keys = {_key(g): g for g in self.points_of}
        close = difflib.get_close_matches(_key(value), list(keys), n=n, cutoff=0.3)
        return [keys[k] for k in close]

    def parse(self, values: pd.Series) -> ParsedGrades:
        """Parse a column of text (or numbers) into grades, points and non-grade codes."""
        import numpy as np
        import pandas as pd

        # Classify each distinct text once (trimmed: only the distinct texts are, not every
        # row), then spread the answers back by factorize codes (-1, a missing value, picks
        # the trailing "blank" entry, as does a text that is blank once trimmed).
        codes, distinct = pd.factorize(values.astype("string"), use_na_sentinel=True)
        trimmed = (str(v).strip() for v in distinct)
        found = [("blank", None) if v == "" else self.classify(v) for v in trimmed]
        kind = np.array([k for k, _ in found] + ["blank"], dtype=object)[codes]
        name = np.array([n for _, n in found] + [None], dtype=object)[codes]
        is_grade = kind == "grade"
        is_code = kind == "code"
        grade = pd.Series(np.where(is_grade, name, None), index=values.index, dtype=object)
        points = grade.map(self.points_of).astype("float64")
        code = pd.Series(np.where(is_code, name, None), index=values.index, dtype=object)
        unknown = pd.Series(kind == "unknown", index=values.index, dtype=bool)
        return ParsedGrades(
            scale=self,
            original=values,
            grade=grade,
            points=points,
            code=code,
            unknown=unknown,
        )

    def grade_at_or_below(self, points: pd.Series) -> pd.Series:
        """The highest main grade whose points do not exceed each value (NaN → None)."""
        import numpy as np
        import pandas as pd

        grade_points = np.array([g.points for g in self.grades])
        names = np.array(self.grade_names, dtype=object)
        values = points.to_numpy(dtype="float64")
        position = np.searchsorted(grade_points, values, side="right") - 1
        valid = ~np.isnan(values) & (position >= 0)
        result = np.where(valid, names[np.clip(position, 0, None)], None)
        return pd.Series(result, index=points.index, dtype=object)

    def grade_positions(self, points: pd.Series) -> np.ndarray:
        """Each value's place in the scale's order (0 = the lowest grade): the highest grade
        whose points do not exceed it (to within 1e-9), NaN for a missing value. Steps up the
        scale (P1i … P8, W, 1c …) are differences of these."""
        import numpy as np

        grade_points = np.array([g.points for g in self.grades], dtype="float64")
        values = points.to_numpy(dtype="float64")
        found = np.searchsorted(grade_points, values + 1e-9, side="right") - 1.0
        return np.where(np.isnan(values), np.nan, found)

    def grade_for_points(self, points: pd.Series) -> pd.Series:
        """The main grade with exactly these points, else None (for `--from points`)."""
        exact = {g.points: g.grade for g in self.grades}
        return (
            points.astype("float64")
            .map(exact)
            .astype(object)
            .where(points.astype("float64").isin(list(exact)), None)
        )


@dataclass(frozen=True)
class ParsedGrades:
    """A parsed column: canonical grade, points, non-grade code and unknown-value mask."""

    scale: Scale
    original: pd.Series
    grade: pd.Series  # canonical grade name or None
    points: pd.Series  # float, NaN where not a grade
    code: pd.Series  # non-grade code (A, D, ...) or None
    unknown: pd.Series  # bool: a value that is neither a grade nor a code

    def problems(self, column: str) -> pd.DataFrame:
        """One row per unknown value: index (source row), column, value, nearest grades."""
        import pandas as pd

        bad = self.original[self.unknown]
        suggestions = {v: ", ".join(self.scale.nearest(str(v))) for v in pd.unique(bad)}
        return pd.DataFrame(
            {
                "column": column,
                "value": bad.astype(str),
                "message": f"not a grade of the {self.scale.name} scale",
                "suggestion": bad.map(suggestions).fillna(""),
            },
            index=bad.index,
        )


_END_OF_YEAR = re.compile(r"end_of_year_(\d+)")


def _key(value: object) -> str:
    """Compare grades ignoring case, spaces and a trailing `.0` (Excel numbers)."""
    text = _SPACES.sub("", str(value).lower())
    text = text.replace("star", "*")
    return _TRAILING_ZEROS.sub(r"\1", text)


@cache
def load_scale(name: str) -> Scale:
    """A shipped or user scale by name, or a scale YAML file by path."""
    return load_yaml_model(find_data_file("scales", name), Scale)


def scale_names() -> list[str]:
    return sorted(available("scales"))


# ---------------------------------------------------------------------------------------------
# Conversions between scales


class GradeMap(BaseModel):
    """A shipped conversion from one scale's grades to another scale or a numeric measure."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    from_scale: str = Field(alias="from")
    to: str
    kind: Literal["grade", "points"]
    approximate: bool = False
    title: str
    source: str = Field(min_length=1)
    map: dict[str, str | float]

    @model_validator(mode="after")
    def _grades_exist(self) -> GradeMap:
        source = load_scale(self.from_scale)
        missing = [g for g in self.map if source.classify(g)[0] != "grade"]
        if missing:
            raise ValueError(f"{missing} are not grades of the {self.from_scale} scale")
        if self.kind == "grade":
            target = load_scale(self.to)
            bad = [v for v in self.map.values() if target.classify(str(v))[0] != "grade"]
            if bad:
                raise ValueError(f"{bad} are not grades of the {self.to} scale")
        return self


@cache
def grade_maps() -> dict[tuple[str, str], GradeMap]:
    """Every shipped and user grade map by (from, to)."""
    maps = [load_yaml_model(path, GradeMap) for path in available("grade_maps").values()]
    return {(m.from_scale, m.to): m for m in maps}


@dataclass(frozen=True)
class Converted:
    """The converted values and the cells that could not be converted, with why."""

    values: pd.Series
    problems: pd.DataFrame  # index = source row; columns: column, value, message, suggestion
    approximate: bool


def convert_values(values: pd.Series, column: str, source: str, target: str) -> Converted:
    """Translate one column of grades from scale `source` to `target`.

    `target` may be another scale (via a shipped grade map, or the same scale to tidy spellings),
    `points` (the scale's own point values), or a numeric measure a grade map names. `source`
    may be `points` with a scale `target` (exact point values only). Non-grade codes and values
    that cannot be converted are reported, never guessed.
    """
    import pandas as pd

    if source == POINTS:
        scale = load_scale(target)
        numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
        result = scale.grade_for_points(numbers)
        failed = values.notna() & (values.astype("string").str.strip() != "") & result.isna()
        problems = _problem_frame(values[failed], column, f"no {target} grade has these points")
        return Converted(result, problems, approximate=False)

    parsed = load_scale(source).parse(values)
    approximate = False
    if target == POINTS:
        result = parsed.points.astype(object).where(parsed.points.notna(), None)
    elif target == source:
        result = parsed.grade
    else:
        grade_map = grade_maps().get((source, target))
        if grade_map is None:
            raise UsageError(
                f"no conversion from {source} to {target}",
                hint="see `targetkit convert --list`",
            )
        approximate = grade_map.approximate
        mapping = {load_scale(source).classify(k)[1]: v for k, v in grade_map.map.items()}
        result = parsed.grade.map(mapping).astype(object)
        result = result.where(result.notna(), None)
    problems = parsed.problems(column)
    codes = parsed.code.notna()
    unmapped = parsed.grade.notna() & pd.Series(result, index=values.index).isna()
    extra = [
        _problem_frame(values[codes], column, "a non-grade code (missing with a reason)"),
        _problem_frame(values[unmapped], column, f"this grade has no {target} equivalent"),
    ]
    problems = pd.concat([problems, *[e for e in extra if len(e)]]).sort_index(kind="stable")
    return Converted(pd.Series(result, index=values.index), problems, approximate)


def _problem_frame(bad: pd.Series, column: str, message: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {"column": column, "value": bad.astype(str), "message": message, "suggestion": ""},
        index=bad.index,
    )


def conversion_list() -> list[dict[str, str]]:
    """Scales and the conversions between them, for `targetkit convert --list`."""
    rows = [
        {
            "from": name,
            "to": POINTS,
            "kind": "points",
            "approximate": "no",
            "title": f"{load_scale(name).title}: the scale's own points",
        }
        for name in scale_names()
    ]
    rows += [
        {
            "from": m.from_scale,
            "to": m.to,
            "kind": m.kind,
            "approximate": "yes" if m.approximate else "no",
            "title": m.title,
        }
        for m in grade_maps().values()
    ]
    return rows
