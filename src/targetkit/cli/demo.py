"""`targetkit demo`: write realistic synthetic inputs to try every command on."""

from __future__ import annotations

from pathlib import Path

import click

from targetkit.cli.common import force_option, run_command


@click.command()
@click.argument(
    "directory",
    required=False,
    default="targetkit-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--pupils",
    type=click.IntRange(6, 2_000_000),  # the messy export plants its problems in 6 pupils
    default=60,
    show_default=True,
    help="Pupils in each cohort (the benchmarks use large numbers).",
)
@click.option(
    "--seed",
    type=int,
    default=2026,
    show_default=True,
    help="Random seed: the same seed always gives the same files.",
)
@force_option
@run_command
def demo(directory: Path, pupils: int, seed: int, force: bool) -> int:
    """Write example inputs into DIRECTORY (default: ./targetkit-demo).

    Every pupil is fictional. The files: a primary cohort with KS1 levels, an infant cohort
    with EYFS outcomes, a KS3 and a secondary cohort, a steps tracking workbook over six data
    drops, a folder of LA submissions and a messy MIS export. Then it prints commands to try.
    """
    from targetkit import console
    from targetkit.commands.demo import write_demo

    written = write_demo(directory, pupils=pupils, seed=seed, force=force)
    for path in written:
        console.info(f"wrote {path}")
    console.result(f"Wrote {len(written)} example files to {directory}. Try:")
    cohort = directory / "primary-cohort.xlsx"
    console.result(
        f"  targetkit convert {cohort} --column reading_ks1 --column maths_ks1"
        " --from nc --to points"
    )
    console.result("  targetkit convert --list")
    return 0
