"""The only place that uses rich: messages, tables, JSON and progress bars.

Results go to stdout, messages to stderr. Progress bars and colour appear only on a terminal,
so a cron job's log holds plain lines and no escape codes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

Item = TypeVar("Item")


@dataclass
class Settings:
    quiet: bool = False
    verbose: bool = False


settings = Settings()


def _console(stderr: bool):  # type: ignore[no-untyped-def]
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        force_terminal=terminal,
        no_color=not terminal,
        highlight=False,
        soft_wrap=True,
        width=None if terminal else 200,
    )


def info(message: str) -> None:
    """A progress or summary line on stderr (suppressed by --quiet)."""
    if not settings.quiet:
        print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"targetkit: warning: {message}", file=sys.stderr)


def error(message: str) -> None:
    print(f"targetkit: error: {message}", file=sys.stderr)


def result(message: str) -> None:
    """A line of the command's result on stdout."""
    print(message)


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (dates and numpy numbers made plain)."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def print_outcome(outcome: Any, output_format: str) -> None:
    """A command's result: its summary as JSON, or its report lines for people (stderr)."""
    if output_format == "json":
        print_json(outcome.summary())
    else:
        for line in outcome.report_lines():
            info(line)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A rich table on stdout; plain aligned text when not on a terminal."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if value is None else str(value) for value in row])
    _console(stderr=False).print(table)


def progress(items: Sequence[Item], description: str) -> Iterator[Item]:
    """Iterate with a progress bar on a terminal; silently otherwise."""
    if settings.quiet or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=description, console=_console(stderr=True))
