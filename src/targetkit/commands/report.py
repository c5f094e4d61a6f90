"""`report` as a library call: read a steps tracking sheet, compute progress, write one workbook.

Reads with `io.read_table`, computes with `pipeline.reporting` / `pipeline.steps`, writes with
`workbook.write_workbook`. Targets come from a targets workbook (`--targets`, matched by UPN)
or, without one, from the steps policy via `steps_targets`; the report says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from targetkit import console
from targetkit.academic_year import parse_academic_year
from targetkit.columns import (
    canonical_columns,
    header_key,
    parse_assessment,
    unambiguous_columns,
)
from targetkit.errors import InputError, OutputError, UsageError
from targetkit.findings import SEVERITY_RANK
from targetkit.io import check_output, read_table
from targetkit.pipeline import reporting as rp
from targetkit.pipeline.steps import HALF_TERMS, half_terms_elapsed
from targetkit.pipeline.targets import baseline_year
from targetkit.policies import Policy
from targetkit.presentation.report import write_report_workbook
from targetkit.scales import Scale, load_scale
from targetkit.upn import upn_key
from targetkit.wording import counted

BASELINE = "baseline"


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class Tracking:
    """A tracking sheet made ready: canonical pupil columns and points per subject and drop."""

    frame: pd.DataFrame  # the input as read (index: Excel row numbers)
    pupils: pd.DataFrame  # canonical pupil columns, plus `pupil` (a label) and `year_group`
    points: dict[str, pd.DataFrame]  # subject -> columns baseline, aut1 … (only drops used)
    columns: dict[str, dict[str, str]]  # subject -> {baseline/aut1…: original header}
    academic_year: int
    year_derived: str
    term: str
    term_chosen: str
    skipped_subjects: list[str] = field(default_factory=list)
    scale: Scale | None = None  # the scale the grades are on


def read_tracking(
    path: Path,
    *,
    sheet: str | None = None,
    term: str = "auto",
    academic_year: str | None = None,
    scale: Scale | None = None,
) -> Tracking:
    """Read a tracking sheet: baseline `<subject>_sum2_<year>` and drops `<subject>_aut1` ….

    The grades may be on any tracked scale (`rp.TRACKED_SCALES`): `scale`, else the one every
    value fits. Year 1 may have `<subject>_eyfs` instead of a baseline. Unknown grades stop the
    run with the file, row, column and the nearest grades (exit 2); codes such as A (absent)
    are read as no assessment.
    """
    table = read_table(path, sheet=sheet)
    frame = table.frame
    mapping = unambiguous_columns(frame.columns, path)
    by_name = {canonical: original for original, canonical in mapping.items()}
    if frame.empty:
        raise InputError("the tracking sheet has no pupil rows", file=path)
    if "year_group" not in by_name:
        raise InputError(
            "no year group column", file=path, hint="add a 'Year Group' column (e.g. 4 or Y4)"
        )
    assessments = {
        original: parsed
        for original, canonical in mapping.items()
        if (parsed := parse_assessment(canonical)) and parsed[1] in (*HALF_TERMS,)
    }
    eyfs = {p[0] for c in mapping.values() if (p := parse_assessment(c)) and p[1] == "eyfs"}
    from_baseline = baseline_year(mapping.values())
    if academic_year is not None:
        start = parse_academic_year(academic_year)
        year_derived = f"given: {start}/{(start + 1) % 100:02d}"
    elif from_baseline is not None:
        start = from_baseline
        year_derived = (
            f"{start}/{(start + 1) % 100:02d}, from the baseline columns (summer {start})"
        )
    else:
        start = parse_academic_year(None)
        year_derived = f"{start}/{(start + 1) % 100:02d}, the academic year in progress today"

    columns: dict[str, dict[str, str]] = {}
    for original, (subject, point, year) in assessments.items():
        if point == "sum2" and year == start:
            slot = BASELINE
        elif year is None or year == (start if point.startswith("aut") else start + 1):
            slot = point
        else:
            continue  # another year's drop
        found = columns.setdefault(subject, {})
        if slot in found:
            raise InputError(
                f"columns {found[slot]!r} and {original!r} are both {subject} {slot}",
                file=path,
                hint="remove one of them",
            )
        found[slot] = original
    has_start = {s for s, found in columns.items() if BASELINE in found or s in eyfs}
    skipped = sorted(set(columns) - has_start)
    columns = {s: found for s, found in columns.items() if s in has_start}
    if not columns:
        raise InputError(
            f"no baseline column: expected last summer's steps as <subject>_sum2_{start} "
            "(e.g. maths_sum2_{start})".replace("{start}", str(start)),
            file=path,
            hint="or give the academic year with --academic-year",
        )

    if scale is None:
        years = pd.to_numeric(
            frame[by_name["year_group"]].astype("string").str.extract(r"(\d+)", expand=False),
            errors="coerce",
        )
        values = [frame[c] for found in columns.values() for c in found.values()]
        scale = _tracked_scale(values, set(years.dropna().astype(int)))
        _one_scale_a_sheet(frame, columns, scale, path)
    points: dict[str, pd.DataFrame] = {}
    for subject, found in columns.items():
        parts = {BASELINE: pd.Series(np.nan, index=frame.index)}
        for slot in (BASELINE, *HALF_TERMS):
            if slot in found:
                parts[slot] = _points(scale, frame[found[slot]], path, found[slot])
        points[subject] = pd.DataFrame(parts, index=frame.index)

    made = [t for t in HALF_TERMS if any(t in p and p[t].notna().any() for p in points.values())]
    if term == "auto":
        if not made:
            raise InputError(
                "no data drop has any grades yet (only the baseline)",
                file=path,
                hint="run the report after the first drop (aut1)",
            )
        chosen, why = made[-1], "the latest drop with data"
    else:
        chosen = term.lower()
        if chosen not in HALF_TERMS:
            raise UsageError(f"--term {term!r} is not a data drop", hint="use auto or aut1..sum2")
        if chosen not in made:
            raise InputError(f"no grades for {chosen} in any subject", file=path)
        why = "given with --term"
    keep = [BASELINE, *HALF_TERMS[: half_terms_elapsed(chosen)]]
    for subject in points:
        points[subject] = points[subject][[c for c in keep if c in points[subject].columns]]

    pupils = frame.rename(columns=mapping)[[c for c in by_name if c in set(mapping.values())]]
    pupils = pupils.loc[:, ~pupils.columns.duplicated()]  # copy-on-write: no second copy
    year_text = pupils["year_group"].astype("string").str.extract(r"(\d+)", expand=False)
    pupils["year_group"] = pd.to_numeric(year_text, errors="coerce").astype("Int64")
    pupils["pupil"] = _labels(pupils)
    return Tracking(
        frame, pupils, points, columns, start, year_derived, chosen, why, skipped, scale
    )


def _tracked_scale(columns: list[pd.Series], year_groups: set[int]) -> Scale:
    """The scale the grades are on (`rp.choose_scale`), preferring the scales of the shipped
    policies for these year groups (digits in Year 10 are GCSE grades, in Year 4 NC levels)."""
    from targetkit.policies import load_policy, policy_names

    policies = [load_policy(name) for name in policy_names()]
    preferred = [p.target_scale for p in policies if year_groups & set(p.year_groups)]
    return rp.choose_scale(columns, [load_scale(n) for n in rp.TRACKED_SCALES], preferred)


# Scales a subject's grades may be on when the sheet's scale does not read them, for the error
# that says so: the tracked scales and Combined Science's double grades (no report scale yet)
_OTHER_SCALES = (*rp.TRACKED_SCALES, "gcse91_double")


def _one_scale_a_sheet(
    frame: pd.DataFrame, columns: dict[str, dict[str, str]], scale: Scale, path: Path
) -> None:
    """A report reads one scale a sheet (docs/report.md). Where a subject's grades all fit
    another scale (KS2 writing assessments beside scaled scores, Combined Science's double
    grades beside 9-1 grades), say so and what to do, rather than stop at its first value as
    if it were a typing slip; a subject with a slip among its grades gets the row's error."""
    for subject, found in columns.items():
        values = pd.concat([frame[c].astype(object) for c in found.values()]).drop_duplicates()
        if not scale.parse(values).unknown.any():
            continue
        for name in _OTHER_SCALES:
            other = load_scale(name)
            parsed = other.parse(values)
            if other is scale or parsed.unknown.any() or parsed.points.isna().all():
                continue
            hint = (
                "Combined Science's double grades are not tracked by report yet: leave its "
                "columns out of this sheet; set-targets and check-ambition read them"
                if name == "gcse91_double"
                else f"track {subject} on a sheet or file of its own, read with --sheet, "
                "and the other subjects on this one"
            )
            raise InputError(
                f"{subject} is on the scale {other.title!r} and the other subjects on "
                f"{scale.title!r}: a report reads one scale a sheet",
                file=path,
                column=next(iter(found.values())),
                hint=hint,
            )


def _points(scale: Scale, values: pd.Series, path: Path, column: str) -> pd.Series:
    parsed = scale.parse(values)
    if parsed.unknown.any():
        row = parsed.unknown.idxmax()
        nearest = ", ".join(scale.nearest(str(values[row])))
        kind = "a steps grade" if scale.name == "steps" else f"on the scale {scale.title!r}"
        raise InputError(
            f"{values[row]!r} is not {kind}",
            file=path,
            row=int(row),
            column=column,
            hint=f"did you mean {nearest}?"
            if nearest
            else f"use grades such as {', '.join(scale.grade_names[-3:])}",
        )
    return parsed.points


def _labels(pupils: pd.DataFrame) -> pd.Series:
    """`Forename Surname (UPN)` where the columns exist, else the input row."""
    parts = [pupils[c].astype("string").fillna("") for c in ("forename", "surname") if c in pupils]
    name = (parts[0] + " " + parts[1]).str.strip() if len(parts) == 2 else None
    if name is None and parts:
        name = parts[0]
    row = pd.Series([f"row {i}" for i in pupils.index], index=pupils.index, dtype="string")
    if "upn" in pupils:
        upn = pupils["upn"].astype("string").str.strip()
        who = upn.fillna(row)
        label = (name + " (" + who + ")").where(name != "", who) if name is not None else who
    else:
        label = name.where(name != "", row) if name is not None else row
    return label.astype("str")


def _pseudonymous_labels(pupils: pd.DataFrame, key: bytes) -> pd.Series:
    """With --pseudonymise, pupils are named by their UPN's pseudonym everywhere (else the row)."""
    from targetkit.privacy import pseudonymise

    rows = pd.Series([f"row {i}" for i in pupils.index], index=pupils.index, dtype="str")
    if "upn" not in pupils:
        return rows
    hidden = pseudonymise(pupils[["upn"]], key)["upn"]
    return hidden.astype("string").fillna(rows).astype("str")


def read_keyed_points(
    path: Path,
    wanted: dict[str, Sequence[str]],
    scale: Scale,
    *,
    sheet: str | None = None,
) -> tuple[dict[str, pd.Series], Path]:
    """Points per subject from a file keyed by UPN (targets or results), indexed by UPN.

    `wanted` maps a subject to the header keys that hold it, first match wins.
    """
    table = read_table(path, sheet=sheet)
    frame = table.frame
    keys = {header_key(c): c for c in frame.columns}
    mapping = canonical_columns(frame.columns)
    upn_column = next((o for o, c in mapping.items() if c == "upn"), None)
    if upn_column is None:
        raise InputError("no UPN column to match pupils by", file=path, hint="add a UPN column")
    upn = upn_key(frame[upn_column])
    repeated = upn.notna() & upn.duplicated(keep=False)
    if repeated.any():
        row = int(upn[repeated].index[1])
        raise InputError(
            f"UPN {upn[row]} appears more than once", file=path, row=row, column=upn_column
        )
    found: dict[str, pd.Series] = {}
    for subject, candidates in wanted.items():
        column = next((keys[k] for k in candidates if k in keys), None)
        if column is None:
            continue
        points = _points(scale, frame[column], path, column)
        found[subject] = pd.Series(points.to_numpy(), index=upn.to_numpy())[upn.notna().to_numpy()]
    return found, table.path


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class ReportOutcome:
    output: Path
    tracking: Tracking
    data: rp.ReportData
    targets_from: str
    findings: list[dict[str, Any]]
    counts: dict[str, int]
    # --pseudonymise: the columns replaced and the text columns left as they are (`privacy.
    # pseudonymisation`), for the summary and the About sheet; None without it
    pseudonymised: dict[str, list[str]] | None = None
    borderline: dict[str, pd.Series] = field(default_factory=dict)  # subject → BORDERLINE pupils

    def worst_severity(self) -> str | None:
        ranks = [SEVERITY_RANK[f["severity"]] for f in self.findings]
        if not ranks:
            return None
        return {v: k for k, v in SEVERITY_RANK.items()}[max(ranks)]

    def summary(self) -> dict[str, Any]:
        questions = self.data.questions
        answered = questions[questions["row"].notna()]
        return {
            "output": str(self.output),
            "pupils": len(self.tracking.frame),
            "year_groups": _year_groups(self.tracking.pupils),
            "term": self.tracking.term,
            "term_chosen": self.tracking.term_chosen,
            "academic_year": _year_text(self.tracking.academic_year),
            "targets_from": self.targets_from,
            "scale": self.tracking.scale.name if self.tracking.scale is not None else "steps",
            "subjects": list(self.data.progress),
            "at_expected": _at_expected(self.data.expectations, self.tracking.term),
            "counts": self.counts,
            "key_questions": [
                {
                    "question": number,
                    "text": text,
                    "count": int(answered.loc[answered["question"] == number, "pupil"].nunique()),
                    "pupils": answered.loc[answered["question"] == number, "pupil"]
                    .drop_duplicates()
                    .tolist(),
                }
                for number, text in rp.QUESTIONS.items()
            ],
            "pseudonymised": self.pseudonymised,
        }

    def finding_records(self) -> list[dict[str, Any]]:
        return self.findings

    def report_lines(self) -> list[str]:
        return [self.summary_line()]

    def summary_line(self) -> str:
        c = self.counts
        years = (
            ", ".join(f"Year {y}" for y in _year_groups(self.tracking.pupils)) or "no year group"
        )
        return (
            f"Wrote {self.output}: {counted(c['pupils'], 'pupil')} ({years}), {self.tracking.term} "
            f"({self.tracking.term_chosen}); {c['on_track_or_ahead']} of {c['pupil_subjects']} "
            f"pupil-subjects on track or ahead, {c['behind']} behind; {c['regressed']} regressed, "
            f"{c['stalled']} stalled, {c['not_on_track']} not on track; targets from "
            f"{self.targets_from}."
        )


def _at_expected(table: pd.DataFrame, term: str) -> dict[str, dict[str, float | int]]:
    """Per subject, all pupils at the term reported: pupils graded, at or above the age-related
    expectation, and the share (subjects without an expectation for the year are left out)."""
    mine = table[(table["group"] == "All pupils") & (table["drop"] == term)]
    return {
        row.subject: {"pupils": row.pupils, "at_expected": row.at_expected, "pct": row.pct}
        for row in mine.itertuples()
    }


def _year_text(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def _year_groups(pupils: pd.DataFrame) -> list[int]:
    return sorted(int(y) for y in pupils["year_group"].dropna().unique())


def default_name(pupils: pd.DataFrame, term: str) -> str:
    """`report-y4-spr2.xlsx`; several year groups: `report-y3-y4-spr2.xlsx`."""
    years = "-".join(f"y{y}" for y in _year_groups(pupils)) or "all"
    return f"report-{years}-{term}.xlsx"


NOT_FOLDER_SUFFIXES = (".csv", ".txt", ".tsv", ".xls", ".xlsm", ".xlsb", ".ods", ".pdf", ".json")


def output_folder(output: str | Path) -> Path | None:
    """The folder `-o` names, made if missing; None when it names the workbook itself.

    SPEC §8: a trailing slash, an existing folder, or a path that does not exist and has no
    `.xlsx` suffix is a folder (a cron job's `-o reports/` works on its first run). A missing
    path ending in another file type (`.csv`) is not: that is a mistake, refused later.
    """
    path = Path(output)
    folder_named = path.is_dir() or str(output).endswith(("/", "\\"))
    if not folder_named and (
        path.exists() or path.suffix.lower() in (".xlsx", *NOT_FOLDER_SUFFIXES)
    ):
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot make the output folder ({exc.strerror or exc})",
            file=path,
            hint="check the path, or create the folder first",
        ) from exc
    return path


def report_file(
    tracking_file: str | Path,
    *,
    targets: str | Path | None = None,
    output: str | Path | None = None,
    term: str = "auto",
    results: str | Path | None = None,
    policy: str | None = None,
    academic_year: str | None = None,
    settings: str | Path | None = None,
    sheet: str | None = None,
    force: bool = False,
    pseudonymise_key: bytes | None = None,
    show_small_groups: bool = False,
) -> ReportOutcome:
    """Read TRACKING (and targets / results), compute the report, write one workbook."""
    tracking_file = Path(tracking_file)
    inputs = [Path(p) for p in (tracking_file, targets, results) if p is not None]
    chosen_settings = rp.load_settings(settings)
    scale = _policy_scale(policy)
    folder = output_folder(output) if output is not None else None
    if output is not None:  # refuse an impossible output before any work
        early = folder / "report.xlsx" if folder is not None else Path(output)
        check_output(early, force=force or folder is not None, inputs=inputs)
    with console.step(f"Reading {tracking_file.name}"):
        tracking = read_tracking(
            tracking_file, sheet=sheet, term=term, academic_year=academic_year, scale=scale
        )
    if pseudonymise_key is not None:
        tracking.pupils["pupil"] = _pseudonymous_labels(tracking.pupils, pseudonymise_key)
    name = default_name(tracking.pupils, tracking.term)
    if output is None:
        out = tracking_file.with_name(name)
    else:
        out = folder / name if folder is not None else Path(output)
        if out.suffix.lower() != ".xlsx":
            raise UsageError("the report is a workbook: give -o a folder or a .xlsx file", file=out)
    check_output(out, force=force, inputs=inputs)

    # read everything
    scale = tracking.scale or load_scale("steps")
    subjects = list(tracking.points)
    policies = rp.policies_by_year(_year_groups(tracking.pupils), scale, _shipped(), _given(policy))
    given = _keyed_targets(Path(targets), subjects, scale) if targets is not None else None
    found = _results(Path(results), tracking, scale) if results is not None else None
    for what, read in (("targets", given), ("results", found)):
        if read is not None and "upn" not in tracking.pupils:
            raise InputError(f"the tracking sheet has no UPN column to match {what} by")
    # compute
    cohort = tracking.frame.rename(columns=canonical_columns(tracking.frame.columns))
    cohort = cohort.loc[:, ~cohort.columns.duplicated()]
    with console.step(f"Computing progress for {len(tracking.frame):,} pupils"):
        computed = rp.compute_report(
            rp.ReportInputs(
                points=tracking.points,
                pupils=tracking.pupils,
                frame=tracking.frame,
                cohort=cohort,
                academic_year=tracking.academic_year,
                scale=scale,
                settings=chosen_settings,
                policies=policies,
                expectations=rp.policy_expectations(_shipped(), scale),
                targets=given,
                targets_name=Path(targets).name if targets is not None else None,
                results=found,
            )
        )
    tracking.points = computed.points
    data, targets_from, missing_target = computed.data, computed.targets_from, computed.missing
    counts = rp.counts(len(tracking.frame), data)
    outcome = ReportOutcome(
        out, tracking, data, targets_from, [], counts, borderline=computed.borderline
    )
    if pseudonymise_key is not None:
        from targetkit.privacy import pseudonymisation

        outcome.pseudonymised = pseudonymisation(tracking.frame)
    write_report_workbook(
        outcome,
        tracking_file,
        scale,
        chosen_settings,
        year_groups=_year_groups(tracking.pupils),
        pseudonymise_key=pseudonymise_key,
        show_small_groups=show_small_groups,
        force=force,
        inputs=inputs,
    )
    # Listed once the workbook is written (which does not use them): a finding per flagged
    # pupil-subject is a dict each, and ~130,000 of them would add to the writer's peak memory.
    outcome.findings = rp.findings_of(tracking.pupils["pupil"], data, missing_target, scale)
    return outcome


def _policy_scale(policy: str | None) -> Scale | None:
    """The scale `--policy` sets targets on (None: the tracking sheet's grades decide)."""
    from targetkit.policies import load_policy

    return load_scale(load_policy(policy).target_scale) if policy else None


def _shipped() -> list[Policy]:
    """The shipped policies (and a user's, by TARGETKIT_DATA_DIR), in name order."""
    from targetkit.policies import load_policy, policy_names

    return [load_policy(name) for name in policy_names()]


def _given(policy: str | None) -> Policy | None:
    from targetkit.policies import load_policy

    return load_policy(policy) if policy else None


def _results(path: Path, tracking: Tracking, scale: Scale) -> dict[str, pd.Series]:
    """The results file's points per subject, indexed by UPN key."""
    end_year = tracking.academic_year + 1
    wanted = {s: (f"{s}_result", f"{s}_sum2_{end_year}", f"{s}_sum2", s) for s in tracking.points}
    found, _ = read_keyed_points(path, wanted, scale)
    if not found:
        raise InputError(
            "no results columns (e.g. maths_result or maths_sum2)",
            file=path,
            hint="name a column per subject",
        )
    return found


def _keyed_targets(path: Path, subjects: list[str], scale: Scale) -> pd.DataFrame:
    """A targets file's targets and milestones in points, indexed by UPN key."""
    from targetkit.commands.targets_file import read_targets

    frame = read_targets(path)
    if "upn" not in frame:
        raise InputError("no UPN column to match pupils by", file=path, hint="add a UPN column")
    upn = upn_key(frame["upn"])
    repeated = upn.notna() & upn.duplicated(keep=False)
    if repeated.any():
        row = int(upn[repeated].index[1])
        raise InputError(f"UPN {upn[row]} appears more than once", file=path, row=row, column="UPN")
    keep = upn.notna().to_numpy()
    points = {
        c: _points(scale, frame[c], path, c).to_numpy()[keep]
        for c in rp.target_columns(frame.columns, subjects)
    }
    if not any(f"{s}_target" in points for s in subjects):
        raise InputError(
            f"no target columns for {', '.join(subjects)} (expected e.g. {subjects[0]}_target)",
            file=path,
            hint="give the targets workbook made by set-targets",
        )
    return pd.DataFrame(points, index=pd.Index(upn[keep].to_numpy(), name="upn"))


# ---------------------------------------------------------------------------------------------
