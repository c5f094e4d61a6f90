"""`convert` as a library call: read a table, add converted columns, write it beside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from targetkit import __version__, console
from targetkit.errors import TargetkitError
from targetkit.io import Table, check_output, file_sha256, read_table, write_csv
from targetkit.pipeline.converting import ConversionResult, convert_columns
from targetkit.presentation.converted import write_converted_workbook
from targetkit.privacy import pseudonymisation, pseudonymise, pseudonymised_about
from targetkit.wording import counted, noun

MAX_PROBLEM_LINES = 10


@dataclass
class ConvertOutcome:
    output: Path
    rows: int
    result: ConversionResult
    lines: list[str] = field(default_factory=list)
    # --pseudonymise: the columns replaced and the text columns left as they are (`privacy.
    # pseudonymisation`), for the summary and the About sheet; None without it
    pseudonymised: dict[str, list[str]] | None = None

    def summary(self) -> dict[str, Any]:
        problems = self.result.problems
        return {
            "output": str(self.output),
            "rows": self.rows,
            "added_columns": list(self.result.added),
            "approximate": self.result.approximate,
            "not_converted": len(problems),
            "pseudonymised": self.pseudonymised,
        }

    def finding_records(self) -> list[dict[str, Any]]:
        """Each value left blank, as a `NOT_CONVERTED` warning naming its row and column."""
        return [
            {
                "severity": "warning",
                "code": "NOT_CONVERTED",
                "row": int(row),
                **{k: str(v) for k, v in record.items()},
            }
            for row, record in zip(
                self.result.problems.index, self.result.problems.to_dict("records"), strict=True
            )
        ]

    def report_lines(self) -> list[str]:
        problems = self.result.problems
        lines = [
            f"Converted {counted(len(self.result.added), 'column')} for "
            f"{counted(self.rows, 'row')} into {self.output}."
        ]
        if self.result.approximate:
            lines.append("Note: this conversion is approximate (see `targetkit convert --list`).")
        if len(problems):
            lines.append(
                f"{counted(len(problems), 'value')} could not be converted and "
                f"{noun(len(problems), 'was', 'were')} left blank:"
            )
            for row, record in list(zip(problems.index, problems.to_dict("records"), strict=True))[
                :MAX_PROBLEM_LINES
            ]:
                hint = f" (did you mean {record['suggestion']}?)" if record["suggestion"] else ""
                lines.append(
                    f"  row {row}, column {record['column']!r}: {record['value']!r}: "
                    f"{record['message']}{hint}"
                )
            if len(problems) > MAX_PROBLEM_LINES:
                lines.append(
                    f"  ... and {len(problems) - MAX_PROBLEM_LINES} more (see the "
                    "'Not converted' sheet or --format json)"
                )
        return lines


def default_output(input_file: Path, target: str) -> Path:
    suffix = ".csv" if input_file.suffix.lower() in (".csv", ".txt", ".tsv") else ".xlsx"
    return input_file.with_name(f"{input_file.stem}-{target}{suffix}")


def convert_file(
    input_file: str | Path,
    columns: Sequence[str],
    source: str,
    target: str,
    *,
    output: str | Path | None = None,
    sheet: str | None = None,
    force: bool = False,
    pseudonymise_key: bytes | None = None,
) -> ConvertOutcome:
    """Read INPUT, convert the columns, write the output (xlsx or csv by its suffix).

    With `pseudonymise_key`, UPNs and names in the output are keyed pseudonyms (`privacy`).
    """
    input_file = Path(input_file)
    out = Path(output) if output else default_output(input_file, target)
    check_output(out, force=force, inputs=[input_file])
    with console.step(f"Reading {input_file.name}"):
        table = read_table(input_file, sheet=sheet)
    try:
        with console.step(f"Converting {len(table.frame):,} rows"):
            result = convert_columns(table.frame, columns, source, target)
    except TargetkitError as exc:  # name the file in "no column ..." (one line names the place)
        exc.file = exc.file or str(input_file)
        raise
    done = pseudonymisation(table.frame) if pseudonymise_key is not None else None
    if pseudonymise_key is not None:
        result.frame = pseudonymise(result.frame, pseudonymise_key)
    if out.suffix.lower() == ".csv":
        with console.step(f"Writing {out.name}"):
            write_csv(result.frame, out, force=force)
    else:
        write_converted_workbook(
            out,
            frame=result.frame,
            added=result.added,
            problems=result.problems,
            source=source,
            target=target,
            approximate=result.approximate,
            about=_about(table, result.frame, source, target, done),
            force=force,
        )
    return ConvertOutcome(out, len(table.frame), result, pseudonymised=done)


def _about(
    table: Table,
    frame: pd.DataFrame,
    source: str,
    target: str,
    pseudonymised: dict[str, list[str]] | None,
) -> list[tuple[str, object]]:
    return [
        ("targetkit version", __version__),
        ("input", str(table.path)),
        ("input SHA-256", file_sha256(table.path)),
        ("sheet", table.sheet or ""),
        ("conversion", f"{source} -> {target}"),
        ("rows", len(frame)),
        ("pseudonymised", pseudonymised_about(pseudonymised)),
        ("written", pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")),
    ]
