"""The targets workbook (set-targets): Targets, Summary, Summary by group, Read me, About."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from targetkit.columns import canonical_name
from targetkit.labels import threshold_words
from targetkit.pipeline.targets import SMALL_LABEL
from targetkit.presentation import GRADE_WORDS, in_words, percent, plain_words
from targetkit.privacy import SMALL_GROUP
from targetkit.subjects import display_name
from targetkit.workbook import Chart, ReadMe, Sheet, write_workbook

BENCHMARK_WORDS = {"top25": "in top-25% schools", "top50": "in top-50% schools"}
GRADE_COLUMNS = ("_prior", "_most_likely", "_minimum", "_suggested", "_target")
SUMMARY_PERCENT = (
    "pct_targeted",
    "pct_targeted_with_result",
    "benchmark_pct",
    "benchmark_pct_with_result",
)
ID_COLUMNS = ("upn", "pupil_id", "surname", "forename")
GROUP_BENCHMARK = "group_benchmark_pct"  # pipeline.gcse_targets.GROUP_BENCHMARK
SUMMARY_LABEL_WIDTH = 40  # characters: a longer threshold in words wraps onto a second line


def write_targets_workbook(
    out: Path,
    *,
    pupils: pd.DataFrame,
    added: pd.DataFrame,
    summary: pd.DataFrame,
    by_group: pd.DataFrame,
    comments: dict[str, pd.Series],
    descriptions: dict[str, str],
    subjects: Sequence[str],
    policy: object,
    benchmark: str,
    conversion: str | None,
    about: Sequence[tuple[str, object]],
    force: bool = False,
    scales: dict[str, str] | None = None,
) -> Path:
    """`pupils`: the user's rows as read; `added`: targetkit's columns (chances 0–100);
    `scales`: a subject's target scale where it is not the policy's (Combined Science)."""
    grade_word = GRADE_WORDS.get(policy.target_scale, "")  # type: ignore[attr-defined]
    sheets = [
        targets_sheet(
            pupils, added, comments, descriptions, subjects, policy, grade_word, scales
        ),
        summary_sheet(summary, policy, benchmark, conversion, grade_word),
        in_words(
            Sheet(
                "Summary by group",
                percent(with_subject_words(by_group), [*SUMMARY_PERCENT, GROUP_BENCHMARK]),
                descriptions={
                    GROUP_BENCHMARK: "GCSE subjects: the % of pupils nationally in this same "
                    "group (e.g. disadvantaged) with the same KS2 bands who reach the threshold "
                    "(DfE group rows), for the gap analysis: never used for a pupil's target.",
                    "group": "The pupil characteristic (disadvantaged, sen, eal, lac, gender, "
                    "ethnicity).",
                    "value": f"The group within it; '{SMALL_LABEL}' marks fewer than "
                    f"{SMALL_GROUP} pupils.",
                },
                number_formats={c: "0%" for c in [*SUMMARY_PERCENT, GROUP_BENCHMARK]}
                | {"average_target_points": "0.0"},
                freeze_columns=4,
                wrap=["threshold"],
                wrap_width=SUMMARY_LABEL_WIDTH,
            ),
            grade_word=grade_word,
        ),
    ]
    lines = [plain_words(line) for line in readme_lines(policy, benchmark)]
    readme = ReadMe(title="targetkit set-targets", lines=lines)
    return write_workbook(out, sheets, readme=readme, about=about, force=force)


def subject_words(keys: pd.Series) -> pd.Series:
    """Subject keys in words (`computer_science` → `Computer Science`), once per distinct key."""
    return keys.map({key: display_name(key) for key in keys.dropna().unique()}).fillna(keys)


def with_subject_words(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its `subject` column in words (a copy; the keys stay in JSON)."""
    if "subject" not in frame:
        return frame
    return frame.assign(subject=subject_words(frame["subject"]))


def write_targets_csv(
    out: Path,
    *,
    pupils: pd.DataFrame,
    added: pd.DataFrame,
    subjects: Sequence[str],
    policy: object,
    force: bool = False,
    scales: dict[str, str] | None = None,
) -> Path:
    """The Targets sheet alone as CSV (`-o NAME.csv`), for cohorts beyond Excel's row limit:
    the same columns and headers in words, chances as fractions (the workbook shows them as
    %); UTF-8 with BOM, text that looks like a formula neutralised (`io.write_csv`). The
    reasons are in each subject's "why this target" column, so nothing of the comments is lost.
    """
    from targetkit import console
    from targetkit.io import write_csv

    grade_word = GRADE_WORDS.get(policy.target_scale, "")  # type: ignore[attr-defined]
    sheet = targets_sheet(pupils, added, {}, {}, subjects, policy, grade_word, scales)
    with console.step(f"Writing {out.name}"):
        return write_csv(sheet.frame, out, force=force)


def title_columns(frame: pd.DataFrame) -> int:
    """How many leading columns identify a pupil (UPN, admission number, names): kept in view."""
    names = [canonical_name(c) for c in frame.columns[:6]]
    found = [i for i, name in enumerate(names) if name in ID_COLUMNS]
    return max(found) + 1 if found else 0


def targets_sheet(
    pupils: pd.DataFrame,
    added: pd.DataFrame,
    comments: dict[str, pd.Series],
    descriptions: dict[str, str],
    subjects: Sequence[str],
    policy: object,
    grade_word: str,
    scales: dict[str, str] | None = None,
) -> Sheet:
    """The user's columns unchanged, then targetkit's, one block a subject (a page each)."""
    chances = [c for c in added.columns if "_chance_" in str(c) or str(c).startswith("chance_")]
    grades = [c for c in added.columns if str(c).endswith(GRADE_COLUMNS) or "_milestone_" in str(c)]
    targets = [f"{s}_target" for s in subjects]
    scale_grades = _grade_list(policy)
    dropdowns: dict[str, Sequence[str]] = {c: scale_grades for c in targets}
    for subject, name in (scales or {}).items():
        if name != getattr(policy, "target_scale", name):
            from targetkit.scales import load_scale

            dropdowns[f"{subject}_target"] = load_scale(name).grade_names
    overall = getattr(policy, "overall", None)
    if overall is not None:
        dropdowns[f"target_{overall.name}"] = ["yes", "no"]
    frame = pd.concat([pupils, percent(added, chances)], axis=1)
    blocks = [[c for c in added.columns if str(c).startswith(f"{s}_")] for s in subjects]
    sheet = Sheet(
        "Targets",
        frame,
        descriptions=descriptions,
        comments=comments,
        dropdowns=dropdowns,
        editable=list(dropdowns),
        number_formats={c: "0%" for c in chances}
        | {c: "0.0" for c in ("ks2_average_scaled_score", "attainment8_estimate")}
        | {"attainment8_of_targets": "0.0", "progress8_of_targets": "+0.00;-0.00;0.00"},
        align={c: "center" for c in [*grades, *dropdowns]},
        freeze_columns=title_columns(pupils),
        blocks=blocks,
    )
    return in_words(sheet, keep=pupils.columns, grade_word=grade_word)


def _grade_list(policy: object) -> list[str]:
    from targetkit.scales import load_scale

    if getattr(policy, "whole_levels", False):
        return ["W", "1", "2", "3", "4", "5", "6", "7", "8", "EP"]
    return list(load_scale(policy.target_scale).grade_names)  # type: ignore[attr-defined]


def summary_sheet(
    summary: pd.DataFrame,
    policy: object,
    benchmark: str,
    conversion: str | None,
    grade_word: str,
) -> Sheet:
    """One sentence a subject, then the table, then the chart."""
    table = percent(summary, SUMMARY_PERCENT)
    if "threshold" in table:
        table["threshold"] = table["threshold"].map(
            lambda t: threshold_words(str(t).replace("+", "plus"), grade_word)
        )
    if "subject" in table:
        table["subject"] = subject_words(table["subject"])
    if "label" in table and "threshold" in table:
        table["label"] = (table["subject"] + " " + table["threshold"]).where(
            summary["threshold"].ne("average").to_numpy(), table["label"]
        )
    sheet = Sheet(
        "Summary",
        table,
        intro=summary_sentences(summary, policy, benchmark, conversion, grade_word),
        descriptions=SUMMARY_DESCRIPTIONS,
        number_formats={c: "0%" for c in SUMMARY_PERCENT} | {"average_target_points": "0.0"},
        charts=[
            Chart(
                title="Share of pupils targeted at each threshold, and what the benchmark implies",
                categories="label",
                values=["pct_targeted", "benchmark_pct"],
                y_title="% of pupils on roll",
                percent=True,
            )
        ],
        freeze_columns=1,
        filter=False,
        wrap=["label", "threshold"],  # "Overall 5 grades 9-4 incl. English and maths (…)"
        wrap_width=SUMMARY_LABEL_WIDTH,
    )
    return in_words(sheet, grade_word=grade_word)


def summary_sentences(
    summary: pd.DataFrame,
    policy: object,
    benchmark: str,
    conversion: str | None,
    grade_word: str,
) -> list[str]:
    """One sentence a subject, to read aloud: its key threshold, and what the benchmark says.

    "Maths: 57 of 60 pupils (95%) are targeted level 4+; in top-25% schools, pupils with the
    same KS1 results reach 91% (illustrative figures)." The benchmark figure is the mean chance
    over pupils on roll; its source, or "illustrative", comes from the conversion table rows.
    """
    if summary.empty:
        return []
    key = threshold_words(getattr(policy, "key_threshold", None) or "", "")
    table = _conversion(conversion or getattr(policy, "conversion", None))
    prior = str(getattr(policy, "prior_point", "")).upper()
    overall = getattr(policy, "overall", None)  # ks4's 5 A*-C: its own table, from KS3 levels
    lines = ks4_school_targets(summary)
    summary = summary[summary["threshold"].ne("average")] if "threshold" in summary else summary
    for subject, rows in summary.groupby("subject", sort=False):
        chosen = rows[rows["threshold"] == key] if key in set(rows["threshold"]) else rows.head(1)
        row = chosen.iloc[0]
        what = threshold_words(str(row["threshold"]).replace("+", "plus"), grade_word)
        if what == "are":
            what = "at or above the age-related expectation"
        pct = row["pct_targeted"] / 100
        text = (
            f"{display_name(subject)}: {int(row['targeted'])} of "
            f"{int(row['pupils'])} pupils "
            f"({pct:.0%}) are targeted {what}"
        )
        source, results = table, prior
        if overall is not None and subject == overall.subject:
            source, results = _conversion(overall.conversion), overall.prior_point.upper()
        if pd.notna(row["benchmark_pct"]) and source is not None:
            where, basis = _basis(source, benchmark, str(subject))
            text += (
                f"; {where}, pupils with the same {results} results reach "
                f"{row['benchmark_pct'] / 100:.0%} ({basis})"
            )
        lines.append(text + ".")
    return lines


def ks4_school_targets(summary: pd.DataFrame) -> list[str]:
    """The guidance's three KS4 school targets in one sentence (English and maths 4+ and 5+,
    Attainment 8 of targets), and the targets' Progress 8; none without them."""
    if "threshold" not in summary:
        return []
    rows = {str(r["threshold"]): r for _, r in summary.iterrows()}
    averages = summary[summary["threshold"].eq("average")].set_index("subject")
    if "attainment8" not in averages.index:
        return []
    parts = [
        f"English and maths {grade}+: {rows[name]['pct_targeted'] / 100:.0%}"
        for name, grade in (("basics_4plus", 4), ("basics_5plus", 5))
        if name in rows and pd.notna(rows[name]["pct_targeted"])
    ]
    a8 = averages.loc["attainment8", "average_target_points"]
    parts.append(f"Attainment 8 of targets: {a8:.1f}")
    text = "KS4 school targets: " + "; ".join(parts) + "."
    if "progress8" in averages.index:
        p8 = averages.loc["progress8", "average_target_points"]
        counted = int(averages.loc["progress8", "pupils_with_result"])
        text += (
            f" Progress 8 of targets: {p8:+.2f} over the {counted} pupils with a KS2 score."
            if pd.notna(p8)
            else " Progress 8 of targets: no pupil has a KS2 score."
        )
    return [text]


def _conversion(name: str | None) -> object | None:
    if not name:
        return None
    from targetkit.conversion_tables import load_table

    try:
        return load_table(name)
    except Exception:  # a summary sentence never stops the workbook
        return None


def _basis(table: object, benchmark: str, subject: str) -> tuple[str, str]:
    """Where the figure is from (benchmark in words) and its basis (source or illustrative)."""
    used = table.benchmark_for(benchmark, subject)  # type: ignore[attr-defined]
    frame = table.frame  # type: ignore[attr-defined]
    rows = frame[(frame["benchmark"] == used) & (frame["subject"] == subject)]
    if rows.empty:
        rows = frame[frame["benchmark"] == used]
    statuses = set(rows["status"])
    source = table.metadata.source  # type: ignore[attr-defined]
    short = re.search(r"\(([^)]+)\)", source.publisher)
    publisher = (
        short[1]
        if short
        else {"Department for Education": "DfE"}.get(source.publisher, source.publisher)
    )
    cited = f"{publisher} {source.year}".strip() if source.year else publisher
    if "illustrative" in statuses or not statuses:
        basis = "illustrative figures"
    elif "derived" in statuses:
        basis = f"derived from {cited}"
    else:
        basis = cited
    return BENCHMARK_WORDS.get(used, "nationally"), basis


SUMMARY_DESCRIPTIONS = {
    "label": "The subject and the threshold the row is about.",
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


def readme_lines(policy: object, benchmark: str) -> list[str]:
    return [
        f"Targets under the {policy.name} policy: {policy.title}.",  # type: ignore[attr-defined]
        policy.description,  # type: ignore[attr-defined]
        f"Benchmark: {BENCHMARK_WORDS.get(benchmark, 'national').removeprefix('in ')} "
        f"({benchmark}). Every input row is on the Targets sheet in input order with its own "
        "columns unchanged; targetkit's columns follow them, one block a subject.",
        "Moderate targets in the yellow target columns (a grade from the list; a typed number "
        "such as 4 means the grade 4). The comment on each target says why.",
        "Targets are never below the prior result, the latest attainment or a previous target; "
        "pupils with an EHC plan keep their plan target.",
        "Summary percentages use every pupil on roll as the denominator; the 'with a prior "
        "result' columns use pupils with a prior result only.",
        "targetkit reads this workbook back by its headers in words or by its column names "
        "(reading_target …): run set-targets on it again and its targets are kept as the "
        "previous targets, never lowered.",
    ]
