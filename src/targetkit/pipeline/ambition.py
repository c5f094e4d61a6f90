"""Challenge unambitious targets: pure checks of one school's submission (`check-ambition`).

The national guidance asks LAs to challenge "where the target set indicates low expectations of
progress or outcomes", to narrow gaps and never to lower targets. Each check here takes
DataFrames and returns a findings frame (one row per finding, `FINDING_COLUMNS`); reading files,
parallelism and presenting the results live in `targetkit.commands.check_ambition`.

What a check needs from the submission (canonical column names, index = source row):
`upn`, `surname`, `forename`, `<subject>_target` (the moderated target), optionally `sen`,
`disadvantaged`, `fsm`, `lac`, `eal`, `ethnicity`, `<subject>_plan_target` and the pupil's prior
and in-year results. What is ambitious is recomputed from each pupil's prior (the `expected`
frame from `compute_targets`), never taken from the submitted `_minimum`/`_most_likely` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from targetkit import findings
from targetkit.columns import PUPIL_COLUMNS, parse_assessment
from targetkit.groups import command_groups
from targetkit.pipeline.targets import compute_targets, latest_attainment
from targetkit.pipeline.values import yes_no
from targetkit.policies import Policy
from targetkit.privacy import SMALL_GROUP as SMALL_GROUP_SIZE
from targetkit.scales import Scale
from targetkit.upn import upn_key

if TYPE_CHECKING:
    from targetkit.conversion_tables import ConversionTable

FINDING_COLUMNS = [
    "school",
    "file",
    "row",
    "upn",
    "pupil",
    "subject",
    "group",
    "code",
    "severity",
    "message",
]
NO_SCHOOL = ("school", "file")  # the columns a school's own findings leave out
NEUTRAL_ETHNICITY = "WBRI"  # SPEC §7: each other ethnicity code with 5+ pupils is a group
# the groups file's check_ambition list (data/groups/groups.yaml): key (the column, or
# sen_support: `sen` K) → name
FLAG_GROUPS: dict[str, str] = {g.key: g.name for g in command_groups("check_ambition")}
ONE_BY_ONE = ("Looked-after",)  # SPEC §8: compared pupil by pupil, however few


@dataclass
class SchoolCheck:
    """What `check_school` found: the findings and the school's row of the LA summary."""

    findings: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers


def flag_column(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """A yes/no column as True/False/NA (Y, Yes, TRUE, 1 ... / N, No, FALSE, 0 ...)."""
    if values is None:
        return pd.Series(pd.NA, index=index, dtype="boolean")
    return pd.Series(yes_no(values).to_numpy(), index=index, dtype="boolean")


def _per_value(values: pd.Series, function: object, missing: object) -> np.ndarray:
    """Apply `function` once per distinct value, then spread it to every row (fast on a
    column of a few dozen grades); blanks (None/NaN) get `missing`."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    mapped = [function(u) for u in uniques]  # type: ignore[operator]
    return np.array([*mapped, missing], dtype=object)[codes]  # code -1 → missing


def _clean_text(value: object) -> str | None:
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def text_column(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """Trimmed text with blanks as NA (numbers typed in Excel become their text: 4 → "4")."""
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    return pd.Series(_per_value(values, _clean_text, None), index=index, dtype=object)


def _grade_points(scale: Scale, values: pd.Series, which: str) -> pd.Series:
    """Points of each grade ("points", "floor" or "ceiling"); NaN when not a grade."""
    table = _points_table(scale, which)

    def points(value: object) -> float:
        text = _clean_text(value)
        if text is None:
            return np.nan
        kind, name = scale.classify(text)
        return table[name] if kind == "grade" else np.nan

    return pd.Series(_per_value(values, points, np.nan), index=values.index, dtype="float64")


def _points_table(scale: Scale, which: str) -> dict[str, float]:
    """Grade → points, a whole level standing for the lowest ("floor") or highest ("ceiling")
    grade of its band."""
    points = dict(scale.points_of)
    if which == "points":
        return points
    ends: dict[int, float] = {}
    pick = min if which == "floor" else max
    for grade in scale.grades:
        if grade.band is not None:
            ends[grade.band] = pick(ends.get(grade.band, grade.points), grade.points)
    for equivalent in scale.equivalents:
        if equivalent.band in ends:
            points[equivalent.grade] = ends[equivalent.band]
    return points


def target_points(scale: Scale, values: pd.Series) -> pd.Series:
    """Points of each grade (a typed number counts like its text); NaN when not a grade."""
    return _grade_points(scale, values, "points")


def floor_points(scale: Scale, values: pd.Series) -> pd.Series:
    """The lowest points that still meet each grade as a minimum or a threshold.

    SPEC §7 "Whole levels": "at least level 4" is met by any level-4 grade (4c, 4b, 4a), so a
    whole level (an equivalent with a band) counts from the lowest grade of its band; any other
    grade from its own points.
    """
    return _grade_points(scale, values, "floor")


def ceiling_points(scale: Scale, values: pd.Series) -> pd.Series:
    """The most a target reaches, for "is it below ...?" checks: a whole-level target (`5`)
    reaches the top of its level, so it is not below a `5a` already achieved (levels compare
    by their digit, SPEC §7)."""
    return _grade_points(scale, values, "ceiling")


def _pupil_findings(
    pupils: pd.DataFrame,
    mask: pd.Series,
    code: str,
    subject: str,
    values: Mapping[str, object],
    *,
    severity: str | None = None,
    variant: str | None = None,
) -> pd.DataFrame:
    """Findings for the pupils in `mask` (pupils: the `_identity` frame); the message (the
    catalogue's template, or its `variant`) is filled from `values` for those pupils only."""
    chosen_mask = np.asarray(mask, dtype=bool)
    if not chosen_mask.any():
        return pd.DataFrame()
    chosen = pupils[chosen_mask]
    picked = {k: v[chosen_mask] if isinstance(v, pd.Series) else v for k, v in values.items()}
    message = findings.message(
        code, variant=variant, index=chosen.index, subject=subject, **picked
    )
    extra = {c: chosen[c].to_numpy() for c in chosen.columns if c not in ("upn", "pupil")}
    return pd.DataFrame(
        {
            "row": chosen.index.to_numpy(),
            "upn": chosen["upn"].to_numpy(dtype=object),
            "pupil": chosen["pupil"].to_numpy(dtype=object),
            "subject": subject,
            "group": None,
            "code": code,
            "severity": severity or findings.severity(code),
            "message": np.asarray(message, dtype=object),
            **extra,
        }
    )


def _school_finding(
    code: str, message: str, *, subject: str | None = None, group: str | None = None, **kw: str
) -> dict[str, object]:
    return {
        "row": None,
        "upn": None,
        "pupil": None,
        "subject": subject,
        "group": group,
        "code": code,
        "severity": kw.get("severity") or findings.severity(code),
        "message": message,
    }


def _identity(submission: pd.DataFrame) -> pd.DataFrame:
    """`upn` and `pupil` ("Forename Surname") for every row, for the Challenges sheet."""
    index = submission.index
    forename = text_column(submission.get("forename"), index).fillna("")
    surname = text_column(submission.get("surname"), index).fillna("")
    pupil = (forename + " " + surname).str.strip()
    return pd.DataFrame(
        {
            "upn": text_column(submission.get("upn"), index).astype(object),
            "pupil": pupil.where(pupil != "", pd.NA).astype(object),
        },
        index=index,
    ).replace({pd.NA: None})


def cohort_columns(submission: pd.DataFrame) -> pd.DataFrame:
    """The cohort columns of a submission (pupil details and results), as set-targets read
    them: what the engine recomputes the expectations from."""
    from targetkit.pipeline.ks2_prior import is_detail_column

    keep = [
        c
        for c in submission.columns
        if c in PUPIL_COLUMNS
        or parse_assessment(str(c))
        or str(c).endswith("_plan_target")
        or is_detail_column(str(c))  # KS2 test outcomes and TAs: the nominal scores (SPEC §8)
    ]
    return submission[keep].assign(**gcse_entered(submission))


def gcse_entered(submission: pd.DataFrame) -> dict[str, pd.Series]:
    """`<subject>_entered` for each GCSE subject block of a ks4 submission (issue 15): a pupil
    is entered where set-targets gave a suggestion or the school a target, so the engine
    recomputes the same subjects for the same pupils."""
    from targetkit.pipeline.gcse_targets import entry_subjects

    index = submission.index
    return {
        f"{subject}_entered": pd.Series(
            np.where(
                text_column(submission.get(f"{subject}_suggested"), index).notna()
                | text_column(submission.get(f"{subject}_target"), index).notna(),
                "yes",
                "",
            ),
            index=index,
        )
        for subject in entry_subjects(submission.columns)
    }


def expected_targets(
    cohorts: Sequence[pd.DataFrame],
    policy: Policy,
    *,
    benchmark: str,
    conversion: str | None = None,
    academic_year: int | None = None,
    subjects: Sequence[str] | None = None,
) -> tuple[list[pd.DataFrame], str]:
    """What set-targets gives each cohort (the engine's pupil columns, chances as shares), and
    the engine's notes. The cohorts are computed together in one engine call (one vectorised
    pass instead of one per school: 20x faster on an LA batch), each under its own `school`
    key, so benchmark quotas stay per school and each cohort gets exactly what set-targets
    gives that school alone."""
    together = pd.concat(
        [cohort.assign(school=f"cohort {i}") for i, cohort in enumerate(cohorts)],
        ignore_index=True,
    )
    result = compute_targets(
        together,
        policy,
        benchmark=benchmark,
        subjects=subjects,
        conversion=conversion,
        academic_year=academic_year,
        summaries=False,
        lean=True,  # the checks read grades, chances and flags: no reasons, no milestones
    )
    pupils = result.pupils
    for column in pupils.columns:
        if "_chance_" in str(column):  # set-targets writes chances as percentages
            pupils[column] = pd.to_numeric(pupils[column], errors="coerce") / 100
    frames = []
    start = 0
    for cohort in cohorts:
        frames.append(pupils.iloc[start : start + len(cohort)].set_axis(cohort.index))
        start += len(cohort)
    return frames, "; ".join(result.notes)


def policy_rules(
    policy: Policy | None, subjects: Sequence[str], scale: Scale
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """What a policy asks of a submission's targets: per subject, each threshold's lowest target
    points (a whole level from its lowest sub-level, SPEC §7), and the prior column where it is
    on the target's scale (it then counts as a previous best)."""
    thresholds: dict[str, dict[str, float]] = {}
    prior_columns: dict[str, str] = {}
    if policy is None:
        return thresholds, prior_columns
    grades = pd.Series(list(policy.thresholds.values()), dtype=object)
    floors = dict(zip(policy.thresholds, floor_points(scale, grades).tolist(), strict=True))
    same_scale = policy.prior_scale == policy.target_scale and not policy.prior_scaled_scores
    for subject in subjects:
        thresholds[subject] = dict(floors)
        if same_scale:
            prior_columns[subject] = f"{subject}_{policy.prior_point}"
    return thresholds, prior_columns


def target_subjects(submission: pd.DataFrame) -> list[str]:
    """Subjects with a `<subject>_target` column, in column order."""
    return [
        str(c)[: -len("_target")]
        for c in submission.columns
        if str(c).endswith("_target") and not str(c).endswith(("_plan_target", "_previous_target"))
    ]


# ---------------------------------------------------------------------------------------------
# Groups


def group_masks(
    submission: pd.DataFrame, derived: Mapping[str, pd.Series] | None = None
) -> dict[str, pd.Series]:
    """Each group checked for lower expectations (SPEC §7), as a boolean mask per label.

    Needs (where present): `disadvantaged`, `fsm`, `lac`, `sen` (K = SEN support), `eal`,
    `ethnicity`. Ethnicity groups are each code other than WBRI with at least 5 pupils; the
    flag groups are returned whatever their size (small ones are reported as SMALL_GROUP).
    `derived`: the same per-row values already worked out (`derived_columns`), to reuse.
    """
    masks = {
        label: derived[f"group {label}"] if derived and f"group {label}" in derived else mask()
        for label, mask in _fixed_groups(submission).items()
    }
    if "ethnicity" in submission:
        ethnicity = _derived(derived, "ethnicity", lambda: _ethnicity(submission))
        counts = ethnicity.value_counts()
        for code in sorted(counts.index):
            if code != NEUTRAL_ETHNICITY and counts[code] >= SMALL_GROUP_SIZE:
                masks[f"Ethnicity {code}"] = (ethnicity == code).fillna(False).astype(bool)
    return masks


def _fixed_labels(columns: pd.Index) -> list[str]:
    """The groups (whatever their size) a submission with these columns has, in order: the
    yes/no columns, SEN support (`sen` K), then girls and boys (`gender`, SPEC §8)."""
    labels = [
        label
        for column, label in FLAG_GROUPS.items()
        if ("sen" if column == "sen_support" else column) in columns
    ]
    return labels + (["Girls", "Boys"] if "gender" in columns else [])


def _fixed_groups(submission: pd.DataFrame) -> dict[str, Callable[[], pd.Series]]:
    """The groups whatever their size (`_fixed_labels`), each as a function making its mask."""
    index = submission.index
    groups: dict[str, Callable[[], pd.Series]] = {}
    for column, label in FLAG_GROUPS.items():
        if column == "sen_support":
            if "sen" in submission:
                groups[label] = lambda: _sen_support(submission)
        elif column in submission:
            groups[label] = lambda column=column: (
                flag_column(submission[column], index).fillna(False).astype(bool)
            )
    if "gender" in submission:
        gender = text_column(submission["gender"], index).str.upper().str[:1]
        for code, label in (("F", "Girls"), ("M", "Boys")):
            groups[label] = lambda code=code: (gender == code).fillna(False).astype(bool)
    return groups


def _sen_support(submission: pd.DataFrame) -> pd.Series:
    sen = text_column(submission["sen"], submission.index).str.upper()
    return (sen == "K").fillna(False).astype(bool)


def _ethnicity(submission: pd.DataFrame) -> pd.Series:
    return text_column(submission["ethnicity"], submission.index).str.upper()


def _derived(
    derived: Mapping[str, pd.Series] | None, key: str, compute: Callable[[], pd.Series]
) -> pd.Series:
    """A per-row value from `derived` when it was worked out already, else computed now."""
    if derived is not None and key in derived:
        return derived[key]
    return compute()


def derived_columns(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame | None = None,
    school_key: np.ndarray | None = None,
) -> dict[str, pd.Series]:
    """The per-row values the school-level checks need (group masks, target points, priors,
    suggestions), worked out once for many schools stacked, then sliced per school: each is a
    function of its own row only, so a slice is exactly what the school alone would give.
    With `school_key` (each row's school), also each pupil's lowest alike suggestion
    (`_lowest_alike`), grouped within the pupil's own school."""
    index = submission.index
    derived = {f"group {label}": mask() for label, mask in _fixed_groups(submission).items()}
    if "ethnicity" in submission:
        derived["ethnicity"] = _ethnicity(submission)
    for subject in subjects:
        derived[f"{subject} target points"] = target_points(scale, submission[f"{subject}_target"])
        derived[f"{subject} plan target stands"] = _plan_target_stands(submission, subject)
        if expected is None:
            continue
        if f"{subject}_prior" in expected:
            derived[f"{subject} prior"] = text_column(expected[f"{subject}_prior"], index)
        if f"{subject}_suggested" in expected:
            derived[f"{subject} suggested points"] = target_points(
                scale, expected[f"{subject}_suggested"]
            )
            derived[f"{subject} latest points"] = latest_attainment(submission, subject, scale)[
                "points"
            ]
            if school_key is not None and f"{subject} prior" in derived:
                derived[f"{subject} lowest alike"] = _lowest_alike_by_school(
                    derived, subject, school_key
                )
    return derived


def _lowest_alike_by_school(
    derived: Mapping[str, pd.Series], subject: str, school_key: np.ndarray
) -> pd.Series:
    """`_lowest_alike` for many schools stacked in one groupby (school, prior, latest): per
    school exactly what that school alone gives."""
    points, prior = derived[f"{subject} target points"], derived[f"{subject} prior"]
    usable = (points.notna() & prior.notna() & ~derived[f"{subject} plan target stands"]).to_numpy(
        dtype=bool
    )
    codes = pd.factorize(prior.astype(object), use_na_sentinel=True)[0]
    low = _lowest_alike(
        derived[f"{subject} suggested points"],
        codes,
        derived[f"{subject} latest points"],
        usable,
        school_key,
    )
    return pd.Series(low, index=prior.index)


@dataclass
class StackedGroups:
    """The group checks of many schools stacked (`stacked_group_checks`), per school: the
    GROUP_EXPECTATION_LOWER and SMALL_GROUP findings, each in `check_school`'s order."""

    expectations: list[list[dict[str, object]]]
    small: list[list[dict[str, object]]]


def stacked_group_checks(
    submissions: Sequence[pd.DataFrame],
    school_key: np.ndarray,
    subjects: Sequence[str],
    derived: Mapping[str, pd.Series],
    *,
    expectations: bool,
) -> StackedGroups:
    """The group checks of every school of a stack at once (one school: `school_checks`).

    GROUP_EXPECTATION_LOWER (when `expectations`): a group targeted lower than non-members
    with the same prior. SPEC §8 "Group comparisons": pupils are compared only with others
    who have the same prior grade. Each target is measured against set-targets' own
    suggestion, made blind to the tie-break: pupils set-targets cannot tell apart (same prior,
    same latest attainment) may get different suggestions only because of which of them took
    a benchmark quota place, so a member is measured from the lowest suggestion among them (a
    non-member from their own). The same prior and the same target, or a difference that only
    reflects the quota places, is then never "lower", while a group passed over for pupils
    with lower attainment is. For a group of 5 or more pupils with a prior, the members' mean
    minus the non-members' mean at each prior, weighted by the members at that prior, must not
    be negative. Looked-after pupils (`ONE_BY_ONE`) are compared one by one, however few: none
    may be below the mean of the same-prior non-members. EHC-plan pupils with a plan target
    are left out (their target is individual). SMALL_GROUP (info): every group with 1 to 4
    pupils (its figures are marked small).

    Per subject one count and sum per (school, prior) and group with `np.bincount`, instead of
    a few dozen small pandas and numpy calls per school.

    Each school keeps its own groups (its columns; its ethnicity codes with 5+ pupils) and its
    findings' order. Points are multiples of 0.25, so every count, sum and mean per school and
    prior is exact whatever the order it is added up in; only a group's gap (the weighted sum
    over priors) may round differently in its last bit, far inside the -1e-9 it is judged by.
    `derived`: `derived_columns` of the stacked submissions, with the school key.
    """
    schools = len(submissions)
    labels = _fixed_labels(pd.Index([c for s in submissions for c in s.columns]).unique())
    membership = [derived[f"group {label}"].to_numpy(dtype=bool) for label in labels]
    present = [
        np.array([label in set(_fixed_labels(s.columns)) for s in submissions]) for label in labels
    ]
    if "ethnicity" in derived:
        codes, names = pd.factorize(derived["ethnicity"], use_na_sentinel=True)
        known = codes >= 0
        counts = np.bincount(
            school_key[known] * len(names) + codes[known], minlength=schools * len(names)
        ).reshape(schools, len(names))
        for position in sorted(range(len(names)), key=lambda i: names[i]):
            big = counts[:, position] >= SMALL_GROUP_SIZE
            if names[position] != NEUTRAL_ETHNICITY and big.any():
                labels.append(f"Ethnicity {names[position]}")
                membership.append(codes == position)
                present.append(big)
    members = np.array([np.bincount(school_key[m], minlength=schools) for m in membership]).reshape(
        len(labels), schools
    )
    lower = {
        subject: _stacked_lower(subject, school_key, schools, labels, membership, derived)
        for subject in (subjects if expectations else [])
        if f"{subject} prior" in derived
    }
    result = StackedGroups([[] for _ in submissions], [[] for _ in submissions])
    for school in range(schools):
        own = [i for i in range(len(labels)) if present[i][school]]
        for subject, found in lower.items():
            result.expectations[school] += [
                _school_finding(
                    "GROUP_EXPECTATION_LOWER",
                    str(
                        findings.message(
                            "GROUP_EXPECTATION_LOWER", group=labels[i], subject=subject
                        )
                    ),
                    subject=subject,
                    group=labels[i],
                )
                for i in own
                if found[i, school]
            ]
        result.small[school] = [
            _school_finding(
                "SMALL_GROUP",
                str(findings.message("SMALL_GROUP", group=labels[i])),
                group=labels[i],
            )
            for i in own
            if 0 < members[i, school] < SMALL_GROUP_SIZE
        ]
    return result


def _stacked_lower(
    subject: str,
    school_key: np.ndarray,
    schools: int,
    labels: Sequence[str],
    membership: Sequence[np.ndarray],
    derived: Mapping[str, pd.Series],
) -> np.ndarray:
    """Groups × schools: whether the group is targeted lower in the subject (the rule of
    `stacked_group_checks`, for every school of the stack at once)."""
    points = derived[f"{subject} target points"]
    prior = derived[f"{subject} prior"]
    stands = derived[f"{subject} plan target stands"]
    usable = (points.notna() & prior.notna() & ~stands).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(prior.astype(object), use_na_sentinel=True)
    priors = max(len(uniques), 1)
    as_member = as_other = points.to_numpy(dtype="float64", na_value=np.nan)
    if f"{subject} lowest alike" in derived:
        low = derived[f"{subject} lowest alike"].to_numpy(dtype="float64", na_value=np.nan)
        own = derived[f"{subject} suggested points"].to_numpy(dtype="float64", na_value=np.nan)
        as_member, as_other = as_member - low, as_member - own
    member_values = np.where(usable, as_member, 0.0)
    other_values = np.where(usable, as_other, 0.0)
    cells = schools * priors  # (school, prior) pairs
    key = school_key * priors + codes
    used = key[usable]
    everyone = np.bincount(used, minlength=cells).astype(float)
    everyone_sum = np.bincount(used, weights=other_values[usable], minlength=cells)
    with_prior = prior.notna().to_numpy(dtype=bool)
    lower = np.zeros((len(labels), schools), dtype=bool)
    for position, (label, mask) in enumerate(zip(labels, membership, strict=True)):
        inside = mask[usable]
        group_count = np.bincount(used[inside], minlength=cells).astype(float)
        group_sum = np.bincount(
            used[inside], weights=member_values[usable][inside], minlength=cells
        )
        other_count = everyone - group_count
        other_sum = everyone_sum - np.bincount(
            used[inside], weights=other_values[usable][inside], minlength=cells
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            others_mean = other_sum / other_count
            difference = group_sum / group_count - others_mean
        if label in ONE_BY_ONE:
            chosen = mask & usable
            below = (member_values[chosen] - others_mean[key[chosen]]) < -1e-9
            lower[position] = np.bincount(school_key[chosen][below], minlength=schools) > 0
            continue
        both = (group_count > 0) & (other_count > 0)
        weight = np.where(both, group_count, 0.0).reshape(schools, priors)
        gap = (np.where(both, difference, 0.0).reshape(schools, priors) * weight).sum(axis=1)
        total = weight.sum(axis=1)
        counted = np.bincount(school_key[mask & with_prior], minlength=schools)
        with np.errstate(divide="ignore", invalid="ignore"):
            lower[position] = (counted >= SMALL_GROUP_SIZE) & (total != 0) & (gap / total < -1e-9)
    return lower


def _lowest_alike(
    suggested: pd.Series,
    codes: np.ndarray,
    latest: pd.Series,
    usable: np.ndarray,
    school_key: np.ndarray | None = None,
) -> np.ndarray:
    """Per pupil, the lowest suggestion among the pupils set-targets cannot tell apart from them
    (same prior `codes`, same latest attainment, same school): which of those took a quota place
    is the tie-break, so a member is not "lower" for having the lower of their suggestions."""
    key = pd.DataFrame(
        {
            "school": np.zeros(len(codes), dtype="int64") if school_key is None else school_key,
            "prior": np.where(usable, codes, -1),
            "latest": latest.fillna(-1).to_numpy(),
        },
        index=suggested.index,
    )
    grouped = suggested.where(usable).groupby([key["school"], key["prior"], key["latest"]])
    return grouped.transform("min").to_numpy(dtype="float64", na_value=np.nan)


def _is_plan_target(
    submission: pd.DataFrame, subject: str, scale: Scale, target: pd.Series
) -> pd.Series:
    """EHC-plan pupils whose target (points, `ceiling_points`) is their plan target: it stands
    even below a rule or a previous best (SPEC §7)."""
    index = submission.index
    ehc = (text_column(submission.get("sen"), index).str.upper() == "E").fillna(False)
    plan_column = submission.get(f"{subject}_plan_target")
    if plan_column is None:
        return pd.Series(False, index=index)
    plan = ceiling_points(scale, plan_column)
    return (ehc & plan.notna() & (plan == target)).astype(bool)


def _plan_target_stands(submission: pd.DataFrame, subject: str) -> pd.Series:
    """EHC-plan pupils with a plan target: their target is individual, not compared (SPEC §7)."""
    index = submission.index
    ehc = (text_column(submission.get("sen"), index).str.upper() == "E").fillna(False)
    plan = text_column(submission.get(f"{subject}_plan_target"), index)
    return (ehc & plan.notna()).astype(bool)


def gap_widening(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    masks: Mapping[str, pd.Series],
    previous_results: pd.DataFrame,
    result_scale: Scale | None = None,
) -> list[dict[str, object]]:
    """GROUP_GAP_WIDENING: the gap the targets aim for is wider than last year's actual gap.

    Gap = mean points of other pupils minus mean points of the group. This year's gap is taken
    on targets; last year's on `previous_results` (a results file of the previous cohort: group
    columns and `<subject>_result` or `<subject>_ks1..ks4`). Both groups need 5+ pupils.
    """
    result_scale = result_scale or scale
    previous_masks = group_masks(previous_results)
    found: list[dict[str, object]] = []
    for subject in subjects:
        column = result_column(previous_results, subject)
        if column is None:
            continue
        target = target_points(scale, submission[f"{subject}_target"])
        result = target_points(result_scale, previous_results[column])
        for label, mask in masks.items():
            if label not in previous_masks:
                continue
            before = previous_masks[label]
            if not _both_years_large(mask, target, before, result):
                continue
            gap = target[~mask].mean() - target[mask].mean()
            previous_gap = result[~before].mean() - result[before].mean()
            if gap > previous_gap + 1e-9:
                message = findings.message(
                    "GROUP_GAP_WIDENING",
                    group=label,
                    subject=subject,
                    gap=f"{gap:.1f}",
                    previous_gap=f"{previous_gap:.1f} last year",
                )
                found.append(
                    _school_finding(
                        "GROUP_GAP_WIDENING", str(message), subject=subject, group=label
                    )
                )
    return found


def _both_years_large(
    mask: pd.Series, target: pd.Series, before: pd.Series, result: pd.Series
) -> bool:
    """Whether a group and the other pupils each have 5+ pupils with a target this year and
    with a result last year: smaller groups' gaps are not compared."""
    sizes = [
        int((mask & target.notna()).sum()),
        int((~mask & target.notna()).sum()),
        int((before & result.notna()).sum()),
        int((~before & result.notna()).sum()),
    ]
    return min(sizes) >= SMALL_GROUP_SIZE


def result_column(results: pd.DataFrame, subject: str) -> str | None:
    """The column holding last year's result in a subject: `<subject>_result`, else its latest
    key-stage column (`maths_ks2`)."""
    if f"{subject}_result" in results:
        return f"{subject}_result"
    stages = sorted(
        (parsed[1], str(c))
        for c in results.columns
        if (parsed := parse_assessment(str(c))) and parsed[0] == subject and parsed[1][:2] == "ks"
    )
    return stages[-1][1] if stages else None


# ---------------------------------------------------------------------------------------------
# Pupil-level checks


def missing_targets(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    pupils: pd.DataFrame,
    expected: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """MISSING_TARGET: a blank or non-grade target; EHC_INDIVIDUAL_TARGET: EHC plan, no plan
    target. Needs `<subject>_target`, optionally `sen` and `<subject>_plan_target`. A GCSE
    subject a pupil is not entered for (no suggestion recomputed) needs no target."""
    from targetkit.pipeline.gcse_targets import entry_subjects

    index = submission.index
    ehc = (text_column(submission.get("sen"), index).str.upper() == "E").fillna(False)
    found = []
    gcse = set(entry_subjects(submission.columns)) if expected is not None else set()
    for subject in subjects:
        target = text_column(submission[f"{subject}_target"], index)
        entered = pd.Series(True, index=index)
        if subject in gcse and f"{subject}_suggested" in expected:
            entered = text_column(expected[f"{subject}_suggested"], index).notna()
        found.append(
            _pupil_findings(
                pupils,
                target.isna() & entered,
                "MISSING_TARGET",
                subject,
                {},
            )
        )
        plan = text_column(submission.get(f"{subject}_plan_target"), index)
        found.append(
            _pupil_findings(
                pupils,
                ehc & plan.isna() & entered,
                "EHC_INDIVIDUAL_TARGET",
                subject,
                {},
            )
        )
    return found


# Columns set-targets writes for each subject beside `<subject>_target`: where they remain and
# the target column is gone, the target column was deleted.
_SUBJECT_COLUMNS_OF_SET_TARGETS = ("_suggested", "_minimum", "_most_likely")


def invalid_targets(
    submission: pd.DataFrame, subjects: Sequence[str], scale: Scale, pupils: pd.DataFrame
) -> list[pd.DataFrame]:
    """INVALID_TARGET: a target that is not a grade of the subject's scale (`four`, `4+`,
    `99999`, `4.5`, `EXS` where the scale has none; a number typed for a grade, 4, is the
    grade). MISSING_TARGET for every pupil of a subject whose target column was deleted (its
    set-targets columns are there, `<subject>_target` is not): without this, both would
    dodge every other check, which only sees grades.
    """
    from targetkit.scales import load_scale
    from targetkit.subjects import award_scale

    index = submission.index
    found = []
    for subject in subjects:
        own = load_scale(award_scale(subject, scale.name))  # 5-4 in history is no grade
        target = text_column(submission[f"{subject}_target"], index)
        invalid = target.notna() & target_points(own, submission[f"{subject}_target"]).isna()
        found.append(
            _pupil_findings(
                pupils, invalid, "INVALID_TARGET", subject, {"target": target, "scale": own.name}
            )
        )
    columns = {str(c) for c in submission.columns}
    deleted = sorted(
        {
            name[: -len(suffix)]
            for name in columns
            for suffix in _SUBJECT_COLUMNS_OF_SET_TARGETS
            if name.endswith(suffix) and f"{name[: -len(suffix)]}_target" not in columns
        }
    )
    for subject in deleted:
        every = pd.Series(True, index=index)
        found.append(_pupil_findings(pupils, every, "MISSING_TARGET", subject, {}))
    return found


def below_expected(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame,
    pupils: pd.DataFrame,
    *,
    benchmark: str,
    data: PolicyData | None = None,
) -> list[pd.DataFrame]:
    """BELOW_EXPECTED_PROGRESS (below the policy minimum for the prior) and BELOW_BENCHMARK
    (below the benchmark's most likely outcome: `info` for a pupil, SPEC §8). The message names
    the benchmark the subject's figures come from (`benchmark_words`: national where the
    policy's table has no `benchmark` rows for it, as set-targets falls back).

    Needs `expected` with `<subject>_prior`, `<subject>_minimum`, `<subject>_most_likely`
    (recomputed from the prior). An EHC-plan pupil whose target is the plan target gets
    EHC_TARGET_BELOW_RULE (info) instead: the plan target stands (SPEC §7).
    """
    index = submission.index
    found = []
    for subject in subjects:
        raw_target = text_column(submission[f"{subject}_target"], index)
        target = ceiling_points(scale, submission[f"{subject}_target"])
        prior = text_column(expected.get(f"{subject}_prior"), index)
        is_plan = _is_plan_target(submission, subject, scale, target)
        if f"{subject}_minimum" in expected:
            minimum_text = text_column(expected[f"{subject}_minimum"], index)
            minimum = floor_points(scale, expected[f"{subject}_minimum"])
            below = (target < minimum).fillna(False)
            values = {"target": raw_target, "minimum": minimum_text, "prior": prior}
            found.append(
                _pupil_findings(
                    pupils,
                    below & ~is_plan,
                    "BELOW_EXPECTED_PROGRESS",
                    subject,
                    values,
                )
            )
            found.append(
                _pupil_findings(
                    pupils,
                    below & is_plan,
                    "EHC_TARGET_BELOW_RULE",
                    subject,
                    values,
                )
            )
        if f"{subject}_most_likely" in expected:
            likely_text = text_column(expected[f"{subject}_most_likely"], index)
            likely = floor_points(scale, expected[f"{subject}_most_likely"])
            below = (target < likely).fillna(False) & ~is_plan
            values = {
                "target": raw_target,
                "most_likely": likely_text,
                "prior": prior,
                "benchmark": benchmark_words(data, benchmark, subject),
            }
            # SPEC §8: information for the moderator; the school's share carries the challenge
            found.append(
                _pupil_findings(pupils, below, "BELOW_BENCHMARK", subject, values, severity="info")
            )
    return found


def below_previous_best(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    pupils: pd.DataFrame,
    prior_columns: Mapping[str, str] | None = None,
) -> list[pd.DataFrame]:
    """BELOW_PREVIOUS_BEST: the target is below the prior result or the latest attainment.

    Latest attainment: the most recent data drop with a value for the pupil (`<subject>_aut1`
    ... `_sum2`, a column with a year being older), as set-targets takes it. The prior counts
    only when `prior_columns[subject]` names it, i.e. when it is on the target's scale (KS1
    levels for KS2 level targets, not KS2 scaled scores for GCSE grades). Whole levels compare
    by their digit: target `5` is not below `5a`, target `5c` is below a prior `5`.
    """
    found = []
    for subject in subjects:
        latest = latest_attainment(submission, subject, scale)
        best_grade = latest["grade"]
        best_points = floor_points(scale, best_grade)
        prior_column = (prior_columns or {}).get(subject)
        if prior_column and prior_column in submission:
            prior_grade = text_column(submission[prior_column], submission.index).astype(object)
            prior_points = floor_points(scale, prior_grade)
            higher = (prior_points > best_points.fillna(-np.inf)).fillna(False)
            best_points = best_points.where(~higher, prior_points)
            best_grade = best_grade.where(~higher, prior_grade)
        raw_target = text_column(submission[f"{subject}_target"], submission.index)
        target = ceiling_points(scale, submission[f"{subject}_target"])
        below = (target < best_points).fillna(False)
        values = {"target": raw_target, "best": best_grade}
        # an EHC plan target stands (SPEC §7): below the previous best it is information
        plan = _is_plan_target(submission, subject, scale, target)
        found.append(_pupil_findings(pupils, below & ~plan, "BELOW_PREVIOUS_BEST", subject, values))
        found.append(
            _pupil_findings(
                pupils, below & plan, "BELOW_PREVIOUS_BEST", subject, values, severity="info"
            )
        )
    return found


def lowered_targets(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    pupils: pd.DataFrame,
    previous_targets: pd.DataFrame,
) -> list[pd.DataFrame]:
    """TARGET_LOWERED: the target is below last time's target for the same pupil and subject.

    `previous_targets`: `upn` and `<subject>_target` columns (any school; matched on UPN).
    """
    if "upn" not in previous_targets or "upn" not in submission:
        return []
    previous_upn = upn_key(previous_targets["upn"]).astype(object)
    upn = upn_key(submission["upn"]).to_numpy(dtype=object)
    found = []
    for subject in subjects:
        column = f"{subject}_target"
        if column not in previous_targets:
            continue
        # Several earlier targets for a pupil: the highest stands (targets are never lowered).
        earlier = pd.DataFrame(
            {
                "upn": previous_upn.to_numpy(dtype=object),
                "text": text_column(previous_targets[column], previous_targets.index).to_numpy(
                    dtype=object
                ),
                "points": floor_points(scale, previous_targets[column]).to_numpy(),
            }
        )
        earlier = earlier.dropna(subset=["upn", "points"]).sort_values("points", kind="stable")
        earlier = earlier.drop_duplicates("upn", keep="last").set_index("upn")
        earlier = earlier.reindex(upn).set_axis(submission.index)
        target = ceiling_points(scale, submission[column])
        lowered = (target < earlier["points"]).fillna(False)
        values = {
            "target": text_column(submission[column], submission.index),
            "previous": earlier["text"],
        }
        found.append(_pupil_findings(pupils, lowered, "TARGET_LOWERED", subject, values))
    return found


# ---------------------------------------------------------------------------------------------
# School level


def school_percentages(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame,
    thresholds: Mapping[str, Mapping[str, float]],
    derived: Mapping[str, pd.Series] | None = None,
) -> dict[str, float]:
    """% targeted at each threshold and the % the benchmark implies, per subject.

    SPEC §7: the denominator is every pupil on roll; the same figures for pupils with a prior
    are given too. The benchmark-implied % is the mean chance (`<subject>_chance_<threshold>`)
    of reaching the threshold. `thresholds[subject]` maps a threshold name to the lowest
    target points that meet it. Keys: `<subject> <threshold> targeted` (on roll), `... benchmark`,
    `... difference`, and the `... (with prior)` variants. Worked out on numpy arrays (an LA
    batch calls this once a school): the same sums, in the same order, as pandas makes.
    """
    on_roll = len(submission)
    figures: dict[str, float] = {}
    for subject in subjects:
        target = _derived(
            derived,
            f"{subject} target points",
            lambda subject=subject: target_points(scale, submission[f"{subject}_target"]),
        ).to_numpy(dtype="float64", na_value=np.nan)
        for name, lowest in thresholds.get(subject, {}).items():
            chance_column = f"{subject}_chance_{name}"
            if chance_column not in expected:
                continue
            chance = pd.to_numeric(expected[chance_column], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            has_prior = ~np.isnan(chance)
            meets = target >= lowest  # a target that is not a grade (NaN) meets nothing
            key = f"{subject} {name}"
            with_prior = int(has_prior.sum())
            figures[f"{key} targeted"] = meets.sum() / on_roll if on_roll else np.nan
            figures[f"{key} benchmark"] = (
                np.where(has_prior, chance, 0.0).sum() / on_roll if on_roll else np.nan
            )
            figures[f"{key} difference"] = figures[f"{key} targeted"] - figures[f"{key} benchmark"]
            figures[f"{key} targeted (with prior)"] = (
                meets[has_prior].sum() / with_prior if with_prior else np.nan
            )
            figures[f"{key} benchmark (with prior)"] = (
                chance[has_prior].mean() if with_prior else np.nan
            )
    return {k: float(v) for k, v in figures.items()}


def school_below_benchmark(
    percentages: Mapping[str, float],
    benchmark: str,
    key_threshold: str | None = None,
    data: PolicyData | None = None,
) -> list[dict[str, object]]:
    """BELOW_BENCHMARK for a school: fewer pupils with a prior targeted at a threshold than the
    benchmark's rates for their priors imply (compared on pupils with a prior, like for like).

    A challenge at the policy's key threshold (the statutory target, e.g. level 4+), which
    set-targets' quotas always meet; a warning at the others (e.g. level 5+), where the
    policies set no quota. Without a key threshold every threshold is a challenge."""
    found = []
    for key, targeted in percentages.items():
        if not key.endswith(" targeted (with prior)"):
            continue
        base = key[: -len(" targeted (with prior)")]
        implied = percentages[f"{base} benchmark (with prior)"]
        # Rounded to a tenth of a percent: a quota of ceil(rate × pupils) always passes.
        if np.isnan(targeted) or round(targeted, 3) >= round(implied, 3):
            continue
        subject, threshold = base.split(" ", 1)
        message = findings.message(
            "BELOW_BENCHMARK",
            variant="school",
            subject=subject,
            targeted=f"{targeted:.0%}",
            threshold=threshold,
            implied=f"{implied:.0%}",
            benchmark=benchmark_words(data, benchmark, subject),
        )
        key = key_threshold is None or threshold == key_threshold
        found.append(
            _school_finding(
                "BELOW_BENCHMARK",
                str(message),
                subject=subject,
                severity="challenge" if key else "warning",
            )
        )
    return found


def progress8_below_zero(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame,
    benchmark: str,
) -> list[dict[str, object]]:
    """BELOW_BENCHMARK (challenge) for a ks4 school whose submitted targets add up to a
    Progress 8 below 0 (issue 15): the targets ask less progress than pupils with the same KS2
    results make nationally. Only where the engine worked out Progress 8 of targets."""
    if "progress8_of_targets" not in expected or "ks2_average_scaled_score" not in expected:
        return []
    from targetkit.pipeline.gcse_targets import submission_progress8

    figures = submission_progress8(submission, subjects, scale, expected)
    if figures is None or not (figures["progress8"] < 0):
        return []
    message = findings.message(
        "BELOW_BENCHMARK",
        variant="progress8",
        progress8=f"{figures['progress8']:+.2f}",
        attainment8=f"{figures['attainment8']:.1f}",
        pupils=int(figures["pupils"]),
        benchmark=benchmark,
    )
    finding = _school_finding(
        "BELOW_BENCHMARK", str(message), subject="progress8", severity="challenge"
    )
    return [finding]


def check_school(
    submission: pd.DataFrame,
    *,
    scale: Scale,
    expected: pd.DataFrame | None = None,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    benchmark: str = "top25",
    prior_columns: Mapping[str, str] | None = None,
    previous_targets: pd.DataFrame | None = None,
    previous_results: pd.DataFrame | None = None,
    subjects: Sequence[str] | None = None,
    key_threshold: str | None = None,
    data: PolicyData | None = None,
) -> SchoolCheck:
    """Every check on one school's submission; findings in a stable order (pupil rows in input
    order within each code and subject, then school-level findings).

    `expected`: `compute_targets(...).pupils` for the same rows (None: the checks against the
    policy and the benchmark are skipped). `data`: the loaded policy, its conversion table and
    prior scale (None: UNREALISTIC_TARGET is skipped and BELOW_PREVIOUS_RESULTS does not
    compare the cohorts' priors). Adds nothing to `submission`.
    """
    subjects = list(subjects) if subjects is not None else target_subjects(submission)
    pupil_level = pupil_checks(
        submission,
        _identity(submission),
        subjects=subjects,
        scale=scale,
        expected=expected,
        benchmark=benchmark,
        prior_columns=prior_columns,
        previous_targets=previous_targets,
        data=data,
    )
    school_level, percentages = school_checks(
        submission,
        subjects=subjects,
        scale=scale,
        expected=expected,
        thresholds=thresholds,
        benchmark=benchmark,
        previous_results=previous_results,
        key_threshold=key_threshold,
        data=data,
    )
    return _school_result(len(submission), pupil_level, school_level, percentages)


def check_schools(
    submissions: Sequence[pd.DataFrame],
    *,
    scale: Scale,
    expected: Sequence[pd.DataFrame] | None = None,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    benchmark: str = "top25",
    prior_columns: Mapping[str, str] | None = None,
    previous_targets: pd.DataFrame | None = None,
    previous_results: Sequence[pd.DataFrame | None] | None = None,
    subjects: Sequence[str],
    key_threshold: str | None = None,
    data: PolicyData | None = None,
) -> list[SchoolCheck]:
    """`check_school` for many schools checked under the same rules, exactly as one by one.

    The pupil-level checks look at each pupil on their own, so they run once over all the
    submissions stacked (a few pandas calls instead of a few per school: an LA batch spends
    most of its time in per-call overhead otherwise); their findings are then split back by
    school, keeping each school's order. School-level checks (groups, percentages) stay per
    school. `expected` and `previous_results`: one per submission, in the same order.
    """
    if not submissions:
        return []
    sizes = [len(s) for s in submissions]
    school_key = np.repeat(np.arange(len(submissions)), sizes)
    together = pd.concat(submissions, ignore_index=True)
    pupils = _identity(together).set_axis(np.concatenate([s.index.to_numpy() for s in submissions]))
    pupils["school_key"] = school_key
    expected_together = (
        pd.concat(expected, ignore_index=True).set_axis(together.index)
        if expected is not None
        else None
    )
    stacked = pupil_checks(
        together,
        pupils,
        subjects=subjects,
        scale=scale,
        expected=expected_together,
        benchmark=benchmark,
        prior_columns=prior_columns,
        previous_targets=previous_targets,
        data=data,
    )
    derived = derived_columns(together, subjects, scale, expected_together, school_key)
    groups = stacked_group_checks(
        submissions, school_key, subjects, derived, expectations=expected is not None
    )
    ends = np.cumsum(sizes)
    school_level: list[dict[str, object]] = []
    figures: list[dict[str, float]] = []
    for position, submission in enumerate(submissions):
        start, stop = ends[position] - sizes[position], ends[position]
        own_derived = _SchoolRows(derived, start, stop, submission.index)
        own, percentages = school_checks(
            submission,
            subjects=subjects,
            scale=scale,
            expected=expected[position] if expected is not None else None,
            thresholds=thresholds,
            benchmark=benchmark,
            previous_results=previous_results[position] if previous_results else None,
            key_threshold=key_threshold,
            derived=own_derived,
            data=data,
            groups=(groups.expectations[position], groups.small[position]),
        )
        school_level += [{**finding, "school_key": position} for finding in own]
        figures.append(percentages)
    # Pupil-level findings first, then school-level ones; the stable groupby keeps that order
    # (and each block's row order) within every school, as `check_school` lists them.
    frames = [frame for frame in stacked if len(frame)]
    if school_level:
        frames.append(pd.DataFrame(school_level))
    by_school: dict[int, pd.DataFrame] = {}
    if frames:
        found = pd.concat(frames, ignore_index=True)
        keys = found.pop("school_key").to_numpy(dtype="int64")
        found = found.astype(object).where(found.notna(), None)
        by_school = {
            int(key): rows.reset_index(drop=True) for key, rows in found.groupby(keys, sort=True)
        }
    results = []
    for position, submission in enumerate(submissions):
        own_found = by_school.get(position)
        if own_found is None:
            own_found = pd.DataFrame(columns=[c for c in FINDING_COLUMNS if c not in NO_SCHOOL])
        severity = own_found["severity"]
        summary: dict[str, object] = {
            "pupils": len(submission),
            **figures[position],
            "challenges": int((severity == "challenge").sum()),
            "warnings": int((severity == "warning").sum()),
        }
        results.append(SchoolCheck(own_found, summary))
    return results


class _SchoolRows(Mapping[str, pd.Series]):
    """One school's rows of the stacked `derived_columns`, each sliced when first read: with
    its group checks stacked, a school's own checks read a few of the columns, not all."""

    def __init__(self, derived: Mapping[str, pd.Series], start: int, stop: int, index: pd.Index):
        self._derived, self._rows, self._index = derived, slice(start, stop), index
        self._sliced: dict[str, pd.Series] = {}

    def __getitem__(self, key: str) -> pd.Series:
        if key not in self._sliced:
            self._sliced[key] = self._derived[key].iloc[self._rows].set_axis(self._index)
        return self._sliced[key]

    def __contains__(self, key: object) -> bool:
        return key in self._derived

    def __iter__(self) -> Iterator[str]:
        return iter(self._derived)

    def __len__(self) -> int:
        return len(self._derived)


def pupil_checks(
    submission: pd.DataFrame,
    pupils: pd.DataFrame,
    *,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame | None,
    benchmark: str,
    prior_columns: Mapping[str, str] | None,
    previous_targets: pd.DataFrame | None,
    data: PolicyData | None = None,
) -> list[pd.DataFrame]:
    """The checks that look at one pupil at a time, one frame per code and subject, in the
    order findings are listed. `pupils`: `_identity(submission)` (any extra column of it, such
    as a school key, is carried into the findings)."""
    found: list[pd.DataFrame] = missing_targets(submission, subjects, pupils, expected)
    found += invalid_targets(submission, subjects, scale, pupils)
    if expected is not None:
        found += below_expected(
            submission, subjects, scale, expected, pupils, benchmark=benchmark, data=data
        )
    found += below_previous_best(submission, subjects, scale, pupils, prior_columns)
    if previous_targets is not None:
        found += lowered_targets(submission, subjects, scale, pupils, previous_targets)
    if expected is not None and data is not None:
        found += unrealistic_targets(
            submission, subjects, scale, expected, pupils, data=data, benchmark=benchmark
        )
    return found


def school_checks(
    submission: pd.DataFrame,
    *,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame | None,
    thresholds: Mapping[str, Mapping[str, float]] | None,
    benchmark: str,
    previous_results: pd.DataFrame | None,
    key_threshold: str | None,
    derived: Mapping[str, pd.Series] | None = None,
    data: PolicyData | None = None,
    groups: tuple[list[dict[str, object]], list[dict[str, object]]] | None = None,
) -> tuple[list[dict[str, object]], dict[str, float]]:
    """The checks of a school as a whole (groups, percentages): its findings and figures.
    `groups`: its GROUP_EXPECTATION_LOWER and SMALL_GROUP findings, already worked out for a
    stack of schools (`stacked_group_checks`), with `derived`, this school's slice of that
    stack's `derived_columns`. Without `groups` both are worked out here, as a stack of one
    school (the group rule lives in `stacked_group_checks` alone), and `derived` is not read."""
    if groups is None:
        groups, derived = _one_school_groups(submission, subjects, scale, expected)
    masks = group_masks(submission, derived) if previous_results is not None else {}
    school_level: list[dict[str, object]] = []
    percentages: dict[str, float] = {}
    if expected is not None:
        school_level += groups[0]
        percentages = school_percentages(
            submission, subjects, scale, expected, thresholds or {}, derived
        )
        school_level += school_below_benchmark(percentages, benchmark, key_threshold, data)
        school_level += progress8_below_zero(submission, subjects, scale, expected, benchmark)
    if previous_results is not None:
        widening = gap_widening(submission, subjects, scale, masks, previous_results)
        school_level += widening
        school_level += gap_not_narrowing(
            submission,
            subjects,
            scale,
            masks,
            previous_results,
            thresholds or {},
            key_threshold,
            widening,
        )
        school_level += below_previous_results(
            submission,
            subjects,
            scale,
            previous_results,
            percentages,
            thresholds or {},
            key_threshold,
            data,
        )
    school_level += groups[1]
    return school_level, percentages


def _one_school_groups(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame | None,
) -> tuple[tuple[list[dict[str, object]], list[dict[str, object]]], dict[str, pd.Series]]:
    """One school's GROUP_EXPECTATION_LOWER and SMALL_GROUP findings (`stacked_group_checks`
    on a stack of this school alone), and its `derived_columns` for the other checks."""
    school_key = np.zeros(len(submission), dtype="int64")
    derived = derived_columns(submission, subjects, scale, expected, school_key)
    stacked = stacked_group_checks(
        [submission], school_key, subjects, derived, expectations=expected is not None
    )
    return (stacked.expectations[0], stacked.small[0]), derived


def _school_result(
    pupils_on_roll: int,
    pupil_level: Sequence[pd.DataFrame],
    school_level: Sequence[dict[str, object]],
    percentages: Mapping[str, float],
) -> SchoolCheck:
    """One school's findings (pupil level, then school level) and its LA summary row."""
    frames = [f for f in pupil_level if len(f)]
    if school_level:
        frames.append(pd.DataFrame(list(school_level)))
    result = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[c for c in FINDING_COLUMNS if c not in NO_SCHOOL])
    )
    result = result.astype(object).where(result.notna(), None)
    severities = result["severity"].value_counts()
    summary: dict[str, object] = {
        "pupils": pupils_on_roll,
        **percentages,
        "challenges": int(severities.get("challenge", 0)),
        "warnings": int(severities.get("warning", 0)),
    }
    return SchoolCheck(result, summary)


def rag(challenges: int, warnings: int) -> str:
    """Red: a challenge to discuss; amber: warnings only; green: nothing to challenge."""
    if challenges:
        return "red"
    return "amber" if warnings else "green"


# ---------------------------------------------------------------------------------------------
# Realism, last year's results and gaps at the key threshold (issue 14)


@dataclass(frozen=True)
class PolicyData:
    """The loaded data the realism and previous-results checks need, loaded by the caller (the
    checks open no file): the policy, its conversion table and its prior scale."""

    policy: Policy
    table: ConversionTable | None = None
    prior_scale: Scale | None = None


def _rate_of_target(
    table: ConversionTable,
    benchmark: str,
    subject: str,
    scale: Scale,
    prior: pd.Series,
    target: pd.Series,
) -> pd.Series:
    """The benchmark's chance that a pupil with this prior reaches this target, per pupil (NaN
    where the table has no such prior or cannot name the target). One table lookup per
    distinct target, not per pupil. NC targets count by their level digit (SPEC §7): the
    tables' outcomes are whole levels, so "5a" is reached by every level-5 outcome.
    `benchmark`: one the table has for the subject (`ConversionTable.benchmark_for`)."""
    rates = pd.Series(np.nan, index=target.index, dtype="float64")
    if not table.has(benchmark, subject):
        return rates
    used = benchmark
    bands = scale.band_of
    for grade in target.dropna().unique():
        threshold = str(bands[grade]) if scale.name == "nc" and grade in bands else str(grade)
        wanted = target.eq(grade).fillna(False).to_numpy(dtype=bool)
        try:
            chance = table.chance(used, subject, prior[wanted], threshold)
        except ValueError:  # a grade the table's outcomes cannot place: no rate to quote
            continue
        rates[wanted] = chance.to_numpy(dtype="float64")
    return rates


def benchmark_words(data: PolicyData | None, benchmark: str, subject: str) -> str:
    """The schools whose figures a subject's expectations come from, for a message ("top25
    schools", or "schools nationally" where the policy's table has no `benchmark` rows for the
    subject: the DfE publishes no top-25% KS2-to-KS4 figures, and set-targets falls back to
    national, saying so once in its notes)."""
    used = benchmark
    if data is not None and data.table is not None:
        used = data.table.benchmark_for(benchmark, data.policy.table_subject(subject))
    return "schools nationally" if used == "national" else f"{used} schools"


def _canonical_grade(scale: Scale, values: pd.Series) -> pd.Series:
    """Each target as its grade name on the scale ("4" typed as 4.0 → "4"); None when not one."""

    def name(value: object) -> str | None:
        text = _clean_text(value)
        if text is None:
            return None
        kind, grade = scale.classify(text)
        return grade if kind == "grade" else None

    return pd.Series(_per_value(values, name, None), index=values.index, dtype=object)


def unrealistic_targets(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    expected: pd.DataFrame,
    pupils: pd.DataFrame,
    *,
    data: PolicyData,
    benchmark: str,
) -> list[pd.DataFrame]:
    """UNREALISTIC_TARGET: a target that fewer than the policy's `unrealistic.below_rate` of the
    benchmark's pupils with the same prior reach (seed 000: the SIP challenges targets that are
    "unambitious or unrealistic").

    Never for a target at or below set-targets' own suggestion (the policy's rules, quotas and
    floors, and a RAISED_FASTER_PROGRESS target, are the engine's to give), an EHC plan target
    that stands, or when the pupil's latest attainment plus `yearly_progress` points a year to
    the end of the final year (the current year counting whole) reaches it. Needs `expected`
    with `<subject>_prior`, `<subject>_suggested` (and `flags`).
    """
    rule, table = data.policy.unrealistic, data.table
    if rule is None or table is None:
        return []
    index = submission.index
    year_group = pd.to_numeric(submission.get("year_group"), errors="coerce")
    if not isinstance(year_group, pd.Series):  # no year group column
        year_group = pd.Series(np.nan, index=index)
    years_left = (data.policy.final_year - year_group + 1).clip(lower=1).fillna(1)
    flags = text_column(expected.get("flags"), index).fillna("")
    faster = flags.str.contains("RAISED_FASTER_PROGRESS", regex=False)
    found = []
    for subject in subjects:
        if f"{subject}_suggested" not in expected or f"{subject}_prior" not in expected:
            continue
        target = ceiling_points(scale, submission[f"{subject}_target"])
        above = (target > ceiling_points(scale, expected[f"{subject}_suggested"])).fillna(False)
        plan = _is_plan_target(submission, subject, scale, target)
        candidates = above & ~plan & ~faster
        if not candidates.any():
            continue
        prior = text_column(expected[f"{subject}_prior"], index)
        grade = _canonical_grade(scale, submission[f"{subject}_target"]).where(candidates)
        table_subject = data.policy.table_subject(subject)
        used = table.benchmark_for(benchmark, table_subject)
        rate = _rate_of_target(table, used, table_subject, scale, prior, grade)
        latest = latest_attainment(submission, subject, scale)
        reachable = latest["points"] + rule.yearly_progress * years_left
        realistic = (reachable >= floor_points(scale, submission[f"{subject}_target"])).fillna(
            False
        )
        unrealistic = candidates & (rate < rule.below_rate).fillna(False) & ~realistic
        basis = (table.basis(used, table_subject) or "").split(":")[0]
        values = {
            "target": text_column(submission[f"{subject}_target"], index),
            "prior": prior,
            "rate": rate,
            "limit": f"{rule.below_rate:.0%}",
            "benchmark": used,
            "basis": basis or "unlabelled",
            "latest": latest["grade"].fillna("none"),
        }
        found.append(_pupil_findings(pupils, unrealistic, "UNREALISTIC_TARGET", subject, values))
        if rule.pscales_steps_per_year and data.policy.pscales is not None:
            target = submission[f"{subject}_target"]
            steps, allowed, reachable = _pscale_steps(
                data.policy, scale, prior, target, latest, years_left
            )
            beyond = candidates & (steps > allowed).fillna(False) & ~reachable
            p_values = {
                **values,
                "steps": steps.astype("Int64"),
                "allowed": allowed,
                "limit": f"{rule.pscales_steps_per_year:g}",
            }
            found.append(
                _pupil_findings(
                    pupils, beyond, "UNREALISTIC_TARGET", subject, p_values, variant="pscales"
                )
            )
    return found


def _pscale_steps(
    policy: Policy,
    scale: Scale,
    prior: pd.Series,
    target_values: pd.Series,
    latest: pd.DataFrame,
    years_left: pd.Series,
) -> tuple[pd.Series, float, pd.Series]:
    """For pupils whose prior is on the P scales (the tables have no row for them): the steps
    up the scale's order (P1i … P8, W, 1c …) from the prior to the target's lowest grade, the
    steps the policy's `unrealistic.pscales_steps_per_year` allows over the key stage, and
    whether the latest attainment plus as many steps a year to the end of the final year
    reaches the target (issue 14). Steps are NaN for every other pupil."""
    assert policy.unrealistic is not None and policy.pscales is not None
    per_year = policy.unrealistic.pscales_steps_per_year or 0.0

    def position(points: pd.Series) -> pd.Series:
        return pd.Series(scale.grade_positions(points), index=points.index)

    on_pscales = prior.isin(policy.pscales.grades).fillna(False).to_numpy(dtype=bool)
    target = position(floor_points(scale, target_values))
    start = position(prior.map(scale.points_of).astype("float64"))
    steps = (target - start).where(on_pscales)
    allowed = per_year * (policy.final_year - policy.prior_year)
    reachable = (position(latest["points"]) + per_year * years_left >= target).fillna(False)
    return steps, allowed, reachable


def prior_points(frame: pd.DataFrame, subject: str, data: PolicyData) -> pd.Series:
    """Each pupil's prior attainment in points on the policy's prior scale: `<subject>_<prior
    point>` (KS1 levels for ks2), or the mean of the KS2 scaled scores the policy averages
    (ks4); NaN without one. For comparing two cohorts' starting points."""
    index = frame.index
    empty = pd.Series(np.nan, index=index, dtype="float64")
    policy, scale = data.policy, data.prior_scale
    if scale is None:
        return empty
    if policy.prior_scaled_scores:  # the engine's KS2 prior, nominal scores included
        from targetkit.pipeline.ks2_prior import ks2_prior

        return ks2_prior(frame, policy, scale).average
    column = f"{subject}_{policy.prior_point}"
    return scale.parse(frame[column]).points if column in frame else empty


def _cohort_comparison(now: float, before: float, label: str) -> str:
    """How this year's cohort's mean prior compares with last year's, in words."""
    if np.isnan(now) or np.isnan(before):
        return f"the two cohorts' {label} prior attainment cannot be compared (not in both files)"
    if round(now, 1) < round(before, 1):
        words = "a weaker cohort on entry"
    elif round(now, 1) > round(before, 1):
        words = "a stronger cohort on entry"
    else:
        words = "the same prior attainment on entry"
    return f"mean {label} prior {now:.1f} points this year against {before:.1f} last year: {words}"


def below_previous_results(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    previous_results: pd.DataFrame,
    percentages: Mapping[str, float],
    thresholds: Mapping[str, Mapping[str, float]],
    key_threshold: str | None,
    data: PolicyData | None,
) -> list[dict[str, object]]:
    """BELOW_PREVIOUS_RESULTS: the school's share targeted at the key threshold is below the
    share of last year's cohort who reached it (seeds/002: "Be ambitious - aim to improve on
    previous best"). Both shares count every pupil on roll (SPEC §7). The message compares the
    two cohorts' mean prior points, so a weaker cohort is seen as such."""
    if key_threshold is None:
        return []
    found: list[dict[str, object]] = []
    for subject in subjects:
        column = result_column(previous_results, subject)
        lowest = thresholds.get(subject, {}).get(key_threshold)
        targeted = percentages.get(f"{subject} {key_threshold} targeted")
        if column is None or lowest is None or targeted is None or not len(previous_results):
            continue
        reached = target_points(scale, previous_results[column]) >= lowest
        before = float(reached.sum()) / len(previous_results)
        if round(targeted, 3) >= round(before, 3):
            continue
        comparison = "prior attainment not compared (no policy)"
        if data is not None:
            label = data.policy.prior_point.upper()
            comparison = _cohort_comparison(
                float(prior_points(submission, subject, data).mean()),
                float(prior_points(previous_results, subject, data).mean()),
                label,
            )
        message = findings.message(
            "BELOW_PREVIOUS_RESULTS",
            subject=subject,
            targeted=targeted,
            threshold=key_threshold.replace("plus", "+"),
            previous=before,
            comparison=comparison,
        )
        found.append(_school_finding("BELOW_PREVIOUS_RESULTS", str(message), subject=subject))
    return found


def gap_not_narrowing(
    submission: pd.DataFrame,
    subjects: Sequence[str],
    scale: Scale,
    masks: Mapping[str, pd.Series],
    previous_results: pd.DataFrame,
    thresholds: Mapping[str, Mapping[str, float]],
    key_threshold: str | None,
    widening: Sequence[Mapping[str, object]] = (),
) -> list[dict[str, object]]:
    """GAP_NOT_NARROWING: a group's gap at the key threshold in this year's targets (the share
    of other pupils targeted at it minus the group's share) is no narrower than the same gap in
    last year's results (seed 000: targets "focused on narrowing achievement gaps"; seeds/002:
    "we aim to reduce gaps in attainment so that performance converges").

    Only where a gap is targeted (above zero); a group and subject already found
    GROUP_GAP_WIDENING (wider in mean points, in `widening`) is not reported twice. Both the
    group and the others need 5+ pupils in both years, as for GROUP_GAP_WIDENING.
    """
    if key_threshold is None:
        return []
    previous_masks = group_masks(previous_results)
    already = {(f["group"], f["subject"]) for f in widening}
    found: list[dict[str, object]] = []
    for subject in subjects:
        column = result_column(previous_results, subject)
        lowest = thresholds.get(subject, {}).get(key_threshold)
        if column is None or lowest is None:
            continue
        target = target_points(scale, submission[f"{subject}_target"])
        result = target_points(scale, previous_results[column])
        meets, reached = target >= lowest, result >= lowest
        for label, mask in masks.items():
            if label not in previous_masks or (label, subject) in already:
                continue
            before = previous_masks[label]
            if not _both_years_large(mask, target, before, result):
                continue
            known, known_before = target.notna(), result.notna()
            gap = meets[~mask & known].mean() - meets[mask & known].mean()
            previous_gap = (
                reached[~before & known_before].mean() - reached[before & known_before].mean()
            )
            if gap > 1e-9 and gap >= previous_gap - 1e-9:
                message = findings.message(
                    "GAP_NOT_NARROWING",
                    group=label,
                    subject=subject,
                    threshold=key_threshold.replace("plus", "+"),
                    gap=gap * 100,
                    previous_gap=previous_gap * 100,
                )
                found.append(
                    _school_finding("GAP_NOT_NARROWING", str(message), subject=subject, group=label)
                )
    return found


def subject_gaps(
    schools: pd.DataFrame,
    pairs_by_policy: Mapping[str, Sequence[tuple[str, str]]],
    key_by_policy: Mapping[str, str | None],
) -> pd.DataFrame:
    """Per school, the gap between two subjects' shares targeted at the key threshold (maths vs
    English, reading vs writing: seed 000, "the gap between reading and writing at KS2 is still
    large"). `schools`: the LA summary rows (`school`, `file`, `policy`, `<subject> <threshold>
    targeted`); pairs and key threshold per policy name. A table, not a finding."""
    columns = ["school", "file", "subjects", "threshold", "first", "second", "gap"]
    rows = []
    for policy, rows_of_policy in schools.groupby("policy", sort=False) if len(schools) else []:
        key = key_by_policy.get(str(policy))
        for first, second in pairs_by_policy.get(str(policy), ()):
            a, b = f"{first} {key} targeted", f"{second} {key} targeted"
            if key is None or a not in rows_of_policy or b not in rows_of_policy:
                continue
            part = pd.DataFrame(
                {
                    "school": rows_of_policy["school"],
                    "file": rows_of_policy["file"],
                    "subjects": f"{first} vs {second}",
                    "threshold": key.replace("plus", "+"),
                    "first": pd.to_numeric(rows_of_policy[a], errors="coerce"),
                    "second": pd.to_numeric(rows_of_policy[b], errors="coerce"),
                }
            )
            part["gap"] = part["first"] - part["second"]
            rows.append(part)
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.concat(rows).sort_index(kind="stable")  # each school's pairs together
    return table.reset_index(drop=True)[columns]
