"""The termly progress report in pure pandas: statuses, flags, the five key questions, group gaps.

Inputs are steps points (1b = 1 … 6s+ = 36) already parsed from a tracking sheet; nothing here
opens a file or prints. Every function keeps the pupils' index and order, so each input row
reaches the Pupils sheet unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from targetkit.datafiles import load_yaml_model
from targetkit.findings import catalogue
from targetkit.findings import message as message_of
from targetkit.groups import GroupDefinition
from targetkit.pipeline.steps import (
    HALF_TERMS,
    STEPS_PER_YEAR,
    drop_progress,
    expected_points,
    half_terms_elapsed,
    join_flags,
    join_where,
    milestone_points,
    not_on_track,
    steps_needed,
)
from targetkit.pipeline.values import yes_no
from targetkit.policies import Policy
from targetkit.privacy import SMALL_GROUP
from targetkit.scales import Scale

AHEAD, ON_TRACK, BEHIND, NO_DATA = "ahead", "on track", "behind", "no data"
EXCEEDED, MET, MISSED, NO_RESULT = "exceeded", "met", "missed", "no result"

QUESTIONS = {
    1: "Who is at risk of under-achievement (disadvantaged, SEN, gifted, EAL, looked after)?",
    2: "How many made very good progress so far this year, and who?",
    3: "How many and which pupils made poor progress this year?",
    4: "Which pupils are not on track to achieve their targets?",
    5: "What should we act on now?",
}


# ---------------------------------------------------------------------------------------------
# Settings (data/reporting/report.yaml)


class ScaleSettings(BaseModel):
    """How progress is measured on one tracked scale (steps, nc, gcse91, gcse, ks2ss)."""

    model_config = ConfigDict(extra="forbid")

    progress_per_year: float | None = Field(default=None, gt=0)  # points; None: the pupil's line
    expected: dict[int, str] = {}  # year → the age-related expectation at its end (a grade)
    source: str = ""


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    source: str = Field(min_length=1)
    ahead_by: int = Field(default=2, ge=1)
    behind_by: int = Field(default=1, ge=1)
    very_good_extra: int = Field(default=2, ge=1)
    poor_shortfall: int = Field(default=2, ge=1)
    act_now_limit: int = Field(default=15, ge=1)
    small_group: int = Field(default=SMALL_GROUP, ge=1)  # privacy.SMALL_GROUP unless set
    gap_widening_by: float = Field(default=0.0, ge=0)
    risk_groups: list[str] = []
    # groups compared besides the groups file's `report` list: keys of `data/groups/groups.yaml`
    # or a school's own (an intervention group); load_settings makes them all definitions
    groups: list[str | GroupDefinition] = []
    scales: dict[str, ScaleSettings] = {}


@cache
def default_settings_path() -> Path:
    return Path(str(resources.files("targetkit").joinpath("data", "reporting", "report.yaml")))


def load_settings(path: str | Path | None = None) -> ReportSettings:
    """The report settings: the shipped file, or a school's own copy by path; groups named by
    key are the groups file's definitions (the one place groups are defined)."""
    from targetkit.errors import DataFileError
    from targetkit.groups import command_groups, load_groups

    chosen = Path(path) if path else default_settings_path()
    settings = load_yaml_model(chosen, ReportSettings)
    known = {g.key: g for g in load_groups().groups}
    unknown = [g for g in settings.groups if isinstance(g, str) and g not in known]
    if unknown:
        raise DataFileError(
            f"{chosen}: groups {unknown} are not defined; use a key of the groups file "
            f"({', '.join(known)}) or give key, name, column and kind"
        )
    added = [known[g] if isinstance(g, str) else g for g in settings.groups]
    every = {g.key: g for g in [*command_groups("report"), *added]}  # a school's own key wins
    settings.groups = list(every.values())
    return settings


# ---------------------------------------------------------------------------------------------
# The tracked scale


@dataclass(frozen=True)
class ScaleRules:
    """How progress is counted on the tracked scale, in its points.

    `step`: the points of one step of the scale (one steps step, one NC sub-level, one GCSE
    grade, one scaled-score point); the settings' ahead_by, behind_by, very_good_extra and
    poor_shortfall count these. `per_year`: expected progress a year in points (steps: six
    steps, seed 002); None where no rate is documented: each pupil's own line from the baseline
    to this year's target. `end_of_year`: the age-related expectation at the end of each year
    group in points (None: the steps scale's `expected:`); `first_year_gain`: how far below its
    own end the first year listed starts (steps: six steps; other scales: the expected rate, or 0).
    `lowest`: the scale's lowest grade in points; a milestone is never below it, as the engine's.
    """

    name: str = "steps"
    step: float = 1.0
    per_year: float | None = STEPS_PER_YEAR
    end_of_year: dict[int, float] | None = None
    first_year_gain: float = STEPS_PER_YEAR
    lowest: float = 1.0  # the scale's lowest grade: no milestone below it (Year 1: 1b, not 0)

    def expected(self, year_group: pd.Series, half_terms: int | pd.Series) -> pd.Series:
        """The age-related expectation after `half_terms` half terms (NaN where none is known)."""
        return expected_points(year_group, half_terms, self.end_of_year, self.first_year_gain)

    def per_half_term(self, baseline: pd.Series, target: pd.Series) -> pd.Series:
        """Expected points a half term: the scale's rate, else the pupil's line to the target
        (at least one step a year, so a target at the baseline still moves)."""
        if self.per_year is not None:
            return pd.Series(self.per_year / STEPS_PER_YEAR, index=baseline.index)
        line = (target - baseline) / STEPS_PER_YEAR
        return line.clip(lower=self.step / STEPS_PER_YEAR)


STEPS_RULES = ScaleRules()


def scale_rules(
    scale: Scale, settings: ReportSettings, expectations: Mapping[int, str] | None = None
) -> ScaleRules:
    """The rules for tracking `scale`: its step, the settings' rate, and the age-related
    expectations (`expectations`: year → grade, the policies' own; years between two listed
    ones are interpolated in points, a straight line: targetkit's choice, said in the Read me).
    The steps scale keeps its own `expected:` and six steps a year unless the settings say
    otherwise."""
    chosen = settings.scales.get(scale.name, ScaleSettings())
    points = np.array([g.points for g in scale.grades], dtype="float64")
    step = float(np.median(np.diff(points))) if len(points) > 1 else 1.0
    if scale.name == "steps":
        per_year = chosen.progress_per_year or STEPS_PER_YEAR
        return ScaleRules("steps", step, per_year, None, STEPS_PER_YEAR, float(points[0]))
    ends = {
        int(year): scale.points_of[_grade_named(scale, grade)]
        for year, grade in {**(expectations or {}), **chosen.expected}.items()
    }
    years = sorted(ends)
    for low, high in pairwise(years):
        for year in range(low + 1, high):
            ends[year] = ends[low] + (ends[high] - ends[low]) * (year - low) / (high - low)
    gain = chosen.progress_per_year or 0.0
    return ScaleRules(
        scale.name,
        step,
        chosen.progress_per_year,
        dict(sorted(ends.items())),
        gain,
        float(points[0]),
    )


def _grade_named(scale: Scale, grade: str) -> str:
    """A grade as the scale spells it; an NC whole level (`4`) is its lowest sub-level (4c):
    "at least level 4" is met by 4c (SPEC §7)."""
    name = next(g for g in scale.points_of if g.lower() == str(grade).lower())
    if scale.name == "nc" and name.isdigit():
        band = scale.band_of.get(name)
        return next((g.grade for g in scale.grades if g.band == band), name)
    return name


TRACKED_SCALES = ("steps", "nc", "gcse91", "gcse", "ks2ss", "ks2writing")
"""The scales a tracking sheet may be in, tried in this order when no policy names one."""


def choose_scale(
    columns: Sequence[pd.Series], scales: Sequence[Scale], preferred: Sequence[str] = ()
) -> Scale:
    """The scale a tracking sheet's grades are on: one on which every value of `columns` is a
    grade or a code (A absent …) and at least one is a grade. Several fit (`4` is an NC level
    and a GCSE grade): the first named in `preferred` (the scales of the policies for the
    cohort's year groups), else the first of `scales`. None fits: the one with the fewest
    unknown values (of those, a preferred one: a Year 10 sheet's `5-4` slip is judged on the
    9-1 scale, not NC levels), so the error names the likeliest scale's nearest grades."""
    # each distinct value once: a 100,000-pupil sheet has a few dozen
    values = (
        pd.concat([c.astype(object) for c in columns], ignore_index=True).drop_duplicates()
        if columns
        else pd.Series([], dtype=object)
    )
    fits, unknowns = [], []
    for scale in scales:
        parsed = scale.parse(values.reset_index(drop=True))
        unknowns.append(int(parsed.unknown.sum()))
        if unknowns[-1] == 0 and parsed.points.notna().any():
            if not preferred or scale.name in preferred:
                return scale
            fits.append(scale)
    if fits:
        return fits[0]
    fewest = [s for s, n in zip(scales, unknowns, strict=True) if n == min(unknowns)]
    return next((s for s in fewest if s.name in preferred), fewest[0])


def this_years_targets(
    points: pd.DataFrame,
    subjects: Sequence[str],
    year_group: pd.Series,
    baselines: Mapping[str, pd.Series],
    final_year: pd.Series,
    scale: Scale,
) -> dict[str, pd.Series]:
    """The target each pupil is tracked against this year, in points, per subject.

    `points`: `<subject>_target` (the end-of-key-stage target, or for steps this year's) and
    any `<subject>_milestone_y<N>` (the engine's end-of-year milestones), in points.
    `final_year`: the policy's last year per pupil (NaN: the target is this year's, as for
    steps). A pupil in their final year is tracked against the target; before it, against
    this year's milestone; without one, against a straight line from last summer's baseline to
    the target over the years left, rounded up to a grade (as the engine's milestones run from
    the prior to the target)."""
    from targetkit.pipeline.targets import grade_at_or_above

    year = pd.to_numeric(year_group, errors="coerce").astype("float64")
    final = pd.to_numeric(final_year, errors="coerce").astype("float64")
    result = {}
    for subject in subjects:
        column = f"{subject}_target"
        target = (
            points[column].astype("float64")
            if column in points
            else pd.Series(np.nan, index=points.index)
        )
        milestone = pd.Series(np.nan, index=points.index)
        for name in points.columns:
            prefix = f"{subject}_milestone_y"
            if str(name).startswith(prefix) and str(name)[len(prefix) :].isdigit():
                chosen = year == int(str(name)[len(prefix) :])
                milestone = milestone.where(~chosen, points[name].astype("float64"))
        baseline = pd.to_numeric(baselines[subject], errors="coerce").astype("float64")
        years_left = final - year + 1
        line = baseline + (target - baseline) / years_left
        line = grade_at_or_above(scale, line).map(scale.points_of).astype("float64")
        before_final = (year < final).fillna(False)
        result[subject] = target.where(~before_final, milestone.fillna(line))
    return result


def policies_by_year(
    year_groups: Sequence[int], scale: Scale, shipped: Sequence[Policy], given: Policy | None
) -> dict[int, Policy]:
    """The policy each year group's targets come from: `given` (`--policy`) for all, else the
    first of `shipped` on the tracked scale whose year groups include it (steps: the steps
    policy); a policy --policy auto never picks (no `year_groups`: ks2_ta_writing) covers the
    years of its key stage after the prior. A year group no policy covers gets none (its pupils
    need --targets)."""
    from targetkit.errors import UsageError

    if given is not None:
        if given.target_scale != scale.name:
            raise UsageError(
                f"policy {given.name!r} sets targets on the {given.target_scale} scale; "
                f"the tracking sheet is on the {scale.name} scale",
                hint="leave out --policy, or give a policy for this scale",
            )
        return dict.fromkeys(year_groups, given)
    if scale.name == "steps":
        steps = next(p for p in shipped if p.kind == "steps")
        return dict.fromkeys(year_groups, steps)
    on_scale = [p for p in shipped if p.target_scale == scale.name and p.kind != "steps"]

    def covers(policy: Policy, year: int) -> bool:
        if policy.year_groups:
            return year in policy.year_groups
        return policy.prior_year < year <= policy.final_year

    return {
        year: found
        for year in year_groups
        if (found := next((p for p in on_scale if covers(p, year)), None)) is not None
    }


def policy_expectations(policies: Sequence[Policy], scale: Scale) -> dict[int, str]:
    """The age-related expectation at the end of each key stage on `scale`: the policies' own
    (`no_prior_target` at `final_year`: KS1 2b, KS2 level 4, KS3 level 5, KS4 grade 4)."""
    return {
        p.final_year: p.no_prior_target
        for p in policies
        if p.target_scale == scale.name and p.kind != "steps" and p.no_prior_target
    }


def target_columns(columns: Sequence[object], subjects: Sequence[str]) -> list[str]:
    """The `<subject>_target` and `<subject>_milestone_y<N>` columns among `columns`."""
    wanted = "|".join(re.escape(s) for s in subjects)
    pattern = re.compile(rf"(?:{wanted})_(?:target|milestone_y\d+)")
    return [str(c) for c in columns if pattern.fullmatch(str(c))]


def align_by_upn(keyed: pd.DataFrame, upn: pd.Series) -> pd.DataFrame:
    """`keyed` (indexed by UPN key) row by row for the pupils' `upn` (in any case or spacing,
    `upn.upn_key`), on the pupils' index; a pupil not in it gets blanks."""
    from targetkit.upn import upn_key

    aligned = keyed.reindex(upn_key(upn).to_numpy())
    aligned.index = upn.index
    return aligned


def engine_targets(
    cohort: pd.DataFrame,
    policies: Mapping[int, Policy],
    subjects: Sequence[str],
    academic_year: int,
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The engine's pupil columns (`compute_targets`) for every pupil of `cohort`, each year
    group under its policy (`policies`: year → policy; pupils of other years get none), and
    its BORDERLINE pupils per subject."""
    from targetkit.pipeline.targets import compute_targets

    year = pd.to_numeric(cohort["year_group"], errors="coerce")
    parts = []
    borderline: dict[str, list[pd.Series]] = {}
    for policy in {id(p): p for p in policies.values()}.values():
        years = [y for y, p in policies.items() if p is policy]
        rows = year.isin(years).to_numpy()
        if rows.any():
            result = compute_targets(
                cohort[rows],
                policy,
                subjects=list(subjects),
                academic_year=academic_year,
                summaries=False,
            )
            parts.append(result.pupils)
            for subject, mask in result.borderline.items():
                borderline.setdefault(subject, []).append(mask)
    if not parts:
        return pd.DataFrame(index=cohort.index), {}
    near = {
        s: pd.concat(masks).reindex(cohort.index, fill_value=False).astype(bool)
        for s, masks in borderline.items()
    }
    return pd.concat(parts).reindex(cohort.index), near


def year_one_baselines(
    points: Mapping[str, pd.DataFrame], year_group: pd.Series, rules: ScaleRules
) -> dict[str, pd.DataFrame]:
    """Year 1 has no last summer on the steps scale: its baseline is the start of Year 1
    ("not yet 1b", 0 points, the steps scale's expectation), the EYFS outcome being the prior
    of the target. Other pupils and other scales are unchanged."""
    if rules.name != "steps":
        return dict(points)
    start = rules.expected(year_group, 0).where(
        pd.to_numeric(year_group, errors="coerce").eq(1), np.nan
    )
    filled = {}
    for subject, frame in points.items():
        frame = frame.copy()
        frame[frame.columns[0]] = frame.iloc[:, 0].fillna(start)
        filled[subject] = frame
    return filled


# ---------------------------------------------------------------------------------------------
# Per pupil and subject


def subject_progress(
    drops: pd.DataFrame,
    year_group: pd.Series,
    target: pd.Series,
    settings: ReportSettings,
    rules: ScaleRules = STEPS_RULES,
) -> pd.DataFrame:
    """Progress of every pupil in one subject at its latest drop with data.

    Needs: `drops`, points columns oldest first: last summer's baseline, then the drops made this
    year named by their term (`aut1` … `sum2`); `year_group`; `target` (points).
    Gives, per pupil: baseline, latest, latest_drop, previous, half_terms, milestone, expected
    (the ARE at the end of last year, which the baseline is compared with for CATCH_UP),
    steps_made, steps_needed, difference (latest - milestone), status, the flags stalled,
    regressed, catch_up, not_on_track, very_good, poor, expected_now (the age-related
    expectation at the latest drop), at_expected (latest at or above it), and `flags` (codes
    joined by "; "). Steps made and needed count steps of the tracked scale (`rules.step`).
    """
    points = drops.apply(pd.to_numeric, errors="coerce").astype("float64")
    baseline = points.iloc[:, 0]
    drops_now = drop_progress(points)
    latest = drops_now["latest"]
    made = [c for c in points.columns[1:] if points[c].notna().any()]
    latest_drop = str(made[-1]) if made else str(points.columns[0])
    half_terms = half_terms_elapsed(latest_drop) if latest_drop in HALF_TERMS else 0
    target = pd.to_numeric(target, errors="coerce").astype("float64")
    milestone = milestone_points(baseline, target, half_terms).clip(lower=rules.lowest)
    expected = rules.expected(year_group, 0)
    expected_now = rules.expected(year_group, half_terms)
    difference = latest - milestone
    step = rules.step
    status = pd.Series(
        np.select(
            [
                latest.isna() | milestone.isna(),
                difference >= settings.ahead_by * step,
                difference <= -settings.behind_by * step,
            ],
            [NO_DATA, AHEAD, BEHIND],
            ON_TRACK,
        ),
        index=points.index,
        dtype="str",
    )
    made = latest - baseline
    steps_made = made / step
    needed = steps_needed(latest, target) / step
    rate = rules.per_half_term(baseline, target)  # expected points a half term
    result = pd.DataFrame(
        {
            "baseline": baseline,
            "latest": latest,
            "latest_drop": latest_drop,
            "previous": drops_now["previous"],
            "half_terms": half_terms,
            "milestone": milestone,
            "target": target,
            "expected": expected,
            "steps_made": steps_made,
            "steps_needed": needed,
            "difference": difference,
            "status": status,
            "regressed": drops_now["regressed"].to_numpy(),
            "stalled": drops_now["stalled"].to_numpy(),
            "catch_up": (baseline < expected).to_numpy(),
            # in half terms of expected progress: steps' "steps needed > half terms left"
            "not_on_track": not_on_track(
                latest / rate, target / rate, STEPS_PER_YEAR - half_terms
            ).to_numpy(),
            "very_good": (made >= rate * half_terms + settings.very_good_extra * step).to_numpy(),
            "poor": (made <= rate * half_terms - settings.poor_shortfall * step).to_numpy(),
            "expected_now": expected_now,
            "at_expected": (latest >= expected_now).to_numpy(),
        },
        index=points.index,
    )
    result["flags"] = join_flags(
        {
            "REGRESSED": result["regressed"],
            "STALLED": result["stalled"],
            "NOT_ON_TRACK": result["not_on_track"],
            "CATCH_UP": result["catch_up"],
        },
        index=points.index,
    )
    return result


def drop_history(
    drops: pd.DataFrame,
    target: pd.Series,
    settings: ReportSettings,
    rules: ScaleRules = STEPS_RULES,
    year_group: pd.Series | None = None,
) -> pd.DataFrame:
    """Each pupil at each drop made this year: long rows for the group trend.

    Needs: `drops` as for `subject_progress`. Gives: row (the pupil's index), drop, half_terms,
    points, steps_made (since the baseline), on_track (not behind that drop's milestone) and,
    with `year_group`, at_expected (at or above the age-related expectation at that drop; NA
    where none is known).
    """
    points = drops.apply(pd.to_numeric, errors="coerce").astype("float64")
    baseline = points.iloc[:, 0]
    target = pd.to_numeric(target, errors="coerce").astype("float64")
    made = [c for c in points.columns[1:] if points[c].notna().any()]
    parts = []
    for drop in made:  # at most six drops: a loop over columns, not pupils
        half_terms = half_terms_elapsed(drop)
        milestone = milestone_points(baseline, target, half_terms).clip(lower=rules.lowest)
        value = points[drop]
        # 1.0 at or above the expectation, 0.0 below, NaN without a grade or an expectation
        at_expected = np.full(len(value), np.nan)
        if year_group is not None:
            expected = rules.expected(year_group, half_terms).to_numpy(dtype="float64")
            graded = value.to_numpy(dtype="float64")
            known = ~np.isnan(graded) & ~np.isnan(expected)
            at_expected[known] = (graded[known] >= expected[known]).astype("float64")
        parts.append(
            pd.DataFrame(
                {
                    "row": points.index,
                    "drop": drop,
                    "half_terms": half_terms,
                    "points": value.to_numpy(),
                    "steps_made": ((value - baseline) / rules.step).to_numpy(),
                    "on_track": (value - milestone > -settings.behind_by * rules.step).to_numpy(),
                    "has_data": (value.notna() & milestone.notna()).to_numpy(),
                    "at_expected": at_expected,
                }
            )
        )
    if not parts:
        columns = [
            "row", "drop", "half_terms", "points", "steps_made", "on_track", "has_data",
            "at_expected",
        ]  # fmt: skip
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Groups


@dataclass
class Group:
    """One pupil group and the pupils it is compared with (others whose membership is known)."""

    key: str
    name: str
    members: pd.Series  # bool per pupil
    others: pd.Series  # bool per pupil


def pupil_groups(
    pupils: pd.DataFrame, settings: ReportSettings, frame: pd.DataFrame | None = None
) -> list[Group]:
    """The settings' groups found in the pupils' columns (absent columns are skipped).

    Needs: canonical pupil columns such as disadvantaged, sen, eal, lac, gifted, gender,
    ethnicity; a group on another column (an intervention group such as `Reading booster`) is
    found in `frame`, the sheet as read, by its header in any case or spacing.
    """
    from targetkit.columns import header_key

    own = {header_key(c): c for c in frame.columns} if frame is not None else {}
    groups: list[Group] = []
    for definition in settings.groups:
        if isinstance(definition, str):
            raise ValueError(f"group {definition!r} is not resolved (use load_settings)")
        if definition.column in pupils.columns:
            column = pupils[definition.column]
        elif frame is not None and header_key(definition.column) in own:
            column = frame[own[header_key(definition.column)]]
        else:
            continue
        if definition.kind == "flag":
            answer = yes_no(column)
            members = answer.fillna(False).astype(bool)
            others = (answer == False).fillna(False).astype(bool)  # noqa: E712
            groups.append(Group(definition.key, definition.name, members, others))
            continue
        text = column.astype("string").str.strip()
        known = text.notna() & (text != "")
        if definition.kind == "values":
            wanted = {v.lower() for v in definition.values}
            members = text.str.lower().isin(wanted).fillna(False).astype(bool)
            groups.append(Group(definition.key, definition.name, members, known & ~members))
            continue
        for value in sorted(text[known].unique()):
            members = (text == value).fillna(False).astype(bool)
            name = definition.name.format(value=value)
            groups.append(Group(f"{definition.key}:{value}", name, members, known & ~members))
    return [g for g in groups if g.members.any()]


TREND_COLUMNS = [
    "subject",
    "group",
    "drop",
    "pupils",
    "small",
    "pct_on_track",
    "others_pct_on_track",
    "avg_steps",
    "others_avg_steps",
]


def group_trend(
    histories: dict[str, pd.DataFrame], groups: list[Group], settings: ReportSettings
) -> pd.DataFrame:
    """% on track and average steps for each group and the others, at every drop, per subject.

    Needs: `histories` (subject → `drop_history` rows). Gives one row per subject, group and
    drop: pupils, small, pct_on_track, others_pct_on_track, avg_steps, others_avg_steps,
    gap_steps (others minus group; positive = the group is behind), gap_pct, widening (the gap in
    steps grew since the previous drop by more than `gap_widening_by`; never for small groups).
    A group with no pupil graded at a drop has no row for it.

    Totals per pupil and drop are summed over every group at once (one product with a pupils x
    groups membership matrix per subject) instead of a groupby per group: at 100,000 pupils
    0.3 s instead of 9 s, with the same numbers (sums of whole steps are exact in floating
    point, so each mean is the same sum / count).
    """
    columns: dict[str, list[object]] = {name: [] for name in TREND_COLUMNS}
    if groups:
        index = groups[0].members.index
        in_group = _membership(index, [g.members for g in groups])
        # a pupil in the group is never also counted among the others
        in_others = (_membership(index, [g.others for g in groups]) & ~in_group).astype("float64")
        in_group = in_group.astype("float64")
        names = np.array([g.name for g in groups], dtype=object)
        for subject, history in histories.items():
            if history.empty:
                continue
            drops, totals = _drop_totals(history, index)
            # (totals, drops, pupils) x (pupils, groups) -> rows group by group, drops in order;
            # einsum, not BLAS matmul: OpenBLAS threads stall for seconds on a busy machine
            group = np.einsum("kdp,pg->kgd", totals, in_group).reshape(len(totals), -1)
            others = np.einsum("kdp,pg->kgd", totals, in_others).reshape(len(totals), -1)
            pupils = group[0]
            shown = pupils > 0
            columns["subject"] += [subject] * int(shown.sum())
            columns["group"] += np.repeat(names, len(drops))[shown].tolist()
            columns["drop"] += np.tile(np.array(drops, dtype=object), len(groups))[shown].tolist()
            columns["pupils"] += pupils[shown].astype("int64").tolist()
            columns["small"] += (pupils[shown] < settings.small_group).tolist()
            columns["pct_on_track"] += _share(group[1], group[0])[shown].tolist()
            columns["others_pct_on_track"] += _share(others[1], others[0])[shown].tolist()
            columns["avg_steps"] += _share(group[2], group[3])[shown].tolist()
            columns["others_avg_steps"] += _share(others[2], others[3])[shown].tolist()
    trend = pd.DataFrame(columns) if columns["subject"] else pd.DataFrame([], columns=TREND_COLUMNS)
    for name in TREND_COLUMNS[5:]:
        trend[name] = trend[name].astype("float64")
    trend["gap_steps"] = (trend["others_avg_steps"] - trend["avg_steps"]).round(6)
    trend["gap_pct"] = (trend["others_pct_on_track"] - trend["pct_on_track"]).round(6)
    previous_gap = trend.groupby(["subject", "group"], sort=False)["gap_steps"].shift(1)
    trend["previous_gap_steps"] = previous_gap
    trend["widening"] = (
        (trend["gap_steps"] > previous_gap + settings.gap_widening_by)
        & (trend["gap_steps"] > 0)
        & ~trend["small"].astype(bool)
    )
    return trend


EXPECTATION_COLUMNS = ["subject", "group", "drop", "pupils", "at_expected", "pct", "small"]


def expectation_table(
    histories: dict[str, pd.DataFrame],
    groups: list[Group],
    settings: ReportSettings,
    index: pd.Index,
) -> pd.DataFrame:
    """% of pupils at or above the age-related expectation, per subject, group and drop.

    The policy's "the majority of children will be stage secure at the end of the year"
    (seed 002), checked at every drop made so far. `histories`: subject → `drop_history` rows
    made with `year_group`; `index`: the pupils'. Gives one row per subject, group (All pupils
    first, then each group) and drop: pupils (graded, with an expectation for their year),
    at_expected (how many of them at or above it), pct, small (fewer than `small_group`, never
    for All pupils). Pupils whose year has no known expectation are left out of the counts.
    """
    names = ["All pupils", *(g.name for g in groups)]
    members = _membership(index, [pd.Series(True, index=index), *(g.members for g in groups)])
    rows = []
    for subject, history in histories.items():
        if history.empty:
            continue
        at = history["at_expected"].to_numpy(dtype="float64", na_value=np.nan)
        pupil = index.get_indexer(history["row"])
        known = ~np.isnan(at) & (pupil >= 0)
        codes, drops = pd.factorize(history["drop"])
        # per drop and pupil: graded (with an expectation) and at it; then every group at once,
        # drops x pupils times pupils x groups (einsum, as group_trend)
        cells = codes[known] * len(index) + pupil[known]
        shape = (len(drops), len(index))
        graded = np.bincount(cells, minlength=shape[0] * shape[1]).reshape(shape)
        reached = np.bincount(cells, weights=at[known], minlength=graded.size).reshape(shape)
        size = np.einsum("dp,pg->gd", graded.astype("float64"), members.astype("float64"))
        hits = np.einsum("dp,pg->gd", reached, members.astype("float64"))
        for column, name in enumerate(names):
            for position, drop in enumerate(drops):  # at most six drops
                pupils = int(size[column, position])
                if pupils == 0:
                    continue
                rows.append(
                    {
                        "subject": subject,
                        "group": name,
                        "drop": str(drop),
                        "pupils": pupils,
                        "at_expected": int(np.rint(hits[column, position])),
                        "pct": hits[column, position] / pupils,
                        "small": column > 0 and pupils < settings.small_group,
                    }
                )
    return pd.DataFrame(rows, columns=EXPECTATION_COLUMNS)


def _membership(index: pd.Index, flags: list[pd.Series]) -> np.ndarray:
    """Pupils x groups, True where the pupil (a row of `index`) is in the group.

    A pupil missing from a group's Series is not in it.
    """
    return np.column_stack([f.reindex(index).fillna(False).astype(bool).to_numpy() for f in flags])


def _drop_totals(history: pd.DataFrame, index: pd.Index) -> tuple[list[str], np.ndarray]:
    """The drops in `history` (in order) and 4 x drops x pupils totals of its graded rows.

    Totals: pupils with data, of them on track, their steps made, and how many of those steps
    are known (a missing value is left out of a mean, as pandas does). Rows whose pupil is not
    in `index` belong to no group and are left out.
    """
    codes, drops = pd.factorize(history["drop"])
    graded = history["has_data"].fillna(False).astype(bool).to_numpy()
    pupil = index.get_indexer(history["row"])
    keep = graded & (pupil >= 0)
    cells = codes[keep] * len(index) + pupil[keep]
    size = len(drops) * len(index)
    on_track = history["on_track"].fillna(False).astype(bool).to_numpy()[keep]
    steps = history["steps_made"].to_numpy(dtype="float64", na_value=np.nan)[keep]
    known = ~np.isnan(steps)

    def total(where: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = cells if where is None else cells[where]
        return np.bincount(chosen, weights=weights, minlength=size).astype("float64")

    totals = [
        total(),
        total(weights=on_track.astype("float64")),
        total(known, steps[known]),
        total(known),
    ]
    return [str(d) for d in drops], np.stack(totals).reshape(len(totals), len(drops), len(index))


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, NaN where whole is 0 (a mean of nobody)."""
    result = np.full(part.shape, np.nan)
    np.divide(part, whole, out=result, where=whole > 0)
    return result


# ---------------------------------------------------------------------------------------------
# The five key questions


def key_questions(
    pupils: pd.DataFrame,
    progress: dict[str, pd.DataFrame],
    groups: list[Group],
    settings: ReportSettings,
) -> pd.DataFrame:
    """The five key questions of a pupil progress review meeting, answered pupil by pupil.

    Needs: `pupils` with `pupil` (a label) and `year_group`; `progress` (subject →
    `subject_progress`). Gives one row per question and pupil: question, pupil, row (the pupil's
    index), year_group, subjects, groups (for question 1), detail, priority (question 5 order).
    1: a pupil in a risk group (settings.risk_groups) who is behind, not on track, stalled or
    regressed in any subject. 2 / 3: very good / poor progress in any subject. 4: not on track in
    any subject. 5: regressed pupils first, then stalled, then the furthest behind their
    milestone; at most `act_now_limit` pupils.
    """
    index = pupils.index
    subjects = list(progress)

    def which(column: str) -> pd.Series:
        """Per pupil, the subjects where `column` is true, joined by ", "."""
        return join_flags({s: progress[s][column] for s in subjects}, index=index).str.replace(
            "; ", ", "
        )

    concern = {
        s: ((p["status"] == BEHIND) | p["not_on_track"] | p["stalled"] | p["regressed"]).astype(
            bool
        )
        for s, p in progress.items()
    }
    concern_subjects = join_flags(concern, index=index).str.replace("; ", ", ")
    risk = [g for g in groups if g.key.split(":")[0] in settings.risk_groups]
    membership = join_flags({g.name: g.members for g in risk}, index=index)
    answers = []

    def add(question: int, chosen: pd.Series, subjects_text: pd.Series, detail: pd.Series) -> None:
        mask = chosen.fillna(False).astype(bool).to_numpy()
        answers.append(
            pd.DataFrame(
                {
                    "question": question,
                    "pupil": pupils["pupil"].to_numpy()[mask],
                    "row": index.to_numpy()[mask],
                    "year_group": pupils["year_group"].to_numpy()[mask],
                    "subjects": subjects_text.to_numpy()[mask],
                    "groups": membership.to_numpy()[mask] if question == 1 else "",
                    "detail": detail.to_numpy()[mask],
                    "priority": np.nan,
                }
            )
        )

    at_risk = (membership != "") & (concern_subjects != "")
    concern_text = join_where(
        {
            s: s + ": " + p["status"] + ("; " + p["flags"]).where(p["flags"] != "", "")
            for s, p in progress.items()
        },
        concern,
        index,
        separator=" | ",
    )
    add(1, at_risk, concern_subjects, concern_text)
    very_good = which("very_good")
    add(2, very_good != "", very_good, _steps_detail(progress, "very_good", index))
    poor = which("poor")
    add(3, poor != "", poor, _steps_detail(progress, "poor", index))
    off_track = which("not_on_track")
    add(4, off_track != "", off_track, _needed_detail(progress, index))
    answers.append(_act_now(pupils, progress, settings))
    result = pd.concat(answers, ignore_index=True)
    result.insert(1, "question_text", result["question"].map(QUESTIONS))
    return result


def _steps_detail(progress: dict[str, pd.DataFrame], column: str, index: pd.Index) -> pd.Series:
    parts = {  # formatted only where the condition holds: a Python call per value
        s: p["steps_made"]
        .where(p[column].fillna(False).astype(bool))
        .map(lambda v, s=s: f"{s}: {v:+.0f} steps", na_action="ignore")
        for s, p in progress.items()
    }
    return join_where(parts, {s: p[column] for s, p in progress.items()}, index)


def _needed_detail(progress: dict[str, pd.DataFrame], index: pd.Index) -> pd.Series:
    parts = {
        s: (
            s
            + ": "
            + p["steps_needed"].astype("Int64").astype("str")
            + " steps needed, "
            + (STEPS_PER_YEAR - p["half_terms"]).astype("str")
            + " half terms left"
        )
        for s, p in progress.items()
    }
    return join_where(parts, {s: p["not_on_track"] for s, p in progress.items()}, index)


def _act_now(
    pupils: pd.DataFrame, progress: dict[str, pd.DataFrame], settings: ReportSettings
) -> pd.DataFrame:
    """Question 5: one row per pupil and subject to act on, regressed, stalled, then behind."""
    reasons = np.array(["regressed", "stalled", "behind"], dtype=object)
    parts = []
    for subject, p in progress.items():
        rank = np.select([p["regressed"], p["stalled"], p["status"] == BEHIND], [0, 1, 2], 9)
        candidate = rank < 9
        parts.append(
            pd.DataFrame(
                {
                    "row": p.index[candidate],
                    "position": np.arange(len(p))[candidate],
                    "subject": subject,
                    "rank": rank[candidate],
                    "difference": p["difference"].to_numpy()[candidate],
                }
            )
        )
    if not parts:
        return pd.DataFrame()
    candidates = pd.concat(parts, ignore_index=True)
    candidates = candidates.sort_values(["rank", "difference", "position"], kind="stable")
    chosen = candidates.drop_duplicates("row").head(settings.act_now_limit)
    chosen = chosen.assign(priority=np.arange(1, len(chosen) + 1, dtype="float64"))
    # the detail text only for the few pupils listed, not for every candidate
    difference = [f"{v:+.0f}" if pd.notna(v) else "?" for v in chosen["difference"]]
    detail = [
        f"{reason} ({steps} steps against the milestone)"
        for reason, steps in zip(reasons[chosen["rank"].to_numpy()], difference, strict=True)
    ]
    return pd.DataFrame(
        {
            "question": 5,
            "pupil": pupils.loc[chosen["row"], "pupil"].to_numpy(),
            "row": chosen["row"].to_numpy(),
            "year_group": pupils.loc[chosen["row"], "year_group"].to_numpy(),
            "subjects": chosen["subject"].to_numpy(),
            "groups": "",
            "detail": np.array(detail, dtype=object),
            "priority": chosen["priority"].to_numpy(),
        }
    )


# ---------------------------------------------------------------------------------------------
# End-of-year review


def review_outcomes(target: pd.Series, result: pd.Series) -> pd.DataFrame:
    """Targets against actual results for one subject: outcome and by how much.

    Gives: target, result, difference (result - target, in steps), outcome (exceeded / met /
    missed / no result).
    """
    target = pd.to_numeric(target, errors="coerce").astype("float64")
    result = pd.to_numeric(result, errors="coerce").astype("float64")
    difference = result - target
    outcome = np.select(
        [difference.isna(), difference > 0, difference == 0], [NO_RESULT, EXCEEDED, MET], MISSED
    )
    return pd.DataFrame(
        {"target": target, "result": result, "difference": difference, "outcome": outcome},
        index=target.index,
    ).astype({"outcome": "str"})


def review_summary(
    outcomes: dict[str, pd.DataFrame], groups: list[Group], settings: ReportSettings
) -> pd.DataFrame:
    """% met / exceeded / missed and the average shortfall, by subject for all pupils and groups.

    Percentages are of pupils with both a target and a result; `no_result` counts the others.
    """
    rows = []
    for subject, frame in outcomes.items():
        everyone = pd.Series(True, index=frame.index)
        for name, members in [("All pupils", everyone), *((g.name, g.members) for g in groups)]:
            chosen = frame[members.reindex(frame.index, fill_value=False).to_numpy()]
            counted = chosen[chosen["outcome"] != NO_RESULT]
            n = len(counted)
            missed = counted[counted["outcome"] == MISSED]
            rows.append(
                {
                    "subject": subject,
                    "group": name,
                    "pupils": n,
                    "small": n < settings.small_group,
                    "pct_exceeded": (counted["outcome"] == EXCEEDED).mean() if n else np.nan,
                    "pct_met": (counted["outcome"] == MET).mean() if n else np.nan,
                    "pct_met_or_exceeded": (counted["outcome"] != MISSED).mean() if n else np.nan,
                    "pct_missed": (counted["outcome"] == MISSED).mean() if n else np.nan,
                    "avg_missed_by": -missed["difference"].mean() if len(missed) else np.nan,
                    "no_result": int((chosen["outcome"] == NO_RESULT).sum()),
                }
            )
    return pd.DataFrame(rows)


@dataclass
class ReportData:
    """Everything the report shows, as frames (the workbook and JSON are made from these)."""

    progress: dict[str, pd.DataFrame]
    trend: pd.DataFrame
    questions: pd.DataFrame
    groups: list[Group] = field(default_factory=list)
    review: dict[str, pd.DataFrame] = field(default_factory=dict)
    review_summary: pd.DataFrame | None = None
    expectations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=EXPECTATION_COLUMNS)
    )


# ---------------------------------------------------------------------------------------------
# The whole report, from what was read


@dataclass
class ReportInputs:
    """Everything `compute_report` needs, already read (no file is opened after this)."""

    points: dict[str, pd.DataFrame]  # subject → baseline, aut1 … in the scale's points
    pupils: pd.DataFrame  # canonical pupil columns, `pupil` (a label), `year_group` (numbers)
    frame: pd.DataFrame  # the sheet as read (a school's own group columns)
    cohort: pd.DataFrame  # the sheet with canonical names, for the engine
    academic_year: int
    scale: Scale
    settings: ReportSettings
    policies: dict[int, Policy]  # year group → the policy of its default targets
    expectations: dict[int, str]  # year → the age-related expectation at its end (policies')
    targets: pd.DataFrame | None = None  # a targets file's points, indexed by UPN key
    targets_name: str | None = None
    results: dict[str, pd.Series] | None = None  # results' points per subject, by UPN key


@dataclass
class ReportComputed:
    data: ReportData
    points: dict[str, pd.DataFrame]  # the drops with Year 1's baseline filled in
    targets_from: str
    missing: dict[str, pd.Series]  # per subject, pupils the targets file gave no target
    borderline: dict[str, pd.Series] = field(default_factory=dict)  # the engine's BORDERLINE


def compute_report(given: ReportInputs) -> ReportComputed:
    """The report from what was read: this year's targets (the targets file's, else the
    engine's under each year group's policy), progress, groups, trend, % at the expectation,
    key questions, and with results the end-of-year review."""
    settings, scale, pupils = given.settings, given.scale, given.pupils
    year_group = pupils["year_group"]
    rules = scale_rules(scale, settings, given.expectations)
    points = year_one_baselines(given.points, year_group, rules)
    baselines = {s: p.iloc[:, 0] for s, p in points.items()}
    target_points, targets_from, missing, borderline = _report_targets(given, baselines)
    progress = {
        subject: subject_progress(drops, year_group, target_points[subject], settings, rules)
        for subject, drops in points.items()
    }
    groups = pupil_groups(pupils, settings, given.frame)
    histories = {
        subject: drop_history(drops, target_points[subject], settings, rules, year_group)
        for subject, drops in points.items()
    }
    expectations = expectation_table(histories, groups, settings, pupils.index)
    trend = group_trend(histories, groups, settings)
    del histories  # the long drop histories are freed before the questions
    questions = key_questions(pupils, progress, groups, settings)
    data = ReportData(progress, trend, questions, groups, expectations=expectations)
    if given.results is not None:
        upn = pupils["upn"]
        data.review = {
            s: review_outcomes(target_points[s], align_by_upn(pd.DataFrame({s: v}), upn)[s])
            for s, v in given.results.items()
        }
        data.review_summary = review_summary(data.review, groups, settings)
    return ReportComputed(data, points, targets_from, missing, borderline)


def _report_targets(
    given: ReportInputs, baselines: dict[str, pd.Series]
) -> tuple[dict[str, pd.Series], str, dict[str, pd.Series], dict[str, pd.Series]]:
    """Points targets per subject for this year, where they came from, who had none in the
    targets file (they take the engine's, exactly set-targets' for this file: SPEC §8), and the
    engine's BORDERLINE pupils per subject."""
    pupils, scale, policies = given.pupils, given.scale, given.policies
    subjects = list(given.points)
    year_group = pupils["year_group"]
    cohort = given.cohort.assign(year_group=year_group)
    engine, borderline = engine_targets(cohort, policies, subjects, given.academic_year)
    engine_points = pd.DataFrame(
        {c: scale.parse(engine[c]).points for c in target_columns(engine.columns, subjects)},
        index=pupils.index,
    )
    final_year = year_group.map(
        {y: (np.nan if p.kind == "steps" else p.final_year) for y, p in policies.items()}
    )
    from_policy = this_years_targets(
        engine_points, subjects, year_group, baselines, final_year, scale
    )
    names = sorted({p.name for p in policies.values()})
    years = sorted(int(y) for y in year_group.dropna().unique())
    if len(names) == 1 and scale.name == "steps":
        text = f"the {names[0]} policy (baseline + 6 steps + catch-up, as set-targets sets them)"
    elif names:
        text = (
            f"the {' / '.join(names)} polic{'y' if len(names) == 1 else 'ies'}, as set-targets "
            "sets them (this year's milestone before the final year)"
        )
    else:
        text = f"no policy on the {scale.name} scale"
    uncovered = [y for y in years if y not in policies]
    if uncovered:
        text += "; no targets for " + ", ".join(f"Year {y}" for y in uncovered)
        text += " (give --targets)"
    if given.targets is None:
        return from_policy, text, {}, borderline
    aligned = align_by_upn(given.targets, pupils["upn"])
    from_file = this_years_targets(aligned, subjects, year_group, baselines, final_year, scale)
    result, missing = {}, {}
    for subject in subjects:
        column = f"{subject}_target"
        has = aligned[column].notna() if column in aligned else pd.Series(False, index=pupils.index)
        missing[subject] = ~has
        result[subject] = from_file[subject].fillna(from_policy[subject])
    text = f"{given.targets_name} (pupils without a target there: {text})"
    return result, text, missing, borderline


# ---------------------------------------------------------------------------------------------
# Findings and counts


def findings_of(
    pupils: pd.Series,
    data: ReportData,
    missing_target: dict[str, pd.Series],
    steps: Scale,
) -> list[dict[str, Any]]:
    """Every flag as a plain dict (code, severity, pupil, subject, message) for JSON/--fail-on.

    `pupils`: each pupil's label; `missing_target`: per subject, the pupils the targets file
    gave no target (MISSING_TARGET); `steps`: the steps scale, for grades in messages."""
    kinds = catalogue()
    labels = pupils.to_numpy(dtype=object)  # one str per pupil, shared
    found: list[dict[str, Any]] = []

    def grade(points: pd.Series) -> pd.Series:
        return steps.grade_at_or_below(points).fillna("?").astype("str")

    def values(subject: str, p: pd.DataFrame) -> dict[str, str | pd.Series]:
        """What a message may say about the pupils in `p` (only the flagged ones are passed)."""
        return {
            "subject": subject,
            "current": grade(p["latest"]),
            "previous": grade(p["previous"]),
            "expected": grade(p["expected"]),
            "needed": p["steps_needed"].astype("Int64").astype("str").replace("<NA>", "?"),
            "left": (STEPS_PER_YEAR - p["half_terms"]).astype("str"),
        }

    for subject, p in data.progress.items():
        rules = {
            "REGRESSED": p["regressed"],
            "STALLED": p["stalled"],
            "NOT_ON_TRACK": p["not_on_track"],
            "CATCH_UP": p["catch_up"],
            "MISSING_TARGET": missing_target.get(subject, pd.Series(False, index=p.index)),
        }
        for code, mask in rules.items():
            chosen = mask.fillna(False).astype(bool).to_numpy()
            if not chosen.any():
                continue
            # messages only for the flagged pupils, not for all 100,000 and then dropped
            message = message_of(code, index=p.index[chosen], **values(subject, p[chosen]))
            severity = kinds[code].severity
            found.extend(
                {
                    "code": code,
                    "severity": severity,
                    "pupil": pupil,
                    "row": row,
                    "subject": subject,
                    "message": text,
                }
                for pupil, row, text in zip(
                    labels[chosen].tolist(),
                    p.index.to_numpy()[chosen].astype("int64").tolist(),
                    message.tolist(),
                    strict=True,
                )
            )
    latest = data.trend.groupby(["subject", "group"], sort=False).tail(1)
    for record in latest[latest["widening"]].to_dict("records"):
        found.append(
            {
                "code": "GROUP_GAP_WIDENING",
                "severity": kinds["GROUP_GAP_WIDENING"].severity,
                "group": record["group"],
                "subject": record["subject"],
                "message": message_of(
                    "GROUP_GAP_WIDENING",
                    group=record["group"],
                    subject=record["subject"],
                    gap=f"{record['gap_steps']:.1f}",
                    previous_gap=f"{record['previous_gap_steps']:.1f}",
                ),
            }
        )
    small = latest[latest["small"]].drop_duplicates("group")
    for record in small.to_dict("records"):
        found.append(
            {
                "code": "SMALL_GROUP",
                "severity": kinds["SMALL_GROUP"].severity,
                "group": record["group"],
                "message": message_of("SMALL_GROUP", group=record["group"]),
            }
        )
    return found


def counts(pupils: int, data: ReportData) -> dict[str, int]:
    """The report's headline counts: pupils, pupil-subjects by status, flags, gaps widening."""
    frames = list(data.progress.values())
    everything = pd.concat(frames) if frames else pd.DataFrame(columns=["status"])
    has_data = everything["status"] != NO_DATA
    return {
        "pupils": pupils,
        "pupil_subjects": int(has_data.sum()),
        "ahead": int((everything["status"] == AHEAD).sum()),
        "on_track": int((everything["status"] == ON_TRACK).sum()),
        "on_track_or_ahead": int(everything["status"].isin([AHEAD, ON_TRACK]).sum()),
        "behind": int((everything["status"] == BEHIND).sum()),
        "no_data": int((~has_data).sum()),
        "regressed": int(everything["regressed"].sum()),
        "stalled": int(everything["stalled"].sum()),
        "not_on_track": int(everything["not_on_track"].sum()),
        "catch_up": int(everything["catch_up"].sum()),
        "gaps_widening": int(
            data.trend.groupby(["subject", "group"], sort=False).tail(1)["widening"].sum()
        ),
    }
