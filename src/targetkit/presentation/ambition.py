"""The LA workbook (check-ambition): LA summary, Challenges, Files, Read me, About."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from targetkit import __version__, findings
from targetkit.pipeline.ambition import SMALL_GROUP_SIZE
from targetkit.presentation import by_severity, in_words, plain_column, plain_words
from targetkit.privacy import pseudonymised_about
from targetkit.workbook import Chart, ReadMe, Sheet, write_workbook


def write_la_workbook(
    outcome: Any,
    summary: pd.DataFrame,
    out: Path,
    *,
    force: bool = False,
    illustrative: set[str] | frozenset[str] = frozenset(),
    gaps: pd.DataFrame | None = None,
) -> Path:
    """LA summary (with a chart), Challenges (most serious first), Subject gaps (when `gaps`
    has rows), Files, Read me, About.

    `outcome` has `findings`, `files` and `benchmark`; `summary` is one row a school and the LA
    total (`check_ambition.la_summary`); `gaps` the subject gaps per school
    (`pipeline.ambition.subject_gaps`).
    """
    percent_columns = [
        c for c in summary.columns if c.endswith(("targeted", "benchmark", "difference", ")"))
    ]
    differences = [c for c in summary.columns if c.endswith(" difference")]
    descriptions = {
        "pupils": "Pupils on roll in the submission (every row of the targets sheet).",
        "challenges": "Findings of severity 'challenge' (see the Challenges sheet).",
        "warnings": "Findings of severity 'warning'.",
        "RAG": "red: at least one challenge; amber: warnings only; green: nothing to challenge.",
        "policy": "The progress rules the targets were checked against (chosen as set-targets "
        "would choose them).",
    }
    for column in percent_columns:
        subject_threshold = column.split(" (")[0].rsplit(" ", 1)[0].replace("plus", "+")
        if column.endswith(" targeted"):
            text = f"Share of pupils on roll targeted {subject_threshold}."
        elif column.endswith(" benchmark"):
            text = (
                f"Share of pupils on roll the {outcome.benchmark} schools' rates imply would "
                f"reach {subject_threshold} (the mean chance from each pupil's prior)."
            )
        elif column.endswith(" difference"):
            text = "Targeted minus benchmark-implied share (below 0: less ambitious)."
        else:
            text = "The same share among pupils with a prior result only."
        descriptions[column] = text
    first = [c for c in summary.columns if c not in percent_columns]
    sheets = [
        Sheet(
            "LA summary",
            summary[first + percent_columns],
            descriptions=descriptions,
            number_formats={c: "0%" for c in percent_columns},
            intro=summary_sentences(summary, illustrative),
            fills={"RAG": {"red": "red", "amber": "amber", "green": "green"}},
            charts=[
                Chart(
                    "Targeted minus benchmark-implied share, by school",
                    categories="school",
                    values=differences,
                    kind="bar",
                    y_title="percentage points",
                    percent=True,
                )
            ]
            if differences and len(summary)
            else [],
            freeze_columns=1,
            blocks=_subject_blocks(percent_columns),
        ),
        Sheet(
            "Challenges",
            _findings_table(outcome.findings),
            wrap=["message"],
            freeze_columns=1,
            descriptions={
                "row": "The row of the submission (as numbered in Excel); blank for "
                "school-level findings.",
                "code": "The finding's stable code (see the codes below).",
                "severity": "challenge (to discuss with the school), warning (worth a look), "
                "info (for the record).",
                "group": "The pupil group a school-level finding is about.",
            },
            fills={"severity": {"challenge": "red", "warning": "amber", "info": "blue"}},
        ),
        *([subject_gaps_sheet(gaps)] if gaps is not None and len(gaps) else []),
        Sheet(
            "Files",
            outcome.files,
            descriptions={
                "status": "checked; unreadable (a FILE_UNREADABLE challenge, with the reason); "
                "skipped (lock, hidden or non-table files).",
            },
            fills={"status": {"checked": "green", "unreadable": "red", "skipped": "grey"}},
        ),
    ]
    codes = findings.catalogue()
    readme = ReadMe(
        title="targetkit check-ambition: LA check of target submissions",
        lines=[
            "Each submission (one school) was checked against what pupils with the same prior "
            f"attainment achieve in {plain_words(outcome.benchmark + ' schools')}, the "
            "policy's minimum expected progress, previous results and targets, and group gaps.",
            "School percentages use every pupil on roll as the denominator; the '(with prior)' "
            "columns use pupils with a prior result only, and are the ones compared.",
            f"Group figures for fewer than {SMALL_GROUP_SIZE} pupils are not compared "
            "(SMALL_GROUP).",
            "The Subject gaps sheet (when there is one) compares two subjects' shares targeted "
            "at the key threshold per school (maths vs English, reading vs writing): a table "
            "to discuss, not a finding.",
            "The Challenges sheet lists the most serious findings first (challenge, warning, "
            "info), then by school and row. The codes:",
            *(
                f"{c.code} ({c.severity}): {c.title}"
                for c in codes.values()
                if c.code in _CODES_USED
            ),
        ],
        key=[
            ("red", "a challenge (RAG: the school has at least one)"),
            ("amber", "a warning"),
            ("green", "nothing to challenge / file checked"),
            ("blue", "for information"),
            ("grey", "file skipped"),
        ],
    )
    checked = outcome.files[outcome.files["status"] == "checked"]
    about = [
        ("targetkit version", __version__),
        ("benchmark", outcome.benchmark),
        ("files checked", len(checked)),
        ("files unreadable", int((outcome.files["status"] == "unreadable").sum())),
        ("pupils", int(pd.to_numeric(checked["pupils"]).sum()) if len(checked) else 0),
        ("pseudonymised", pseudonymised_about(outcome.pseudonymised)),
        ("written", pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")),
    ]
    sheets = [in_words(sheet) for sheet in sheets]
    return write_workbook(out, sheets, readme=readme, about=about, force=force)


def subject_gaps_sheet(gaps: pd.DataFrame) -> Sheet:
    """Subject gaps: per school, two subjects' shares targeted at the key threshold and the gap
    between them in percentage points (a table to read, not a finding)."""
    table = gaps.rename(
        columns={
            "first": "first subject targeted",
            "second": "second subject targeted",
            "gap": "gap (first - second)",
        }
    )
    percent = ["first subject targeted", "second subject targeted", "gap (first - second)"]
    return Sheet(
        "Subject gaps",
        table,
        descriptions={
            "subjects": "The two subjects compared (the pairs in the school's policy).",
            "threshold": "The policy's key threshold (e.g. level 4+, grade 4+).",
            "first subject targeted": "Share of pupils on roll targeted at the threshold in the "
            "first subject.",
            "second subject targeted": "The same in the second subject.",
            "gap (first - second)": "First minus second (percentage points): a large gap, such "
            "as reading above writing, is worth discussing with the school.",
        },
        number_formats={c: "0%" for c in percent},
        intro=[
            "The gap between two subjects' shares targeted at the key threshold, per school "
            "(seed 000: 'the gap between reading and writing at KS2 is still large')."
        ],
        freeze_columns=1,
    )


def _subject_blocks(columns: list[str]) -> list[list[str]]:
    """The LA summary's columns a subject at a time (`reading 4plus targeted` …): a page each."""
    blocks: dict[str, list[str]] = {}
    for column in columns:
        blocks.setdefault(column.split(" ", 1)[0], []).append(column)
    return list(blocks.values())


FINDING_ORDER = ("severity", "school", "row", "upn", "pupil", "subject", "group", "code")


def _findings_table(found: pd.DataFrame) -> pd.DataFrame:
    """Challenges first, then warnings, then information; within each by school and row."""
    ordered = by_severity(found, "school", "file", "row")
    if "message" in ordered:  # in words once per distinct message (an LA batch repeats many)
        codes, messages = pd.factorize(ordered["message"], use_na_sentinel=True)
        words = plain_column(pd.Series([*messages, None], dtype=object)).to_numpy(dtype=object)
        ordered["message"] = words[codes]  # a blank message (code -1) takes the last: None
    columns = [c for c in FINDING_ORDER if c in ordered]
    rest = [c for c in ordered.columns if c not in columns]
    return ordered[columns + rest].rename(columns={"upn": "UPN"})


def summary_sentences(
    summary: pd.DataFrame, illustrative: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """One sentence a subject from the LA total: the share targeted at the key threshold and
    what the benchmark implies for the same pupils ("illustrative" where the rates are)."""
    if summary.empty or "LA total" not in set(summary["school"]):
        return []
    total = summary[summary["school"] == "LA total"].iloc[0]
    schools = len(summary) - 1
    lines = []
    seen: set[str] = set()
    for column in summary.columns:
        if not column.endswith(" targeted"):
            continue
        subject, threshold = column.removesuffix(" targeted").rsplit(" ", 1)
        if subject in seen or pd.isna(total[column]):
            continue
        seen.add(subject)
        benchmark = total.get(column.replace(" targeted", " benchmark"))
        text = (
            f"{subject.capitalize()}: across {schools} schools, {total[column]:.0%} of pupils "
            f"are targeted {threshold.replace('plus', '+')}"
        )
        if benchmark is not None and pd.notna(benchmark):
            text += f"; the benchmark implies {benchmark:.0%} for the same pupils"
            if subject in illustrative:
                text += " (illustrative figures)"
        lines.append(text + ".")
    return lines


_CODES_USED = (
    "BELOW_EXPECTED_PROGRESS",
    "BELOW_BENCHMARK",
    "BELOW_PREVIOUS_BEST",
    "TARGET_LOWERED",
    "GROUP_EXPECTATION_LOWER",
    "GROUP_GAP_WIDENING",
    "MISSING_TARGET",
    "EHC_INDIVIDUAL_TARGET",
    "EHC_TARGET_BELOW_RULE",
    "SMALL_GROUP",
    "FILE_UNREADABLE",
    "UNREALISTIC_TARGET",
    "BELOW_PREVIOUS_RESULTS",
    "GAP_NOT_NARROWING",
)
