"""`targetkit check-ambition`: challenge unambitious targets in one or many school submissions."""

from __future__ import annotations

from pathlib import Path

import click

from targetkit.cli.common import (
    force_option,
    format_option,
    pseudonymise_option,
    run_command,
)


@click.command("check-ambition")
@click.argument(
    "submissions",
    metavar="SUBMISSION...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the LA workbook (LA summary, Challenges, Files) here (.xlsx).",
)
@click.option(
    "--previous-results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Last year's results (group columns and <subject>_result or <subject>_ks2 ...), "
    "to check that targeted gaps are not wider than last year's.",
)
@click.option(
    "--previous-targets",
    type=click.Path(path_type=Path),
    help="Last time's targets (a file or a folder); lowered targets are challenged. A folder "
    "named previous_targets is never read as submissions.",
)
@click.option(
    "--benchmark",
    type=click.Choice(["top25", "top50", "national"]),
    default="top25",
    show_default=True,
    help="The schools whose results say what is ambitious.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["challenge", "warning", "never"]),
    default="challenge",
    show_default=True,
    help="Exit 1 when any finding is at least this severe (never: always 0).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Files to check at once (default: the number of cores).",
)
@pseudonymise_option
@force_option
@format_option
@run_command
def check_ambition(
    submissions: tuple[Path, ...],
    output: Path | None,
    previous_results: Path | None,
    previous_targets: Path | None,
    benchmark: str,
    fail_on: str,
    jobs: int | None,
    pseudonymise: bool,
    key_file: Path | None,
    force: bool,
    output_format: str,
) -> int:
    """Check SUBMISSION targets workbooks (or CSVs, or folders of them) for low ambition.

    Each file is one school. Targets are challenged when below the policy's minimum progress
    for the pupil's prior, below what the pupil has already reached, below last time's target,
    below what the benchmark schools' pupils with the same prior achieve, or lower for a group
    (disadvantaged, FSM, looked-after, SEN support, EAL, minority ethnic) than for others with
    the same prior. A file that cannot be read is reported and the rest are still checked.

    Exit status: 1 when a finding is at or above --fail-on, 0 otherwise, 2 on bad usage.
    """
    from targetkit import console
    from targetkit.commands.check_ambition import check_ambition as run_check
    from targetkit.commands.check_ambition import print_summary_table, print_tables
    from targetkit.privacy import requested_key

    outcome = run_check(
        submissions,
        output=output,
        previous_results=previous_results,
        previous_targets=previous_targets,
        benchmark=benchmark,
        jobs=jobs,
        force=force,
        pseudonymise_key=requested_key(pseudonymise, key_file),
    )
    if output_format == "json":
        console.print_json(
            console.result_document("check-ambition", outcome.summary(), outcome.finding_records())
        )
    elif outcome.output is not None:  # the details are in the LA workbook
        print_summary_table(outcome)
    else:
        print_tables(outcome)
    for line in outcome.note_lines():
        console.warn(line)
    if output_format != "json":
        for line in outcome.report_lines():
            console.result(line)
    return int(outcome.exit_status(fail_on))
