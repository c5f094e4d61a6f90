"""`targetkit set-targets`: a target for every pupil and subject, in a workbook to moderate."""

from __future__ import annotations

from pathlib import Path

import click

from targetkit.cli.common import (
    force_option,
    format_option,
    pseudonymise_option,
    require_files,
    run_command,
    sheet_option,
)


@click.command("set-targets")
@click.argument("cohort", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="The targets workbook (.xlsx), or .csv for the Targets sheet alone (any number of "
    "pupils). Default: COHORT-targets.xlsx beside COHORT.",
)
@click.option(
    "--policy",
    default="auto",
    show_default=True,
    metavar="auto|NAME|FILE.yaml",
    help="The progress policy (any case: KS2): ks1, ks2, ks2_ta, ks2_ta_writing, ks3, ks4, "
    "ks4_levels, steps; auto picks it from the policies' year groups and the scale of the "
    "prior columns, and says why.",
)
@click.option(
    "--benchmark",
    type=click.Choice(["top25", "top50", "national"]),
    default="top25",
    show_default=True,
    help="Which schools' conversion data to aim for (the guidance recommends top25).",
)
@click.option(
    "--conversion", metavar="FILE.csv", help="A conversion table instead of the policy's."
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    metavar="TARGETS.xlsx",
    help="Earlier targets (moderated ones too): no target is set below them.",
)
@click.option(
    "--subjects", metavar="LIST", help="Comma-separated subjects (default: the policy's)."
)
@click.option(
    "--entries",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="ks4: the GCSE entries, one row per pupil and subject (UPN, Subject, Qualification). "
    "Default: an Entries sheet of the cohort workbook, else its <subject>_entered columns.",
)
@sheet_option
@pseudonymise_option
@force_option
@format_option
@run_command
def set_targets(
    cohort: Path,
    output: Path | None,
    policy: str,
    benchmark: str,
    conversion: str | None,
    previous: Path | None,
    subjects: str | None,
    entries: Path | None,
    sheet: str | None,
    pseudonymise: bool,
    key_file: Path | None,
    force: bool,
    output_format: str,
) -> int:
    """Set a target for every pupil in COHORT in each core subject (ks4: and in every GCSE
    subject each pupil is entered for, with the Attainment 8 and Progress 8 of the targets).

    Writes a workbook with sheets Targets (your columns, then per subject the prior, the
    benchmark's chances, the minimum, the suggestion, an editable target with a comment saying
    why, milestones and a reason), Summary (school-level targets against the benchmark, with a
    chart), Summary by group, Read me and About.
    """
    from targetkit import console
    from targetkit.commands.set_targets import set_targets as run
    from targetkit.privacy import requested_key

    require_files(cohort, *([entries] if entries else []))
    outcome = run(
        cohort,
        output=output,
        policy=policy,
        benchmark=benchmark,
        conversion=conversion,
        previous=previous,
        subjects=subjects.split(",") if subjects else None,
        sheet=sheet,
        force=force,
        pseudonymise_key=requested_key(pseudonymise, key_file),
        entries=entries,
    )
    console.print_outcome("set-targets", outcome, output_format)
    return 0
