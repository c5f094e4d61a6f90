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

POLICY_NAMES = ("ks1", "ks2", "ks3", "ks4", "ks4_levels", "steps")


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
    # the benchmarks `min_rate` is a figure of (a top-25% rate is no floor for `national`);
    # empty: every benchmark
    min_rate_benchmarks: list[str] = []
    source: str = Field(min_length=1)

    _text = field_validator("prior", "target", mode="before")(_text)

    def floor(self, benchmark: str) -> float:
        """`min_rate` where it applies to the benchmark, else 0."""
        applies = not self.min_rate_benchmarks or benchmark in self.min_rate_benchmarks
        return self.min_rate if applies else 0.0


class ProgressFromLatest(BaseModel):
    """A floor from the latest attainment: at least `points_per_year` a year for the years left
    to the end of the final year (seed 000 para 5: "at least 2 levels for Key Stage 2 and at
    least 1 level for Key Stage 3"); a target it raises is flagged RAISED_FASTER_PROGRESS
    (seed 000's grid: targets "revised where children are making faster progress")."""

    model_config = ConfigDict(extra="forbid")

    points_per_year: float = Field(gt=0)
    label: str = Field(min_length=1)  # the reason's words: "not below the <label>"
    source: str = Field(min_length=1)


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
    # the table's row name for an average level: `avg_L5` (ks3_ks4_5acem) or `5` (ks2_ks4_5ac),
    # the average's whole level clipped to the table's rows
    prior_prefix: str = "avg_L"
    prior_levels: tuple[int, int] = (2, 7)
    source: str = Field(min_length=1)


class PScaleRule(BaseModel):
    """Targets for pupils working below level 1 (seed 000: "P scales or other performance
    measure"): `steps_per_year` steps a year up P1i … P8, W, 1c … over the key stage."""

    model_config = ConfigDict(extra="forbid")

    grades: list[str] = Field(min_length=1)  # the prior grades that are P-scale outcomes
    steps_per_year: int = Field(ge=1)
    basis: str = Field(min_length=1)  # a few words for the reason: whose rule it is
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


class Unrealistic(BaseModel):
    """UNREALISTIC_TARGET (check-ambition): a target that fewer than `below_rate` of the
    benchmark's pupils with the same prior reach, unless the pupil's latest attainment plus
    `yearly_progress` target-scale points a year to the final year reaches it."""

    model_config = ConfigDict(extra="forbid")

    below_rate: float = Field(gt=0, le=1)
    yearly_progress: float = Field(ge=0)
    source: str = Field(min_length=1)
    # a P-scale prior has no row in the conversion tables: its target is unrealistic when it is
    # more than this many steps a year up the scale's order (P1i ... P8, W, 1c ...) over the key
    # stage, unless the latest attainment plus as many steps a year reaches it (issue 14)
    pscales_steps_per_year: float | None = Field(default=None, gt=0)
    pscales_source: str | None = None

    @model_validator(mode="after")
    def _pscales_cited(self) -> Unrealistic:
        if self.pscales_steps_per_year is not None and not self.pscales_source:
            raise ValueError("pscales_steps_per_year needs pscales_source (its reason)")
        return self


class Borderline(BaseModel):
    """BORDERLINE (set-targets, info): in `years`, pupils whose chance of the key threshold is
    within `chance` (inclusive), or whose latest attainment is one grade below this year's
    milestone for the key threshold."""

    model_config = ConfigDict(extra="forbid")

    years: list[int] = Field(min_length=1)
    chance: tuple[float, float] | None = None
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _band(self) -> Borderline:
        if self.chance is not None and not 0 <= self.chance[0] <= self.chance[1] <= 1:
            raise ValueError("chance: two shares from 0 to 1, the lower first")
        return self


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
    # non-grade codes of the prior scale that are a result below it, read as this grade
    # (ks2_ta: the engagement model `EM` as `BLW`), never as no prior (SPEC §8)
    prior_codes: dict[str, str] = {}
    # ks2 scaled scores averaged into the DfE's KS2 band (the 9-1 route); the columns to average
    prior_scaled_scores: list[str] = []
    # other names a scaled-score column may have in a file (ks4: english_ks2 for reading_ks2)
    prior_score_aliases: dict[str, list[str]] = {}
    prior_year: int  # the year group at the end of which the prior was assessed
    final_year: int  # the year group at the end of which the target is due
    target_scale: str
    whole_levels: bool = False
    subjects: list[str] = Field(min_length=1)
    # a subject whose prior column a file may lack (ks2 `english_ks1`): the mean of these
    # subjects' prior points, rounded down to a grade of the prior scale (SPEC §8)
    derived_priors: dict[str, list[str]] = {}
    conversion: str | None = None
    conversion_subjects: dict[str, str] = {}
    thresholds: dict[str, str] = {}  # threshold name -> lowest grade meeting it (target scale)
    key_threshold: str | None = None
    minimum: dict[str, str] = {}  # prior grade or level digit -> minimum target
    # the age-related expectation a pupil with no prior result is targeted (SPEC §8); the steps
    # policy works it out from the year group (the year's secure step) instead
    no_prior_target: str | None = None
    points_per_year: float = 0.0  # at least this much progress a year from latest attainment
    # the same floor at another rate than the milestones' (ks2, ks3); wins over points_per_year
    progress_from_latest: ProgressFromLatest | None = None
    quotas: list[Quota] = []
    # SPEC §8: at every threshold the school's share targeted is at least the sum of its pupils'
    # chances, rounded up; off only to look at the guidance's per-prior rules alone
    school_quotas: bool = True
    milestone_years: list[int] = []
    on_track: list[OnTrack] = []
    catch_up_years: int = Field(default=2, ge=1)
    overall: OverallTarget | None = None
    pscales: PScaleRule | None = None
    combined: CombinedMeasure | None = None
    combined_measures: list[CombinedMeasure] = []  # more of them (ks4: English and maths 5+)
    year_groups: list[int] = []  # the year groups `--policy auto` associates with the policy
    # check-ambition and borderline pupils (issue 14); both off when absent
    unrealistic: Unrealistic | None = None
    borderline: Borderline | None = None
    subject_gaps: list[tuple[str, str]] = []  # subject pairs compared per school (LA workbook)
    # every GCSE subject a pupil is entered for (issue 15): the DfE subject matrices, one per
    # outcome scale (single and double award); empty: the policy's own subjects only
    subject_tables: list[str] = []
    # the grade a pupil holds at the end of prior_year on the target scale, where the prior is
    # on another scale: yearly milestones run on a straight line from it to the target
    milestone_from: str | None = None
    # the scale check-ambition reads every subject's targets on, where subjects differ (ks4:
    # gcse91_any, single and double award); default: target_scale
    submission_scale: str | None = None

    _no_prior_text = field_validator("no_prior_target", "milestone_from", mode="before")(_text)

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
            *(("pscales", g) for g in (self.pscales.grades if self.pscales else [])),
            *([("milestone_from", self.milestone_from)] if self.milestone_from else []),
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
    """A shipped or user policy by name, in any case (`ks2`, `KS2`), or a policy YAML file by
    path; validated."""
    if Path(name_or_path).suffix.lower() not in (".yaml", ".yml"):
        names = {name.lower(): name for name in available("policies")}
        name_or_path = names.get(name_or_path.strip().lower(), name_or_path)
    return _load(str(find_data_file("policies", name_or_path)))


def policy_names() -> list[str]:
    return sorted(available("policies"))


def choose_policy(cohort: pd.DataFrame, source: str | Path | None = None) -> tuple[str, str]:
    """`--policy auto`: the one policy that fits a cohort, and one sentence saying why.

    Decided from the policies' own data (docs/set-targets.md "How --policy auto decides"): a
    policy fits a year group when the year group is one of its `year_groups` and the cohort
    has its prior (`<subject>_<prior_point>`, a steps baseline `_sum2_<year>` with a year) on
    its `prior_scale` (levels, steps or scaled scores: of the policies reading that column, the
    ones on whose scale most of its values are grades). Where several fit, steps tracking wins
    (the latest baseline), then the policy whose prior is most recent. Every year group in the
    cohort must come to the same policy; otherwise, or when none fits, an InputError (naming
    `source`) names the year groups and the policies and suggests `--policy`.
    """
    import pandas as pd

    from targetkit.errors import InputError

    policies = [load_policy(name) for name in policy_names()]
    fitting = _fitting(cohort, policies)
    fitting.sort(key=lambda p: (p.kind != "steps", -p.prior_year, p.name))
    years = (
        pd.to_numeric(cohort["year_group"], errors="coerce").dropna().astype(int)
        if "year_group" in cohort
        else pd.Series([], dtype=int)
    )
    year_groups = sorted(set(years))
    found = sorted({c for p in policies for c in _prior_columns(cohort, p)})
    if not year_groups:
        if fitting:
            chosen = fitting[0]
            return chosen.name, f"the cohort (no year group) has {_prior_text(chosen)}"
        raise InputError(
            f"cannot tell which policy fits (no year group; prior columns: "
            f"{', '.join(found) or 'none'}, on no policy's prior scale)",
            file=source,
            hint=f"give --policy {' / '.join(policy_names())}",
        )
    by_year = {
        year: next((p.name for p in fitting if year in p.year_groups), None) for year in year_groups
    }
    chosen_names = sorted({name for name in by_year.values() if name is not None})
    in_years = _years_text(year_groups)
    if len(chosen_names) == 1 and None not in by_year.values():
        chosen = next(p for p in fitting if p.name == chosen_names[0])
        return chosen.name, (
            f"the cohort is in {in_years} and has {_prior_text(chosen)}, so it gets {chosen.title}"
        )
    if not chosen_names:
        raise InputError(
            f"cannot tell which policy fits ({in_years}; prior columns: "
            f"{', '.join(found) or 'none'}, not on the scale of a policy for {in_years})",
            file=source,
            hint=f"give --policy {' / '.join(policy_names())}",
        )
    parts = [
        f"{_years_text(ys)} → {name or 'no policy'}" for name, ys in _group_years(by_year).items()
    ]
    raise InputError(
        f"the cohort's year groups need different policies: {'; '.join(parts)}",
        file=source,
        hint="set targets for each group of year groups separately, or give one --policy",
    )


def _prior_columns(cohort: pd.DataFrame, policy: Policy) -> list[str]:
    """The cohort's columns holding the policy's prior: `<subject>_<prior_point>` (a data
    drop such as `sum2` only with a year: last summer's baseline, not this year's drop)."""
    from targetkit.columns import DATA_DROPS, parse_assessment

    found = []
    overall = policy.overall
    for column in cohort.columns:
        parsed = parse_assessment(str(column))
        if (  # the overall target's prior counts too: a KS3-only cohort fits ks4 (issue 14)
            overall is not None
            and parsed is not None
            and parsed[1] == overall.prior_point != policy.prior_point
            and parsed[0] in overall.subjects
        ):
            found.append(str(column))
            continue
        if parsed is None or parsed[1] != policy.prior_point:
            continue
        if parsed[1] in DATA_DROPS and parsed[2] is None:
            continue
        found.append(str(column))
    return found


def _fitting(cohort: pd.DataFrame, policies: list[Policy]) -> list[Policy]:
    """The policies whose prior the cohort has on the policy's scale.

    A prior column read by several policies (`maths_ks2`: ks3 in levels, ks4 in scaled scores)
    goes to those on whose `prior_scale` most of its values are grades; a column whose values
    are grades of none of them (all misspelt, or empty) cannot tell, and goes to all of them
    (set-targets then reports the values it cannot read).
    """
    from targetkit.scales import load_scale

    readers: dict[str, list[Policy]] = {}
    for policy in policies:
        for column in _prior_columns(cohort, policy):
            readers.setdefault(column, []).append(policy)
    fitting: dict[str, Policy] = {}
    for column, candidates in readers.items():
        grades = [
            int(load_scale(p.prior_scale).parse(cohort[column]).grade.notna().sum())
            for p in candidates
        ]
        fitting.update(
            {
                p.name: p
                for p, n in zip(candidates, grades, strict=True)
                if n == max(grades) and not _levels_not_steps(cohort[column], p, n)
            }
        )
    return list(fitting.values())


def _levels_not_steps(values: pd.Series, policy: Policy, steps_grades: int) -> bool:
    """A `_sum2_<year>` column holding NC levels (`3c`, `2a`, `4`) is a levels drop, not a
    steps baseline, even where a few values (`2b`) are spelt like steps (issue 14): more of its
    values are NC levels than steps."""
    from targetkit.scales import load_scale

    if policy.kind != "steps":
        return False
    return int(load_scale("nc").parse(values).grade.notna().sum()) > steps_grades


def _prior_text(policy: Policy) -> str:
    from targetkit.scales import load_scale

    point = policy.prior_point
    what = "last summer's `_sum2_<year>` baseline" if point == "sum2" else f"{point} results"
    return f"{what} on the {load_scale(policy.prior_scale).name} scale"


def _years_text(years: list[int]) -> str:
    from targetkit.pipeline.values import year_label

    return ", ".join(year_label(y) for y in years)


def _group_years(by_year: dict[int, str | None]) -> dict[str | None, list[int]]:
    grouped: dict[str | None, list[int]] = {}
    for year, name in by_year.items():
        grouped.setdefault(name, []).append(year)
    return grouped
