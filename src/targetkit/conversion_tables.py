"""Conversion tables: what pupils with each prior grade went on to achieve.

A conversion table is what the national guidance means by "conversion data": for a benchmark
group of schools (`national`, `top50`, `top25` by value added), a subject and a prior-attainment
grade, the proportion of pupils who reached each outcome grade. targetkit uses it to say, per
pupil, how likely each key threshold is, the most likely outcome and the expected points, so that
targets can be challenged against what the best schools achieve with the same starting points.

A table is two files side by side: `<name>.csv` in long format (`benchmark, subject, prior,
outcome, proportion, status`, optional `group` and `pupils`) and `<name>.yaml` with the metadata
(scales, outcome order, thresholds, source and provenance). Both are validated when loaded, and a
bad file is refused with one message naming the file and every problem found.

The DfE 9-1 tables are indexed by the DfE's KS2 scaled-score band; `ks2_band` maps an average
KS2 scaled score to its band, and `attainment8_estimate` looks up the DfE's Attainment 8
estimate for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from targetkit.datafiles import available, find_data_file, load_yaml_model, safe_load
from targetkit.errors import DataFileError
from targetkit.wording import counted, noun

__all__ = [
    "CONVERSIONS_DIR",
    "STATUSES",
    "BuiltConversion",
    "ConversionTable",
    "ConversionTableError",
    "PriorProfile",
    "PriorProfiles",
    "PublishedRate",
    "TableMetadata",
    "TableSource",
    "attainment8_estimate",
    "attainment8_estimates",
    "build_conversion",
    "ks2_band",
    "ks2_bands",
    "list_tables",
    "load_table",
]

CONVERSIONS_DIR = Path(__file__).parent / "data" / "conversions"  # the shipped tables
_KIND = "conversions"  # their data-file kind: TARGETKIT_DATA_DIR/conversions/ adds or overrides
REQUIRED_COLUMNS = ("benchmark", "subject", "prior", "outcome", "proportion", "status")
OPTIONAL_COLUMNS = ("group", "pupils")
STATUSES = ("published", "derived", "illustrative")
SUM_TOLERANCE = 0.002  # each prior's proportions must add up to 1 within this
PUBLISHED_TOLERANCE = 0.0005  # a quoted rate (e.g. 56%) must be reproduced within this
DEFAULT_GROUP = "all"
_KEY = ("benchmark", "subject", "group", "prior")
_MAX_PROBLEMS_SHOWN = 8


class ConversionTableError(DataFileError, ValueError):
    """A conversion table (or its metadata) is not valid; names the file and the problems.

    It is a `ValueError` too, so callers that only know the standard library can catch it.
    """


# --------------------------------------------------------------------------------------------
# Metadata (the yaml beside each CSV)


def _grade_text(value: Any) -> str:
    """One grade as text: YAML and spreadsheets turn `4` into a number and `yes` into a bool."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(value).strip()


def _grade_list(values: Any) -> Any:
    return [_grade_text(v) for v in values] if isinstance(values, list) else values


def _grade_dict(values: Any, *, values_too: bool = True) -> Any:
    if not isinstance(values, dict):
        return values
    return {
        _grade_text(k): (_grade_text(v) if values_too and v is not None else v)
        for k, v in values.items()
    }


def _match_key(value: Any) -> str:
    """Forgiving key for matching grades: case and spaces do not matter (`2C`, `100-102`)."""
    return re.sub(r"\s+", "", _grade_text(value)).casefold()


class TableSource(BaseModel):
    """Where a table's numbers come from (no URLs: the package never goes online)."""

    model_config = ConfigDict(extra="forbid")

    publisher: str
    document: str
    year: str | None = None
    description: str = ""

    @field_validator("year", mode="before")
    @classmethod
    def _year_text(cls, value: Any) -> Any:
        return None if value is None else _grade_text(value)


class PublishedRate(BaseModel):
    """A threshold rate quoted in a public source that the table must reproduce."""

    model_config = ConfigDict(extra="forbid")

    benchmark: str
    subject: str
    prior: str
    threshold: str
    rate: float = Field(ge=0, le=1)
    group: str = DEFAULT_GROUP
    source: str = ""

    @field_validator("prior", "threshold", "group", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _grade_text(value)


class PriorProfile(BaseModel):
    """A prior that names a profile of whole levels, e.g. level 6 in English and maths."""

    model_config = ConfigDict(extra="forbid")

    prior: str
    levels: dict[str, int] = Field(min_length=1)


class PriorProfiles(BaseModel):
    """How a pupil's levels in several subjects choose the table's prior (`profile_priors`).

    The first rule the pupil matches wins (list the narrowest published group first); a pupil
    matching none takes `<average_prefix><n>`, n the whole level of their average.
    """

    model_config = ConfigDict(extra="forbid")

    subjects: list[str] = Field(min_length=1)
    rules: list[PriorProfile] = Field(default_factory=list)
    average_prefix: str | None = None


class TableMetadata(BaseModel):
    """The yaml beside a conversion CSV: scales, order of outcomes, thresholds and provenance."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["conversion"] = "conversion"
    title: str
    prior_scale: str
    outcome_scale: str
    prior_point: str | None = None
    outcome_point: str | None = None
    subjects: list[str]
    benchmarks: list[str]
    groups: dict[str, str] = Field(default_factory=lambda: {DEFAULT_GROUP: "All pupils"})
    prior_order: list[str] | None = None
    outcome_order: list[str] = Field(min_length=1)
    outcome_points: dict[str, float] = Field(default_factory=dict)
    thresholds: dict[str, str] = Field(default_factory=dict)
    prior_aliases: dict[str, str] = Field(default_factory=dict)
    published_rates: list[PublishedRate] = Field(default_factory=list)
    prior_profiles: PriorProfiles | None = None
    source: TableSource
    provenance: str
    licence: str

    @field_validator("prior_order", "outcome_order", mode="before")
    @classmethod
    def _grades(cls, value: Any) -> Any:
        return _grade_list(value)

    @field_validator("thresholds", "prior_aliases", mode="before")
    @classmethod
    def _grade_map(cls, value: Any) -> Any:
        return _grade_dict(value)

    @field_validator("outcome_points", "groups", mode="before")
    @classmethod
    def _grade_keys(cls, value: Any) -> Any:
        return _grade_dict(value, values_too=False)

    @classmethod
    def minimal(cls, name: str, frame: pd.DataFrame) -> TableMetadata:
        """Metadata for a user's CSV that came without a yaml: orders as the rows list them."""
        return cls(
            name=name,
            title=name,
            prior_scale="unknown",
            outcome_scale="unknown",
            subjects=list(pd.unique(frame["subject"])),
            benchmarks=list(pd.unique(frame["benchmark"])),
            groups={g: g for g in pd.unique(frame["group"])},
            prior_order=list(pd.unique(frame["prior"])),
            outcome_order=list(pd.unique(frame["outcome"])),
            source=TableSource(
                publisher="unknown",
                document=name,
                description="user-supplied table without a metadata file",
            ),
            provenance=(
                "No metadata file (.yaml) beside the CSV: outcomes are taken to be listed from "
                "lowest to highest, and no threshold names are defined (pass an outcome grade)."
            ),
            licence="unknown",
        )

    def to_yaml_text(self) -> str:
        """The metadata as yaml text, for writing beside a built table."""
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# --------------------------------------------------------------------------------------------
# National Curriculum level thresholds ("level 4+" = 4c, 4b, 4a, 4 or above)

_NC_GRADE = re.compile(r"^(?:level|lvl|l)?\s*([0-9])\s*([abc])?\s*\+?$", re.IGNORECASE)
_NC_SUB_OFFSET = {"c": 1, "b": 3, "a": 5, None: 3}  # points = 6 * level + offset


def _nc_level_points(grade: str) -> tuple[int, float] | None:
    """Level digit and points of an nc grade (W = level 0, EP above level 8), else None."""
    text = grade.strip()
    if text.upper() == "W":
        return 0, 3.0
    if text.upper() == "EP":
        return 9, 57.0
    match = _NC_GRADE.match(text)
    if not match:
        return None
    level = int(match.group(1))
    sub = match.group(2).lower() if match.group(2) else None
    return level, float(6 * level + _NC_SUB_OFFSET[sub])


# --------------------------------------------------------------------------------------------
# The table


@dataclass(eq=False)
class ConversionTable:
    """A validated conversion table with vectorised per-pupil lookups.

    `frame` has the columns `benchmark, subject, group, prior, outcome, proportion, status`
    (and `pupils` where counts are known); treat it as read-only.
    """

    metadata: TableMetadata
    frame: pd.DataFrame = field(repr=False)
    path: Path | None = None
    _wide: dict[tuple[str, str, str], pd.DataFrame] = field(default_factory=dict, repr=False)
    _prior_keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        keys = {_match_key(a): b for a, b in self.metadata.prior_aliases.items()}
        keys.update({_match_key(p): p for p in self.priors})  # a real prior beats an alias
        self._prior_keys = keys

    # -- what the table holds

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def benchmarks(self) -> list[str]:
        return list(self.metadata.benchmarks)

    @property
    def subjects(self) -> list[str]:
        return list(self.metadata.subjects)

    @property
    def groups(self) -> list[str]:
        return list(pd.unique(self.frame["group"]))

    @property
    def outcome_order(self) -> list[str]:
        """Outcome grades from lowest to highest."""
        return list(self.metadata.outcome_order)

    @property
    def priors(self) -> list[str]:
        """Prior grades in the table's order (lowest first where the yaml gives an order)."""
        present = set(self.frame["prior"])
        order = self.metadata.prior_order or list(pd.unique(self.frame["prior"]))
        return [p for p in order if p in present]

    def basis(self, benchmark: str, subject: str) -> str | None:
        """What a rate from this table rests on (SPEC §8 "Illustrative numbers are labelled").

        `illustrative` when any of the benchmark's rows for the subject is marked so, else
        `published: <publisher>, <document> (<year>)`; a table built from local history says
        `local: <document>`. None when the table has no rows for the subject.
        """
        rows = self.frame[self.frame["subject"].eq(subject)]
        if rows["benchmark"].eq(benchmark).any():
            rows = rows[rows["benchmark"].eq(benchmark)]
        if rows.empty:
            return None
        if rows["status"].eq("illustrative").any():
            return "illustrative"
        source = self.metadata.source
        if source.publisher in ("local", "unknown"):
            return f"local: {source.document}"
        year = f" ({source.year})" if source.year else ""
        return f"published: {source.publisher}, {source.document}{year}"

    def has(self, benchmark: str, subject: str, group: str = DEFAULT_GROUP) -> bool:
        """Whether the table has rows for this benchmark, subject and group (for fallbacks)."""
        try:
            self.distribution(benchmark, subject, group)
        except ValueError:
            return False
        return True

    def benchmark_for(self, benchmark: str, subject: str) -> str:
        """The benchmark whose figures a subject's chances come from: the one asked for, or
        national where the table has none for the subject (the DfE publishes no top-25%
        KS2-to-KS4 figures). set-targets, its workbook and check-ambition all fall back so."""
        return benchmark if self.has(benchmark, subject) else "national"

    def distribution(
        self, benchmark: str, subject: str, group: str = DEFAULT_GROUP
    ) -> pd.DataFrame:
        """Wide proportions: one row per prior (table order), one column per outcome (low→high).

        An outcome with no row for a prior counts as proportion 0. Returns a copy.
        """
        return self._distribution(benchmark, subject, group).copy()

    def _distribution(self, benchmark: str, subject: str, group: str) -> pd.DataFrame:
        key = (benchmark, subject, group)
        if key not in self._wide:
            self._wide[key] = self._make_wide(benchmark, subject, group)
        return self._wide[key]

    def _make_wide(self, benchmark: str, subject: str, group: str) -> pd.DataFrame:
        for column, value, known in (
            ("benchmark", benchmark, self.benchmarks),
            ("subject", subject, self.subjects),
            ("group", group, self.groups),
        ):
            if value not in known:
                raise ValueError(
                    f"conversion table {self.name!r} has no {column} {value!r} "
                    f"(it has: {', '.join(map(str, known))})"
                )
        frame = self.frame
        rows = frame[
            (frame["benchmark"] == benchmark)
            & (frame["subject"] == subject)
            & (frame["group"] == group)
        ]
        if rows.empty:
            raise ValueError(
                f"conversion table {self.name!r} has no rows for benchmark {benchmark!r}, "
                f"subject {subject!r}, group {group!r}"
            )
        wide = rows.pivot(index="prior", columns="outcome", values="proportion")
        wide = wide.reindex(columns=self.outcome_order).fillna(0.0)
        wide = wide.reindex([p for p in self.priors if p in wide.index])
        wide.columns.name = "outcome"
        wide.index.name = "prior"
        return wide

    # -- thresholds

    def outcomes_meeting(self, threshold: str) -> list[str]:
        """The outcome grades that count as reaching `threshold`.

        `threshold` is a name from the yaml's `thresholds` (e.g. `4plus`) or an outcome grade
        meaning "this grade or higher" in `outcome_order`. On the nc scale a grade that is not
        an outcome of the table compares by level digit for whole levels and "c" sub-levels
        (`4c` → any level-4 grade or above, so a whole-level outcome `4` counts) and by points
        otherwise (`4b` → 27 points or more, a whole level counting as its "b").
        """
        return [o for o, ok in zip(self.outcome_order, self._meets(threshold), strict=True) if ok]

    def _meets(self, threshold: str) -> np.ndarray:
        text = _grade_text(threshold)
        names = {_match_key(k): v for k, v in self.metadata.thresholds.items()}
        target = self.metadata.thresholds.get(text, names.get(_match_key(text), text))
        order_keys = [_match_key(o) for o in self.outcome_order]
        if _match_key(target) in order_keys:
            position = order_keys.index(_match_key(target))
            return np.arange(len(order_keys)) >= position
        if self.metadata.outcome_scale == "nc":
            wanted = _nc_level_points(target)
            match = _NC_GRADE.match(target.strip())
            if wanted is not None:
                return self._nc_meets(wanted, match.group(2) if match else None)
        raise ValueError(
            f"conversion table {self.name!r} does not know the threshold {threshold!r}: use one "
            f"of {', '.join(self.metadata.thresholds) or '(no names)'} or an outcome grade "
            f"({', '.join(self.outcome_order)})"
        )

    def _nc_meets(self, wanted: tuple[int, float], sub_level: str | None) -> np.ndarray:
        level, points = wanted
        result = []
        for outcome in self.outcome_order:
            parsed = _nc_level_points(outcome)
            if parsed is None:
                result.append(False)
                continue
            outcome_points = self.metadata.outcome_points.get(outcome, parsed[1])
            if sub_level is None or sub_level.lower() == "c":
                result.append(parsed[0] >= level)
            else:
                result.append(outcome_points >= points)
        return np.array(result, dtype=bool)

    # -- per-prior values

    def rates(
        self, benchmark: str, subject: str, threshold: str, group: str = DEFAULT_GROUP
    ) -> pd.Series:
        """Chance of reaching `threshold` for each prior in the table (index: prior)."""
        wide = self._distribution(benchmark, subject, group)
        # Sums of rounded published proportions can pass 1 by a millionth: a chance cannot.
        chance = wide.loc[:, self._meets(threshold)].sum(axis=1).round(12).clip(0.0, 1.0)
        return chance.rename(threshold)

    def rate(
        self,
        benchmark: str,
        subject: str,
        prior: str,
        threshold: str,
        group: str = DEFAULT_GROUP,
    ) -> float:
        """One threshold rate, e.g. top-25% English, KS1 level 1 → level 4+: 0.56.

        Raises `ValueError` when the prior is not in the table (a quota needs a real number).
        """
        value = self.chance(benchmark, subject, pd.Series([prior]), threshold, group).iloc[0]
        if pd.isna(value):
            raise ValueError(
                f"conversion table {self.name!r} has no prior {prior!r} for benchmark "
                f"{benchmark!r}, subject {subject!r}, group {group!r} (priors: "
                f"{', '.join(self.distribution(benchmark, subject, group).index)})"
            )
        return float(value)

    def modes(self, benchmark: str, subject: str, group: str = DEFAULT_GROUP) -> pd.Series:
        """Most likely outcome per prior; a tie goes to the higher grade (the ambitious one)."""
        wide = self._distribution(benchmark, subject, group)
        values = wide.to_numpy().round(9)[:, ::-1]  # reversed: argmax takes the highest grade
        position = len(wide.columns) - 1 - values.argmax(axis=1)
        return pd.Series(np.asarray(wide.columns)[position], index=wide.index, name="mode")

    def points_by_prior(
        self, benchmark: str, subject: str, group: str = DEFAULT_GROUP
    ) -> pd.Series:
        """Expected outcome points per prior, over the outcomes that have points.

        Outcomes without points (e.g. `X`, entered but no result) are left out and the rest
        re-weighted, so the figure is the mean points of pupils with a result.
        """
        points = self.metadata.outcome_points
        if not points:
            raise ValueError(
                f"conversion table {self.name!r} has no outcome points "
                f"(outcome scale {self.metadata.outcome_scale!r})"
            )
        wide = self._distribution(benchmark, subject, group)
        scored = [o for o in wide.columns if o in points]
        weights = wide[scored]
        total = weights.sum(axis=1)
        expected = weights.to_numpy() @ np.array([points[o] for o in scored], dtype=float)
        return pd.Series(expected, index=wide.index).div(total.where(total > 0)).rename("points")

    # -- per-pupil lookups (vectorised: one lookup per distinct prior, then a take)

    def chance(
        self,
        benchmark: str,
        subject: str,
        priors: pd.Series,
        threshold: str,
        group: str = DEFAULT_GROUP,
    ) -> pd.Series:
        """Probability that each pupil reaches `threshold`, from their prior; NaN if not listed."""
        rates = self.rates(benchmark, subject, threshold, group)
        return self._per_pupil(rates, priors, f"chance_{threshold}")

    def most_likely(
        self, benchmark: str, subject: str, priors: pd.Series, group: str = DEFAULT_GROUP
    ) -> pd.Series:
        """Each pupil's most likely outcome (the mode; ties → higher grade); NaN if not listed."""
        return self._per_pupil(self.modes(benchmark, subject, group), priors, "most_likely")

    def expected_points(
        self, benchmark: str, subject: str, priors: pd.Series, group: str = DEFAULT_GROUP
    ) -> pd.Series:
        """Each pupil's expected outcome points (see `points_by_prior`); NaN if not listed."""
        by_prior = self.points_by_prior(benchmark, subject, group)
        return self._per_pupil(by_prior, priors, "expected_points")

    def resolve_priors(self, priors: pd.Series) -> pd.Series:
        """Each pupil's prior as the table spells it (aliases applied), NaN if not in the table.

        Matching ignores case and spaces; the yaml's `prior_aliases` map grades the table does
        not list to one it does (e.g. a whole level `2` to `2b`, whose points it takes).
        """
        return self._per_pupil(pd.Series(self.priors, index=self.priors), priors, "prior")

    def _per_pupil(
        self, by_prior: pd.Series, priors: pd.Series | Sequence[Any], name: str
    ) -> pd.Series:
        """Spread per-prior values to pupils: normalise each distinct prior once, then take."""
        priors = priors if isinstance(priors, pd.Series) else pd.Series(list(priors))
        codes, uniques = pd.factorize(priors, use_na_sentinel=True)
        canonical = [self._prior_keys.get(_match_key(u)) for u in uniques]
        looked_up = by_prior.reindex(pd.Index(canonical, dtype=object)).to_numpy()
        numeric = pd.api.types.is_numeric_dtype(by_prior.dtype)
        result = np.full(len(priors), np.nan, dtype=float if numeric else object)
        found = codes >= 0
        result[found] = looked_up[codes[found]]
        return pd.Series(result, index=priors.index, name=name)

    def profile_priors(
        self, levels: pd.DataFrame, average_level: pd.Series | None = None
    ) -> pd.Series:
        """Each pupil's prior from their levels in several subjects (the yaml's `prior_profiles`).

        So that a published rate reaches exactly the pupils it describes: a pupil at level 6 in
        each of English, maths and science gets the guidance's 95% (`L6_EMS`), not the rate of
        pupils averaging level 6. `levels` has a column per subject (whole levels as numbers or
        NC grades such as `6b`; a missing column or blank is unknown). The first rule whose
        subjects all hold exactly its whole level wins; otherwise the whole level of the
        pupil's average (`average_level` if given, else the mean over the subjects when every
        one is known) names the `<average_prefix><n>` row, clipped to the rows the table has.
        NaN when neither applies.
        """
        spec = self.metadata.prior_profiles
        if spec is None:
            raise ValueError(f"conversion table {self.name!r} has no prior_profiles")
        fine = pd.DataFrame(
            {s: _fine_levels(levels[s]) if s in levels else np.nan for s in spec.subjects},
            index=levels.index,
        )
        whole = np.floor(fine.to_numpy(dtype=float))
        column = {s: i for i, s in enumerate(spec.subjects)}
        matches = [
            np.logical_and.reduce(
                [whole[:, column[s]] == level for s, level in rule.levels.items()]
            )
            for rule in spec.rules
        ]
        fallback = np.full(len(fine), None, dtype=object)
        averaged = self._average_priors(spec.average_prefix)
        if averaged:
            if average_level is None:
                average_level = fine.mean(axis=1).where(fine.notna().all(axis=1))
            level = np.floor(pd.to_numeric(average_level, errors="coerce").to_numpy(float))
            known = ~np.isnan(level)
            clipped = np.clip(level[known], min(averaged), max(averaged)).astype(int)
            fallback[known] = [averaged[n] for n in clipped]
        result = fallback
        for rule, match in reversed(list(zip(spec.rules, matches, strict=True))):
            result[match] = rule.prior  # reversed: the first matching rule is written last
        return pd.Series(result, index=levels.index, name="prior", dtype=object)

    def _average_priors(self, prefix: str | None) -> dict[int, str]:
        """The table's `<prefix><n>` priors by n (e.g. avg_L2 … avg_L7)."""
        if not prefix:
            return {}
        found = (re.fullmatch(re.escape(prefix) + r"(\d+)", p) for p in self.priors)
        return {int(m.group(1)): m.group(0) for m in found if m}

    # -- output

    def to_csv_text(self) -> str:
        """The table in its CSV file format (group/pupils columns only when they carry data)."""
        frame = self.frame
        columns = list(REQUIRED_COLUMNS)
        if (frame["group"] != DEFAULT_GROUP).any():
            columns.append("group")
        if "pupils" in frame and frame["pupils"].notna().any():
            columns.append("pupils")
        from targetkit.io import neutralise_formula

        text = frame[columns].copy()
        for name in text.columns:  # a subject named =cmd|… stays text
            if not pd.api.types.is_numeric_dtype(text[name]):
                text[name] = text[name].map(neutralise_formula)
        return text.to_csv(index=False, lineterminator="\n", float_format="%.6g")


# --------------------------------------------------------------------------------------------
# Loading and validation


def list_tables() -> list[str]:
    """Names of the conversion tables, shipped and in `TARGETKIT_DATA_DIR/conversions/`
    (a user's table of the same name wins); lookups and bands excluded. A user's CSV without
    a `.yaml` beside it is a table with minimal metadata, as when given by path."""
    names = []
    for csv_path in _table_files().values():
        meta_path = csv_path.with_suffix(".yaml")
        kind = "conversion"
        if meta_path.is_file():
            kind = _table_kind(meta_path, meta_path.stat().st_mtime_ns)
        if kind == "conversion":
            names.append(csv_path.stem)
    return names


@cache
def _table_kind(meta_path: Path, modified: int) -> str:
    """A table description's `kind`, read once per file and version (`list_tables` runs on
    every `load_table` by name and would otherwise parse every table's YAML each time)."""
    data = safe_load(meta_path.read_text(encoding="utf-8")) or {}
    return str(data.get("kind", "conversion")) if isinstance(data, dict) else "conversion"


def load_table(name_or_path: str | Path) -> ConversionTable:
    """Load and validate a table by name (shipped, or in `TARGETKIT_DATA_DIR/conversions/`),
    or a user's CSV by path.

    A user's CSV takes its metadata from `<same name>.yaml` (or `.yml`) beside it, or a minimal
    default (outcomes in the order the rows list them) when there is none.
    """
    csv_path = _find_csv(name_or_path)
    meta_path = next(
        (p for p in (csv_path.with_suffix(".yaml"), csv_path.with_suffix(".yml")) if p.is_file()),
        None,
    )
    frame = _normalise_frame(_read_frame(csv_path), csv_path)
    if meta_path is None:
        metadata = TableMetadata.minimal(csv_path.stem, frame)
    else:
        metadata = _read_metadata(meta_path)
    return table_from_frame(frame, metadata, source=csv_path)


@cache
def cached_table(name: str) -> ConversionTable:
    """A table by name, loaded and validated once per process (it caches its lookups): the
    engine and check-ambition share it, so a batch of submissions loads each table once.
    `load_table` reads the file afresh (build-conversion, a user's table by path)."""
    return load_table(name)


def table_from_frame(
    frame: pd.DataFrame, metadata: TableMetadata, *, source: str | Path | None = None
) -> ConversionTable:
    """Validate a long table frame against its metadata (used by the loader and for built tables).

    Raises `ConversionTableError` listing every problem found.
    """
    frame = _normalise_frame(frame, source)
    problems = _frame_problems(frame) + _metadata_problems(frame, metadata)
    _raise_if(problems, source)
    path = source if isinstance(source, Path) else None
    table = ConversionTable(metadata=metadata, frame=frame, path=path)
    _raise_if(_published_problems(table), source)
    return table


def _find_csv(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, Path)
        or text.lower().endswith((".csv", ".yaml", ".yml"))
        or "/" in text
        or "\\" in text
    )
    if looks_like_path:
        path = Path(name_or_path)
        if path.suffix.lower() in (".yaml", ".yml"):
            path = path.with_suffix(".csv")
        if not path.is_file():
            raise ConversionTableError("conversion table file not found", file=path)
        return path
    if text not in list_tables():
        raise ConversionTableError(
            f"no conversion table called {text!r}",
            hint=f"tables: {', '.join(list_tables())}; or give the path of a CSV, or add "
            "yours to TARGETKIT_DATA_DIR/conversions/",
        )
    return _table_files()[text]


def _table_files() -> dict[str, Path]:
    """Every table CSV by name, found like every data file (user folders first)."""
    return dict(sorted(available(_KIND, (".csv",)).items()))


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConversionTableError(f"cannot read the CSV: {exc}", file=path) from exc


def _read_metadata(path: Path) -> TableMetadata:
    return load_yaml_model(path, TableMetadata, ConversionTableError)


def _normalise_frame(frame: pd.DataFrame, source: str | Path | None) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ConversionTableError(
            f"missing {noun(len(missing), 'column')} {', '.join(missing)}; "
            "a conversion table needs "
            f"{', '.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})",
            file=source,
        )
    if frame.empty:
        raise ConversionTableError("the table has no rows", file=source)
    out = pd.DataFrame(index=frame.index)
    for column in ("benchmark", "subject", "group", "prior", "outcome", "status"):
        values = frame[column] if column in frame else pd.Series("", index=frame.index)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        text = np.array([_grade_text(u) for u in uniques] + [""], dtype=object)
        out[column] = pd.Series(text[codes], index=frame.index, dtype=object)
    out["group"] = out["group"].mask(out["group"] == "", DEFAULT_GROUP)
    out["status"] = out["status"].str.lower()
    out["proportion"] = pd.to_numeric(frame["proportion"], errors="coerce")
    pupils = frame["pupils"] if "pupils" in frame else pd.Series(np.nan, index=frame.index)
    out["pupils"] = pd.to_numeric(pupils.replace("", np.nan), errors="coerce")
    for column in frame.columns:  # anything else the user keeps, untouched
        if column not in out:
            out[column] = frame[column]
    return out.reset_index(drop=True)


def _rows(mask: pd.Series) -> str:
    """CSV line numbers (header is line 1) of the rows in `mask`, shortened."""
    lines = (np.flatnonzero(mask.to_numpy()) + 2).tolist()
    shown = ", ".join(map(str, lines[:5]))
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}{' …' if len(lines) > 5 else ''}"


def _frame_problems(frame: pd.DataFrame) -> list[str]:
    problems = []
    for column in ("benchmark", "subject", "prior", "outcome"):
        blank = frame[column] == ""
        if blank.any():
            problems.append(f"blank {column} ({_rows(blank)})")
    bad_number = frame["proportion"].isna()
    if bad_number.any():
        problems.append(f"proportion is not a number ({_rows(bad_number)})")
    out_of_range = ~frame["proportion"].between(0, 1) & ~bad_number
    if out_of_range.any():
        problems.append(f"proportion outside 0 to 1 ({_rows(out_of_range)})")
    bad_status = ~frame["status"].isin(STATUSES)
    if bad_status.any():
        values = ", ".join(sorted(map(repr, frame.loc[bad_status, "status"].unique())))
        problems.append(
            f"unknown status {values} ({_rows(bad_status)}); use one of {', '.join(STATUSES)}"
        )
    negative = frame["pupils"] < 0
    if negative.any():
        problems.append(f"negative pupils ({_rows(negative)})")
    duplicated = frame.duplicated([*_KEY, "outcome"], keep=False)
    if duplicated.any():
        problems.append(
            f"the same benchmark/subject/group/prior/outcome twice ({_rows(duplicated)})"
        )
    totals = frame.groupby(list(_KEY), sort=False)["proportion"].sum()
    off = totals[(totals - 1).abs() > SUM_TOLERANCE]
    for key, total in off.items():
        where = ", ".join(f"{k}={v}" for k, v in zip(_KEY, key, strict=True))
        problems.append(f"proportions for {where} add up to {total:.4f}, not 1")
    return problems


def _metadata_problems(frame: pd.DataFrame, meta: TableMetadata) -> list[str]:
    problems = []

    def compare(column: str, listed: Iterable[str], *, must_appear: bool = True) -> None:
        present = list(pd.unique(frame[column]))
        listed = list(listed)
        unlisted = [v for v in present if v not in listed]
        if unlisted:
            problems.append(
                f"{column} {noun(len(unlisted), 'value')} {', '.join(map(repr, unlisted))} "
                f"{noun(len(unlisted), 'is', 'are')} not in the metadata "
                f"({', '.join(map(repr, listed))})"
            )
        if must_appear:
            absent = [v for v in listed if v not in present]
            if absent:
                problems.append(
                    f"the metadata lists {column} {', '.join(map(repr, absent))} with no rows"
                )

    compare("benchmark", meta.benchmarks)
    compare("subject", meta.subjects)
    compare("group", meta.groups, must_appear=False)
    compare("outcome", meta.outcome_order, must_appear=False)
    if meta.prior_order is not None:
        compare("prior", meta.prior_order, must_appear=False)
    for label, values in (("outcome_order", meta.outcome_order), ("prior_order", meta.prior_order)):
        if values is not None and len(set(values)) != len(values):
            problems.append(f"{label} lists a grade twice")
    unknown_points = [o for o in meta.outcome_points if o not in meta.outcome_order]
    if unknown_points:
        problems.append(
            f"outcome_points for unknown {noun(len(unknown_points), 'outcome')} "
            f"{', '.join(unknown_points)}"
        )
    priors = set(frame["prior"])
    bad_alias = {a: p for a, p in meta.prior_aliases.items() if p not in priors}
    if bad_alias:
        problems.append(
            f"prior_aliases point to unknown {noun(len(bad_alias), 'prior')}: {bad_alias}"
        )
    problems += _profile_problems(meta, priors)
    probe = ConversionTable(metadata=meta, frame=frame.iloc[:0])
    for name, target in meta.thresholds.items():
        try:
            if not probe._meets(target).any():
                problems.append(f"threshold {name!r} ({target!r}) matches no outcome")
        except ValueError:
            problems.append(f"threshold {name!r} names {target!r}, which is not an outcome grade")
    return problems


def _profile_problems(meta: TableMetadata, priors: set[str]) -> list[str]:
    spec = meta.prior_profiles
    if spec is None:
        return []
    problems = []
    for rule in spec.rules:
        if rule.prior not in priors:
            problems.append(f"prior_profiles rule names unknown prior {rule.prior!r}")
        problems += [
            f"prior_profiles rule for {rule.prior!r} names subject {s!r} not in its subjects"
            for s in rule.levels
            if s not in spec.subjects
        ]
    prefix = spec.average_prefix
    if prefix and not any(re.fullmatch(re.escape(prefix) + r"\d+", p) for p in priors):
        problems.append(f"prior_profiles average_prefix {prefix!r} matches no prior")
    return problems


def _published_problems(table: ConversionTable) -> list[str]:
    problems = []
    for quoted in table.metadata.published_rates:
        try:
            value = table.rate(
                quoted.benchmark, quoted.subject, quoted.prior, quoted.threshold, quoted.group
            )
        except ValueError as exc:
            problems.append(f"published rate cannot be looked up: {exc}")
            continue
        if abs(value - quoted.rate) > PUBLISHED_TOLERANCE:
            problems.append(
                f"published rate {quoted.benchmark}/{quoted.subject}/{quoted.group} prior "
                f"{quoted.prior} → {quoted.threshold} is {quoted.rate}, but the table gives "
                f"{value:.4f}"
            )
    return problems


def _raise_if(problems: list[str], source: str | Path | None) -> None:
    if not problems:
        return
    shown = problems[:_MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    message = "invalid conversion table: " + "; ".join(shown)
    if more:
        message += f"; and {more} more {noun(more, 'problem')}"
    raise ConversionTableError(message, file=source)


# --------------------------------------------------------------------------------------------
# Building a table from a school's or LA's own history


@dataclass
class BuiltConversion:
    """A conversion table built from historic results, with the evidence behind it.

    `table`: long frame in the CSV format (status `derived`, with `pupils` counts);
    `schools`: every school with its pupils, value added, rank and whether it was kept;
    `small_cells`: priors with fewer than `min_pupils` pupils in the kept schools (0 = none),
    to be flagged wherever the table's figures are shown.
    """

    table: pd.DataFrame
    schools: pd.DataFrame
    small_cells: pd.DataFrame
    benchmark: str
    subject: str
    prior_order: list[str]
    outcome_order: list[str]
    outcome_points: dict[str, float]
    excluded_rows: int
    min_pupils: int

    def metadata(
        self,
        name: str,
        *,
        prior_scale: str = "unknown",
        outcome_scale: str = "unknown",
        source_description: str = "",
        thresholds: Mapping[str, str] | None = None,
    ) -> TableMetadata:
        """Metadata for the built table; the provenance lists schools kept and small cells."""
        kept = self.schools[self.schools["kept"]]
        small = "; ".join(
            f"prior {row.prior}: {counted(row.pupils, 'pupil')}"
            for row in self.small_cells.itertuples(index=False)
        )
        provenance = (
            f"Built by targetkit build-conversion from "
            f"{counted(int(self.schools['pupils'].sum()), 'pupil')} in "
            f"{counted(len(self.schools), 'school')} "
            f"({counted(self.excluded_rows, 'row')} without a "
            f"prior, outcome or school left out). Schools ranked by value added (mean outcome "
            f"points minus the mean for all pupils in the history with the same prior); the "
            f"{self.benchmark} kept {counted(len(kept), 'school')} "
            f"({counted(int(kept['pupils'].sum()), 'pupil')}). "
            f"Every proportion is derived from these counts. "
            + (
                f"Small cells (fewer than {self.min_pupils} pupils): {small}."
                if small
                else f"No prior has fewer than {self.min_pupils} pupils."
            )
        )
        return TableMetadata(
            name=name,
            title=f"{self.subject}: {self.benchmark} conversion built from local results",
            prior_scale=prior_scale,
            outcome_scale=outcome_scale,
            subjects=[self.subject],
            benchmarks=[self.benchmark],
            prior_order=self.prior_order,
            outcome_order=self.outcome_order,
            outcome_points=self.outcome_points,
            thresholds=dict(thresholds or {}),
            source=TableSource(publisher="local", document=name, description=source_description),
            provenance=provenance,
            licence="as the historic results it was built from",
        )

    def to_table(self, name: str, **metadata: Any) -> ConversionTable:
        """The built table validated as a `ConversionTable` (keyword args go to `metadata`)."""
        return table_from_frame(self.table, self.metadata(name, **metadata), source=name)


def build_conversion(
    history: pd.DataFrame,
    prior_col: str,
    outcome_col: str,
    *,
    school_col: str = "school",
    top: int = 25,
    outcome_points: Mapping[str, float],
    prior_points: Mapping[str, float] | None = None,
    subject: str | None = None,
    min_pupils: int = 5,
) -> BuiltConversion:
    """Build a top-`top`% conversion table from historic pupil results (`build-conversion`).

    Needs columns `school_col`, `prior_col`, `outcome_col` (one row per pupil). Rows missing any
    of them are left out and counted. Every outcome must have points in `outcome_points`;
    `prior_points`, when given, orders the priors (and every prior must be in it), otherwise
    priors are ordered by the mean outcome of their pupils.

    Schools are ranked by value added: the mean, over their pupils, of outcome points minus the
    national expectation (the mean outcome points of all pupils in the history with the same
    prior). Ties are broken deterministically: more pupils first, then the school identifier
    in text order. The top `ceil(schools × top / 100)` schools are kept (at least one), and
    what their pupils with each prior achieved is counted.
    """
    if not 1 <= top <= 100:
        raise ValueError(f"top must be a percentage from 1 to 100, not {top}")
    missing = [c for c in (school_col, prior_col, outcome_col) if c not in history.columns]
    if missing:
        raise ValueError(f"history has no {noun(len(missing), 'column')} {', '.join(missing)}")
    subject = subject or outcome_col.split("_")[0]
    benchmark = f"top{top}"

    pupils = pd.DataFrame(
        {
            "school": _text_column(history[school_col]),
            "prior": _text_column(history[prior_col]),
            "outcome": _text_column(history[outcome_col]),
        }
    )
    complete = pupils.notna().all(axis=1)
    excluded = int((~complete).sum())
    pupils = pupils[complete]
    if pupils.empty:
        raise ValueError("history has no pupil with a school, a prior and an outcome")
    points = {_grade_text(k): float(v) for k, v in outcome_points.items()}
    unknown = sorted(set(pupils["outcome"]) - set(points))
    if unknown:
        raise ValueError(
            f"{noun(len(unknown), 'outcome')} without points: {', '.join(unknown[:10])}"
        )
    if prior_points is not None:
        prior_points = {_grade_text(k): float(v) for k, v in prior_points.items()}
        unknown = sorted(set(pupils["prior"]) - set(prior_points))
        if unknown:
            raise ValueError(
                f"{noun(len(unknown), 'prior')} without points: {', '.join(unknown[:10])}"
            )

    pupils = pupils.assign(points=pupils["outcome"].map(points))
    expectation = pupils.groupby("prior")["points"].transform("mean")
    pupils = pupils.assign(value_added=pupils["points"] - expectation)
    schools = (
        pupils.groupby("school", sort=False)
        .agg(pupils=("points", "size"), value_added=("value_added", "mean"))
        .reset_index()
    )
    schools["_va"] = schools["value_added"].round(9)  # float noise must not break ties
    schools = schools.sort_values(
        ["_va", "pupils", "school"], ascending=[False, False, True], kind="mergesort"
    ).drop(columns="_va")
    schools["rank"] = np.arange(1, len(schools) + 1)
    keep = max(1, math.ceil(len(schools) * top / 100))
    schools["kept"] = schools["rank"] <= keep
    schools = schools.reset_index(drop=True)

    if prior_points is not None:
        prior_order = sorted(set(pupils["prior"]), key=lambda p: (prior_points[p], p))
    else:
        means = pupils.groupby("prior")["points"].mean()
        prior_order = sorted(means.index, key=lambda p: (means[p], p))
    outcome_order = sorted(set(pupils["outcome"]), key=lambda o: (points[o], o))

    kept = pupils[pupils["school"].isin(schools.loc[schools["kept"], "school"])]
    counts = (
        kept.groupby(["prior", "outcome"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=prior_order, columns=outcome_order, fill_value=0)
    )
    per_prior = counts.sum(axis=1)
    listed = counts[per_prior > 0]
    long = listed.stack().rename("pupils").reset_index()
    long["proportion"] = long["pupils"] / long["prior"].map(per_prior)
    table = pd.DataFrame(
        {
            "benchmark": benchmark,
            "subject": subject,
            "prior": long["prior"],
            "outcome": long["outcome"],
            "proportion": long["proportion"],
            "status": "derived",
            "group": DEFAULT_GROUP,
            "pupils": long["pupils"].astype(int),
        }
    )
    small = per_prior[per_prior < min_pupils]
    small_cells = pd.DataFrame(
        {"subject": subject, "prior": small.index, "pupils": small.to_numpy().astype(int)}
    )
    return BuiltConversion(
        table=table.reset_index(drop=True),
        schools=schools[["school", "pupils", "value_added", "rank", "kept"]],
        small_cells=small_cells,
        benchmark=benchmark,
        subject=subject,
        prior_order=[p for p in prior_order if per_prior[p] > 0],
        outcome_order=outcome_order,
        outcome_points={o: points[o] for o in outcome_order},
        excluded_rows=excluded,
        min_pupils=min_pupils,
    )


def _fine_levels(values: pd.Series) -> np.ndarray:
    """NC levels as numbers: a number stays itself; a grade gives its level with the sub-level
    as a fraction (`6c` 6.0, `6b` 6.33, `6a` 6.67, a whole `6` 6.33); anything else NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = [_nc_level_points(_grade_text(u)) for u in uniques]
    fine = np.array([(p[1] - 1) / 6 if p else np.nan for p in parsed] + [np.nan], dtype=float)
    return fine[codes]


def _text_column(values: pd.Series) -> pd.Series:
    """Grades/identifiers as text (one conversion per distinct value); blanks become NaN."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([_grade_text(u) for u in uniques] + [None], dtype=object)
    result = pd.Series(text[codes], index=values.index, dtype=object)
    return result.mask(result == "")


# --------------------------------------------------------------------------------------------
# KS2 scaled-score bands and Attainment 8 estimates (DfE 2023/24)


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    lower: float | None = None
    upper: float | None = None
    upper_inclusive: bool = True
    missing: bool = False


class _BandsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["bands"]
    title: str
    score: str
    rule: str
    bands: list[_Band] = Field(min_length=1)
    source: TableSource
    provenance: str
    licence: str


class _LookupFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["lookup"]
    title: str
    score: str
    rule: str
    key: str
    range_column: str
    columns: dict[str, str]
    source: TableSource
    provenance: str
    licence: str


@cache  # loaded once, before the pipeline runs (SPEC §8 purity); callers never change it
def ks2_bands() -> pd.DataFrame:
    """The DfE KS2 scaled-score bands of the 9-1 transition matrices, lowest first.

    Columns `label, lower, upper, upper_inclusive, missing` (`missing`: the band of pupils
    with no KS2 scaled score).
    """
    spec = load_yaml_model(find_data_file(_KIND, "ks2band"), _BandsFile, ConversionTableError)
    return pd.DataFrame([band.model_dump() for band in spec.bands])


def _band_index(scores: pd.Series, uppers: np.ndarray, inclusive: np.ndarray) -> np.ndarray:
    """Index of the first band whose upper bound the score does not pass (DfE's rule); -1 if
    the score is missing or above the top band."""
    effective = np.where(inclusive, uppers, np.nextafter(uppers, -np.inf))
    numbers = pd.to_numeric(scores, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    position = np.searchsorted(effective, numbers, side="left")
    position[np.isnan(numbers) | (position >= len(effective))] = -1
    return position


def ks2_band(scores: pd.Series, *, no_score_band: bool = False) -> pd.Series:
    """The DfE KS2 band label (e.g. `100 - 102`) for each pupil's average KS2 scaled score.

    The score is the mean of the pupil's KS2 reading and maths scaled scores (the DfE's
    `KS2EMSS`). A score goes to the first band whose upper bound it does not pass, as the DfE's
    ready reckoner does; scores above 120 or not numbers give NaN. A missing score gives NaN,
    or the band `No scaled score` with `no_score_band=True` (use it only when the pupil truly
    has no KS2 result, as the DfE does).
    """
    scores = scores if isinstance(scores, pd.Series) else pd.Series(list(scores))
    bands = ks2_bands()
    scored = bands[~bands["missing"]]
    position = _band_index(
        scores, scored["upper"].to_numpy(float), scored["upper_inclusive"].to_numpy(bool)
    )
    labels = np.append(scored["label"].to_numpy(object), np.nan)
    result = pd.Series(labels[position], index=scores.index, name="ks2_band")
    if no_score_band:
        no_score = bands.loc[bands["missing"], "label"]
        blank = scores.isna() | scores.astype(str).str.strip().eq("")
        if not no_score.empty:
            result = result.mask(blank, no_score.iloc[0])
    return result


@cache  # loaded once, before the pipeline runs (SPEC §8 purity); callers never change it
def attainment8_estimates() -> pd.DataFrame:
    """The DfE's 2024 Attainment 8 estimates by KS2 prior attainment group, with parsed bounds.

    Columns as in the shipped CSV plus `lower` and `upper` (inclusive) average scaled scores.
    """
    path = find_data_file(_KIND, "attainment8_estimates_2024", (".csv",))
    spec = load_yaml_model(path.with_suffix(".yaml"), _LookupFile, ConversionTableError)
    frame = pd.read_csv(path, dtype={spec.key: "int64", spec.range_column: str})
    bounds = frame[spec.range_column].str.extract(r"^\s*([\d.]+)\s+to\s+([\d.]+)\s*$")
    if bounds.isna().any().any():
        raise ConversionTableError(f"unreadable {spec.range_column} values", file=path)
    return frame.assign(lower=bounds[0].astype(float), upper=bounds[1].astype(float))


def attainment8_estimate(
    scores: pd.Series, element: str = "attainment8", *, table: pd.DataFrame | None = None
) -> pd.Series:
    """DfE Attainment 8 estimate (or one element) for each pupil's average KS2 scaled score.

    The score is the mean of KS2 reading and maths scaled scores; it goes to the first prior
    attainment group whose upper bound it does not pass (so a score below 59 is in group 1, as
    in the DfE's ready reckoner); above 120 or missing gives NaN. `element` is one of
    `attainment8, english, maths, ebacc, open`. `table`: `attainment8_estimates()` already
    loaded (the pipeline opens no file); loaded here when not given.
    """
    scores = scores if isinstance(scores, pd.Series) else pd.Series(list(scores))
    table = (attainment8_estimates() if table is None else table).sort_values("upper")
    if element not in ("attainment8", "english", "maths", "ebacc", "open"):
        raise ValueError(f"unknown Attainment 8 element {element!r}")
    position = _band_index(scores, table["upper"].to_numpy(float), np.ones(len(table), dtype=bool))
    values = np.append(table[element].to_numpy(float), np.nan)
    return pd.Series(values[position], index=scores.index, name=f"{element}_estimate")
