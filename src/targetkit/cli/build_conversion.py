"""`targetkit build-conversion`: conversion data from your own historic results."""

from __future__ import annotations

from pathlib import Path

import click

from targetkit.cli.common import force_option, format_option, run_command, sheet_option


@click.command("build-conversion")
@click.argument("history", type=click.Path(path_type=Path))
@click.option("--prior", required=True, metavar="COL", help="The prior-attainment column.")
@click.option("--outcome", required=True, metavar="COL", help="The outcome column.")
@click.option(
    "--top",
    type=click.IntRange(1, 100),
    default=25,
    show_default=True,
    help="Keep this top percentage of schools by value added (25 or 50).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    metavar="TABLE.csv",
    help="The table to write; its metadata goes to TABLE.yaml beside it.",
)
@click.option("--school", default="school", show_default=True, metavar="COL", help="School column.")
@click.option("--prior-scale", metavar="SCALE", help="Scale of the prior (default: guessed).")
@click.option("--outcome-scale", metavar="SCALE", help="Scale of the outcome (default: guessed).")
@click.option("--subject", help="Subject name in the table (default: from the outcome column).")
@sheet_option
@force_option
@format_option
@run_command
def build_conversion(
    history: Path,
    prior: str,
    outcome: str,
    top: int,
    output: Path,
    school: str,
    prior_scale: str | None,
    outcome_scale: str | None,
    subject: str | None,
    sheet: str | None,
    force: bool,
    output_format: str,
) -> int:
    """Build a conversion table from HISTORY (one row per pupil, with a school column).

    Schools are ranked by value added (mean outcome points minus the mean for all pupils in
    the history with the same prior); the top quarter (or --top) is kept and what their pupils
    with each prior achieved is counted. Priors with fewer than 5 pupils are flagged.
    """
    from targetkit import console
    from targetkit.commands.build_conversion import build_conversion_file

    outcome_ = build_conversion_file(
        history,
        prior,
        outcome,
        output,
        top=top,
        school=school,
        prior_scale=prior_scale,
        outcome_scale=outcome_scale,
        subject=subject,
        sheet=sheet,
        force=force,
    )
    console.print_outcome("build-conversion", outcome_, output_format)
    return 0
