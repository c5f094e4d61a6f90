"""Errors a user can act on, and the exit statuses the commands return.

Every error is one line naming the file (and row/column where it applies) and what to do, so
that a cron job's log or a data manager's terminal says exactly where to look. The CLI turns
these into exit statuses in one place (`targetkit.cli.common.run_command`).
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """The three outcomes a command reports to the shell."""

    DONE = 0
    FINDINGS = 1  # done, but findings need attention (check-ambition, import --strict)
    BAD_INPUT = 2  # bad usage or unreadable input


class TargetkitError(Exception):
    """A problem the user can fix; printed as one line, never with a traceback."""

    exit_status: ExitStatus = ExitStatus.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        place = [self.file] if self.file else []
        if self.row is not None:
            place.append(f"row {self.row}")
        if self.column is not None:
            place.append(f"column {self.column!r}")
        text = ", ".join(place)
        text = f"{text}: {self.message}" if text else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class InputError(TargetkitError):
    """An input file cannot be read or does not have what the command needs."""


class OutputError(TargetkitError):
    """An output cannot be written (exists without --force, missing folder, no permission)."""


class DataFileError(TargetkitError):
    """A scale, conversion table, policy or mapping file is not valid."""


class UsageError(TargetkitError):
    """Options that do not fit together or name things that do not exist."""
