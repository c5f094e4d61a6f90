"""`set-targets` as a library call: read a cohort, compute targets, write the targets workbook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from targetkit import __version__, findings
from targetkit.academic_year import academic_year_text, parse_academic_year
from targetkit.columns import unambiguous_columns
from targetkit.commands.targets_file import read_targets
from targetkit.console import frame_records
from targetkit.conversion_tables import load_table
from targetkit.errors import InputError, UsageError
from targetkit.io import check_output, file_sha256, read_table
from targetkit.pipeline.targets import (
    SMALL_GROUP,
    SMALL_LABEL,
    TargetResult,
    baseline_year,
    compute_targets,
    scaled_score_columns,
    threshold_label,
    whole_levels,
)
from targetkit.policies import Policy, choose_policy, load_policy
from targetkit.privacy import hide_small_groups, pseudonymised_about
from targetkit.scales import load_scale
from targetkit.wording import counted
from targetkit.workbook import Chart, ReadMe, Sheet, write_workbook

BENCHMARKS = ("top25", "top50", "national")


@dataclass
class SetTargetsOutcome:
    output: Path
    rows: int
    policy: Policy
    policy_reason: str
    result: TargetResult
    lines: list[str] = field(default_factory=list)
    conversion: str | None = None  # --conversion, when it replaced the policy's table

    def summary(self) -> dict[str, Any]:
        """The school-level summary as plain data (what `--format json` prints)."""
        basis = self.basis()
        return {
            "output": str(self.output),
            "pupils": self.rows,
            "policy": self.policy.name,
            "policy_reason": self.policy_reason,
            "benchmark": self.result.benchmark,
            "subjects": list(self.result.subjects),
            "notes": self.result.notes,
            "thresholds": [
                {**row, "basis": basis.get(row["subject"])}
                for row in frame_records(self.result.summary)
            ],
        }

    def basis(self) -> dict[str, str | None]:
        """Each subject's benchmark basis: `published: <source>` or `illustrative` (SPEC §8).

        Only for subjects read from the policy's (or --conversion's) table; rows from other
        tables (a KS4 policy's overall measures) have none."""
        name = self.conversion or self.policy.conversion
        if not name:
            return {}
        table = load_table(name)
        return {
            subject: table.basis(self.result.benchmark, self.policy.table_subject(subject))
            for subject in self.result.subjects
        }

    def finding_records(self) -> list[dict[str, Any]]:
        """One finding per pupil flag (`row`: the cohort file's row), with the catalogue's
        severity and title; QUOTA_TARGET cites a benchmark rate, so it carries its `basis`
        where every subject has the same one."""
        flags = self.result.pupils.get("flags")
        if flags is None:
            return []
        codes = flags.fillna("").astype(str).str.split(";").explode().str.strip()
        codes = codes[codes.ne("")]
        known = findings.catalogue()
        bases = set(self.basis().values())
        quota_basis = bases.pop() if len(bases) == 1 else None
        return [
            {
                "severity": known[code].severity if code in known else "info",
                "code": code,
                "row": int(row) if isinstance(row, int | float) else row,
                "message": known[code].title if code in known else code,
                **({"basis": quota_basis} if code == "QUOTA_TARGET" else {}),
            }
            for row, code in codes.items()
        ]

    def report_lines(self) -> list[str]:
        lines = [
            f"Policy {self.policy.name}: {self.policy_reason}.",
            f"Set targets for {counted(self.rows, 'pupil')} in {', '.join(self.result.subjects)} "
            f"into {self.output}.",
        ]
        for row in self.result.summary.itertuples(index=False):
            implied = (
                f"benchmark implies {row.benchmark_pct:g}%"
                if pd.notna(row.benchmark_pct)
                else "no conversion data"
            )
            lines.append(
                f"  {row.subject} {row.threshold}: {row.pct_targeted:g}% of pupils on roll "
                f"targeted ({implied})"
            )
        lines.extend(f"Note: {note}" for note in self.result.notes)
        return lines


def default_output(cohort_file: Path) -> Path:
    return cohort_file.with_name(f"{cohort_file.stem}-targets.xlsx")


def canonical_view(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The cohort with canonical column names (the original frame is not changed)."""
    return frame.rename(columns=unambiguous_columns(frame.columns, path))


def read_previous(path: Path) -> pd.DataFrame:
    """An earlier targets workbook (its `Targets` sheet) with canonical column names."""
    frame = read_targets(path)
    if "upn" not in frame:
        raise InputError("the previous targets have no UPN column to match pupils", file=path)
    return frame


def set_targets(
    cohort_file: str | Path,
    *,
    output: str | Path | None = None,
    policy: str = "auto",
    benchmark: str = "top25",
    conversion: str | None = None,
    previous: str | Path | None = None,
    subjects: Sequence[str] | None = None,
    sheet: str | None = None,
    force: bool = False,
    pseudonymise_key: bytes | None = None,
) -> SetTargetsOutcome:
    """Read COHORT, set targets under the policy and write the targets workbook."""
    cohort_file = Path(cohort_file)
    if benchmark not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
    out = Path(output) if output else default_output(cohort_file)
    if out.suffix.lower() != ".xlsx":
        raise UsageError("the targets workbook must be an .xlsx file", file=out)
    inputs = [cohort_file, *([Path(previous)] if previous else [])]
    check_output(out, force=force, inputs=inputs)
    table = read_table(cohort_file, sheet=sheet)
    cohort = canonical_view(table.frame, cohort_file)
    if policy.strip().lower() == "auto":
        name, reason = choose_policy(cohort, cohort_file)
    else:
        name, reason = policy, "chosen with --policy"
    chosen = load_policy(name)
    subject_list = [s.strip().lower() for s in subjects if s.strip()] if subjects else None
    if subject_list:
        unknown = [s for s in subject_list if s not in chosen.subjects]
        if unknown:
            raise UsageError(
                f"the {chosen.name} policy has no subject {', '.join(unknown)}",
                hint=f"choose from {', '.join(chosen.subjects)}",
            )
    _check_columns(cohort, chosen, subject_list or chosen.subjects, cohort_file)
    previous_frame = read_previous(Path(previous)) if previous else None
    academic_year = baseline_year(cohort.columns) or parse_academic_year(None)
    result = compute_targets(
        cohort,
        chosen,
        benchmark=benchmark,
        previous=previous_frame,
        subjects=subject_list,
        conversion=conversion,
        academic_year=academic_year,
    )
    _refuse_own_columns(table.frame, result, cohort_file)
    pupils = table.frame
    if pseudonymise_key is not None:
        from targetkit.privacy import pseudonymise

        pupils = pseudonymise(table.frame, pseudonymise_key)
    _write(
        out, table, pupils, result, chosen, reason, previous, conversion, academic_year, force
    )
    return SetTargetsOutcome(out, len(table.frame), chosen, reason, result, conversion=conversion)


def _refuse_own_columns(frame: pd.DataFrame, result: TargetResult, path: Path) -> None:
    """A targets workbook given as COHORT would get each added column twice: say what to do."""
    clash = [column for column in result.pupils.columns if column in frame.columns]
    if clash:
        raise InputError(
            f"this is already a targets workbook (it has {', '.join(clash[:3])}"
            f"{', …' if len(clash) > 3 else ''})",
            file=path,
            hint="give the cohort it was made from, with this workbook as --previous",
        )


def _check_columns(cohort: pd.DataFrame, policy: Policy, subjects: list[str], path: Path) -> None:
    """A cohort without any of the policy's prior columns cannot be targeted: say which."""
    if policy.prior_scaled_scores:
        needed = list(policy.prior_scaled_scores)
        if not scaled_score_columns(cohort, policy):
            raise InputError(
                f"the {policy.name} policy needs KS2 scaled scores ({' or '.join(needed)})",
                file=path,
                hint="add them or choose another --policy",
            )
        return
    if policy.kind == "steps":
        return
    wanted = [f"{s}_{policy.prior_point}" for s in subjects]
    if not any(c in cohort for c in wanted):
        raise InputError(
            f"no prior results for the {policy.name} policy (looked for {', '.join(wanted)})",
            file=path,
            hint="check the column names, or choose another --policy",
        )


def _write(
    out: Path,
    table: Any,
    pupils: pd.DataFrame,
    result: TargetResult,
    policy: Policy,
    reason: str,
    previous: str | Path | None,
    conversion: str | None,
    academic_year: int,
    force: bool,
) -> None:
    scale = load_scale(policy.target_scale)
    grades = list(whole_levels(scale).values()) if policy.whole_levels else scale.grade_names
    frame = pd.concat([pupils, result.pupils], axis=1)
    targets = [f"{s}_target" for s in result.subjects]
    dropdowns: dict[str, Sequence[str]] = {c: grades for c in targets}
    if policy.overall is not None:
        dropdowns[f"target_{policy.overall.name}"] = ["yes", "no"]
    percent = {c: "0.0" for c in result.pupils.columns if "_chance_" in c}
    sheets = [
        Sheet(
            "Targets",
            frame,
            descriptions=result.descriptions,
            comments=result.comments,
            dropdowns=dropdowns,
            editable=list(dropdowns),
            number_formats=percent,
        ),
        Sheet(
            "Summary",
            result.summary,
            descriptions=_summary_descriptions(),
            charts=[
                Chart(
                    title="Percent of pupils targeted at each threshold, and what the "
                    "benchmark implies",
                    categories="label",
                    values=["pct_targeted", "benchmark_pct"],
                    y_title="% of pupils on roll",
                )
            ],
        ),
        Sheet(
            "Summary by group",
            hide_small_groups(result.by_group),
            descriptions={
                "group": "The pupil characteristic (disadvantaged, sen, eal, lac, gender, "
                "ethnicity).",
                "value": f"The group within it; '{SMALL_LABEL}' in `small` marks fewer than "
                f"{SMALL_GROUP} pupils.",
            },
        ),
    ]
    readme = ReadMe(
        title="targetkit set-targets",
        lines=[
            f"Targets under the {policy.name} policy: {policy.title}.",
            policy.description,
            f"Benchmark: {result.benchmark}. Every input row is on the Targets sheet in input "
            "order with its own columns unchanged; targetkit's columns follow them.",
            "Moderate targets in the yellow <subject>_target columns (a grade from the list; a "
            "typed number such as 4 means the grade 4). The comment on each target says why.",
            "Targets are never below the prior result, the latest attainment or a previous "
            "target; pupils with an EHC plan keep their plan target.",
            "Summary percentages use every pupil on roll as the denominator; the "
            "*_with_result columns use pupils with a prior result only.",
        ],
    )
    about = [
        ("targetkit version", __version__),
        ("cohort", str(table.path)),
        ("cohort SHA-256", file_sha256(table.path)),
        ("sheet", table.sheet or ""),
        ("policy", f"{policy.name} ({reason})"),
        ("policy source", policy.source),
        ("conversion table", conversion or policy.conversion or "none"),
        ("benchmark", result.benchmark),
        ("academic year", academic_year_text(academic_year)),
        *(("note", note) for note in result.notes),
        *(
            [("previous targets", str(previous)), ("previous SHA-256", file_sha256(previous))]
            if previous
            else []
        ),
        ("pupils", len(frame)),
        (
            "pseudonymised",
            pseudonymised_about(table.frame) if pupils is not table.frame else "no",
        ),
        ("subjects", ", ".join(result.subjects)),
        ("thresholds", ", ".join(threshold_label(t) for t in result.thresholds)),
        ("written", pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")),
    ]
    write_workbook(out, sheets, readme=readme, about=about, force=force)


def _summary_descriptions() -> dict[str, str]:
    return {
        "pupils": "Pupils on roll in the cohort (absent, W and missing results included).",
        "pupils_with_result": "Pupils with a prior result in the subject.",
        "targeted": "Pupils whose target is at or above the threshold.",
        "pct_targeted": "The school-level target: % of pupils on roll targeted at the threshold.",
        "pct_targeted_with_result": "The same, over pupils with a prior result.",
        "benchmark_pct": "The % the benchmark conversion data implies for these pupils "
        "(sum of their chances over pupils on roll).",
        "benchmark_pct_with_result": "The same, over pupils with a prior result.",
        "average_target_points": "Average points of the targets (average points score).",
        "small": f"'{SMALL_LABEL}' where fewer than {SMALL_GROUP} pupils: unreliable and may "
        "identify pupils.",
    }
