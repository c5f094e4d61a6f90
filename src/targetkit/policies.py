"""Progress policies as data: which prior, scale, conversion table and rules set the targets.

A policy is a YAML file in `data/policies/` (or a user's file by path) validated by pydantic
when loaded; a bad file is refused naming the file, line and field. The shipped policies
(`ks1`, `ks2`, `ks3`, `ks4`, `steps`) encode the national guidance (seeds/000) and a primary
school's steps policy (seeds/002); each says where its rules come from in `source`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from targetkit.datafiles import available, find_data_file, load_yaml_model

if TYPE_CHECKING:
    import pandas as pd

POLICY_NAMES = ("ks1", "ks2", "ks3", "ks4", "steps")


def _text(value: object) -> object:
    """YAML reads `4` as a number; grades are text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return value


class Quota(BaseModel):
    """Benchmark quota: at least ceil(rate x pupils) of a prior group are targeted `target`.

    rate = max(`min_rate`, the conversion table's chance of `threshold` for `prior`).
    """

    model_config = ConfigDict(extra="forbid")

    prior: str  # a prior grade or a level (band) digit, as in `minimum`
    threshold: str  # a threshold name of the conversion table (e.g. 4plus)
    target: str  # the target grade given to the pupils chosen
    min_rate: float = Field(default=0.0, ge=0, le=1)
    source: str = Field(min_length=1)

    _text = field_validator("prior", "target", mode="before")(_text)


class OnTrack(BaseModel):
    """A milestone floor: pupils targeted at least `target_at_least` must be `grade` by `year`."""

    model_config = ConfigDict(extra="forbid")

    year: int
    target_at_least: str
    grade: str
    source: str = Field(min_length=1)

    _text = field_validator("target_at_least", "grade", mode="before")(_text)


class OverallTarget(BaseModel):
    """A pupil-level yes/no target from an average of levels (ks4: 5 A*-C incl. E and M).

    Pupils averaging `achieve_level` or above are targeted "yes"; of those averaging
    `quota_level`, at least max(`min_rate`, the table's rate) are targeted "yes".
    """

    model_config = ConfigDict(extra="forbid")

    name: str  # the measure's short name, used in column names (target_<name>)
    title: str
    prior_point: str
    subjects: list[str] = Field(min_length=1)
    conversion: str
    subject: str = "overall"  # the table's subject
    threshold: str
    achieve_level: int
    quota_level: int
    min_rate: float = Field(default=0.0, ge=0, le=1)
    source: str = Field(min_length=1)


class CombinedMeasure(BaseModel):
    """A school-level measure over several subjects' targets (ks4: grade 4+ in E and M)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    subjects: list[str] = Field(min_length=2)
    grade: str
    conversion: str
    table_subject: str
    threshold: str
    source: str = Field(min_length=1)

    _text = field_validator("grade", mode="before")(_text)


class Policy(BaseModel):
    """One progress policy (SPEC §3 "Policies")."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    source: str = Field(min_length=1)
    description: str = ""
    kind: Literal["levels", "steps"] = "levels"
    prior_point: str  # the assessment point of the prior: ks1, ks2, ks3, eyfs, sum2 (steps)
    prior_scale: str
    # ks2 scaled scores averaged into the DfE's KS2 band (the 9-1 route); the columns to average
    prior_scaled_scores: list[str] = []
    # other names a scaled-score column may have in a file (ks4: english_ks2 for reading_ks2)
    prior_score_aliases: dict[str, list[str]] = {}
    prior_year: int  # the year group at the end of which the prior was assessed
    final_year: int  # the year group at the end of which the target is due
    target_scale: str
    whole_levels: bool = False
    subjects: list[str] = Field(min_length=1)
    conversion: str | None = None
    conversion_subjects: dict[str, str] = {}
    thresholds: dict[str, str] = {}  # threshold name -> lowest grade meeting it (target scale)
    key_threshold: str | None = None
    minimum: dict[str, str] = {}  # prior grade or level digit -> minimum target
    # the age-related expectation a pupil with no prior result is targeted (SPEC §8); the steps
    # policy works it out from the year group (the year's secure step) instead
    no_prior_target: str | None = None
    points_per_year: float = 0.0  # at least this much progress a year from latest attainment
    quotas: list[Quota] = []
    # SPEC §8: at every threshold the school's share targeted is at least the sum of its pupils'
    # chances, rounded up; off only to look at the guidance's per-prior rules alone
    school_quotas: bool = True
    milestone_years: list[int] = []
    on_track: list[OnTrack] = []
    catch_up_years: int = Field(default=2, ge=1)
    overall: OverallTarget | None = None
    combined: CombinedMeasure | None = None
    year_groups: list[int] = []  # the year groups `--policy auto` associates with the policy

    _no_prior_text = field_validator("no_prior_target", mode="before")(_text)

    @field_validator("minimum", "thresholds", mode="before")
    @classmethod
    def _grades_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(_text(k)): _text(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        from targetkit.scales import load_scale

        target = load_scale(self.target_scale)
        names = {g.lower() for g in target.points_of}
        for label, grade in [
            *(("minimum", g) for g in self.minimum.values()),
            *(("thresholds", g) for g in self.thresholds.values()),
            *(("quotas", q.target) for q in self.quotas),
            *(("on_track", o.grade) for o in self.on_track),
            *([("no_prior_target", self.no_prior_target)] if self.no_prior_target else []),
        ]:
            if grade.lower() not in names:
                raise ValueError(f"{label}: {grade!r} is not a grade of the {target.name} scale")
        if self.key_threshold and self.key_threshold not in self.thresholds:
            raise ValueError(f"key_threshold {self.key_threshold!r} is not one of the thresholds")
        for quota in self.quotas:
            if quota.threshold not in self.thresholds:
                raise ValueError(f"quota threshold {quota.threshold!r} is not one of thresholds")
        load_scale(self.prior_scale)
        return self

    def table_subject(self, subject: str) -> str:
        """The conversion table's name for a subject (e.g. GCSE English Language)."""
        return self.conversion_subjects.get(subject, subject)


@cache
def _load(path: str) -> Policy:
    return load_yaml_model(Path(path), Policy)


def load_policy(name_or_path: str) -> Policy:
    """A shipped policy by name (`ks2`) or a policy YAML file by path; validated."""
    return _load(str(find_data_file("policies", name_or_path)))


def policy_names() -> list[str]:
    return sorted(available("policies"))


def choose_policy(cohort: pd.DataFrame) -> tuple[str, str]:
    """Pick a policy from a cohort's canonical columns and year groups: (name, one-sentence why).

    Steps tracking (drops in steps grades with a last-summer baseline) → steps; KS3 or KS2
    scaled-score results in Years 10-11 → ks4; KS2 levels in Years 7-9 → ks3; KS1 results in
    Years 3-6 → ks2; EYFS results in Years 1-2 → ks1.
    """
    import pandas as pd

    from targetkit.columns import parse_assessment
    from targetkit.errors import InputError

    points = {parsed[1] for c in cohort.columns if (parsed := parse_assessment(str(c)))}
    baseline = any(
        (parsed := parse_assessment(str(c))) and parsed[1] == "sum2" and parsed[2]
        for c in cohort.columns
    )
    years = pd.to_numeric(cohort["year_group"], errors="coerce") if "year_group" in cohort else None
    year = int(years.mode().iloc[0]) if years is not None and years.notna().any() else None
    in_year = f"Year {year}" if year is not None else "no year group"
    if baseline:
        return "steps", (
            f"the cohort ({in_year}) has last summer's results in `_sum2_<year>` columns, so "
            "targets are steps on from that baseline"
        )
    choices = [
        ("ks4", ("ks3", "ks2"), range(10, 12), "KS2/KS3 results", "GCSE targets"),
        ("ks3", ("ks2",), range(7, 10), "KS2 results", "end of KS3 targets"),
        ("ks2", ("ks1",), range(3, 7), "KS1 results", "end of KS2 targets"),
        ("ks1", ("eyfs",), range(-1, 3), "EYFS outcomes", "end of KS1 targets"),
    ]
    for name, needed, year_range, what, gives in choices:
        if any(p in points for p in needed) and (year is None or year in year_range):
            return name, f"the cohort is in {in_year} and has {what}, so it gets {gives}"
    raise InputError(
        f"cannot tell which policy fits ({in_year}; results found: "
        f"{', '.join(sorted(points)) or 'none'})",
        hint="give --policy ks1, ks2, ks3, ks4 or steps",
    )
