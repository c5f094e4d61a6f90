"""The report workbook (report): Summary, Key questions, Pupils, Groups, Review, Read me, About."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from targetkit import __version__
from targetkit.io import file_sha256
from targetkit.labels import point_words
from targetkit.pipeline import reporting as rp
from targetkit.presentation import in_words
from targetkit.presentation.targets import title_columns
from targetkit.scales import Scale
from targetkit.workbook import Chart, ReadMe, Sheet, Table, write_workbook

STATUS_FILLS = {rp.AHEAD: "blue", rp.ON_TRACK: "green", rp.BEHIND: "red", rp.NO_DATA: "grey"}
OUTCOME_FILLS = {rp.EXCEEDED: "blue", rp.MET: "green", rp.MISSED: "red", rp.NO_RESULT: "grey"}


def write_report_workbook(
    outcome: Any,
    tracking_file: Path,
    scale: Scale,
    settings: rp.ReportSettings,
    *,
    year_groups: list[int],
    pseudonymise_key: bytes | None,
    show_small_groups: bool,
    force: bool,
    inputs: Sequence[Path],
) -> None:
    from targetkit.privacy import (
        hide_small_groups,
        pseudonymise,
        pseudonymised_about,
        suppress_small_groups,
    )

    tracking, data = outcome.tracking, outcome.data
    pupils_sheet, descriptions, comments, fills = _pupils_sheet(tracking, data, scale)
    labels = tracking.pupils["pupil"]
    questions = _questions_sheet(data.questions, tracking)
    if pseudonymise_key is not None:
        left = outcome.pseudonymised["left_in_clear"] if outcome.pseudonymised else None
        pupils_sheet = pseudonymise(pupils_sheet, pseudonymise_key, left=left)
    percent_columns = ["pct_on_track", "others_pct_on_track"]
    groups = suppress_small_groups(
        data.trend,
        "pupils",
        [*percent_columns, "avg_steps", "gap_steps", "gap_pct"],
        settings.small_group,
        show=show_small_groups,
    )
    groups = groups.assign(
        small=np.where(groups["small"], "small", ""),
        widening=np.where(groups["widening"], "widening", ""),
    ).drop(columns=["small_group"])
    groups = hide_small_groups(groups, minimum=settings.small_group, show=show_small_groups)
    groups["drop"] = groups["drop"].map(point_words)  # "summer 2", not "sum2"
    own = [str(c) for c in tracking.frame.columns]
    added = [c for c in pupils_sheet.columns if c not in set(own)]
    grade_ends = ("_current", "_milestone", "_target_grade", "_result")
    grades = [c for c in added if c.endswith(grade_ends)]
    sheets = [
        _summary_sheet(tracking, data, settings, show_small_groups),
        Sheet(
            "Key questions",
            questions,
            wrap=["question_text", "detail"],
            freeze_columns=1,
            align={"question": "center", "count": "center"},
            descriptions={
                "question": "The key question (1-5) of the pupil progress review meeting.",
                "count": "How many pupils answer this question.",
                "input_row": "The pupil's row in the tracking file.",
                "subjects": "The subjects concerned.",
                "groups": "Question 1: the pupil's groups at risk of under-achievement.",
                "priority": "Question 5: the order to act in (regressed, stalled, then the "
                "furthest behind their milestone).",
            },
        ),
        Sheet(
            "Pupils",
            pupils_sheet,
            descriptions=descriptions,
            comments=comments,
            fills=fills,
            freeze_columns=title_columns(tracking.frame),
            blocks=[[c for c in added if c.startswith(f"{s}_")] for s in data.progress],
            print_blocks_only=True,  # the pupils' names and the report's columns, on 3 pages
            align={c: "center" for c in grades},
            number_formats={c: "0" for c in added if c.endswith("_steps_made")},
        ),
        Sheet(
            "Groups",
            groups,
            descriptions={
                "drop": "The data drop the figures are for.",
                "pupils": "Pupils in the group with a grade at this drop.",
                "small": f"'small': fewer than {settings.small_group} pupils; percentages are "
                "hidden unless --show-small-groups.",
                "pct_on_track": "Share of the group on track or ahead of their milestone.",
                "others_pct_on_track": "The same for the other pupils.",
                "avg_steps": "Average steps made since last summer's baseline.",
                "gap_steps": "Others' average steps minus the group's (positive: the group is "
                "behind).",
                "gap_pct": "Others' % on track minus the group's.",
                "widening": "GROUP_GAP_WIDENING: the gap in steps grew since the previous drop.",
            },
            fills={"widening": {"widening": "amber"}, "small": {"small": "grey"}},
            freeze_columns=3,
            number_formats={c: "0%" for c in [*percent_columns, "gap_pct"]}
            | {
                c: "0.0"
                for c in ["avg_steps", "others_avg_steps", "gap_steps", "previous_gap_steps"]
            },
        ),
    ]
    if not data.expectations.empty:
        sheets.append(_expected_sheet(data, settings, show_small_groups))
    borderline = borderline_sheet(tracking, getattr(outcome, "borderline", {}))
    if borderline is not None:
        sheets.append(borderline)
    if data.review_summary is not None:
        review = data.review_summary.assign(
            small=np.where(data.review_summary["small"], "small", "")
        )
        sheets.append(
            Sheet(
                "Review",
                review,
                descriptions={
                    "pct_met_or_exceeded": "Share of pupils with a result who reached the target.",
                    "avg_missed_by": "Average steps short of the target, for those who missed.",
                    "no_result": "Pupils with no result or no target (not in the percentages).",
                },
                number_formats={
                    c: "0%"
                    for c in ["pct_exceeded", "pct_met", "pct_met_or_exceeded", "pct_missed"]
                }
                | {"avg_missed_by": "0.0"},
            )
        )
        sheets.append(_missed_sheet(tracking, data, labels, scale))
    readme = ReadMe(
        title=f"targetkit report: {', '.join(f'Year {y}' for y in year_groups)} "
        f"at {point_words(tracking.term)}",
        lines=_readme_lines(outcome, settings),
        key=[
            (
                "blue",
                "ahead: at least "
                f"{settings.ahead_by} steps above this term's milestone (review: exceeded)",
            ),
            ("green", "on track: at or near the milestone (review: met)"),
            (
                "red",
                f"behind: {settings.behind_by} or more steps below the milestone (review: missed)",
            ),
            ("grey", "no data this drop"),
            ("amber", "group gap widening since the last drop"),
        ],
    )
    about = [
        ("targetkit version", __version__),
        ("tracking file", str(tracking_file)),
        ("tracking SHA-256", file_sha256(tracking_file)),
        *[(f"input {p.name} SHA-256", file_sha256(p)) for p in inputs[1:]],
        ("academic year", tracking.year_derived),
        ("term", f"{tracking.term} ({tracking.term_chosen})"),
        ("targets from", outcome.targets_from),
        ("settings", settings.name + ": " + settings.source),
        ("ahead / behind", f"+{settings.ahead_by} / -{settings.behind_by} steps from milestone"),
        ("pseudonymised", pseudonymised_about(outcome.pseudonymised)),
        ("rows", len(tracking.frame)),
        ("written", pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")),
    ]
    keep = {"Pupils": own}
    sheets = [
        sheet if sheet.name == "Summary" else in_words(sheet, keep.get(sheet.name, ()))
        for sheet in sheets
    ]
    write_workbook(outcome.output, sheets, readme=readme, about=about, force=force)


def borderline_sheet(tracking: Any, borderline: dict[str, pd.Series]) -> Sheet | None:
    """Borderline pupils (seed 000: "closely monitor progress of identified 'borderline'
    children in Y5, Y8 and Y10"): each pupil the engine flags BORDERLINE, with the subjects;
    None when there is none."""
    from targetkit.pipeline.steps import join_flags

    pupils = tracking.pupils
    if not borderline or not any(bool(mask.any()) for mask in borderline.values()):
        return None
    subjects = join_flags(borderline, index=pupils.index).str.replace("; ", ", ")
    chosen = subjects.ne("")
    table = pd.DataFrame(
        {
            "input_row": pupils.index[chosen],
            "pupil": pupils["pupil"][chosen].to_numpy(),
            "year_group": pupils["year_group"][chosen].to_numpy()
            if "year_group" in pupils
            else None,
            "subjects": subjects[chosen].to_numpy(),
        }
    )
    return Sheet(
        "Borderline",
        table,
        descriptions={
            "input_row": "The pupil's row in the tracking file.",
            "subjects": "BORDERLINE: one step below the age-related expectation at the latest "
            "drop, in a borderline year (Years 5 and 6 on the steps policy).",
        },
        intro=[
            "Pupils to monitor closely this year (the guidance: identify 'borderline' children "
            "in Years 5, 8 and 10 and the final year's target pupils)."
        ],
        freeze_columns=2,
    )


EXPECTED_PCT = "% at or above the expectation"
PUPILS_NOW = "Pupils with a grade (latest drop)"


def _expected_sheet(data: rp.ReportData, settings: rp.ReportSettings, show_small: bool) -> Sheet:
    """% at or above the age-related expectation per subject and group, a column a drop (the
    policy's "the majority will be stage secure by the end of the year"): one row a group, so
    the year reads across a line; small groups' percentages hidden."""
    table = data.expectations
    hide = table["small"].astype(bool) & (not show_small)
    keys = ["subject", "group"]
    rows = table[keys].drop_duplicates().reset_index(drop=True)
    drops = list(dict.fromkeys(table["drop"]))
    order = rows.set_index(keys).index
    latest = table.drop_duplicates(keys, keep="last").set_index(keys)["pupils"]
    frame = rows.assign(**{PUPILS_NOW: latest.reindex(order).to_numpy()})
    pct = table.assign(pct=table["pct"].where(~hide)).set_index([*keys, "drop"])["pct"]
    columns = {}
    for drop in drops:
        header = f"{EXPECTED_PCT}: {point_words(drop)}"
        index = pd.MultiIndex.from_frame(rows.assign(drop=drop))
        columns[header] = pct.reindex(index).to_numpy()
    small = table.groupby(keys, sort=False)["small"].any().reindex(order)
    frame = frame.assign(**columns, small=np.where(small.to_numpy(dtype=bool), "small", ""))
    return Sheet(
        "Expected",
        frame,
        descriptions={
            PUPILS_NOW: "Pupils with a grade at the latest drop whose year group has an "
            "age-related expectation.",
            **{
                header: "Of the pupils with a grade at this drop, the share at or above the "
                "age-related expectation for the time of year; the majority should be secure "
                "by the end of the year (the policy)."
                for header in columns
            },
            "small": f"'small': fewer than {settings.small_group} pupils; the percentages are "
            "hidden unless --show-small-groups.",
        },
        fills={"small": {"small": "grey"}},
        number_formats=dict.fromkeys(columns, "0%"),
        freeze_columns=2,
    )


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name = f"{name}_report"
    taken.add(name)
    return name


def _pupils_sheet(
    tracking: Any, data: rp.ReportData, scale: Scale
) -> tuple[pd.DataFrame, dict[str, str], dict[str, pd.Series], dict[str, dict[str, str]]]:
    """Every input row, its own columns unchanged, then per subject the report's columns."""
    frame = tracking.frame  # copy-on-write: concat below never changes the input frame
    taken = {str(c) for c in frame.columns}
    added: dict[str, pd.Series] = {}
    descriptions: dict[str, str] = {}
    comments: dict[str, pd.Series] = {}
    fills: dict[str, dict[str, str]] = {}
    for subject, p in data.progress.items():
        names = {
            key: _unique(f"{subject}_{key}", taken)
            for key in ("current", "milestone", "target_grade", "steps_made", "status", "flags")
        }
        current = scale.grade_at_or_below(p["latest"])
        milestone = scale.grade_at_or_below(p["milestone"])
        target = scale.grade_at_or_below(p["target"])
        added[names["current"]] = current
        added[names["milestone"]] = milestone
        added[names["target_grade"]] = target
        added[names["steps_made"]] = p["steps_made"]
        added[names["status"]] = p["status"]
        added[names["flags"]] = p["flags"]
        descriptions |= {
            names["current"]: f"{subject}: the grade at the latest drop with data.",
            names["milestone"]: f"{subject}: where the pupil should be now: baseline + one step "
            "per half term, catch-up spread evenly, rounded down.",
            names["target_grade"]: f"{subject}: the end-of-year target.",
            names["steps_made"]: f"{subject}: steps made since last summer's baseline.",
            names["status"]: f"{subject}: ahead / on track / behind against the milestone.",
            names["flags"]: f"{subject}: REGRESSED, STALLED, NOT_ON_TRACK, CATCH_UP (see Read me).",
        }
        left = (rp.STEPS_PER_YEAR - p["half_terms"]).astype("str")
        comments[names["status"]] = (
            "Now "
            + current.fillna("-").astype("str")
            + "; milestone "
            + milestone.fillna("-").astype("str")
            + "; target "
            + target.fillna("-").astype("str")
            + "; "
            + p["steps_needed"].astype("Int64").astype("str").replace("<NA>", "?")
            + " steps needed, "
            + left
            + " half terms left."
        ).where(p["status"] != rp.NO_DATA)
        fills[names["status"]] = STATUS_FILLS
        if subject in data.review:
            review = data.review[subject]
            result_name = _unique(f"{subject}_result", taken)
            outcome_name = _unique(f"{subject}_outcome", taken)
            added[result_name] = scale.grade_at_or_below(review["result"])
            added[outcome_name] = review["outcome"]
            descriptions[result_name] = f"{subject}: the end-of-year result (from --results)."
            descriptions[outcome_name] = f"{subject}: exceeded / met / missed the target."
            fills[outcome_name] = OUTCOME_FILLS
    extra = pd.DataFrame(added, index=frame.index)
    sheet = pd.concat([frame, extra], axis=1).reset_index(drop=True)
    comments = {k: v.reset_index(drop=True) for k, v in comments.items()}
    return sheet, descriptions, comments, fills


def _questions_sheet(questions: pd.DataFrame, tracking: Any) -> pd.DataFrame:
    """One row per question and pupil, with the count; a question nobody answers says so."""
    counts = questions.groupby("question")["pupil"].nunique()
    empty = [
        {"question": q, "question_text": t, "pupil": "(none)"}
        for q, t in rp.QUESTIONS.items()
        if q not in counts.index
    ]
    table = pd.concat([questions, pd.DataFrame(empty)], ignore_index=True)
    table = table.sort_values(["question", "priority"], kind="stable", na_position="last")
    table.insert(2, "count", table["question"].map(counts).fillna(0).astype("int64"))
    return table.rename(columns={"row": "input_row"}).reset_index(drop=True)


def _summary_sheet(
    tracking: Any, data: rp.ReportData, settings: rp.ReportSettings, show_small: bool
) -> Sheet:
    """One sentence a subject; % on track by group (this term); below it, average points at
    each drop; then the two charts."""
    subjects = list(data.progress)
    everyone = rp.Group(
        "all",
        "All pupils",
        pd.Series(True, index=tracking.pupils.index),
        pd.Series(False, index=tracking.pupils.index),
    )
    # every group but one per value of a column (ethnicity: on the Groups sheet), a school's
    # own groups (intervention groups) included
    main = [everyone, *(g for g in data.groups if ":" not in g.key)]
    by_group = []
    for group in main:
        row: dict[str, object] = {"Group": group.name, "Pupils": int(group.members.sum())}
        for subject, p in data.progress.items():
            chosen = p[group.members.to_numpy() & (p["status"] != rp.NO_DATA).to_numpy()]
            share = chosen["status"].isin([rp.AHEAD, rp.ON_TRACK]).mean() if len(chosen) else None
            small = len(chosen) < settings.small_group and group.key != "all"
            row[f"{subject.capitalize()}: % on track"] = None if small and not show_small else share
        by_group.append(row)
    groups_frame = pd.DataFrame(by_group)
    drops = [c for c in next(iter(tracking.points.values())).columns]
    trend = pd.DataFrame(
        {
            "Data drop": [
                "last summer (baseline)" if d == "baseline" else point_words(d) for d in drops
            ],
            **{
                f"{subject.capitalize()}: average points": [
                    tracking.points[subject][d].mean() if d in tracking.points[subject] else None
                    for d in drops
                ]
                for subject in subjects
            },
        }
    )
    pct = [f"{s.capitalize()}: % on track" for s in subjects]
    avg = [f"{s.capitalize()}: average points" for s in subjects]
    return Sheet(
        "Summary",
        groups_frame,
        intro=summary_sentences(data, tracking.term) + expectation_sentences(data, tracking.term),
        below=[
            Table("Attainment at each data drop", trend, {c: "0.0" for c in avg}),
        ],
        descriptions={
            "Group": "All pupils, then each group (ethnic groups are on the Groups sheet).",
            **{c: "Share of pupils with a grade this term who are on track or ahead." for c in pct},
            "Data drop": "Last summer's baseline, then each drop this year (second table).",
            **{c: "Average steps points (1b = 1 … 6s+ = 36) at the drop." for c in avg},
        },
        number_formats={c: "0%" for c in pct},
        charts=[
            Chart(
                "% on track by subject and group",
                "Group",
                pct,
                kind="column",
                y_title="% on track or ahead",
                percent=True,
            ),
            Chart(
                "Attainment over the drops",
                "Data drop",
                avg,
                kind="line",
                y_title="average steps points",
                table=1,
            ),
        ],
        freeze_columns=1,
        filter=False,
    )


def summary_sentences(data: rp.ReportData, term: str) -> list[str]:
    """One sentence a subject: "Reading: 40 of 58 pupils with a grade at spring 2 (69%) are on
    track or ahead of their milestone; 18 are behind; 2 regressed." """
    lines = []
    for subject, p in data.progress.items():
        graded = p["status"] != rp.NO_DATA
        on_track = p["status"].isin([rp.AHEAD, rp.ON_TRACK])
        behind = int((p["status"] == rp.BEHIND).sum())
        share = on_track.sum() / graded.sum() if graded.any() else 0
        text = (
            f"{subject.capitalize()}: {int(on_track.sum())} of {int(graded.sum())} pupils with a "
            f"grade at {point_words(term)} ({share:.0%}) are on track or ahead of their "
            f"milestone; {behind} {'is' if behind == 1 else 'are'} behind"
        )
        regressed = int(p["regressed"].fillna(False).astype(bool).sum())
        if regressed:
            text += f"; {regressed} went down since the previous drop"
        lines.append(text + ".")
    return lines


def expectation_sentences(data: rp.ReportData, term: str) -> list[str]:
    """One sentence a subject: "Reading: 12 of 20 pupils (60%) are at or above the age-related
    expectation at spring 2." (only where the scale has an expectation for their year)."""
    table = data.expectations
    mine = table[(table["group"] == "All pupils") & (table["drop"] == term)]
    return [
        f"{row.subject.capitalize()}: {row.at_expected} of {row.pupils} pupils ({row.pct:.0%}) "
        f"are at or above the age-related expectation at {point_words(term)}."
        for row in mine.itertuples()
    ]


def _missed_sheet(tracking: Any, data: rp.ReportData, labels: pd.Series, scale: Scale) -> Sheet:
    parts = []
    for subject, review in data.review.items():
        missed = review[review["outcome"] == rp.MISSED]
        parts.append(
            pd.DataFrame(
                {
                    "pupil": labels.loc[missed.index].to_numpy(),
                    "input_row": missed.index.to_numpy(),
                    "year_group": tracking.pupils.loc[missed.index, "year_group"].to_numpy(),
                    "subject": subject,
                    "target": scale.grade_at_or_below(missed["target"]).to_numpy(),
                    "result": scale.grade_at_or_below(missed["result"]).to_numpy(),
                    "missed_by": (-missed["difference"]).to_numpy(),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return Sheet(
        "Missed targets",
        frame,
        descriptions={"missed_by": "Steps between the result and the target."},
    )


def scale_title(tracking: Any) -> str:
    return tracking.scale.title if tracking.scale is not None else "steps"


def _readme_lines(outcome: Any, settings: rp.ReportSettings) -> list[str]:
    tracking, c = outcome.tracking, outcome.counts
    lines = [
        f"Term: {point_words(tracking.term)} ({tracking.term_chosen}); academic year "
        f"{tracking.year_derived}.",
        f"Targets from {outcome.targets_from}.",
        f"{c['pupils']} pupils; {c['on_track_or_ahead']} of {c['pupil_subjects']} pupil-subjects "
        f"on track or ahead, {c['behind']} behind, {c['no_data']} without a grade this drop.",
        f"Flags: {c['regressed']} REGRESSED, {c['stalled']} STALLED, {c['not_on_track']} "
        f"NOT_ON_TRACK, {c['catch_up']} CATCH_UP, {c['gaps_widening']} GROUP_GAP_WIDENING.",
        "Milestone: last summer's baseline + one step per half term so far, with any catch-up "
        "steps spread evenly over the six half terms (rounded down). On another scale: a "
        "straight line from last summer's baseline to this year's target (this year's "
        "milestone from the engine before the key stage's final year), rounded down.",
        f"Grades on the {scale_title(tracking)} scale; a step is one grade of it (an NC "
        "sub-level, a GCSE grade, a scaled-score point). Year 1 starts from 'not yet 1b'.",
        "Expected sheet: the share of pupils at or above the age-related expectation at each "
        "drop (steps: the scale's 'secure' step by the end of each year; NC levels: 2b at the "
        "end of Year 2, level 4 at Year 6, level 5 at Year 9; GCSE: grade 4 in Year 11; "
        "straight lines between them, targetkit's choice).",
        "REGRESSED: lower than the previous drop. STALLED: the latest drop is no higher than the "
        "drop two before it (the baseline counts as a drop). NOT_ON_TRACK: more steps still "
        "needed than half terms left. CATCH_UP: last summer's baseline was below the "
        "age-related expectation (the target includes catch-up steps).",
        "Every input row is on the Pupils sheet in input order with its own columns unchanged; "
        "the report's columns follow them. Printed, the Pupils sheet shows the pupils' names "
        "and the report's columns, a subject a page; the tracking columns stay in the sheet.",
    ]
    if tracking.skipped_subjects:
        lines.append(
            "Not reported (no baseline column): " + ", ".join(tracking.skipped_subjects) + "."
        )
    return lines
