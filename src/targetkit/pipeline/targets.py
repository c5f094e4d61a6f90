"""Pupil targets from a policy and conversion data: pure pandas, vectorised over pupils.

For each subject: the prior result, the benchmark's chance of each key threshold and most likely
outcome, the policy's minimum, the benchmark quota (so the pupil targets add up to what the
best schools achieve), "never lower" floors (prior, latest attainment, previous target), EHC
plan targets, milestones, a one-sentence reason and flags. SPEC §3 "Policies" and §7.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetkit.columns import DATA_DROPS, parse_assessment
from targetkit.conversion_tables import cached_table
from targetkit.groups import flag_columns, group_columns
from targetkit.pipeline.ks2_prior import Ks2Prior, ks2_prior, score_columns
from targetkit.pipeline.values import yes_no
from targetkit.policies import CombinedMeasure, Policy, ProgressFromLatest
from targetkit.privacy import SMALL_GROUP
from targetkit.scales import Scale, load_scale
from targetkit.upn import upn_key

BENCHMARK_LABELS = {"top25": "top-25% schools", "top50": "top-50% schools", "national": "national"}
GROUP_COLUMNS = group_columns("set_targets")  # data/groups/groups.yaml: groups in one place
FLAG_COLUMNS = flag_columns()
SMALL_LABEL = f"small (<{SMALL_GROUP})"


@dataclass
class TargetResult:
    """What `compute_targets` gives back.

    `pupils` has the cohort's index and order and only the added columns; `comments` holds the
    cell comment for each `<subject>_target`; `summary` the school-level rows; `by_group` the
    same by pupil group; `notes` what the About sheet should record (e.g. benchmark fallbacks).
    """

    pupils: pd.DataFrame
    summary: pd.DataFrame
    subjects: list[str]
    thresholds: dict[str, str]
    policy: Policy
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    comments: dict[str, pd.Series] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    benchmark: str = "top25"
    borderline: dict[str, pd.Series] = field(default_factory=dict)  # subject → BORDERLINE pupils
    scales: dict[str, str] = field(default_factory=dict)  # subject → its target scale's name
    entered: dict[str, pd.Series] = field(default_factory=dict)  # GCSE subject → pupils entered


def threshold_label(name: str) -> str:
    """`4plus` → `4+`, `a_star_to_c` → `A*-C` for sentences."""
    if name.startswith("a_star_to_"):  # the legacy GCSE thresholds: a_star_to_c → A*-C
        return "A*-" + name.removeprefix("a_star_to_").upper()
    return name.replace("plus", "+")


def grade_at_or_above(scale: Scale, points: pd.Series) -> pd.Series:
    """The lowest main grade with at least these points (NaN → None; above the top → top)."""
    grade_points = np.array([g.points for g in scale.grades])
    names = np.array(scale.grade_names, dtype=object)
    values = points.to_numpy(dtype="float64")
    position = np.clip(np.searchsorted(grade_points, values - 1e-9, side="left"), 0, len(names) - 1)
    return pd.Series(np.where(np.isnan(values), None, names[position]), index=points.index)


def nc_level(scale: Scale, points: pd.Series) -> pd.Series:
    """The National Curriculum level digit of points (W = 0, EP = 9); NaN stays NaN."""
    return scale.grade_at_or_below(points).map(scale.band_of).astype("float64")


def whole_levels(scale: Scale) -> dict[int, str]:
    """Level digit → the grade that stands for the whole level, from the scale's data: its
    equivalents (`4`), else the band's only grade (`W`, `8`, `EP`). In order, lowest first."""
    bands: dict[int, list[str]] = {}
    for grade in scale.grades:
        if grade.band is not None:
            bands.setdefault(grade.band, []).append(grade.grade)
    whole = {band: names[0] for band, names in bands.items() if len(names) == 1}
    whole.update({e.band: e.grade for e in scale.equivalents if e.band is not None})
    return dict(sorted(whole.items()))


def baseline_year(columns: Sequence[object]) -> int | None:
    """The academic year a steps cohort is in: the year of its latest baseline column
    (`maths_sum2_2026` → 2026/27, SPEC §8), None without one."""
    years = [
        parsed[2]
        for c in columns
        if (parsed := parse_assessment(str(c))) and parsed[1] == "sum2" and parsed[2] is not None
    ]
    return max(years) if years else None


def latest_attainment(cohort: pd.DataFrame, subject: str, scale: Scale) -> pd.DataFrame:
    """Most recent data-drop result per pupil (columns `points`, `grade`, `column`).

    Needs `<subject>_<drop>` columns (optionally `_<year>`); a column with a year is older than
    this year's drops, and drops are ordered aut1 … sum2. Empty drops are ignored, and a pupil's
    blank cell falls back to their previous drop.
    """
    drops = []
    for name in cohort.columns:
        parsed = parse_assessment(str(name))
        if parsed and parsed[0] == subject and parsed[1] in DATA_DROPS:
            year = parsed[2] if parsed[2] is not None else 10_000
            drops.append(((year, DATA_DROPS.index(parsed[1])), name))
    result = pd.DataFrame(
        {"points": np.nan, "grade": None, "column": None}, index=cohort.index
    ).astype({"points": "float64", "grade": object, "column": object})
    if not drops:
        return result
    missing = np.ones(len(cohort), dtype=bool)
    for _, name in sorted(drops, reverse=True):  # newest first: stop once every pupil has one
        parsed = scale.parse(cohort[name])
        has = parsed.points.notna().to_numpy() & missing
        if not has.any():
            continue
        result.loc[has, "points"] = parsed.points[has]
        result.loc[has, "grade"] = parsed.grade[has]
        result.loc[has, "column"] = name
        missing &= ~has
        if not missing.any():
            break
    return result


def unread_grades(cohort: pd.DataFrame, subject: str, scale: Scale) -> pd.Series:
    """Per pupil, the subject's working-at values that are no grade or code of its scale, as
    `history_sum2 '5-4'` (several joined by ', '), None where every value reads. Such a value
    is left out of the latest attainment; `compute_targets` flags it (WORKING_AT_NOT_A_GRADE),
    for English and maths as for every GCSE subject, so a bad grade is never dropped silently
    (a `5-4` typed for history, a `5` for Combined Science: each subject reads its own award)."""
    found = pd.Series(pd.NA, index=cohort.index, dtype="string")
    for name in cohort.columns:
        parsed = parse_assessment(str(name))
        if not (parsed and parsed[0] == subject and parsed[1] in DATA_DROPS):
            continue
        unknown = scale.parse(cohort[name]).unknown
        if not unknown.any():
            continue
        text = (f"{name} '" + cohort[name].astype("string").str.strip() + "'").where(unknown)
        found = found.where(text.isna(), (found + ", " + text).fillna(text))
    return found.astype(object).where(found.notna(), None)


def _bool_text(values: pd.Series) -> pd.Series:
    """A yes/no column as the group labels "yes" / "no" (None when unknown)."""
    answer = yes_no(values)
    return pd.Series(
        np.where(answer.fillna(False), "yes", np.where(answer.isna(), None, "no")),
        index=values.index,
        dtype=object,
    )


def _previous_points(
    cohort: pd.DataFrame, previous: pd.DataFrame | None, subject: str, scale: Scale
) -> pd.Series:
    """Previous target points by UPN (a moderated target included); NaN where none.

    UPNs match by `upn_key` (any case or spacing), as in every command."""
    column = f"{subject}_target"
    empty = pd.Series(np.nan, index=cohort.index, dtype="float64")
    if previous is None or column not in previous or "upn" not in previous or "upn" not in cohort:
        return empty
    points = scale.parse(previous[column]).points
    by_upn = pd.Series(points.to_numpy(), index=upn_key(previous["upn"]).to_numpy())
    by_upn = by_upn[by_upn.index.notna()].groupby(level=0).max()
    upn = upn_key(cohort["upn"])
    return pd.Series(by_upn.reindex(upn.to_numpy()).to_numpy(), index=cohort.index, dtype="float64")


def _upgrade_chosen(
    frame: pd.DataFrame, eligible: np.ndarray, rate: float, rank_columns: Sequence[str]
) -> np.ndarray:
    """Which eligible pupils take the higher target: ceil(rate x n) per school, best first.

    Ranked by latest attainment, then prior points (both descending), then the lower UPN.
    """
    chosen = np.zeros(len(frame), dtype=bool)
    if not eligible.any():
        return chosen
    part = frame.loc[eligible, ["school", *rank_columns]].copy()
    part["_position"] = np.flatnonzero(eligible)
    part = part.sort_values(
        ["school", *rank_columns],
        ascending=[True, False, False, True],
        na_position="last",
        kind="mergesort",
    )
    order = part.groupby("school", sort=False).cumcount()
    size = part.groupby("school", sort=False)["school"].transform("size")
    quota = np.ceil(size.to_numpy() * rate - 1e-9)
    chosen[part["_position"].to_numpy()[order.to_numpy() < quota]] = True
    return chosen


def compute_targets(
    cohort: pd.DataFrame,
    policy: Policy,
    *,
    benchmark: str = "top25",
    previous: pd.DataFrame | None = None,
    subjects: Sequence[str] | None = None,
    conversion: str | None = None,
    summaries: bool = True,
    academic_year: int | None = None,
    entries: pd.DataFrame | None = None,
    notes: bool = True,
    lean: bool = False,
) -> TargetResult:
    """Targets for every pupil and subject of `cohort` under `policy`.

    `cohort` has canonical column names: `upn`, `year_group`, `sen`, `school` (optional), the
    prior `<subject>_<prior_point>` (or the KS2 scaled-score columns of the 9-1 route), data
    drops `<subject>_<drop>`, and `<subject>_plan_target` for EHC plans. `previous` is an
    earlier targets sheet (`upn`, `<subject>_target`). Adds, per subject, `_prior`,
    `_chance_<threshold>`, `_most_likely`, `_minimum`, `_suggested`, `_target`,
    `_milestone_<point>`, `_reason`, and one `flags` column. With `summaries=False` the
    school-level `summary` and `by_group` are left empty (a caller that needs only the pupils'
    rows, such as check-ambition on a whole LA batch, saves working them out). With
    `notes=False` the words are left out: no `_reason` columns, comments or descriptions
    (check-ambition reads only the grades, chances and flags; the targets are the same).
    With `lean=True` also no `_milestone_` columns and none of the flags that only inform the
    reader (BORDERLINE, EHC_TARGET_BELOW_RULE, EHC_INDIVIDUAL_TARGET, WORKING_AT_NOT_A_GRADE):
    check-ambition reads neither; every other column and flag is the same (and no words).
    A policy with `subject_tables` (ks4) also targets every GCSE subject each pupil is entered
    for (`entries`: a long frame of `upn`, `subject`, `qualification`; None: the cohort's wide
    columns), adds the Attainment 8 and Progress 8 of the targets and raises suggestions until
    each school's Progress 8 of targets is at least 0 (`pipeline.gcse_targets`).
    """
    subjects = list(subjects or policy.subjects)
    notes = notes and not lean  # lean: no words either
    target_scale = load_scale(policy.target_scale)
    fallbacks: list[str] = []  # the About sheet's notes (benchmark fallbacks)
    table = None
    if policy.conversion or conversion:
        table = cached_table(conversion or policy.conversion)
    flags = pd.Series("", index=cohort.index, dtype=object)
    columns: dict[str, pd.Series] = {}
    comments: dict[str, pd.Series] = {}
    descriptions: dict[str, str] = {}
    target_points: dict[str, pd.Series] = {}
    chances: dict[str, dict[str, pd.Series]] = {}
    has_prior: dict[str, pd.Series] = {}
    borderline: dict[str, pd.Series] = {}
    school = (
        cohort["school"].astype("string").fillna("")
        if "school" in cohort
        else pd.Series("", index=cohort.index, dtype="string")
    )
    upn = (
        cohort["upn"].astype("string").fillna("")
        if "upn" in cohort
        else pd.Series("", index=cohort.index, dtype="string")
    )
    ehc = (
        cohort["sen"].astype("string").str.strip().str.upper().eq("E").fillna(False).to_numpy()
        if "sen" in cohort
        else np.zeros(len(cohort), dtype=bool)
    )
    year_group = pd.to_numeric(cohort.get("year_group"), errors="coerce")
    if not isinstance(year_group, pd.Series):  # no year group column: not known for anyone
        year_group = pd.Series(np.nan, index=cohort.index)

    # The KS2 prior of a scaled-score policy (ks4), worked out once for every use below
    ks2 = ks2_prior(cohort, policy) if policy.prior_scaled_scores else None
    gcse = _gcse_subjects(cohort, policy, entries, benchmark, previous, school, upn, ks2)
    fallbacks += gcse.notes
    scales: dict[str, Scale] = {}
    outs: dict[str, dict] = {}
    for subject in [*subjects, *gcse.subjects]:
        if subject in gcse.blocks:
            out = gcse.blocks[subject]
        elif policy.kind == "steps":
            out = _steps_subject(cohort, policy, subject, year_group, previous, academic_year)
        else:
            out = _levels_subject(
                cohort,
                policy,
                subject,
                table,
                benchmark,
                previous,
                school,
                upn,
                year_group,
                fallbacks,
                academic_year,
                reasons=notes,
                ks2=ks2,
            )
        subject_scale = scales[subject] = out.get("scale", target_scale)
        # EHC plans: the plan target stands (SPEC §7); without one the suggestion is kept.
        plan_column = f"{subject}_plan_target"
        plan = (
            subject_scale.parse(cohort[plan_column])
            if plan_column in cohort
            else subject_scale.parse(pd.Series(None, index=cohort.index, dtype=object))
        )
        has_plan = ehc & plan.points.notna().to_numpy()
        # The benchmark at every threshold (SPEC §8): the school's share targeted is at least
        # the sum of its pupils' chances, rounded up; plan targets count but are not moved.
        shown_chances = {name: (c * 100).round(1) / 100 for name, c in out["chances"].items()}
        raised, raised_to = _threshold_quotas(
            out["suggested_points"].where(~has_plan, plan.points),
            shown_chances,
            policy,
            subject_scale,
            school,
            out.get("rank"),
            frozen=has_plan,
            thresholds=out.get("thresholds"),
        )
        if raised.any():
            out["suggested_points"] = out["suggested_points"].where(~raised, raised_to["points"])
            out["suggested"] = out["suggested"].where(~raised, raised_to["grade"])
            if notes:
                out["reason"] = _shared(_new_rule(out["reason"], raised, raised_to["reason"]))
            out["flags"] = _add_flag(out["flags"], raised, "QUOTA_TARGET")
        outs[subject] = {**out, "plan": plan, "has_plan": has_plan, "shown": shown_chances}
    progress = None
    if gcse.subjects:  # Attainment 8 needs the GCSE entries: English and maths alone fill 4 slots
        progress = _progress8_of_targets(cohort, policy, outs, scales, gcse.subjects, school, ks2)
    for subject, out in outs.items():
        subject_scale, plan, has_plan = scales[subject], out["plan"], out["has_plan"]
        shown_chances = out["shown"]
        target = out["suggested"].astype(object).copy()
        target[has_plan] = plan.grade[has_plan]
        points = out["suggested_points"].copy()
        points[has_plan] = plan.points[has_plan]
        subject_flags = out["flags"]
        if not lean:  # flags for the reader only (check-ambition reads none of them)
            if subject_scale.name == "nc":  # "at least level 4" is met by 4c (SPEC §7)
                below = nc_level(subject_scale, plan.points) < nc_level(
                    subject_scale, out["minimum_points"]
                )
            else:
                below = plan.points < out["minimum_points"]
            below_rule = has_plan & below.to_numpy()
            subject_flags = _add_flag(subject_flags, below_rule, "EHC_TARGET_BELOW_RULE")
            subject_flags = _add_flag(subject_flags, ehc & ~has_plan, "EHC_INDIVIDUAL_TARGET")
            near = borderline_pupils(cohort, policy, subject, subject_scale, year_group, out)
            borderline[subject] = pd.Series(near, index=cohort.index)
            subject_flags = _add_flag(subject_flags, near, "BORDERLINE")
            unread = unread_grades(cohort, subject, subject_scale)
            subject_flags = _add_flag(subject_flags, unread.notna(), "WORKING_AT_NOT_A_GRADE")
        flags = _merge_flags(flags, subject_flags)
        if notes:
            reason = out["reason"].where(
                ~pd.Series(has_plan, index=cohort.index),
                "EHC plan target "
                + plan.grade.astype("string").fillna("")
                + " (suggestion "
                + out["suggested"].astype("string").fillna("none")
                + "): "
                + out["reason"],
            )
            reason = reason.where(
                ~pd.Series(ehc & ~has_plan, index=cohort.index),
                out["reason"] + "; EHC plan: agree an individual target.",
            )
            reason = reason.where(
                unread.isna() | reason.isna(),
                reason + f"; working-at value not used (not a grade of the {subject_scale.name} "
                "scale): " + unread,
            )
            reason = _shared(reason)
        target_points[subject] = points
        has_prior[subject] = out["prior_points"].notna()
        chances[subject] = shown_chances
        prefix = subject
        columns[f"{prefix}_prior"] = out["prior"]
        for name, chance in out["chances"].items():
            columns[f"{prefix}_chance_{name}"] = (chance * 100).round(1)
            descriptions[f"{prefix}_chance_{name}"] = (
                f"Percent of pupils with this {subject} prior in {benchmark} schools who reached "
                f"{threshold_label(name)} (conversion table "
                f"{out.get('table') or conversion or policy.conversion})."
            )
        columns[f"{prefix}_most_likely"] = out["most_likely"]
        columns[f"{prefix}_minimum"] = out["minimum"]
        columns[f"{prefix}_suggested"] = out["suggested"]
        columns[f"{prefix}_target"] = target
        # towards the plan target where it stands (none when lean: check-ambition reads none)
        milestones = {} if lean else out["milestones_for"](points)
        for name, milestone in _from_this_year(milestones, year_group).items():
            columns[f"{prefix}_milestone_{name}"] = milestone
            descriptions[f"{prefix}_milestone_{name}"] = (
                f"Where the pupil should be in {subject} by {name} to be on track for the target."
            )
        if notes:
            columns[f"{prefix}_reason"] = reason
            comments[f"{prefix}_target"] = reason
        descriptions.update(
            {
                f"{prefix}_prior": f"The {subject} prior result the target starts from.",
                f"{prefix}_most_likely": "The most likely outcome for this prior in the "
                "benchmark schools (the mode of the conversion data).",
                f"{prefix}_minimum": "The policy's minimum expected progress from the prior.",
                f"{prefix}_suggested": "targetkit's suggestion: the minimum, raised by the "
                "benchmark quota, never below the prior, latest attainment or previous target.",
                f"{prefix}_target": "EDITABLE: the target, prefilled with the suggestion (or the "
                "EHC plan target). Teachers moderate this column; the comment says why.",
                f"{prefix}_reason": "Why the suggestion is what it is, in one sentence.",
            }
        )
    if gcse.not_targeted is not None and gcse.not_targeted.notna().any():
        columns[NOT_TARGETED_COLUMN] = gcse.not_targeted
        descriptions[NOT_TARGETED_COLUMN] = (
            "Entries given no target: an unknown subject or a qualification the DfE matrices do "
            "not cover (listed, never dropped; not counted in Attainment 8)."
        )
        flags = _add_flag(flags, gcse.not_targeted.notna().to_numpy(), "SUBJECT_NOT_TARGETED")
    if ks2 is not None:
        columns.update(_attainment8_context(ks2.average))
        flags = _add_flag(flags, ks2.nominal.ne("").to_numpy(), "NOMINAL_KS2_SCORE")
        descriptions["ks2_average_scaled_score"] = (
            "The mean of the pupil's KS2 scaled scores ("
            + ", ".join(policy.prior_scaled_scores)
            + "), as the DfE's prior attainment; an outcome below the test (N, B, a pre-key "
            "stage standard) counts as the DfE's nominal score (59 to 79)."
        )
        descriptions["attainment8_estimate"] = (
            "For context: the DfE's 2024 Attainment 8 estimate for pupils with this KS2 average "
            "(national average of their Attainment 8 scores)."
        )
    if progress is not None:
        columns.update(progress.columns)
        descriptions.update(PROGRESS8_DESCRIPTIONS)
    overall_rows = None
    if policy.overall is not None and _has_overall_prior(cohort, policy):
        overall_columns, overall_rows = _overall_target(
            cohort, policy, school, upn, benchmark, fallbacks
        )
        columns.update(overall_columns)
        name = policy.overall.name
        descriptions.update(
            {
                f"{policy.overall.prior_point}_average": "The mean points of the pupil's "
                f"{policy.overall.prior_point.upper()} levels in "
                f"{', '.join(policy.overall.subjects)} as a sub-level (blank unless all are "
                "present); its level digit is the average level.",
                f"chance_{name}": f"Percent of pupils with this average who achieved "
                f"{policy.overall.title}.",
                f"target_{name}": "EDITABLE: yes when the pupil is targeted "
                f"{policy.overall.title}.",
                f"reason_{name}": "Why the pupil is (or is not) targeted at it.",
            }
        )
    descriptions["flags"] = "Flag codes for the pupil, separated by '; ' (see targetkit docs)."
    pupils = pd.DataFrame(columns, index=cohort.index)
    pupils["flags"] = flags
    thresholds = dict(policy.thresholds)
    summary, by_group = pd.DataFrame(), pd.DataFrame()
    if summaries:
        summary, by_group = _summaries(
            cohort,
            policy,
            list(outs),
            target_points,
            chances,
            has_prior,
            target_scale,
            scales=scales,
            entered={s: o["entered"] for s, o in outs.items() if "entered" in o},
            thresholds={s: o["thresholds"] for s, o in outs.items() if "thresholds" in o},
        )
    if gcse.blocks and summaries:  # issue 15: the matrices' group rows, for the gap analysis
        from targetkit.pipeline.gcse_targets import group_benchmarks

        by_group = group_benchmarks(
            by_group,
            _group_values(cohort),
            gcse.blocks,
            [cached_table(name) for name in policy.subject_tables],
        )
    if overall_rows is not None and summaries:
        summary = pd.concat([summary, overall_rows], ignore_index=True)
    for combined in [*([policy.combined] if policy.combined else []), *policy.combined_measures]:
        if not all(s in target_points for s in combined.subjects):
            continue
        average = ks2.average if ks2 is not None else pd.Series(np.nan, index=cohort.index)
        chance, row = _combined_measure(
            cohort, policy, target_points, benchmark, fallbacks, combined, average
        )
        columns_added = {f"chance_{combined.name}": (chance * 100).round(1)}
        pupils = pd.concat([pupils.drop(columns="flags"), pd.DataFrame(columns_added)], axis=1)
        pupils["flags"] = flags
        descriptions[f"chance_{combined.name}"] = (
            f"Percent of pupils in this KS2 band nationally who achieved {combined.title}."
        )
        if summaries:
            summary = pd.concat([summary, row], ignore_index=True)
    if progress is not None and summaries:
        summary = pd.concat([summary, progress.summary], ignore_index=True)
    return TargetResult(
        pupils=pupils,
        summary=summary,
        subjects=list(outs),
        thresholds=thresholds,
        policy=policy,
        by_group=by_group,
        comments=comments,
        descriptions=descriptions if notes else {},
        notes=_one_fallback_note(fallbacks, benchmark),
        benchmark=benchmark,
        borderline=borderline,
        scales={s: scale.name for s, scale in scales.items()},
        entered={s: o["entered"] for s, o in outs.items() if "entered" in o},
    )


def borderline_pupils(
    cohort: pd.DataFrame,
    policy: Policy,
    subject: str,
    scale: Scale,
    year_group: pd.Series,
    out: dict,
) -> np.ndarray:
    """BORDERLINE: the pupils to monitor closely for the key threshold (seed 000: "closely
    monitor progress of identified 'borderline' children in Y5, Y8 and Y10", and the final-year
    target pupils), in the policy's `borderline.years`.

    A pupil is borderline when their chance of the key threshold lies in the policy's band, or
    their latest attainment is exactly one grade (sub-level, step) below this year's milestone
    for the threshold: the threshold itself in the final year; in another year the engine's
    milestone for a pupil targeted the threshold, or, where the policy has none for that year,
    the threshold itself. Steps: the age-related expectation at the pupil's latest drop (its
    half-term milestone; for last summer's step, the end of last year's).
    """
    rule = policy.borderline
    if not isinstance(year_group, pd.Series):  # no year group column: no borderline year
        return np.zeros(len(cohort), dtype=bool)
    in_years = year_group.isin(rule.years).to_numpy() if rule is not None else None
    if rule is None or in_years is None or not in_years.any():
        return np.zeros(len(cohort), dtype=bool)
    index = cohort.index
    near = np.zeros(len(cohort), dtype=bool)
    chance = out["chances"].get(policy.key_threshold) if policy.key_threshold else None
    if rule.chance is not None and chance is not None:
        low, high = rule.chance
        shown = (chance * 100).round(1) / 100  # as set-targets writes it
        near |= shown.between(low - 1e-9, high + 1e-9).fillna(False).to_numpy(dtype=bool)
    latest = out.get("latest")  # the engine's own (saves parsing the drops again)
    if latest is None:
        latest = latest_attainment(cohort, subject, scale)
    if policy.kind == "steps":
        from targetkit.pipeline.steps import expected_points

        milestone = expected_points(year_group, _half_terms_of(latest["column"]))
    elif policy.key_threshold:
        thresholds = out.get("thresholds") or policy.thresholds  # a GCSE subject's own scale
        grade = _grade_name(scale, thresholds[policy.key_threshold])
        lowest = nc_floor(scale, grade)
        milestone = pd.Series(lowest, index=index, dtype="float64")
        target = pd.Series(scale.points_of[grade], index=index, dtype="float64")
        if "milestones_for" in out:
            yearly = out["milestones_for"](target)
        else:
            yearly = _milestones(policy, scale, out["prior_points"], target)
        for year in rule.years:
            if year != policy.final_year and f"y{year}" in yearly:
                points = yearly[f"y{year}"].map(scale.points_of).astype("float64")
                milestone = milestone.where(year_group.ne(year) | points.isna(), points)
    else:
        return near & in_years
    one_below = scale.grade_positions(latest["points"]) == scale.grade_positions(milestone) - 1
    return (near | one_below) & in_years


def _half_terms_of(columns: pd.Series) -> pd.Series:
    """Half terms of this year elapsed at each data-drop column (`maths_spr1` → 3); a column
    with a year (last summer or earlier) → 0; no column → 0."""

    def elapsed(name: object) -> int:
        parsed = parse_assessment(str(name)) if isinstance(name, str) else None
        if not parsed or parsed[2] is not None or parsed[1] not in DATA_DROPS:
            return 0
        return DATA_DROPS.index(parsed[1]) + 1

    codes, uniques = pd.factorize(columns, use_na_sentinel=True)
    values = np.array([*(elapsed(u) for u in uniques), 0], dtype="int64")
    return pd.Series(values[codes], index=columns.index)


def nc_floor(scale: Scale, grade: str) -> float:
    """The lowest points meeting a threshold grade: a whole level from its lowest sub-level
    ("at least level 4" is met by 4c, SPEC §7), any other grade from its own points."""
    band = {e.grade: e.band for e in scale.equivalents}.get(grade)
    if band is None:
        return float(scale.points_of[grade])
    return float(min(g.points for g in scale.grades if g.band == band))


NOT_TARGETED_COLUMN = "subjects_not_targeted"
PROGRESS8_DESCRIPTIONS = {
    "attainment8_of_targets": "The Attainment 8 the pupil's targets add up to, by the DfE's "
    "rules (maths and, with both Englishes, English double-weighted; 3 EBacc and 3 open slots).",
    "progress8_of_targets": "(Attainment 8 of targets − the DfE estimate for the pupil's KS2 "
    "average) / 10; blank for pupils with no KS2 scaled score (outside Progress 8).",
}


def _gcse_subjects(
    cohort: pd.DataFrame,
    policy: Policy,
    entries: pd.DataFrame | None,
    benchmark: str,
    previous: pd.DataFrame | None,
    school: pd.Series,
    upn: pd.Series,
    ks2: Ks2Prior | None,
) -> object:
    """The GCSE subjects each pupil is entered for, as subject blocks (issue 15)."""
    from targetkit.conversion_tables import ks2_band
    from targetkit.pipeline.gcse_targets import GcseSubjects, gcse_subjects

    if not policy.subject_tables or ks2 is None:
        return GcseSubjects()
    average = ks2.average
    rank = pd.DataFrame(
        {
            "school": school.to_numpy(),
            "latest": average.to_numpy(),
            "prior_points": average.to_numpy(),
            "upn": upn.to_numpy(),
        },
        index=cohort.index,
    )
    return gcse_subjects(
        cohort,
        policy,
        entries,
        band=ks2_band(average, no_score_band=True),
        benchmark=benchmark,
        tables=[cached_table(name) for name in policy.subject_tables],
        latest_of=lambda subject, scale: latest_attainment(cohort, subject, scale),
        previous_of=lambda subject, scale: _previous_points(cohort, previous, subject, scale),
        rank=rank,
    )


@dataclass
class _Progress8:
    columns: dict[str, pd.Series]
    summary: pd.DataFrame


def _progress8_of_targets(
    cohort: pd.DataFrame,
    policy: Policy,
    outs: dict[str, dict],
    scales: dict[str, Scale],
    gcse: list[str],
    school: pd.Series,
    ks2: Ks2Prior | None,
) -> _Progress8:
    """Attainment 8 and Progress 8 of the suggestions (plan targets where they stand), after
    raising suggestions until each school's Progress 8 of targets is at least 0 (SPEC §8's
    quota made a Progress 8 one); `outs` is updated in place (flag QUOTA_TARGET)."""
    from targetkit.pipeline.gcse_targets import grades_frame, raise_to_progress8, targets_progress8

    index = cohort.index
    points = {
        s: o["suggested_points"].where(~o["has_plan"], o["plan"].points) for s, o in outs.items()
    }
    grades = {s: o["suggested"].where(~o["has_plan"], o["plan"].grade) for s, o in outs.items()}
    frame = grades_frame(policy, points, grades, gcse)
    assert ks2 is not None  # GCSE subjects are only targeted from KS2 scaled scores
    scores = ks2.average
    if policy.school_quotas:
        frame, result = raise_to_progress8(
            frame,
            len(cohort),
            scores,
            school,
            {s: scales[s] for s in outs},
            {s: o["most_likely"] for s, o in outs.items()},
            {s: o["has_plan"] for s, o in outs.items()},
        )
    else:
        frame, result = frame.assign(raised=False), targets_progress8(frame, len(cohort), scores)
    for subject, rows in frame[frame["raised"]].groupby("source", sort=False):
        out = outs[subject]
        mask = np.zeros(len(cohort), dtype=bool)
        mask[rows["upn"].to_numpy()] = True
        new_grade = pd.Series(None, index=index, dtype=object)
        new_grade.iloc[rows["upn"].to_numpy()] = rows["grade"].to_numpy()
        new_points = pd.Series(np.nan, index=index)
        new_points.iloc[rows["upn"].to_numpy()] = rows["points"].to_numpy()
        out["suggested"] = out["suggested"].where(~mask, new_grade)
        out["suggested_points"] = out["suggested_points"].where(~mask, new_points)
        out["reason"] = _new_rule(
            out["reason"],
            mask,
            "benchmark: the school's Progress 8 of targets is at least 0 → "
            + new_grade.astype("string"),
        )
        out["flags"] = _add_flag(out["flags"], mask, "QUOTA_TARGET")
    a8 = pd.Series(result["attainment8"].to_numpy(), index=index).round(2)
    p8 = pd.Series(result["progress8"].to_numpy(), index=index).round(2)
    in_p8 = result["in_progress8"].to_numpy(dtype=bool)
    pupils = len(cohort)
    rows = []
    for name, label, value, counted in (
        ("attainment8", "Attainment 8 of targets (average)", result["attainment8"].mean(), pupils),
        (
            "progress8",
            "Progress 8 of targets (average)",
            result["progress8"][in_p8].mean(),
            int(in_p8.sum()),
        ),
    ):
        rows.append(
            {
                "label": label,
                "subject": name,
                "threshold": "average",
                "pupils": pupils,
                "pupils_with_result": counted,
                "targeted": 0,
                "targeted_with_result": 0,
                "average_target_points": round(float(value), 2) if counted else np.nan,
                "pct_targeted": np.nan,
                "pct_targeted_with_result": np.nan,
                "benchmark_pct": np.nan,
                "benchmark_pct_with_result": np.nan,
                "small": SMALL_LABEL if pupils < SMALL_GROUP else "",
            }
        )
    return _Progress8(
        {"attainment8_of_targets": a8, "progress8_of_targets": p8}, pd.DataFrame(rows)
    )


def _has_overall_prior(cohort: pd.DataFrame, policy: Policy) -> bool:
    """Whether any pupil has a result for the overall target's prior (ks4: KS3 levels); a Year
    7 cohort with KS2 scores only gets no meaningless '5 A*-C 0%' row."""
    overall = policy.overall
    assert overall is not None
    wanted = [f"{s}_{overall.prior_point}" for s in overall.subjects]
    present = [c for c in wanted if c in cohort]
    if not present:
        return False
    text = cohort[present].astype("string").apply(lambda c: c.str.strip())
    return bool((text.notna() & text.ne("")).to_numpy().any())


def _one_fallback_note(notes: list[str], benchmark: str) -> list[str]:
    """Each note once; the benchmark fallbacks of several tables (ks4: English and maths, the
    overall measures, every GCSE subject) as one sentence (issue 15: not once per subject)."""
    distinct = list(dict.fromkeys(notes))
    fallback = [n for n in distinct if f"no {benchmark} data" in n or "publishes no top-" in n]
    if len(fallback) <= 1:
        return distinct
    share = {"top25": "top-25%", "top50": "top-50%"}.get(benchmark, benchmark)
    sentence = (
        f"No {share}-of-schools figures are published for these targets (the DfE publishes "
        "national KS2 to KS4 figures only): national figures are used for every subject and "
        "measure."
    )
    first = distinct.index(fallback[0])
    rest = [n for n in distinct if n not in fallback]
    return [*rest[:first], sentence, *rest[first:]]


def _attainment8_context(average: pd.Series) -> dict[str, pd.Series]:
    """The KS2 average scaled score and the DfE Attainment 8 estimate for it (ks4, context)."""
    from targetkit.conversion_tables import attainment8_estimate

    return {
        "ks2_average_scaled_score": average.round(1),
        "attainment8_estimate": attainment8_estimate(average).round(2),
    }


def scaled_score_columns(cohort: pd.DataFrame, policy: Policy) -> list[str]:
    """The KS2 scaled-score columns of the cohort the prior is made from, each policy column or
    else its first alias present (`english_ks2` for `reading_ks2`, SPEC §8)."""
    return list(score_columns(cohort, policy).values())


def _combined_measure(
    cohort: pd.DataFrame,
    policy: Policy,
    target_points: dict[str, pd.Series],
    benchmark: str,
    notes: list[str],
    combined: CombinedMeasure,
    average: pd.Series,
) -> tuple[pd.Series, pd.DataFrame]:
    """Pupils targeted at the grade in every one of the measure's subjects, against the table;
    `average`: each pupil's KS2 average scaled score (NaN without one)."""
    from targetkit.conversion_tables import ks2_band

    scale = load_scale(policy.target_scale)
    threshold = scale.points_of[_grade_name(scale, combined.grade)]
    met = pd.concat([target_points[s] >= threshold for s in combined.subjects], axis=1).all(axis=1)
    table = cached_table(combined.conversion)
    used = table.benchmark_for(benchmark, combined.table_subject)
    if used != benchmark:
        notes.append(f"conversion table {table.name} has no {benchmark} data; national used")
    band = ks2_band(average)
    chance = table.chance(used, combined.table_subject, band, combined.threshold)
    pupils = len(cohort)
    with_result = int(band.notna().sum())
    targeted = int(met.sum())
    targeted_with_result = int((met & band.notna()).sum())

    def percent(part: float, whole: int) -> float:
        return round(100 * part / whole, 1) if whole else np.nan

    row = {
        "label": " and ".join(combined.subjects) + f" {combined.grade}+",
        "subject": "+".join(combined.subjects),
        "threshold": combined.name,
        "pupils": pupils,
        "pupils_with_result": with_result,
        "targeted": targeted,
        "targeted_with_result": targeted_with_result,
        "average_target_points": np.nan,
        "pct_targeted": percent(targeted, pupils),
        "pct_targeted_with_result": percent(targeted_with_result, with_result),
        "benchmark_pct": percent(chance.sum(), pupils),
        "benchmark_pct_with_result": percent(chance.sum(), with_result),
        "small": SMALL_LABEL if pupils < SMALL_GROUP else "",
    }
    return chance, pd.DataFrame([row])


def _overall_target(
    cohort: pd.DataFrame,
    policy: Policy,
    school: pd.Series,
    upn: pd.Series,
    benchmark: str,
    notes: list[str],
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """The ks4 yes/no target (5 A*-C incl. E and M) from the pupil's average KS3 level.

    Needs `<subject>_<prior_point>` for the overall target's subjects. Averaging
    `achieve_level`+ → yes; of those averaging `quota_level`, ceil(rate x n) per school → yes
    (by average points, then UPN); everyone else with an average → no.
    """
    overall = policy.overall
    assert overall is not None
    index = cohort.index
    nc = load_scale("nc")
    wanted = [f"{s}_{overall.prior_point}" for s in overall.subjects]
    points = pd.DataFrame(
        {c: nc.parse(cohort[c]).points if c in cohort else np.nan for c in wanted}, index=index
    )
    average = points.mean(axis=1).where(points.notna().all(axis=1))
    level = nc_level(nc, average)
    table = cached_table(overall.conversion)
    if table.metadata.prior_profiles is not None:  # a published group's rate reaches its pupils
        levels = pd.DataFrame({s: cohort[c] for s, c in zip(overall.subjects, wanted, strict=True)
                               if c in cohort}, index=index)  # fmt: skip
        prior = pd.Series(table.profile_priors(levels, average_level=level), index=index)
    else:
        low, high = overall.prior_levels
        prior = (
            overall.prior_prefix + level.clip(low, high).astype("Int64").astype("string")
        ).astype(object)
    prior = prior.astype(object).where(level.notna(), None)
    used = table.benchmark_for(benchmark, overall.subject)
    if used != benchmark:
        notes.append(
            f"conversion table {table.name} has no {benchmark} data; national figures used"
        )
    chance = table.chance(used, overall.subject, prior, overall.threshold)
    achieve = (level >= overall.achieve_level).to_numpy()
    eligible = (level == overall.quota_level).to_numpy()
    rate = overall.min_rate
    with contextlib.suppress(ValueError):  # no row for the prior: the policy's floor stands
        rate = max(
            rate,
            table.rate(
                used,
                overall.subject,
                f"{overall.prior_prefix}{overall.quota_level}",
                overall.threshold,
            ),
        )
    rank = pd.DataFrame(
        {
            "school": school.to_numpy(),
            "latest": average.to_numpy(),
            "prior_points": average.to_numpy(),
            "upn": upn.to_numpy(),
        },
        index=index,
    )
    chosen = _upgrade_chosen(rank, eligible, rate, ["latest", "prior_points", "upn"])
    has = average.notna().to_numpy()
    target = pd.Series(np.where(achieve | chosen, "yes", np.where(has, "no", None)), index=index)
    label = overall.prior_point.upper()
    average_grade = nc.grade_at_or_below(average).astype(object)
    reason = pd.Series(
        np.select(
            [achieve, chosen, eligible, has],
            [
                f"averaging level {overall.achieve_level}+ at {label}: targeted",
                f"averaging level {overall.quota_level} at {label}: among the "
                f"{math.ceil(rate * 1000) / 10:g}% targeted (highest average first)",
                f"averaging level {overall.quota_level} at {label}: not among the "
                f"{math.ceil(rate * 1000) / 10:g}% with the highest averages",
                f"averaging below level {overall.quota_level} at {label}",
            ],
            default=f"no complete {label} results: set by hand",
        ),
        index=index,
    )
    name = overall.name
    columns = {
        f"{overall.prior_point}_average": average_grade,
        f"chance_{name}": (chance * 100).round(1),
        f"target_{name}": target.astype(object).where(target.notna(), None),
        f"reason_{name}": reason.astype(object),
    }
    pupils = len(cohort)
    with_result = int(has.sum())
    targeted = int((target == "yes").sum())
    row = {
        "label": f"overall {name}",
        "subject": "overall",
        "threshold": name,
        "pupils": pupils,
        "pupils_with_result": with_result,
        "targeted": targeted,
        "targeted_with_result": targeted,
        "average_target_points": np.nan,
        "pct_targeted": round(100 * targeted / pupils, 1) if pupils else np.nan,
        "pct_targeted_with_result": round(100 * targeted / with_result, 1)
        if with_result
        else np.nan,
        "benchmark_pct": round(100 * chance.sum() / pupils, 1) if pupils else np.nan,
        "benchmark_pct_with_result": round(100 * chance.sum() / with_result, 1)
        if with_result
        else np.nan,
        "small": SMALL_LABEL if pupils < SMALL_GROUP else "",
    }
    return columns, pd.DataFrame([row])


def _reason(prior: pd.Series, rule: pd.Series, suggested: pd.Series) -> pd.Series:
    """The reason sentence, "<prior>; rule: <rule> → <suggestion>", each distinct one held once."""
    text = prior + "; rule: " + rule + " → " + suggested.astype("string").fillna("no target")
    return _shared(text.astype(object))


def _new_rule(reason: pd.Series, mask: np.ndarray, rule: pd.Series) -> pd.Series:
    """The reasons of the pupils in `mask` with their rule ("; rule: …") replaced by `rule`
    (only those rows are reworded)."""
    mask = np.asarray(mask, dtype=bool)
    codes, distinct = pd.factorize(reason[mask], use_na_sentinel=True)  # each reason split once
    prior = pd.Series(distinct, dtype=object).astype("string").str.split("; rule: ", n=1).str[0]
    some = pd.Series(np.r_[prior.to_numpy(dtype=object), None][codes], dtype="string")
    rules = pd.Series(rule.to_numpy(dtype=object)[mask], dtype=object).astype("string")
    values = reason.to_numpy(dtype=object).copy()
    values[mask] = (some + "; rule: " + rules).to_numpy(dtype=object)
    return pd.Series(values, index=reason.index, dtype=object, name=reason.name)


def _shared(texts: pd.Series) -> pd.Series:
    """Reasons built pupil by pupil are a few hundred distinct sentences: each held once
    (`gcse_targets.shared_text`), not once a pupil (about 300 bytes a pupil and subject, 1.2 GB
    for 1,000,000 pupils' four subjects)."""
    from targetkit.pipeline.gcse_targets import shared_text

    return shared_text(texts)


def _add_flag(flags: pd.Series, mask: np.ndarray | pd.Series, code: str) -> pd.Series:
    """`code` appended to the flags of the pupils in `mask` (only those rows are touched)."""
    mask = np.asarray(mask, dtype=bool)
    values = flags.to_numpy(dtype=object).copy()
    if mask.any():
        some = values[mask]
        values[mask] = np.where(some == "", code, some + ("; " + code))
    return pd.Series(values, index=flags.index, dtype=object)


def _merge_flags(flags: pd.Series, more: pd.Series) -> pd.Series:
    """Join two flag columns, each code once, in first-seen order."""
    joined = (flags + "; " + more).str.strip("; ")
    distinct = {v: "; ".join(dict.fromkeys(c for c in v.split("; ") if c)) for v in joined.unique()}
    return joined.map(distinct).astype(object)


def _threshold_quotas(
    points: pd.Series,
    chances: dict[str, pd.Series],
    policy: Policy,
    scale: Scale,
    school: pd.Series,
    rank: pd.DataFrame | None,
    *,
    frozen: np.ndarray,
    thresholds: dict[str, str] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Raise targets until, at each threshold, the school's pupils targeted at or above it are at
    least the sum of their chances, rounded up (SPEC §8, the §7 quota made school-wide).

    Thresholds are met from the highest down (a pupil raised to 5+ also counts at 4+). The
    pupils raised are those not yet at the threshold with the best chance of it, then the best
    latest attainment, then prior points, then the lower UPN; `frozen` pupils (EHC plan targets)
    are counted but never moved. Gives the mask of pupils raised and their new grade, points
    and reason.
    """
    index = points.index
    raised = np.zeros(len(index), dtype=bool)
    new_points = np.full(len(index), np.nan)
    new_grade = np.full(len(index), None, dtype=object)
    new_reason = np.full(len(index), None, dtype=object)

    def result() -> pd.DataFrame:
        return pd.DataFrame(
            {"points": new_points, "grade": new_grade, "reason": new_reason}, index=index
        )

    if rank is None or not chances or not policy.school_quotas:
        return raised, result()
    thresholds = thresholds or policy.thresholds
    current = points.copy()
    by_height = sorted(
        (t for t in thresholds if t in chances),
        key=lambda t: scale.points_of[_grade_name(scale, thresholds[t])],
        reverse=True,
    )
    codes, schools = pd.factorize(school.to_numpy(), sort=True)  # sorted: the ranking's order
    # the tie-breaks after the chance: latest attainment, prior points (best first, none last),
    # then the lower UPN
    ties = [_ascending_codes(rank["upn"])]
    ties += [
        _best_first(rank[name].to_numpy(dtype="float64")) for name in ("prior_points", "latest")
    ]
    for name in by_height:
        grade = _grade_name(scale, thresholds[name])
        chance = chances[name]
        has = chance.notna().to_numpy()
        meets = _meets(scale, current, grade).fillna(False).to_numpy(dtype=bool)
        chance_sum = np.bincount(codes, chance.fillna(0).to_numpy(), minlength=len(schools))
        need = np.ceil(chance_sum[codes] - 1e-9)
        met = np.bincount(codes, meets & has, minlength=len(schools))[codes]
        shortfall = need - met
        eligible = has & ~meets & ~frozen & (shortfall > 0)
        if not eligible.any():
            continue
        # eligible pupils by school, then best chance, then the tie-breaks (a stable sort)
        at = np.flatnonzero(eligible)
        keys = [key[at] for key in ties]
        keys += [_best_first(chance.to_numpy(dtype="float64")[at]), codes[at]]
        ordered = at[np.lexsort(keys)]
        in_school = codes[ordered]
        starts = np.r_[True, in_school[1:] != in_school[:-1]]
        place = np.arange(len(ordered))
        order = place - np.maximum.accumulate(np.where(starts, place, 0))
        chosen = ordered[order < shortfall[ordered]]
        target_points = scale.points_of[grade]
        current.iloc[chosen] = target_points
        raised[chosen] = True
        new_points[chosen] = target_points
        new_grade[chosen] = grade
        new_reason[chosen] = (
            f"benchmark: the school's share targeted {threshold_label(name)} is at least what "
            f"pupils with these priors reach (sum of their chances, rounded up) → {grade}"
        )
    return raised, result()


def _best_first(values: np.ndarray) -> np.ndarray:
    """A sort key putting the highest value first and a missing one last."""
    return np.where(np.isnan(values), np.inf, -values)


def _ascending_codes(values: pd.Series) -> np.ndarray:
    """A sort key in the values' ascending order (a missing one last)."""
    codes, distinct = pd.factorize(values.to_numpy(), sort=True)
    return np.where(codes < 0, len(distinct), codes)


def _levels_subject(
    cohort: pd.DataFrame,
    policy: Policy,
    subject: str,
    table: object,
    benchmark: str,
    previous: pd.DataFrame | None,
    school: pd.Series,
    upn: pd.Series,
    year_group: pd.Series,
    notes: list[str],
    academic_year: int | None = None,
    *,
    reasons: bool = True,
    ks2: Ks2Prior | None,
) -> dict:
    """One subject under a levels/grades policy (ks1-ks4); `reasons=False` leaves the
    `reason` sentences blank (`compute_targets(notes=False)`)."""
    from targetkit.conversion_tables import ks2_band

    index = cohort.index
    prior_scale = load_scale(policy.prior_scale)
    scale = load_scale(policy.target_scale)
    nominal_text = pd.Series("", index=index, dtype=object)
    if ks2 is not None:  # the KS2 prior compute_targets worked out (ks4)
        prior_points = ks2.average
        nominal_text = (" (DfE nominal scores: " + ks2.nominal + ")").where(ks2.nominal.ne(""), "")
        # no KS2 score at all: the DfE's own `No scaled score` band, which the matrices publish
        prior = ks2_band(prior_points, no_score_band=True).astype(object)
        prior = prior.where(prior.notna(), None)
        prior_key = prior
        prior_label = "KS2 average scaled score band"
    else:
        values = prior_values(cohort, policy, subject)
        parsed = prior_scale.parse(values)
        # codes that are a prior below the scale (the engagement model, EM): SPEC §8, "no
        # prior is not a low prior"
        below = parsed.code.map(policy.prior_codes).astype(object)
        prior = parsed.grade.where(parsed.grade.notna(), below)
        prior = prior.where(prior.notna(), None)
        prior_points = prior.map(prior_scale.points_of).astype("float64")
        band = prior.map(prior_scale.band_of)
        band_key = band.map({float(b): str(b) for b in range(10)}).astype(object)
        prior_key = prior.where(prior.isin(list(policy.minimum)), band_key)
        prior_label = policy.prior_point.upper()
    minimum = prior_key.map(policy.minimum).astype(object)
    minimum_points = minimum.map(scale.points_of).astype("float64")

    # Conversion data: chance of each threshold and the most likely outcome.
    chances: dict[str, pd.Series] = {}
    most_likely = pd.Series(None, index=index, dtype=object)
    used = benchmark
    table_subject = policy.table_subject(subject)
    if table is not None:
        used = table.benchmark_for(benchmark, table_subject)
        if used != benchmark:
            notes.append(
                f"conversion table {table.name} has no {benchmark} data for {table_subject}; "
                "national figures used"
            )
        if table.has(used, table_subject):
            for name in policy.thresholds:
                try:
                    chances[name] = table.chance(used, table_subject, prior, name)
                except ValueError:
                    continue
            most_likely = table.most_likely(used, table_subject, prior).astype(object)
            most_likely = most_likely.where(most_likely.notna(), None)
    latest = latest_attainment(cohort, subject, scale)
    rank = pd.DataFrame(
        {
            "school": school.to_numpy(),
            "latest": latest["points"]
            .fillna(prior_points if policy.prior_scale == policy.target_scale else np.nan)
            .to_numpy(),
            "prior_points": prior_points.to_numpy(),
            "upn": upn.to_numpy(),
        },
        index=index,
    )
    rank["latest"] = rank["latest"].fillna(rank["prior_points"])
    rule_points = minimum_points.copy()
    quota_chosen = np.zeros(len(cohort), dtype=bool)
    no_prior = prior_points.isna()
    if policy.no_prior_target is not None:  # SPEC §8: no prior is not a low prior
        expectation = scale.points_of[_grade_name(scale, policy.no_prior_target)]
        rule_points = rule_points.where(~(no_prior & rule_points.isna()), expectation)
    quota_text = pd.Series("", index=index, dtype=object)
    has_rates = table is not None and table.has(used, table_subject)
    for quota in policy.quotas:
        eligible = prior_key.eq(quota.prior).fillna(False).to_numpy(dtype=bool)
        rate = quota.floor(benchmark)
        if has_rates:
            with contextlib.suppress(ValueError):  # prior not in the table: the floor stands
                rate = max(rate, table.rate(used, table_subject, quota.prior, quota.threshold))
        chosen = _upgrade_chosen(rank, eligible, rate, ["latest", "prior_points", "upn"])
        quota_points = scale.points_of[_grade_name(scale, quota.target)]
        raise_it = chosen & ~(rule_points.to_numpy() >= quota_points)
        rule_points[raise_it] = quota_points
        quota_chosen |= raise_it
        quota_text[raise_it] = (
            f"quota: at least {math.ceil(rate * 1000) / 10:g}% of pupils with "
            f"{prior_label} {quota.prior} targeted {quota.target}"
        )
    previous_points = _previous_points(cohort, previous, subject, scale)
    floors = {"latest attainment": latest["points"], "previous target": previous_points}
    if policy.prior_scale == policy.target_scale and not policy.prior_scaled_scores:
        floors["prior"] = prior_points
    faster = _progress_from_latest(policy)
    if faster is not None:  # rounded down: never more than the policy's rate a year
        years_left = _years_left(latest["column"], year_group, policy.final_year, academic_year)
        floors[faster.label] = (
            scale.grade_at_or_below(latest["points"] + faster.points_per_year * years_left)
            .map(scale.points_of)
            .astype("float64")
        )
    if policy.whole_levels:
        rule_level = nc_level(scale, rule_points)
        needed = rule_level.copy()
        binding = pd.Series("rule", index=index, dtype=object)
        for label, values in floors.items():
            level = nc_level(scale, values)
            higher = level > needed.fillna(-1)
            binding[higher] = label
            needed = needed.where(~higher, level)
        suggested = needed.map({float(k): v for k, v in whole_levels(scale).items()}).astype(object)
        suggested_points = suggested.map(scale.points_of).astype("float64")
    else:
        needed = rule_points.copy()
        binding = pd.Series("rule", index=index, dtype=object)
        for label, values in floors.items():
            higher = values > needed.fillna(-np.inf)
            binding[higher] = label
            needed = needed.where(~higher, values)
        suggested = grade_at_or_above(scale, needed)
        suggested_points = suggested.map(scale.points_of).astype("float64")
    suggested = suggested.astype(object).where(suggested.notna(), None)
    on_pscales = pd.Series(False, index=index)
    if policy.pscales is not None:  # pupils working below level 1: a target on the P scales
        on_pscales, p_rule = _pscales_rule(policy, scale, prior)
        if on_pscales.any():
            needed = p_rule.map(scale.points_of).astype("float64")
            binding = binding.where(~on_pscales, "rule")
            for label, values in floors.items():
                higher = on_pscales & (values > needed.fillna(-np.inf))
                binding[higher] = label
                needed = needed.where(~higher, values)
            p_target = _whole_where_levels(policy, scale, grade_at_or_above(scale, needed))
            suggested = suggested.where(~on_pscales, p_target)
            suggested_points = suggested.map(scale.points_of).astype("float64")
            minimum = minimum.where(~on_pscales, _whole_where_levels(policy, scale, p_rule))
            minimum_points = minimum.map(scale.points_of).astype("float64")

    # Reason: prior; benchmark chance of the key threshold; the rule that decided.
    if not reasons:  # compute_targets(notes=False): the words are not wanted
        reason = pd.Series(None, index=index, dtype=object)
    else:
        key = policy.key_threshold
        prior_text = prior_label + " " + prior.astype("string").fillna("no result") + nominal_text
        if key and key in chances:
            basis = table.basis(used, policy.table_subject(subject)) if table is not None else None
            chance_text = chance_clause(
                chances[key], used, key, illustrative=basis == "illustrative"
            )
        else:
            chance_text = pd.Series("", index=index, dtype=object)
        rule_text = "at least " + minimum.astype("string") + f" for this {prior_label} result"
        rule_text = rule_text.where(minimum.notna(), "no rule for this prior")
        if policy.no_prior_target is not None:
            rule_text = rule_text.where(
                ~(no_prior & minimum.isna()),
                f"no prior result: the age-related expectation {policy.no_prior_target}",
            )
        rule_text = rule_text.where(~pd.Series(quota_chosen, index=index), quota_text)
        if policy.pscales is not None:
            rule_text = rule_text.where(
                ~on_pscales,
                f"P scales: {policy.pscales.steps_per_year} step a year "
                f"({policy.pscales.basis}) → at least " + minimum.astype("string").fillna(""),
            )
        for label in floors:
            rule_text = rule_text.where(binding.ne(label), f"not below the {label}")
        rule_text = rule_text.where(
            ~(binding.eq("latest attainment")),
            "not below latest attainment " + latest["grade"].astype("string").fillna(""),
        )
        reason = _reason(prior_text + chance_text, rule_text, suggested)
    subject_flags = pd.Series("", index=index, dtype=object)
    subject_flags = _add_flag(subject_flags, no_prior.to_numpy(), "NO_PRIOR_RESULT")
    subject_flags = _add_flag(subject_flags, quota_chosen, "QUOTA_TARGET")
    if faster is not None:
        raised = binding.eq(faster.label).to_numpy(dtype=bool)
        subject_flags = _add_flag(subject_flags, raised, "RAISED_FASTER_PROGRESS")
    return {
        "prior": prior.astype(object).where(prior.notna(), None),
        "prior_points": prior_points,
        "chances": chances,
        "most_likely": most_likely,
        "minimum": minimum.where(minimum.notna(), None),
        "minimum_points": minimum_points,
        "suggested": suggested,
        "suggested_points": suggested_points,
        "milestones_for": lambda target: _milestones(policy, scale, prior_points, target),
        "reason": reason,
        "flags": subject_flags,
        "rank": rank,
        "latest": latest,
    }


def prior_values(cohort: pd.DataFrame, policy: Policy, subject: str) -> pd.Series:
    """The subject's prior column `<subject>_<prior_point>`; where the file has none and the
    policy derives it (ks2 English from KS1 reading and writing, SPEC §8), the mean of those
    subjects' prior points (of the ones a pupil has) rounded down to a grade."""
    column = f"{subject}_{policy.prior_point}"
    if column in cohort:
        return cohort[column]
    parts = [f"{s}_{policy.prior_point}" for s in policy.derived_priors.get(subject, [])]
    parts = [c for c in parts if c in cohort]
    if not parts:
        return pd.Series(None, index=cohort.index, dtype=object)
    scale = load_scale(policy.prior_scale)
    mean = pd.concat([scale.parse(cohort[c]).points for c in parts], axis=1).mean(axis=1)
    return scale.grade_at_or_below(mean)


def _pscales_rule(policy: Policy, scale: Scale, prior: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Pupils whose prior is on the P scales (`P7`) and the grade the policy's P-scale rule
    gives them: `steps_per_year` steps a year up the scale's order P1i … P8, W, 1c … over
    the key stage (issue 14; the rule and its basis are in the policy file)."""
    assert policy.pscales is not None
    names = scale.grade_names
    position = {g: i for i, g in enumerate(names)}
    on_pscales = prior.isin(policy.pscales.grades).fillna(False).astype(bool)
    steps = policy.pscales.steps_per_year * (policy.final_year - policy.prior_year)
    reached = (prior.map(position) + steps).clip(upper=len(names) - 1)
    rule = reached.map(lambda i: names[int(i)] if i == i else None).astype(object)
    return on_pscales, rule.where(on_pscales, None)


def _whole_where_levels(policy: Policy, scale: Scale, grades: pd.Series) -> pd.Series:
    """Under a whole-level policy an NC level reached from the P scales is the whole level
    (`1b` → `1`), as every other target is; P-scale grades and W stay as they are."""
    grades = grades.astype(object)
    if not policy.whole_levels:
        return grades
    band = grades.map(scale.band_of)
    whole = band.map({float(k): v for k, v in whole_levels(scale).items()})
    return grades.where(~band.ge(1), whole)


def _progress_from_latest(policy: Policy) -> ProgressFromLatest | None:
    """The policy's floor from the latest attainment: its `progress_from_latest`, else
    `points_per_year` (ks1: a level a year), else none."""
    if policy.progress_from_latest is not None:
        return policy.progress_from_latest
    if policy.points_per_year:
        return ProgressFromLatest(
            points_per_year=policy.points_per_year,
            label="a level a year from latest",
            source=policy.source,
        )
    return None


def _years_left(
    column: pd.Series, year_group: pd.Series, final_year: int, academic_year: int | None
) -> pd.Series:
    """School years from each pupil's latest assessment to the end of `final_year`: the whole
    years after this one, the half terms left of this year after the drop (`aut1` leaves 5/6),
    and a whole year for each year a dated drop is older (`maths_sum2_2025` in 2026/27: one).
    "At least one level a year" counts them (issue 14), not only the whole years ahead."""
    drops = {name: DATA_DROPS.index(p[1]) + 1 for name in column.dropna().unique()
             if (p := parse_assessment(str(name))) and p[1] in DATA_DROPS}  # fmt: skip
    dated = {name: p[2] for name in column.dropna().unique()
             if (p := parse_assessment(str(name))) and p[2] is not None}  # fmt: skip
    left_this_year = (len(DATA_DROPS) - column.map(drops).astype("float64")) / len(DATA_DROPS)
    current = academic_year if academic_year is not None else max(dated.values(), default=0) + 1
    years_back = (current - column.map(dated).astype("float64")).fillna(0).clip(lower=0)
    whole = (final_year - year_group).clip(lower=0)
    return whole + years_back + left_this_year


def chance_clause(
    chance: pd.Series, used: str, key: str, *, illustrative: bool = False
) -> pd.Series:
    """The reason's benchmark clause ("; top-25% schools: 63% reach level 4+"); blank where
    there is no chance. Illustrative figures say so (SPEC §8: labelled wherever shown)."""
    # each distinct chance worded once (a few dozen), then spread to the pupils
    codes, distinct = pd.factorize(chance.to_numpy(dtype="float64"))
    text = (
        "; "
        + BENCHMARK_LABELS.get(used, used)
        + ": "
        + (pd.Series(distinct) * 100).round(0).astype("Int64").astype("string").fillna("?")
        + f"% reach {threshold_label(key)}"
        + (" (illustrative figures)" if illustrative else "")
    )
    worded = np.array([*text.to_numpy(dtype=object), ""], dtype=object)
    return pd.Series(worded[codes], index=chance.index, dtype="string")


def _grade_name(scale: Scale, grade: str) -> str:
    return next(g for g in scale.points_of if g.lower() == grade.lower())


def _milestones(
    policy: Policy, scale: Scale, prior_points: pd.Series, target_points: pd.Series
) -> dict[str, pd.Series]:
    """End-of-year milestones: a straight line from the prior to the target (or, with
    `points_per_year`, that much a year back from the target), never below an on-track floor."""
    milestones = {}
    same_scale = policy.prior_scale == policy.target_scale and not policy.prior_scaled_scores
    index = target_points.index
    target = target_points.to_numpy(dtype="float64")
    prior = prior_points.to_numpy(dtype="float64")
    for year in policy.milestone_years:
        if policy.points_per_year:
            points = target - policy.points_per_year * (policy.final_year - year)
        elif same_scale:
            share = (year - policy.prior_year) / (policy.final_year - policy.prior_year)
            points = prior + (target - prior) * share
        elif policy.milestone_from is not None:  # prior on another scale: from a start grade
            start = scale.points_of[_grade_name(scale, policy.milestone_from)]
            share = (year - policy.prior_year) / (policy.final_year - policy.prior_year)
            points = start + (target - start) * share
        else:
            continue
        grade = np.array(scale.grade_at_or_below(pd.Series(points, index=index)), dtype=object)
        for rule in policy.on_track:
            if rule.year != year:
                continue
            floor = scale.points_of[_grade_name(scale, rule.grade)]
            applies = (
                nc_level(scale, target_points)
                >= nc_level(
                    scale, pd.Series([scale.points_of[_grade_name(scale, rule.target_at_least)]])
                ).iloc[0]
            ).to_numpy(dtype=bool)
            lift = applies & (points < floor)
            grade[lift] = _grade_name(scale, rule.grade)
        milestones[f"y{year}"] = pd.Series(
            np.where(np.isnan(target), None, grade), index=index, dtype=object
        )
    return milestones


def _from_this_year(
    milestones: dict[str, pd.Series], year_group: pd.Series
) -> dict[str, pd.Series]:
    """End-of-year milestones from the end of the pupil's own year on (issue 14): a year
    already over (`y1` for a Year 2 pupil) is blank, and a column every pupil is past is left
    out. Half-term milestones (steps: `aut1` … `sum2`) are this year's and all stay; without
    a year group column every milestone stays."""
    if not isinstance(year_group, pd.Series):
        return milestones
    kept = {}
    for name, milestone in milestones.items():
        year = int(name[1:]) if name[:1] == "y" and name[1:].isdigit() else None
        past = year_group.gt(year).to_numpy(dtype=bool) if year is not None else None
        if past is None:
            kept[name] = milestone
        elif not (len(past) and past.all()):
            kept[name] = milestone.where(~past, None)
    return kept


def _steps_subject(
    cohort: pd.DataFrame,
    policy: Policy,
    subject: str,
    year_group: pd.Series,
    previous: pd.DataFrame | None,
    academic_year: int | None = None,
) -> dict:
    """One subject under the steps policy, using the shared steps arithmetic.

    The baseline is last summer's step (`<subject>_sum2_<academic_year>`, else the latest
    `_sum2_<year>` column) and the summer before it is the earlier position a fall is measured
    from. A pupil with neither a baseline nor an EYFS outcome is targeted the year's secure
    step, the age-related expectation (SPEC §8), flagged NO_PRIOR_RESULT."""
    from targetkit.pipeline.steps import (
        HALF_TERMS,
        expected_points,
        milestone_points,
        steps_targets,
    )

    index = cohort.index
    scale = load_scale("steps")
    baselines = sorted(
        (parsed[2], name)
        for name in cohort.columns
        if (parsed := parse_assessment(str(name)))
        and parsed[0] == subject
        and parsed[1] == "sum2"
        and parsed[2] is not None
        and (academic_year is None or parsed[2] <= academic_year)
    )
    empty = pd.Series(np.nan, index=index, dtype="float64")
    baseline = scale.parse(cohort[baselines[-1][1]]) if baselines else None
    base_points = baseline.points if baseline is not None else empty
    history = None
    if len(baselines) >= 2:
        earlier = scale.parse(cohort[baselines[-2][1]]).points
        history = earlier - expected_points(year_group - 1, 0)
    computed = steps_targets(
        base_points, year_group, catch_up_years=policy.catch_up_years, history=history
    )
    rule_points = computed["target_points"].copy()
    minimum_points = (base_points + 6).clip(upper=36)
    eyfs_column = f"{subject}_eyfs"
    prior = baseline.grade if baseline is not None else pd.Series(None, index=index, dtype=object)
    prior_label = pd.Series("last summer", index=index, dtype=object)
    if eyfs_column in cohort:
        eyfs = load_scale("eyfs").parse(cohort[eyfs_column])
        # the EYFS outcome is the baseline of Year 1 only: a Year 2+ pupil without last
        # summer's step takes the year's expectation, flagged (issue 14), not a Year 1 target
        from_eyfs = base_points.isna() & eyfs.grade.notna() & ~year_group.gt(1).to_numpy()
        eyfs_target = eyfs.grade.map(policy.minimum).map(scale.points_of).astype("float64")
        rule_points = rule_points.where(~from_eyfs, eyfs_target)
        minimum_points = minimum_points.where(~from_eyfs, eyfs_target)
        prior = prior.where(~from_eyfs, eyfs.grade)
        prior_label = prior_label.where(~from_eyfs, "EYFS")
    no_prior = base_points.isna() & rule_points.isna()
    rule_points = rule_points.where(~no_prior, expected_points(year_group, 6))
    # every drop, last summer's included: the same latest attainment check-ambition compares with
    latest = latest_attainment(cohort, subject, scale)
    previous_points = _previous_points(cohort, previous, subject, scale)
    needed, binding = never_below(
        rule_points, {"latest attainment": latest["points"], "previous target": previous_points}
    )
    suggested = scale.grade_for_points(needed.round()).astype(object)
    suggested_points = suggested.map(scale.points_of).astype("float64")

    # a pupil with no baseline (Year 1 from EYFS, or none at all) starts from the age-related
    # expectation at the start of the year (Year 1: "not yet 1b"); no milestone below 1b
    start = base_points.fillna(expected_points(year_group, 0))
    lowest = scale.grades[0].points

    def milestones_for(target: pd.Series) -> dict[str, pd.Series]:
        return {
            drop: scale.grade_for_points(
                milestone_points(start, target, position).clip(lower=lowest)
            ).astype(object)
            for position, drop in enumerate(HALF_TERMS, start=1)
        }

    catch_up = computed["catch_up_steps"]
    rule_text = ("+6 steps + " + catch_up.astype("Int64").astype("string") + " catch-up").where(
        catch_up > 0, "+6 steps"
    )
    rule_text = rule_text.where(
        ~computed["flags"].str.contains("POSITION_RESTORED", na=False), "position restored"
    )
    rule_text = rule_text.where(prior_label.ne("EYFS"), "EYFS outcome → end of Year 1")
    rule_text = rule_text.where(~no_prior, "no baseline: the year's age-related expectation")
    for label in ("latest attainment", "previous target"):
        rule_text = rule_text.where(binding.ne(label), f"not below the {label}")
    reason = _reason(
        prior_label + " " + prior.astype("string").fillna("no result"), rule_text, suggested
    )
    flags = computed["flags"].fillna("").astype(object)
    flags = _add_flag(flags, no_prior.to_numpy(), "NO_PRIOR_RESULT")
    minimum = scale.grade_for_points(minimum_points).astype(object)
    return {
        "prior": prior.astype(object).where(prior.notna(), None),
        "prior_points": base_points.where(base_points.notna(), rule_points.where(~no_prior)),
        "chances": {},
        "most_likely": pd.Series(None, index=index, dtype=object),
        "minimum": minimum.where(minimum.notna(), None),
        "minimum_points": minimum_points,
        "suggested": suggested.where(suggested.notna(), None),
        "suggested_points": suggested_points,
        "milestones_for": milestones_for,
        "reason": reason,
        "flags": flags,
        "latest": latest,
    }


def never_below(
    rule_points: pd.Series, floors: dict[str, pd.Series], among: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """The rule's points raised to each floor in turn (latest attainment, previous target), and
    which one decided (`rule` or the floor's label); only for the pupils `among` when given."""
    needed = rule_points.to_numpy(dtype="float64").copy()
    binding = np.full(len(needed), "rule", dtype=object)
    for label, values in floors.items():
        floor = values.to_numpy(dtype="float64")
        higher = floor > np.where(np.isnan(needed), -np.inf, needed)
        if among is not None:
            higher &= np.asarray(among, dtype=bool)
        binding[higher] = label
        needed = np.where(higher, floor, needed)
    index = rule_points.index
    return (
        pd.Series(needed, index=index, name=rule_points.name),
        pd.Series(binding, index=index, dtype=object),
    )


def _meets(scale: Scale, points: pd.Series, grade: str) -> pd.Series:
    """Whether each target reaches a threshold grade (NC: by level digit, SPEC §7)."""
    threshold = scale.points_of[_grade_name(scale, grade)]
    if scale.name == "nc":
        return nc_level(scale, points) >= nc_level(scale, pd.Series([threshold])).iloc[0]
    return points >= threshold


def _group_values(cohort: pd.DataFrame) -> dict[str, pd.Series]:
    groups: dict[str, pd.Series] = {}
    for name in GROUP_COLUMNS:
        if name not in cohort:
            continue
        if name in FLAG_COLUMNS:
            groups[name] = _bool_text(cohort[name])
        else:
            values = cohort[name].astype("string").str.strip().str.upper()
            groups[name] = values.astype(object).where(values.notna() & values.ne(""), None)
    return groups


SUMMARY_BATCH_ROWS = 1_000_000  # pupil × subject × threshold rows summarised at once


def _summary_rows(
    batch: list[tuple[str, str, np.ndarray | slice, dict[str, np.ndarray]]],
    groups: dict[str, np.ndarray],
) -> pd.DataFrame:
    """The figures of each (subject, threshold) block of `batch` for all pupils and each pupil
    group: one long frame and one groupby a group, not one a block. Rows in block order, then
    group, then value (sorted)."""
    part = pd.DataFrame(
        {name: np.concatenate([columns[name] for *_, columns in batch]) for name in batch[0][3]}
    )
    block = np.repeat(np.arange(len(batch)), [len(columns["met"]) for *_, columns in batch])
    tables = []
    for group_name, values in groups.items():
        keys = np.concatenate([values[rows] for _, _, rows, _ in batch])
        grouped = part.groupby([block, keys], dropna=True)
        counts = grouped[["with_result", "met", "met_with_result"]].sum()
        stats = pd.DataFrame(
            {
                "pupils": grouped.size(),
                "pupils_with_result": counts["with_result"],
                "targeted": counts["met"],
                "targeted_with_result": counts["met_with_result"],
                "chance_sum": grouped["chance"].sum(min_count=1),
                "chance_sum_with_result": grouped["chance_with_result"].sum(min_count=1),
                "average_target_points": grouped["points"].mean(),
            }
        )
        stats.index.names = ["block", "value"]
        stats = stats.reset_index()
        stats.insert(1, "group", group_name)
        tables.append(stats)
    # a stable sort by block keeps each block's groups in order, and their values sorted
    table = pd.concat(tables, ignore_index=True).sort_values("block", kind="mergesort")
    position = table.pop("block").to_numpy()
    labels = np.array([label for _, label, *_ in batch], dtype=object)
    subjects = np.array([subject for subject, *_ in batch], dtype=object)
    table.insert(0, "threshold", pd.Series(labels[position], index=table.index, dtype="str"))
    table.insert(0, "subject", pd.Series(subjects[position], index=table.index, dtype="str"))
    return table


def _summaries(
    cohort: pd.DataFrame,
    policy: Policy,
    subjects: list[str],
    target_points: dict[str, pd.Series],
    chances: dict[str, dict[str, pd.Series]],
    has_prior: dict[str, pd.Series],
    scale: Scale,
    *,
    scales: dict[str, Scale] | None = None,
    entered: dict[str, pd.Series] | None = None,
    thresholds: dict[str, dict[str, str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """School-level figures (every pupil on roll as denominator, SPEC §7) and by group.

    A GCSE subject (`entered` given) counts its entered pupils only, on its own scale."""
    groups = {"all": np.full(len(cohort), "all pupils", dtype=object)}
    groups.update({name: v.to_numpy(dtype=object) for name, v in _group_values(cohort).items()})
    frames = []
    batch: list[tuple[str, str, np.ndarray | slice, dict[str, np.ndarray]]] = []
    size = 0
    for subject in subjects:
        mine = (entered or {}).get(subject)
        rows = mine.to_numpy(dtype=bool) if mine is not None else slice(None)
        points = target_points[subject][rows]
        scale_here = (scales or {}).get(subject, scale)
        subject_thresholds = (thresholds or {}).get(subject)
        thresholds_now = dict(subject_thresholds or policy.thresholds)
        if policy.kind == "steps":  # the age-related expectation at the end of this year
            thresholds_now = {"are": ""}
        with_prior = has_prior[subject][rows].astype(float).to_numpy()
        for name, grade in thresholds_now.items():
            if policy.kind == "steps":
                from targetkit.pipeline.steps import expected_points

                year_group = pd.to_numeric(cohort.get("year_group"), errors="coerce")
                met = (points >= expected_points(year_group, 6)).astype(float).to_numpy()
            else:
                met = _meets(scale_here, points, grade).fillna(False).astype(float).to_numpy()
            chance = chances[subject].get(name)
            chance = chance[rows].to_numpy() if chance is not None else np.nan
            columns = {
                "met": met,
                "with_result": with_prior,
                "met_with_result": met * with_prior,
                "chance": np.broadcast_to(chance, len(met)),
                "chance_with_result": chance * with_prior,
                "points": points.to_numpy(),
            }
            batch.append((subject, threshold_label(name), rows, columns))
            size += len(met)
        if size >= SUMMARY_BATCH_ROWS:  # bounded memory for a large cohort's many subjects
            frames.append(_summary_rows(batch, groups))
            batch, size = [], 0
    if batch:
        frames.append(_summary_rows(batch, groups))
    if not frames:
        empty = pd.DataFrame()
        return empty, empty
    table = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["pct_targeted"] = (100 * table["targeted"] / table["pupils"]).round(1)
        table["pct_targeted_with_result"] = (
            100 * table["targeted_with_result"] / table["pupils_with_result"]
        ).round(1)
        table["benchmark_pct"] = (100 * table["chance_sum"] / table["pupils"]).round(1)
        table["benchmark_pct_with_result"] = (
            100 * table["chance_sum_with_result"] / table["pupils_with_result"]
        ).round(1)
    table["average_target_points"] = table["average_target_points"].round(2)
    table["small"] = np.where(table["pupils"] < SMALL_GROUP, SMALL_LABEL, "")
    for name in ("pupils", "pupils_with_result", "targeted", "targeted_with_result"):
        table[name] = table[name].astype("int64")
    table = table.drop(columns=["chance_sum", "chance_sum_with_result"])
    summary = table[table["group"].eq("all")].drop(columns=["group", "value"])
    summary.insert(0, "label", summary["subject"] + " " + summary["threshold"])
    by_group = table[table["group"].ne("all")].reset_index(drop=True)
    return summary.reset_index(drop=True), by_group
