"""What every command shares: error handling, output options and the exit statuses.

Library errors and usage errors become one line on stderr and an exit status here, in one
place; a traceback is shown only with --verbose.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import click

from targetkit import console
from targetkit.errors import ExitStatus, InputError, TargetkitError

F = TypeVar("F", bound=Callable[..., Any])


def run_command(function: F) -> F:
    """Run a command's body; turn errors into one clear line and an exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            _run_guarded(function, args, kwargs)
        finally:
            signal.signal(signal.SIGTERM, previous)
            _flush_or_silence()

    return wrapper  # type: ignore[return-value]


class TargetkitGroup(click.Group):
    """click's group, but a usage error is one line naming the problem and pointing to --help.

    click prints four lines (usage, "Try …", a blank line, "Error: …"); every other targetkit
    error is one line, so usage errors are too (exit status 2, as click's).
    """

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # `targetkit` alone: the help, as click shows it
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            console.error(usage_error_line(exc))
            sys.exit(exc.exit_code)
        except click.Abort:
            console.error("aborted; no output was written")
            sys.exit(130)
        sys.exit(status if isinstance(status, int) else int(ExitStatus.DONE))


def one_line(message: str) -> str:
    """A message on one line: a library's multi-line text (a YAML or XML parser's) joined."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def usage_error_line(exc: click.ClickException) -> str:
    """click's message on one line, pointing to the command's --help for a usage error."""
    message = one_line(exc.format_message())
    if isinstance(exc, click.NoSuchOption):
        message = f"no such option {exc.option_name!r}"
        if exc.possibilities:
            message += f"; did you mean {' or '.join(map(repr, exc.possibilities))}?"
    message = message.replace(". Did you mean", "; did you mean")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    context = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and context is not None:
        message = f"{message.removesuffix('.')} (see '{context.command_path} --help')"
    return message


def require_files(*paths: Path) -> None:
    """Refuse a folder given where a spreadsheet is expected, before any output is named."""
    for path in paths:
        if path.is_dir():
            raise InputError(
                "this is a folder, not a spreadsheet",
                file=path,
                hint="give a CSV or Excel file",
            )


# -q and -v: the group's options, and the same after any command's name
VERBOSITY = {
    "quiet": ("-q", "--quiet", "Print only results and errors."),
    "verbose": ("-v", "--verbose", "Show details, and tracebacks on errors."),
}


def verbosity_options(command: click.Command) -> click.Command:
    """Accept -q/--quiet and -v/--verbose after the command's name too (`report x.xlsx -q`)."""

    def setter(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
        def set_flag(context: click.Context, parameter: click.Parameter, value: bool) -> None:
            if value:
                setattr(console.settings, name, True)

        return set_flag

    command.params.extend(
        click.Option(
            [short, long], is_flag=True, expose_value=False, callback=setter(name), help=text
        )
        for name, (short, long, text) in VERBOSITY.items()
    )
    return command


def _run_guarded(function: Callable[..., Any], args: Any, kwargs: Any) -> None:
    try:
        status = function(*args, **kwargs)
    except TargetkitError as exc:
        if console.settings.verbose:
            traceback.print_exc()
        # a library's multi-line text joined; a file or column name keeps its characters, which
        # console.error shows escaped (a newline in a file name stays visible as \n)
        exc.message = one_line(exc.message)
        exc.hint = one_line(exc.hint) if exc.hint else exc.hint
        console.error(str(exc))
        sys.exit(int(exc.exit_status))
    except KeyboardInterrupt as exc:
        console.error("interrupted; no output was written")
        if not console.settings.verbose:
            # Python 3.11's worker-pool exit hook can race its own pipe closing after an
            # interruption ("Exception ignored ... Bad file descriptor"): noise after the one
            # line, about nothing the user can act on. --verbose still shows it.
            sys.unraisablehook = _ignore_unraisable
        sys.exit(143 if isinstance(exc, Terminated) else 130)
    except BrokenPipeError:
        # `targetkit ... | head`: the reader stopped reading; the outputs are written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # as a shell reports a pipe closed early (128 + SIGPIPE)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except MemoryError:
        console.error("not enough memory for this input; try a smaller file")
        sys.exit(int(ExitStatus.BAD_INPUT))
    except OSError as exc:
        if exc.errno not in _CANNOT_PRINT:
            raise
        console.error(f"cannot print the results ({exc.strerror})")
        sys.exit(int(ExitStatus.BAD_INPUT))
    except Exception as exc:
        if console.settings.verbose:
            traceback.print_exc()
        console.error(
            one_line(
                f"unexpected error ({type(exc).__name__}: {exc}); run again with --verbose "
                "for details and report it"
            )
        )
        sys.exit(int(ExitStatus.BAD_INPUT))
    sys.exit(int(status or ExitStatus.DONE))


# Errors writing to the terminal or its redirection (`> /dev/full`, a full disk, a closed pipe).
_CANNOT_PRINT = (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT)


def _flush_or_silence() -> None:
    """Flush stdout and stderr now; if that fails (disk full), point them at /dev/null so
    Python's own flush at exit does not print an 'Exception ignored' traceback after the
    one line already given."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            with suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def _ignore_unraisable(_unraisable: object) -> None:
    """Say nothing of an exception Python can only report as 'ignored' (see the caller)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service stopping, `kill`): handled like Ctrl-C, so temporary files are
    removed on the way out and the user gets one line (exit 143)."""


def _terminated(_number: int, _frame: object) -> None:
    raise Terminated


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


def pseudonymise_option(function: F) -> F:
    """Add --pseudonymise and --key-file; the command turns them into a key with
    `targetkit.privacy.requested_key(pseudonymise, key_file)`."""
    function = click.option(
        "--key-file",
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="The secret key for --pseudonymise (default: the TARGETKIT_KEY variable).",
    )(function)
    return click.option(
        "--pseudonymise",
        is_flag=True,
        help="Replace UPNs, admission numbers and names with keyed pseudonyms (P-…): the same "
        "pupil gets the same pseudonym in every file made with the same key.",
    )(function)


def show_small_groups_option(function: F) -> F:
    """Add --show-small-groups (for commands that print or write group figures)."""
    return click.option(
        "--show-small-groups",
        is_flag=True,
        help="Show percentages for groups of fewer than 5 pupils (hidden by default, as they "
        "can identify a pupil).",
    )(function)
