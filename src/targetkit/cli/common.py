"""What every command shares: error handling, output options and the exit statuses.

Library errors become one line on stderr and an exit status here, in one place; a traceback
is shown only with --verbose.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from targetkit import console
from targetkit.errors import ExitStatus, TargetkitError

F = TypeVar("F", bound=Callable[..., Any])


def run_command(function: F) -> F:
    """Run a command's body; turn errors into one clear line and an exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            status = function(*args, **kwargs)
        except TargetkitError as exc:
            if console.settings.verbose:
                traceback.print_exc()
            console.error(str(exc))
            sys.exit(int(exc.exit_status))
        except KeyboardInterrupt:
            console.error("interrupted; no output was written")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except MemoryError:
            console.error("not enough memory for this input; try a smaller file")
            sys.exit(int(ExitStatus.BAD_INPUT))
        except Exception as exc:
            if console.settings.verbose:
                traceback.print_exc()
            console.error(
                f"unexpected error ({type(exc).__name__}: {exc}); run again with --verbose "
                "for details and report it"
            )
            sys.exit(int(ExitStatus.BAD_INPUT))
        sys.exit(int(status or ExitStatus.DONE))

    return wrapper  # type: ignore[return-value]


def force_option(function: F) -> F:
    return click.option("--force", is_flag=True, help="Overwrite the output if it already exists.")(
        function
    )


def format_option(function: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="How to print results: a table for people, JSON for programs.",
    )(function)


def sheet_option(function: F) -> F:
    return click.option(
        "--sheet",
        metavar="NAME",
        help="The sheet to read from a workbook (default: the one with data).",
    )(function)
