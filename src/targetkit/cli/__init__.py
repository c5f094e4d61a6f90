"""The `targetkit` command line: click commands only; the work is done by the library.

Each command lives in its own module here and imports pandas only when it runs, so
`targetkit --help` never loads it.
"""

from __future__ import annotations

import click

from targetkit import __version__, console
from targetkit.cli.build_conversion import build_conversion
from targetkit.cli.check_ambition import check_ambition
from targetkit.cli.common import VERBOSITY, TargetkitGroup, verbosity_options
from targetkit.cli.convert import convert
from targetkit.cli.demo import demo
from targetkit.cli.import_ import import_command
from targetkit.cli.report import report
from targetkit.cli.set_targets import set_targets


@click.group(
    cls=TargetkitGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="targetkit")
@click.option(*VERBOSITY["quiet"][:2], is_flag=True, help=VERBOSITY["quiet"][2])
@click.option(*VERBOSITY["verbose"][:2], is_flag=True, help=VERBOSITY["verbose"][2])
def main(quiet: bool, verbose: bool) -> None:
    """Set, check and track pupil attainment targets from school MIS exports.

    \b
    Typical use:
      targetkit demo my-demo                      example inputs to try everything on
      targetkit import export.csv -o cohort.xlsx  MIS export -> clean cohort
      targetkit set-targets cohort.xlsx           -> cohort-targets.xlsx to moderate
      targetkit check-ambition submissions/       LA check of schools' targets
      targetkit report tracking.xlsx -o reports/  after each data drop

    Exit status: 0 done; 1 done, but findings need attention; 2 bad usage or unreadable
    input. Pupil data never leaves this computer: targetkit makes no network connections.
    """
    console.settings.quiet = quiet
    console.settings.verbose = verbose


for command in (
    build_conversion,
    check_ambition,
    convert,
    demo,
    import_command,
    report,
    set_targets,
):
    main.add_command(verbosity_options(command))
