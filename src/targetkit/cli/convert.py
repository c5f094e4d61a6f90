"""`targetkit convert`: translate grades between assessment scales."""

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


@click.command()
@click.argument("input_file", metavar="INPUT", required=False, type=click.Path(path_type=Path))
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="COL",
    help="A column to convert (repeat for several). Header spelling is forgiving.",
)
@click.option("--from", "source", metavar="SCALE", help="The scale the grades are on, or 'points'.")
@click.option(
    "--to",
    "target",
    metavar="SCALE",
    help="The scale to convert to, 'points', or a measure such as attainment8.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (.xlsx or .csv). Default: INPUT-<to>.<same type> beside INPUT.",
)
@click.option(
    "--list", "list_only", is_flag=True, help="List the scales and conversions, then stop."
)
@sheet_option
@pseudonymise_option
@force_option
@format_option
@run_command
def convert(
    input_file: Path | None,
    columns: tuple[str, ...],
    source: str | None,
    target: str | None,
    output: Path | None,
    list_only: bool,
    sheet: str | None,
    pseudonymise: bool,
    key_file: Path | None,
    force: bool,
    output_format: str,
) -> int:
    """Add a `<column>_<to>` column beside each COL with its grades on another scale.

    Values that cannot be converted (unknown grades, non-grade codes such as A for absent)
    are left blank and reported with their row, column and value; nothing is guessed.
    """
    from targetkit import console
    from targetkit.errors import UsageError

    if list_only:
        from targetkit.scales import conversion_list

        rows = conversion_list()
        if output_format == "json":
            summary = {"count": len(rows), "conversions": rows}
            console.print_json(console.result_document("convert", summary, []))
        else:
            console.print_table(
                "Scales and conversions",
                ["from", "to", "kind", "approximate", "what"],
                [[r["from"], r["to"], r["kind"], r["approximate"], r["title"]] for r in rows],
            )
        return 0
    if input_file is None or not columns or not source or not target:
        raise UsageError(
            "convert needs INPUT, at least one --column, --from and --to",
            hint="e.g. targetkit convert cohort.xlsx --column reading_ks1 --from nc --to points",
        )
    require_files(input_file)
    from targetkit.commands.convert import convert_file
    from targetkit.privacy import requested_key

    outcome = convert_file(
        input_file,
        columns,
        source,
        target,
        output=output,
        sheet=sheet,
        force=force,
        pseudonymise_key=requested_key(pseudonymise, key_file),
    )
    console.print_outcome("convert", outcome, output_format)
    return 0
