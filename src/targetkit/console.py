"""The only place that uses rich: messages, tables, JSON and progress bars.

Results go to stdout (what a command found and wrote: its summary lines, tables, JSON), and
progress, warnings and errors to stderr, for every command. Progress bars and colour appear
only on a terminal (and colour not when `NO_COLOR` is set), so a cron job's log holds plain
lines and no escape codes. With `--format json` every command prints one shape,
`{"command", "summary", "findings"}` (`result_document`; docs/json.md).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
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
        no_color=not terminal or bool(os.environ.get("NO_COLOR")),  # no-color.org
        highlight=False,
        soft_wrap=True,
        width=None if terminal else 200,
    )


# Characters that a terminal acts on instead of showing: C0 and C1 controls (ESC starts colour,
# cursor and title sequences), DEL, and the bidirectional overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: object) -> str:
    """Text from data or file names made safe to print: each control character is shown as
    its escape (`\\x1b`, `\\n`, `\\u202e`), so one message stays one line and nothing a
    file holds can recolour, move or retitle the terminal."""
    return _UNSAFE.sub(_escaped, str(text))


def _escaped(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def info(message: str) -> None:
    """A progress or summary line on stderr (suppressed by --quiet)."""
    if not settings.quiet:
        print(escape(message), file=sys.stderr)


def warn(message: str) -> None:
    print(f"targetkit: warning: {escape(message)}", file=sys.stderr)


def error(message: str) -> None:
    with suppress(OSError):  # stderr itself cannot be written (a full disk): nowhere to say it
        print(f"targetkit: error: {escape(message)}", file=sys.stderr, flush=True)


def result(message: str) -> None:
    """A line of the command's result on stdout."""
    print(escape(message))


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (dates and numpy numbers made plain, NaN as null)."""
    print(json.dumps(_clean(data), indent=2, ensure_ascii=False, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return _clean(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _clean(data: Any) -> Any:
    """Missing numbers (NaN, pandas' NA) become null: JSON has no NaN."""
    if isinstance(data, dict):
        return {key: _clean(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_clean(value) for value in data]
    if isinstance(data, float) and math.isnan(data):
        return None
    if data is not None and type(data).__name__ in ("NAType", "NaTType"):
        return None
    return data


SEVERITIES = ("challenge", "error", "warning", "info")


def result_document(
    command: str, summary: dict[str, Any], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    """The one JSON shape of every command's result (docs/json.md).

    `summary` holds the run's counts and facts, with `by_severity` (the findings counted by
    severity) added here; `findings` one object per finding (`severity`, `code`, `message`
    and where it is; `basis` where it cites a rate).
    """
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in findings:
        severity = finding.get("severity")
        if severity in counts:
            counts[severity] += 1
    return {"command": command, "summary": {**summary, "by_severity": counts}, "findings": findings}


def print_outcome(command: str, outcome: Any, output_format: str) -> None:
    """A command's result on stdout: the JSON document, or its report lines for people.

    `outcome` has `summary()`, `finding_records()` and `report_lines()`.
    """
    if output_format == "json":
        print_json(result_document(command, outcome.summary(), outcome.finding_records()))
    else:
        for line in outcome.report_lines():
            result(line)


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as plain dicts for JSON (missing values as None)."""
    return [
        {
            str(key): _clean(_plain(value) if hasattr(value, "item") else value)
            for key, value in row.items()
        }
        for row in frame.to_dict("records")
    ]


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A rich table on stdout; plain aligned text when not on a terminal."""
    from rich.table import Table
    from rich.text import Text

    # Text(...) keeps `[red]` in a school's name as text, not rich markup.
    table = Table(title=Text(escape(title)), title_justify="left")
    for column in columns:
        table.add_column(Text(escape(column)))
    for row in rows:
        table.add_row(*[Text("" if value is None else escape(value)) for value in row])
    _console(stderr=False).print(table)


def progress(items: Sequence[Item], description: str) -> Iterator[Item]:
    """Iterate with a progress bar on a terminal; silently otherwise."""
    if settings.quiet or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=description, console=_console(stderr=True))


_live: Any = None  # the progress display on screen, shared by nested steps (rich shows one)


@contextmanager
def step(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Show a slow step (reading, computing, writing) on a terminal while it runs: a spinner
    with the time taken, or a bar when `total` is known (advance it with the function given).
    Nothing at all off a terminal or with --quiet, so logs and pipes get no escape codes;
    the line disappears when the step is done."""
    global _live
    if settings.quiet or not sys.stderr.isatty():
        yield _no_advance
        return
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    owner = _live is None
    if owner:
        _live = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=_console(stderr=True),
            transient=True,
        )
        _live.start()
    live = _live
    task = live.add_task(escape(description), total=total)
    try:
        yield lambda done=1: live.advance(task, done)
    finally:
        live.remove_task(task)
        if owner:
            live.stop()
            _live = None


def _no_advance(done: int = 1) -> None:
    """Off a terminal a step's progress goes nowhere."""
