"""`targetkit import`: MIS exports → one clean cohort workbook, every problem listed."""

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


@click.command("import")
@click.argument(
    "sources", metavar="SOURCE...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="The cohort file (.xlsx, or .csv plus a -issues.csv). "
    "Default: <first SOURCE>-cohort.xlsx beside it.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path),
    metavar="MAP.yaml",
    help="Your own header names: 'columns:' header → canonical name (see docs/import.md).",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when any data error is found.")
@click.option(
    "--academic-year",
    metavar="YYYY/YY",
    help="The academic year for the age check, e.g. 2026/27. Default: the one in progress.",
)
@sheet_option
@pseudonymise_option
@force_option
@format_option
@run_command
def import_command(
    sources: tuple[Path, ...],
    output: Path | None,
    mapping: Path | None,
    strict: bool,
    academic_year: str | None,
    sheet: str | None,
    pseudonymise: bool,
    key_file: Path | None,
    force: bool,
    output_format: str,
) -> int:
    """Turn MIS exports (CSV, XLSX, XLS, ODS), DfE downloads and Common Transfer Files (CTF
    XML) into one cohort workbook.

    Finds the header below report titles, maps SIMS, Arbor, Bromcom, ScholarPack, Target
    Tracker and DfE/NPD column names, tidies values (Y/N, Year 3/R, old SEN codes, UK dates, grade
    spellings), checks UPNs, year groups and grades, and joins several SOURCE files on UPN
    (else admission number). Every pupil row is kept; problems are listed on 'Data issues'.

    Exit status: 0 done; 1 with --strict when there are data errors; 2 when a file cannot be
    read.
    """
    from targetkit import console
    from targetkit.commands.import_ import import_sources
    from targetkit.privacy import requested_key

    require_files(*sources)
    outcome = import_sources(
        sources,
        output=output,
        mapping=mapping,
        sheet=sheet,
        academic_year=academic_year,
        force=force,
        pseudonymise_key=requested_key(pseudonymise, key_file),
    )
    console.print_outcome("import", outcome, output_format)
    return 1 if strict and outcome.result.counts()["error"] else 0
