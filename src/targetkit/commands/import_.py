"""`import` as a library call: read MIS exports, build the cohort, write the cohort workbook."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from targetkit import __version__
from targetkit.columns import PUPIL_COLUMNS, canonical_name
from targetkit.datafiles import load_yaml_model
from targetkit.errors import UsageError
from targetkit.io import check_output, file_sha256, read_table, write_csv
from targetkit.pipeline.importing import ImportResult, SourceTable, import_cohort
from targetkit.presentation.cohort import write_cohort_workbook

_ACADEMIC_YEAR = re.compile(r"^(\d{4})\s*[/\-]\s*(\d{2}|\d{4})$")


class MappingFile(BaseModel):
    """`--mapping MAP.yaml`: `columns:` header as in the export → canonical column name."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _canonical_targets(cls, columns: dict[str, str]) -> dict[str, str]:
        bad = [t for t in columns.values() if canonical_name(t) != t]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))} are not canonical column names (e.g. "
                f"{', '.join(PUPIL_COLUMNS[:4])}, reading_ks1, maths_sum2)"
            )
        return columns


def load_mapping(path: str | Path) -> dict[str, str]:
    return load_yaml_model(Path(path), MappingFile).columns


def academic_year_start(text: str | None, today: dt.date | None = None) -> int:
    """The calendar year the academic year starts in: `2026/27` → 2026; default: today's."""
    if text is None:
        today = today or dt.date.today()
        return today.year if today.month >= 9 else today.year - 1
    match = _ACADEMIC_YEAR.match(text.strip())
    start = int(match[1]) if match else 0
    if not match or int(match[2]) % 100 != (start + 1) % 100:
        raise UsageError(
            f"--academic-year {text!r} is not an academic year", hint="write it as 2026/27"
        )
    return start


def default_output(first: Path) -> Path:
    return first.with_name(f"{first.stem}-cohort.xlsx")


def issues_csv_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}-issues.csv")


@dataclass
class ImportOutcome:
    output: Path
    result: ImportResult
    sources: list[dict[str, Any]]
    academic_year: int

    def summary(self) -> dict[str, Any]:
        """What the terminal shows, as data (`--format json`)."""
        return {
            "output": str(self.output),
            "pupils": len(self.result.pupils),
            "sources": [
                {k: s[k] for k in ("file", "rows", "pupils", "sheet")} for s in self.sources
            ],
            "academic_year": _year_text(self.academic_year),
            "joined_on": self.result.key,
            "issues": self.result.counts(),
            "top_problems": self.result.top_problems(),
            "disadvantaged": self.result.disadvantaged_from,
        }

    def report_lines(self) -> list[str]:
        counts = self.result.counts()
        lines = [
            f"Imported {len(self.result.pupils)} pupils from {len(self.sources)} file(s) into "
            f"{self.output}.",
            f"Data issues: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} note(s) (see the 'Data issues' sheet).",
        ]
        for problem in self.result.top_problems():
            lines.append(
                f"  {problem['severity']:<7} {problem['count']:>5} x {problem['column']}: "
                f"{problem['example']}"
            )
        lines.append(f"disadvantaged: {self.result.disadvantaged_from}.")
        return lines


def import_sources(
    sources: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    mapping: str | Path | None = None,
    sheet: str | None = None,
    academic_year: str | None = None,
    force: bool = False,
    pseudonymise_key: bytes | None = None,
) -> ImportOutcome:
    """Read every SOURCE, import them as one cohort, write the workbook (or CSV + issues CSV).

    With `pseudonymise_key`, UPNs, admission numbers and names are keyed pseudonyms in every
    output (`privacy`), including the values quoted on 'Data issues'.
    """
    paths = [Path(s) for s in sources]
    if not paths:
        raise UsageError("import needs at least one SOURCE file")
    year = academic_year_start(academic_year)
    out = Path(output) if output else default_output(paths[0])
    check_output(out, force=force, inputs=paths)
    if out.suffix.lower() == ".csv":
        check_output(issues_csv_path(out), force=force, inputs=paths)
    elif out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise UsageError(
            f"cannot write {out.suffix or 'a file without a suffix'}",
            file=out,
            hint="use -o NAME.xlsx or -o NAME.csv",
        )
    user_map = load_mapping(mapping) if mapping else None

    def is_known(header: str) -> bool:
        return canonical_name(header, user_map) is not None

    tables, described = [], []
    for path in paths:
        table = read_table(path, sheet=sheet, is_known_header=is_known, uncalculated="flag")
        tables.append(
            SourceTable(
                path.name, table.frame, table.header_row, table.blank_rows, table.uncalculated
            )
        )
        described.append(
            {
                "file": str(path),
                "sha256": file_sha256(path),
                "sheet": table.sheet,
                "header_row": table.header_row,
                "rows": len(table.frame),
                "encoding": table.encoding,
            }
        )
    result = import_cohort(tables, academic_year=year, mapping=user_map)
    if pseudonymise_key is not None:
        _pseudonymise(result, pseudonymise_key)
    for item, name in zip(described, (t.name for t in tables), strict=True):
        item["pupils"] = int((result.pupils["source_file"] == name).sum())
    if out.suffix.lower() == ".csv":
        write_csv(result.pupils, out, force=force)
        write_csv(result.issues, issues_csv_path(out), force=force)
    else:
        write_cohort_workbook(
            out,
            pupils=result.pupils,
            issues=result.issues,
            headers=result.headers,
            scales=result.scales,
            about=_about(result, described, mapping, year),
            force=force,
        )
    return ImportOutcome(out, result, described, year)


def _year_text(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def _about(
    result: ImportResult, sources: list[dict[str, Any]], mapping: str | Path | None, year: int
) -> list[tuple[str, object]]:
    """What the About sheet records: the sources, their checksums and how columns were mapped."""
    pupils = result.pupils
    about: list[tuple[str, object]] = [
        ("targetkit version", __version__),
        ("written", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        ("academic year", _year_text(year)),
        ("pupils", len(pupils)),
    ]
    for number, (source, headers) in enumerate(zip(sources, result.headers, strict=True), 1):
        about += [
            (f"source {number}", source["file"]),
            (f"source {number} SHA-256", source["sha256"]),
            (
                f"source {number} sheet / header row",
                f"{source['sheet'] or '-'} / row {source['header_row']}",
            ),
            (
                f"source {number} columns mapped",
                "; ".join(f"{o} → {c}" for o, c in headers.items()) or "none",
            ),
        ]
    about += [
        (
            "mapping",
            f"{mapping} (SHA-256 {file_sha256(mapping)})"
            if mapping
            else "shipped MIS aliases only",
        ),
        ("joined on", result.key or "(one source)"),
        ("disadvantaged", result.disadvantaged_from),
        ("grade scales", "; ".join(f"{c}: {s}" for c, s in result.scales.items()) or "none"),
    ]
    return about


def _pseudonymise(result: ImportResult, key: bytes) -> None:
    """Pseudonymise the cohort, and the identifiers and names quoted on 'Data issues'.

    A UPN or admission number quoted in an issue gets the same pseudonym as in `Pupils`; a
    quoted name, which is pseudonymised with its pupil's UPN there, is withheld.
    """
    from targetkit.privacy import IDENTIFIER_COLUMNS, NAME_COLUMNS, pseudonym, pseudonymise

    result.pupils = pseudonymise(result.pupils, key)
    issues = result.issues
    headers = {o: c for mapped in result.headers for o, c in mapped.items()}
    meaning = issues["column"].map(headers)
    for kind in IDENTIFIER_COLUMNS:
        rows = (meaning == kind) & (issues["value"] != "")
        issues.loc[rows, "value"] = issues.loc[rows, "value"].map(
            lambda value, kind=kind: pseudonym(key, kind, " ".join(str(value).split()).upper())
        )
    private = meaning.isin(IDENTIFIER_COLUMNS + NAME_COLUMNS)
    names = meaning.isin(NAME_COLUMNS) & (issues["value"] != "")
    issues.loc[names, "value"] = "(withheld)"
    conflicts = private & (issues["code"] == "CONFLICTING_SOURCES")
    issues.loc[conflicts, "message"] = "the sources disagree; kept the first file's value"
