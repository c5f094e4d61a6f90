"""`set-targets` as a library call: read a cohort, compute targets, write the targets workbook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from targetkit import __version__, console, findings
from targetkit.academic_year import academic_year_text, parse_academic_year
from targetkit.columns import canonical_name, unambiguous_columns
from targetkit.commands.targets_file import read_targets
from targetkit.console import frame_records
from targetkit.conversion_tables import load_table
from targetkit.errors import InputError, TargetkitError, UsageError
from targetkit.io import check_output, file_sha256, read_table
from targetkit.labels import threshold_words
from targetkit.pipeline.targets import (
    TargetResult,
    baseline_year,
    compute_targets,
    scaled_score_columns,
    threshold_label,
)
from targetkit.policies import Policy, choose_policy, load_policy
from targetkit.presentation.targets import write_targets_csv, write_targets_workbook
from targetkit.privacy import hide_small_groups, pseudonymisation, pseudonymised_about
from targetkit.subjects import display_name
from targetkit.wording import counted

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
    # --pseudonymise: the columns replaced and the text columns left as they are (`privacy.
    # pseudonymisation`), for the summary and the About sheet; None without it
    pseudonymised: dict[str, list[str]] | None = None

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
            "pseudonymised": self.pseudonymised,
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
            f"Set targets for {counted(self.rows, 'pupil')} in "
            f"{', '.join(display_name(key) for key in self.result.subjects)} "
            f"into {self.output}.",
        ]
        entered = self.result.entered
        key = self.policy.key_threshold
        for row in self.result.summary.itertuples(index=False):
            if row.threshold == "average":
                lines.append(
                    f"  {row.label}: {row.average_target_points:+.2f}".replace(
                        "+", "" if row.subject == "attainment8" else "+", 1
                    )
                )
                continue
            if row.subject in entered and key and row.threshold != threshold_label(key):
                continue  # a GCSE subject: its key threshold only, the rest is on the Summary
            implied = (
                f"benchmark implies {row.benchmark_pct:g}%"
                if pd.notna(row.benchmark_pct)
                else "no conversion data"
            )
            who = "entered" if row.subject in entered else "on roll"
            threshold = threshold_words(str(row.threshold).replace("+", "plus"))
            lines.append(
                f"  {display_name(row.subject)} {threshold}: {row.pct_targeted:g}% of pupils "
                f"{who} targeted ({implied})"
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
    entries: str | Path | None = None,
) -> SetTargetsOutcome:
    """Read COHORT, set targets under the policy and write the targets workbook.

    `entries`: a long file of GCSE entries (UPN, subject, qualification) for a policy that
    targets every GCSE subject (ks4); without it an `Entries` sheet of the cohort workbook is
    read, else the cohort's wide columns (`history_entered`, `history_target`, ...)."""
    cohort_file = Path(cohort_file)
    if benchmark not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
    out = Path(output) if output else default_output(cohort_file)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UsageError(
            "the targets file must be an .xlsx workbook or a .csv file",
            file=out,
            hint="a .csv holds the Targets sheet alone, for cohorts beyond Excel's row limit",
        )
    inputs = [
        cohort_file,
        *([Path(previous)] if previous else []),
        *([Path(entries)] if entries else []),
    ]
    check_output(out, force=force, inputs=inputs)
    with console.step(f"Reading {cohort_file.name}"):
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
    previous_frame = read_previous(Path(previous)) if previous else _own_targets(cohort)
    entry_frame, entry_source = (
        read_entries(table, entries) if chosen.subject_tables else (None, "")
    )
    academic_year = baseline_year(cohort.columns) or parse_academic_year(None)
    with console.step(f"Setting targets for {len(cohort):,} pupils"):
        result = compute_targets(
            cohort,
            chosen,
            benchmark=benchmark,
            previous=previous_frame,
            subjects=subject_list,
            conversion=conversion,
            academic_year=academic_year,
            entries=entry_frame,
        )
    pupils = _own_columns(table.frame, result.pupils.columns)
    if pseudonymise_key is not None:
        from targetkit.privacy import pseudonymise

        pupils = pseudonymise(pupils, pseudonymise_key)
    about = _about(
        table, pupils, result, chosen, reason, previous, conversion, academic_year,
        pseudonymised=pseudonymise_key is not None,
    )
    outcome = SetTargetsOutcome(
        out,
        len(table.frame),
        chosen,
        reason,
        result,
        conversion=conversion,
        pseudonymised=pseudonymisation(table.frame) if pseudonymise_key is not None else None,
    )
    if out.suffix.lower() == ".csv":
        write_targets_csv(
            out,
            pupils=pupils,
            added=result.pupils,
            subjects=result.subjects,
            policy=chosen,
            force=force,
            scales=result.scales,
        )
        return outcome
    if entry_source:
        about.insert(
            about.index(("subjects", ", ".join(result.subjects))), ("GCSE entries", entry_source)
        )
    write_targets_workbook(
        out,
        pupils=pupils,
        added=result.pupils,
        summary=result.summary,
        by_group=hide_small_groups(result.by_group),
        comments=result.comments,
        descriptions=result.descriptions,
        subjects=result.subjects,
        policy=chosen,
        benchmark=result.benchmark,
        conversion=conversion,
        about=about,
        force=force,
        scales=result.scales,
    )
    return outcome


ENTRIES_SHEET = "entries"
WIDE_ENTRIES = "the cohort's columns (<subject>_entered, _target or working-at)"


def read_entries(cohort: Any, entries: str | Path | None) -> tuple[pd.DataFrame | None, str]:
    """The long GCSE entries (`upn`, `subject`, `qualification`) and where they came from:
    `--entries FILE`, else an `Entries` sheet of the cohort workbook (`cohort`: its `io.Table`,
    which lists the workbook's sheets), else None (the cohort's wide columns say it)."""
    if entries is not None:
        path = Path(entries)
        return _entry_columns(read_table(path, is_known_header=_is_entry_header), path), str(path)
    found = [
        n for n in cohort.sheet_names if n.strip().lower() == ENTRIES_SHEET and n != cohort.sheet
    ]
    if not found:
        return None, WIDE_ENTRIES
    frame = read_table(cohort.path, sheet=found[0], is_known_header=_is_entry_header)
    return _entry_columns(frame, cohort.path), f"the {found[0]!r} sheet of the cohort workbook"


def _is_entry_header(text: str) -> bool:
    from targetkit.columns import entry_headers, match_key

    return match_key(text) in entry_headers()


def _entry_columns(table: Any, path: Path) -> pd.DataFrame:
    """The entries frame with `upn`, `subject` and (optional) `qualification` columns."""
    from targetkit.columns import entry_headers, match_key

    renamed: dict[object, str] = {}
    for column in table.frame.columns:
        name = entry_headers().get(match_key(column))
        if name is not None and name not in renamed.values():
            renamed[column] = name
    frame = table.frame.rename(columns=renamed)
    for needed in ("upn", "subject"):
        if needed not in frame:
            raise InputError(
                f"the GCSE entries have no {needed} column (found: "
                f"{', '.join(map(str, table.frame.columns))})",
                file=path,
                hint="give one row per pupil and subject: UPN, Subject, Qualification",
            )
    return frame[[c for c in ("upn", "subject", "qualification") if c in frame]]


def _own_targets(cohort: pd.DataFrame) -> pd.DataFrame | None:
    """A targets workbook given again as the cohort: its targets are the previous targets."""
    targets = [c for c in cohort.columns if str(c).endswith("_target") and "_plan_" not in c]
    if "upn" not in cohort or not targets:
        return None
    return cohort[["upn", *targets]]


def _own_columns(frame: pd.DataFrame, added: Sequence[str]) -> pd.DataFrame:
    """The user's columns: a rerun on a targets workbook leaves out targetkit's earlier columns
    (by their words or names), which the fresh ones replace."""
    ours = set(map(str, added))
    names = [canonical_name(c) or str(c) for c in frame.columns]
    if not any(name.endswith("_suggested") for name in names):
        return frame  # a cohort, not a targets workbook: every column is the user's
    keep = [c for c, name in zip(frame.columns, names, strict=True) if name not in ours]
    return frame[keep] if len(keep) < len(frame.columns) else frame


def _about(
    table: Any,
    pupils: pd.DataFrame,
    result: TargetResult,
    policy: Policy,
    reason: str,
    previous: str | Path | None,
    conversion: str | None,
    academic_year: int,
    *,
    pseudonymised: bool,
) -> list[tuple[str, object]]:
    """What the About sheet records (check-ambition reads policy, benchmark and table back)."""
    return [
        ("targetkit version", __version__),
        ("cohort", str(table.path)),
        ("cohort SHA-256", file_sha256(table.path)),
        ("sheet", table.sheet or ""),
        ("policy", f"{policy.name} ({reason})"),
        ("policy source", policy.source),
        ("conversion table", conversion or policy.conversion or "none"),
        *_conversion_title(conversion or policy.conversion),
        ("benchmark", result.benchmark),
        ("academic year", academic_year_text(academic_year)),
        *(("note", note) for note in result.notes),
        *(
            [("previous targets", str(previous)), ("previous SHA-256", file_sha256(previous))]
            if previous
            else []
        ),
        ("pupils", len(pupils)),
        (
            "pseudonymised",
            pseudonymised_about(table.frame) if pseudonymised else "no",
        ),
        ("subjects", ", ".join(result.subjects)),
        ("thresholds", ", ".join(threshold_label(t) for t in result.thresholds)),
        ("written", pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")),
    ]


def _conversion_title(name: str | None) -> list[tuple[str, object]]:
    """The conversion table's title beside its name, so a reader sees what the data is (issue
    14: the legacy A*-G matrices are GCSE 2015, whatever the file is called)."""
    if not name:
        return []
    try:
        return [("conversion data", load_table(name).metadata.title)]
    except TargetkitError:  # a --conversion file already read once: its name is enough
        return []


def _check_columns(cohort: pd.DataFrame, policy: Policy, subjects: list[str], path: Path) -> None:
    """A cohort without any of the policy's prior columns cannot be targeted: say which."""
    overall = policy.overall
    if overall is not None and any(
        f"{s}_{overall.prior_point}" in cohort for s in overall.subjects
    ):
        return  # the overall target's prior is enough: a KS3-only cohort is not refused
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
