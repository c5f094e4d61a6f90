"""`targetkit report`: the termly progress report from a tracking sheet (any tracked scale)."""

from __future__ import annotations

from pathlib import Path

import click

from targetkit.cli.common import (
    force_option,
    format_option,
    pseudonymise_option,
    run_command,
    sheet_option,
    show_small_groups_option,
)
from targetkit.columns import DATA_DROPS

TERMS = ("auto", *DATA_DROPS)


@click.command()
@click.argument("tracking", metavar="TRACKING", type=click.Path(path_type=Path))
@click.option(
    "--targets",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A targets workbook (set-targets output; <subject>_target and this year's milestone "
    "by UPN). Default: the policy's targets, as set-targets sets them.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    metavar="OUT|DIR",
    help="The report workbook, or a folder for report-y<year>-<term>.xlsx (made if missing: "
    "a trailing slash, or no .xlsx suffix). Default: beside TRACKING.",
)
@click.option(
    "--term",
    type=click.Choice(TERMS, case_sensitive=False),
    default="auto",
    show_default=True,
    help="The data drop to report on; auto takes the latest drop with data.",
)
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="End-of-year results by UPN (<subject>_result or <subject>_sum2): adds the review of "
    "targets against results.",
)
@click.option(
    "--policy",
    metavar="NAME",
    help="The policy for targets without --targets, and the scale of the grades (default: the "
    "scale the grades fit - steps, NC levels, GCSE, KS2 scaled scores - and its policy for "
    "each year group).",
)
@click.option(
    "--academic-year",
    metavar="YYYY/YY",
    help="The academic year of the drops (default: from the baseline column's year).",
)
@click.option(
    "--settings",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Report settings YAML (ahead/behind thresholds, groups); default: the shipped one.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["challenge", "warning", "never"]),
    default="never",
    show_default=True,
    help="Exit 1 when any finding is at least this severe (never: always 0 once written).",
)
@sheet_option
@pseudonymise_option
@show_small_groups_option
@force_option
@format_option
@run_command
def report(
    tracking: Path,
    targets: Path | None,
    output: Path | None,
    term: str,
    results: Path | None,
    policy: str | None,
    academic_year: str | None,
    settings: Path | None,
    fail_on: str,
    sheet: str | None,
    pseudonymise: bool,
    key_file: Path | None,
    show_small_groups: bool,
    force: bool,
    output_format: str,
) -> int:
    """Write the termly progress report for TRACKING, a tracking sheet in steps, NC levels,
    GCSE grades (9-1 or A*-G) or KS2 scaled scores (Year 1: EYFS outcome, then steps).

    Per pupil and subject: the current grade, this term's milestone, steps made, status (ahead
    / on track / behind) and the flags REGRESSED, STALLED, NOT_ON_TRACK and CATCH_UP; the five
    key questions of pupil progress meetings with pupil lists; group gaps and their trend; the
    % at or above the age-related expectation at each drop.

    \b
    Example (cron after each data drop; reports/ is made if missing, and --force replaces
    this term's report when the run is repeated):
      targetkit -q report tracking.xlsx --targets targets.xlsx -o reports/ --force

    Exit status: 0 when the report was written; 1 only with --fail-on and a finding at least
    that severe; 2 on bad usage or unreadable input.
    """
    from targetkit import console
    from targetkit.commands.report import report_file
    from targetkit.findings import SEVERITY_RANK
    from targetkit.privacy import requested_key

    outcome = report_file(
        tracking,
        targets=targets,
        output=output,
        term=term.lower(),
        results=results,
        policy=policy,
        academic_year=academic_year,
        settings=settings,
        sheet=sheet,
        force=force,
        pseudonymise_key=requested_key(pseudonymise, key_file),
        show_small_groups=show_small_groups,
    )
    console.print_outcome("report", outcome, output_format)
    worst = outcome.worst_severity()
    if fail_on != "never" and worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK[fail_on]:
        return 1
    return 0
