"""The engine's GCSE-subject part (issue 15): a target in every GCSE subject a pupil is entered
for, and the Attainment 8 and Progress 8 those targets add up to.

`pipeline.targets.compute_targets` calls it for a policy with `subject_tables` (ks4): the
entries (wide columns of the cohort, or a long entries frame) become one block of columns per
subject, worked out like English and maths (KS2 band → the policy's minimum, the DfE chances,
the school-wide threshold quotas, never below latest attainment or a previous target), only for
the pupils entered. Unknown subjects and other qualifications are listed on the pupil's row
(`SUBJECT_NOT_TARGETED`), never dropped and never given chances. Then, per school, suggestions
are raised one grade at a time until the Progress 8 of the targets is at least 0
(`raise_to_progress8`, flag `QUOTA_TARGET`). Pure: frames and loaded tables in, frames out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from targetkit.pipeline.entries import entries_from_long, entries_from_wide
from targetkit.pipeline.subject_chances import NATIONAL, THRESHOLDS, per_table, subject_chances
from targetkit.scales import Scale, load_scale
from targetkit.subjects import SubjectList, load_subjects
from targetkit.upn import upn_key

if TYPE_CHECKING:
    from targetkit.conversion_tables import ConversionTable
    from targetkit.policies import Policy

NOT_TARGETED = "SUBJECT_NOT_TARGETED"
NOT_TARGETED_COLUMN = "subjects_not_targeted"
ROW = "_row"
MAX_ROUNDS = 40  # Progress 8 raise: rounds of one grade each, a safety bound


@dataclass
class GcseSubjects:
    """The entered GCSE subjects of a cohort, ready for the engine's subject loop.

    `blocks`: subject key → the same dict `_levels_subject` gives (plus `scale`, `thresholds`,
    `entered`, `table`); `not_targeted`: per pupil, the entries with no target and why;
    `notes`: what the About sheet records once."""

    subjects: list[str] = field(default_factory=list)
    blocks: dict[str, dict] = field(default_factory=dict)
    not_targeted: pd.Series | None = None
    notes: list[str] = field(default_factory=list)


def cohort_entries(
    cohort: pd.DataFrame, policy: Policy, entries: pd.DataFrame | None
) -> pd.DataFrame:
    """Each entry with the cohort row it belongs to (`_row`; -1 when its UPN is not on roll).

    `entries`: a long frame (`upn`, `subject`, optional `qualification`) or None: read from the
    cohort's wide columns (`<subject>_entered`, `_target`, working-at drops), leaving out the
    policy's own subjects (`english_aut1` is the English of English and maths)."""
    subjects = load_subjects()
    if entries is not None:
        found = entries_from_long(entries, subjects=subjects)
        keys = upn_key(cohort["upn"]) if "upn" in cohort else pd.Series(dtype=object)
        position = pd.Series(np.arange(len(cohort)), index=keys.to_numpy())
        position = position[~position.index.duplicated(keep="first")]
        rows = upn_key(found["upn"].astype("string")).map(position)
        return found.assign(**{ROW: rows.fillna(-1).astype("int64").to_numpy()})
    from targetkit.pipeline.entries import _wide_column

    own = set(policy.subjects)
    wide = [c for c in cohort.columns if (found := _wide_column(str(c))) and found[0] not in own]
    if not wide:
        return entries_from_wide(pd.DataFrame({"upn": []})).assign(**{ROW: []})
    frame = cohort[wide].assign(upn=np.arange(len(cohort)))
    found = entries_from_wide(frame, subjects)
    return found.assign(**{ROW: found["upn"].astype("int64").to_numpy()})


def gcse_subjects(
    cohort: pd.DataFrame,
    policy: Policy,
    entries: pd.DataFrame | None,
    *,
    band: pd.Series,
    benchmark: str,
    tables: list[ConversionTable],
    latest_of: object,
    previous_of: object,
    rank: pd.DataFrame,
) -> GcseSubjects:
    """One block per GCSE subject entered (subject-list order; the policy's own subjects left
    to the policy). `band`: each pupil's DfE KS2 band (`No scaled score` included);
    `latest_of(subject, scale)` and `previous_of(subject, scale)`: the engine's floors."""
    found = cohort_entries(cohort, policy, entries)
    result = GcseSubjects()
    index = cohort.index
    on_roll = found[ROW].to_numpy() >= 0
    if (~on_roll).any():
        upns = ", ".join(dict.fromkeys(found.loc[~on_roll, "upn"].astype(str)))
        result.notes.append(
            f"{int((~on_roll).sum())} GCSE entries name a UPN not in the cohort, so set no "
            f"target: {upns}"
        )
    found = found[on_roll]
    own = set(policy.subjects)
    known = found["known"].to_numpy(dtype=bool) & ~found["subject"].isin(own).to_numpy()
    result.not_targeted = _not_targeted(found[~found["known"].to_numpy(dtype=bool)], index)
    entered = found[known].drop_duplicates([ROW, "subject"])
    if entered.empty:
        return result
    priors = pd.Series(band.to_numpy(), index=np.arange(len(cohort)))
    chances = subject_chances(
        entered.assign(upn=entered[ROW].to_numpy()), priors, tables, benchmark=benchmark
    )
    result.notes += chances.notes
    table_of = {s: t for t in reversed(tables) for s in t.subjects}
    listed = load_subjects()
    by_subject = dict(iter(chances.chances.groupby("subject", sort=False)))
    order = [s for s in listed.subjects if s in by_subject]
    for subject in order:
        mine = by_subject[subject]
        table = table_of.get(subject)
        scale = load_scale(table.metadata.outcome_scale) if table is not None else None
        if scale is None:
            continue
        result.blocks[subject] = _block(
            subject,
            mine,
            len(cohort),
            index,
            policy,
            scale,
            chances.benchmark_used,
            table.name,
            latest_of,
            previous_of,
            rank,
        )
        result.subjects.append(subject)
    return result


def _not_targeted(unknown: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Per pupil: the entries given no target, as `name (why)` joined by `; `."""
    column = pd.Series(None, index=index, dtype=object)
    if unknown.empty:
        return column
    text = unknown["name"].astype(str).where(unknown["qualification"].eq("GCSE"),
        unknown["qualification"].astype(str) + " " + unknown["name"].astype(str))  # fmt: skip
    text = text + " (" + unknown["status"].astype(str) + ")"
    joined = text.groupby(unknown[ROW].to_numpy()).agg("; ".join)
    column.iloc[joined.index.to_numpy()] = joined.to_numpy()
    return column


def double_grade(grade: object, scale: Scale) -> object:
    """A single grade on a double-award scale (`4` → `4-4`); the grade itself otherwise."""
    if grade is None or (isinstance(grade, float) and math.isnan(grade)):
        return None
    text = str(grade)
    if text in scale.points_of:
        return text
    doubled = f"{text}-{text}"
    return doubled if doubled in scale.points_of else None


def _block(
    subject: str,
    chances: pd.DataFrame,
    size: int,
    index: pd.Index,
    policy: Policy,
    scale: Scale,
    used: str,
    table_name: str,
    latest_of: object,
    previous_of: object,
    rank: pd.DataFrame,
) -> dict:
    """One subject's columns for the pupils entered (blank for the others)."""
    from targetkit.pipeline.targets import (
        _add_flag,
        _milestones,
        chance_clause,
        grade_at_or_above,
        never_below,
    )

    rows = chances[ROW].to_numpy()
    entered = np.zeros(size, dtype=bool)
    entered[rows] = True

    def spread(values: np.ndarray | pd.Series, dtype: str = "float64") -> pd.Series:
        out = pd.Series(np.nan if dtype == "float64" else None, index=index, dtype=dtype)
        out.iloc[rows] = np.asarray(values)
        return out

    prior = spread(chances["prior"].to_numpy(dtype=object), "object")
    no_prior = pd.Series(entered, index=index) & prior.eq("No scaled score").fillna(False)
    thresholds = {t: double_grade(g, scale) for t, g in policy.thresholds.items()}
    minimum_of = {band: double_grade(grade, scale) for band, grade in policy.minimum.items()}
    minimum = prior.map(minimum_of).astype(object)
    minimum_points = minimum.map(scale.points_of).astype("float64")
    rule_points = minimum_points.copy()
    if policy.no_prior_target is not None:
        expectation = scale.points_of[double_grade(policy.no_prior_target, scale)]
        no_rule = pd.Series(entered, index=index) & rule_points.isna()
        rule_points = rule_points.where(~no_rule, expectation)
    latest = latest_of(subject, scale)
    previous = previous_of(subject, scale)
    needed, binding = never_below(
        rule_points,
        {"latest attainment": latest["points"], "previous target": previous},
        among=pd.Series(entered, index=index),
    )
    suggested = grade_at_or_above(scale, needed).where(pd.Series(entered, index=index), None)
    suggested_points = suggested.map(scale.points_of).astype("float64")
    chance = {t: spread(chances[f"chance_{t}"].to_numpy()) for t in THRESHOLDS}
    most_likely = spread(chances["most_likely"].to_numpy(dtype=object), "object")
    key = policy.key_threshold or "4plus"
    parts = pd.DataFrame(
        {
            "prior": prior,
            "chance": chance[key],
            "minimum": minimum,
            "binding": binding,
            "latest": latest["grade"],
            "suggested": suggested,
            "entered": entered,
        },
        index=index,
    )

    def reason_of(part: pd.DataFrame) -> pd.Series:
        rule_text = ("at least " + part["minimum"].astype("string") + " for this KS2 band").where(
            part["minimum"].notna(),
            f"no KS2 score: the national expectation {policy.no_prior_target}",
        )
        rule_text = rule_text.where(
            part["binding"].ne("previous target"), "not below the previous target"
        )
        rule_text = rule_text.where(
            part["binding"].ne("latest attainment"),
            "not below latest attainment " + part["latest"].astype("string").fillna(""),
        )
        return (
            "KS2 average scaled score band "
            + part["prior"].astype("string").fillna("")
            + chance_clause(part["chance"], used, key)
            + "; rule: "
            + rule_text
            + " → "
            + part["suggested"].astype("string").fillna("no target")
        ).where(part["entered"])

    reason = worded_once(parts, reason_of)
    flags = _add_flag(
        pd.Series("", index=index, dtype=object), no_prior.to_numpy(), "NO_PRIOR_RESULT"
    )
    return {
        "prior": prior.where(prior.notna(), None),
        "prior_points": pd.Series(
            np.where(entered & ~no_prior.to_numpy(), 0.0, np.nan), index=index
        ),
        "chances": chance,
        "most_likely": most_likely.where(most_likely.notna(), None),
        "minimum": minimum.where(minimum.notna(), None),
        "minimum_points": minimum_points,
        "suggested": suggested.astype(object).where(suggested.notna(), None),
        "suggested_points": suggested_points,
        "milestones_for": lambda target: _milestones(policy, scale, rule_points * np.nan, target),
        "reason": reason,
        "flags": flags,
        "rank": rank,
        "scale": scale,
        "thresholds": thresholds,
        "entered": pd.Series(entered, index=index),
        "table": table_name,
        "latest": latest,
    }


def worded_once(parts: pd.DataFrame, word: Callable[[pd.DataFrame], pd.Series]) -> pd.Series:
    """`word(parts)`, a sentence a row made from the row's values alone, composed for one row
    of each distinct combination of `parts` and spread to the rest (`shared_text`: each
    sentence one object). A subject's few dozen sentences are built a few dozen times, not
    once a pupil."""
    key = np.zeros(len(parts), dtype=np.int64)
    for name in parts.columns:
        codes, distinct = pd.factorize(parts[name], use_na_sentinel=True)
        key = pd.factorize(key * (len(distinct) + 1) + codes + 1)[0]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    made = shared_text(word(parts.iloc[first]))
    return pd.Series(made.to_numpy()[inverse], index=parts.index, dtype=object)


def shared_text(values: pd.Series) -> pd.Series:
    """Texts as Python objects (None where missing), each distinct text a single object. A
    subject's reasons are a dozen or so sentences; turned into objects row by row, 10 subjects
    of 100,000 pupils held ~370 MB of copies, in the frame and again in the workbook's
    comments."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([*(str(u) for u in uniques), None], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object, name=values.name)


# ---------------------------------------------------------------------------------------------
# Attainment 8 and Progress 8 of the targets


def grades_frame(
    policy: Policy,
    points: dict[str, pd.Series],
    grades: dict[str, pd.Series],
    gcse: list[str],
) -> pd.DataFrame:
    """The targets in long form for `attainment8`: one row per pupil (by position) and subject.

    GCSE subjects as entered; maths from the policy's maths target; the policy's English
    counts as English Language for a pupil with no English Language entry of its own."""
    frames = []
    for subject in [*gcse, *(s for s in ("maths", "english") if s in grades)]:
        values = grades[subject]
        key = "english_language" if subject == "english" else subject
        has = values.notna().to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "upn": np.flatnonzero(has),
                    "subject": key,
                    "grade": values.to_numpy(dtype=object)[has],
                    "source": subject,
                    "points": points[subject].to_numpy()[has],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["upn", "subject", "grade", "source", "points"])
    frame = pd.concat(frames, ignore_index=True)
    language = frame["subject"].eq("english_language") & frame["source"].ne("english")
    gcse_english = set(frame.loc[language, "upn"])
    return frame[~(frame["source"].eq("english") & frame["upn"].isin(gcse_english))].reset_index(
        drop=True
    )


def targets_progress8(
    frame: pd.DataFrame, size: int, ks2_scores: pd.Series, subjects: SubjectList | None = None
) -> pd.DataFrame:
    """Per pupil (by position): Attainment 8 of the targets, the DfE estimate, Progress 8."""
    from targetkit.conversion_tables import attainment8_estimates
    from targetkit.pipeline.attainment8 import attainment8, progress8

    a8 = attainment8(
        frame[["upn", "subject", "grade"]],
        subjects or load_subjects(),
        load_scale("gcse91"),
        load_scale("gcse91_double"),
        pupils=pd.RangeIndex(size),
    ).reindex(range(size))
    scores = pd.Series(ks2_scores.to_numpy(), index=range(size))
    return progress8(a8["attainment8"].fillna(0.0), scores, attainment8_estimates())


def raise_to_progress8(
    frame: pd.DataFrame,
    size: int,
    ks2_scores: pd.Series,
    school: pd.Series,
    scales: dict[str, Scale],
    likely: dict[str, pd.Series],
    frozen: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raise targets one grade at a time until each school's Progress 8 of targets is ≥ 0.

    Each round, in every school still below 0, pupils in Progress 8 are raised one grade in
    one subject each, as many as the school's shortfall in Attainment 8 points (at least one):
    each pupil's subject with the most room below its most likely grade (then the lowest
    target), pupils with the most room first, then the lowest Progress 8, then position. EHC
    plan targets and top grades are never moved. Gives the raised `frame` (column `raised`
    True where moved) and the final per-pupil Progress 8."""
    frame = frame.assign(raised=False)
    headroom = np.full(len(frame), np.nan)
    source = frame["source"].to_numpy(dtype=object)
    pupil = frame["upn"].to_numpy()
    for subject, scale in scales.items():
        mine = source == subject
        if not mine.any():
            continue
        ml = likely[subject].iloc[pupil[mine]].map(scale.points_of).astype("float64").to_numpy()
        headroom[mine] = ml
    school_of = school.to_numpy()[pupil] if len(frame) else np.array([])
    frozen_row = np.zeros(len(frame), dtype=bool)
    for subject, mask in frozen.items():
        mine = source == subject
        frozen_row[mine] = mask[pupil[mine]]
    top_of = {subject: float(scale.grades[-1].points) for subject, scale in scales.items()}
    top = frame["source"].map(top_of).to_numpy(dtype=float)
    boost = 1
    result = targets_progress8(frame, size, ks2_scores)
    for _ in range(MAX_ROUNDS):
        in_p8 = result["in_progress8"].to_numpy(dtype=bool)
        p8 = result["progress8"].to_numpy()
        by_school = pd.DataFrame({"school": school.to_numpy(), "p8": np.where(in_p8, p8, np.nan)})
        mean = by_school.groupby("school")["p8"].transform("mean").to_numpy()
        total = by_school.groupby("school")["p8"].transform("sum").to_numpy()
        below = in_p8 & (np.round(mean, 6) < 0)
        if not below.any():
            break
        points = frame["points"].to_numpy()
        can = below[frame["upn"].to_numpy()] & ~frozen_row & (points < top - 1e-9)
        if not can.any():
            break
        room = np.nan_to_num(headroom - points, nan=0.0)
        candidates = pd.DataFrame(
            {
                "row": np.flatnonzero(can),
                "pupil": frame["upn"].to_numpy()[can],
                "school": school_of[can],
                "p8": p8[frame["upn"].to_numpy()[can]],
                "room": room[can],
                "points": points[can],
            }
        ).sort_values(["pupil", "room", "points"], ascending=[True, False, True], kind="mergesort")
        best = candidates.drop_duplicates("pupil").sort_values(
            ["school", "room", "p8", "pupil"], ascending=[True, False, True, True], kind="mergesort"
        )
        shortfall = np.ceil(-total[best["pupil"].to_numpy()] * 10 - 1e-9).clip(min=1) * boost
        order = best.groupby("school", sort=False).cumcount().to_numpy()
        chosen = best["row"].to_numpy()[order < shortfall]
        before = result["attainment8"].sum()
        for source in frame["source"].iloc[chosen].unique():
            mine = chosen[frame["source"].to_numpy()[chosen] == source]
            scale = scales[source]
            new = grade_at_or_above(scale, pd.Series(frame["points"].to_numpy()[mine] + 0.5))
            if scale.name == "gcse91_double":  # a whole grade: 4-4 → 5-5 passes through 5-4
                new = grade_at_or_above(scale, pd.Series(frame["points"].to_numpy()[mine] + 1.0))
            frame.iloc[mine, frame.columns.get_loc("grade")] = new.to_numpy()
            frame.iloc[mine, frame.columns.get_loc("points")] = (
                new.map(scale.points_of).astype("float64").to_numpy()
            )
        frame.iloc[chosen, frame.columns.get_loc("raised")] = True
        result = targets_progress8(frame, size, ks2_scores)
        boost = boost * 2 if result["attainment8"].sum() <= before + 1e-9 else 1
    return frame, result


def grade_at_or_above(scale: Scale, points: pd.Series) -> pd.Series:
    from targetkit.pipeline.targets import grade_at_or_above as at_or_above

    return at_or_above(scale, points)


# ---------------------------------------------------------------------------------------------
# Reading a submission back (check-ambition)


def entry_subjects(columns: object) -> list[str]:
    """The GCSE subject blocks of a targets workbook (`<subject>_suggested` of a GCSE subject
    key other than maths, which the policy targets itself), in column order."""
    keys = set(load_subjects().subjects) - {"maths"}
    suffix = "_suggested"
    names = [str(c)[: -len(suffix)] for c in columns if str(c).endswith(suffix)]  # type: ignore[attr-defined]
    return [n for n in names if n in keys]


def submission_progress8(
    submission: pd.DataFrame, subjects: object, scale: Scale, expected: pd.DataFrame
) -> dict[str, float] | None:
    """The school's average Attainment 8 and Progress 8 of the submitted targets (every
    subject column: GCSE subjects, maths, and English where no English Language is entered);
    None without a target to count."""
    grades = {}
    points = {}
    index = submission.index
    wanted = set(subjects)  # type: ignore[call-overload]
    gcse = [s for s in entry_subjects(submission.columns) if s in wanted]
    for subject in [*gcse, *(s for s in ("maths", "english") if s in wanted)]:
        parsed = scale.parse(submission[f"{subject}_target"])
        grades[subject] = parsed.grade
        points[subject] = parsed.points
    if not grades:
        return None
    frame = grades_frame(None, points, grades, gcse)  # type: ignore[arg-type]
    scores = pd.to_numeric(expected["ks2_average_scaled_score"], errors="coerce")
    result = targets_progress8(frame, len(index), scores)
    in_p8 = result["in_progress8"].to_numpy(dtype=bool)
    return {
        "attainment8": float(result["attainment8"].mean()),
        "progress8": float(result["progress8"][in_p8].mean()) if in_p8.any() else np.nan,
        "pupils": float(in_p8.sum()),
    }


# ---------------------------------------------------------------------------------------------
# Gap analysis by group (the matrices' group rows: never a pupil's row, never a target)

# targetkit's group values (`targets._group_values`) → the DfE's group rows
DFE_GROUPS = {
    "disadvantaged": {"yes": "disadvantaged", "no": "not_disadvantaged"},
    "gender": {"F": "girls", "M": "boys"},
    "eal": {"yes": "eal", "no": "not_eal"},
    "sen": {"K": "sen", "E": "sen", "N": "no_sen"},
}
GROUP_BENCHMARK = "group_benchmark_pct"


def group_benchmarks(
    by_group: pd.DataFrame,
    groups: dict[str, pd.Series],
    blocks: dict[str, dict],
    tables: list[ConversionTable],
) -> pd.DataFrame:
    """`by_group` with `group_benchmark_pct` for GCSE subjects: the share of the group's entered
    pupils nationally *in the same group* with the same KS2 bands reaching the threshold (the
    DfE's group rows, e.g. disadvantaged pupils), beside the school's targeted share. It is for
    the gap analysis only: the pupil's own chances and targets use the all-pupils rows (SPEC §3).
    """
    result = by_group.copy()
    result[GROUP_BENCHMARK] = np.nan
    if result.empty or not blocks:
        return result
    rates = pd.concat([per_table(t, ("group rates", NATIONAL), _group_rates) for t in tables])
    rates = rates[~rates.index.duplicated(keep="first")]
    frames = []
    for subject, block in blocks.items():
        rows = np.flatnonzero(block["entered"].to_numpy(dtype=bool))
        band = block["prior"].to_numpy(dtype=object)[rows]
        for name, mapping in DFE_GROUPS.items():
            if name not in groups:
                continue
            value = groups[name].to_numpy(dtype=object)[rows]
            dfe = pd.Series(value).map(mapping).to_numpy(dtype=object)
            frames.append(
                pd.DataFrame(
                    {"subject": subject, "band": band, "group": name, "value": value, "dfe": dfe}
                )
            )
    if not frames:
        return result
    pupils = pd.concat(frames, ignore_index=True)
    key = pd.MultiIndex.from_arrays([pupils["subject"], pupils["band"], pupils["dfe"]])
    looked_up = rates.reindex(key)
    expected = []
    for threshold in THRESHOLDS:
        share = pupils.assign(rate=looked_up[f"chance_{threshold}"].to_numpy())
        mean = share.groupby(["subject", "group", "value"])["rate"].mean().mul(100).round(1)
        expected.append(mean.rename(threshold_label(threshold)))
    table = pd.concat(expected, axis=1).stack().rename(GROUP_BENCHMARK).reset_index()
    table.columns = ["subject", "group", "value", "threshold", GROUP_BENCHMARK]
    merged = result.drop(columns=GROUP_BENCHMARK).merge(
        table, on=["subject", "group", "value", "threshold"], how="left"
    )
    return merged.set_axis(result.index)


def threshold_label(name: str) -> str:
    return name.replace("plus", "+")


def _group_rates(table: ConversionTable, benchmark: str) -> pd.DataFrame:
    """Chance of each threshold per (subject, band, DfE group), the benchmark's group rows."""
    frame = table.frame
    rows = frame[(frame["benchmark"] == benchmark) & (frame["group"] != "all")]
    wide = rows.pivot_table(
        index=["subject", "prior", "group"], columns="outcome", values="proportion", aggfunc="sum"
    )
    wide = wide.reindex(columns=table.outcome_order).fillna(0.0)
    values = wide.to_numpy()
    result = pd.DataFrame(index=wide.index)
    for threshold in THRESHOLDS:
        meets = wide.columns.isin(table.outcomes_meeting(threshold))
        result[f"chance_{threshold}"] = values[:, meets].sum(axis=1).clip(0.0, 1.0)
    return result
