"""`import` as a library call: read MIS exports, build the cohort, write the cohort workbook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from targetkit import __version__, console
from targetkit.academic_year import parse_academic_year
from targetkit.columns import PUPIL_COLUMNS, canonical_name
from targetkit.console import frame_records
from targetkit.ctf import looks_like_xml, read_ctf
from targetkit.datafiles import load_yaml_model
from targetkit.errors import UsageError
from targetkit.io import check_output, file_sha256, read_table, write_csvs
from targetkit.pipeline.importing import (
    ImportResult,
    SourceTable,
    import_cohort,
    row_issue_texts,
)
from targetkit.presentation.cohort import write_cohort_workbook
from targetkit.privacy import pseudonymisation, pseudonymised_about
from targetkit.wording import counted


class MappingFile(BaseModel):
    """`--mapping MAP.yaml`: `columns:` header as in the export → the name to give it.

    A canonical name (`surname`, `reading_ks1`) is read and tidied as that column; `ignore`
    keeps the column as it is, not interpreted; any other name renames the column, kept as
    text (e.g. `LAESTAB: laestab` beside a URN used as `school`).
    """

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _usable_names(cls, columns: dict[str, str]) -> dict[str, str]:
        bad = [t for t in columns.values() if not str(t).strip()]
        if bad:
            raise ValueError(
                "a header is mapped to an empty name: give a column name (e.g. "
                f"{', '.join(PUPIL_COLUMNS[:4])}, reading_ks1) or ignore"
            )
        return {header: name.strip() for header, name in columns.items()}


def load_mapping(path: str | Path) -> dict[str, str]:
    return load_yaml_model(Path(path), MappingFile).columns


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
    # --pseudonymise: the columns replaced and the text columns left as they are (`privacy.
    # pseudonymisation`), for the summary and the About sheet; None without it
    pseudonymised: dict[str, list[str]] | None = None

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
            "top_problems": [
                {k: v for k, v in problem.items() if k != "rows"}
                for problem in self.result.top_problems()
            ],
            "disadvantaged": self.result.disadvantaged_from,
            "pseudonymised": self.pseudonymised,
        }

    def finding_records(self) -> list[dict[str, Any]]:
        """Every data issue, as the 'Data issues' sheet lists them (`--format json`)."""
        issues = self.result.issues.rename(columns={"source_file": "file", "source_row": "row"})
        return frame_records(issues)

    def report_lines(self) -> list[str]:
        counts = self.result.counts()
        lines = [
            f"Imported {counted(len(self.result.pupils), 'pupil')} from "
            f"{counted(len(self.sources), 'file')} into {self.output}.",
            f"Data issues: {counted(counts['error'], 'error')}, "
            f"{counted(counts['warning'], 'warning')}, {counted(counts['info'], 'note')} "
            "(see the 'Data issues' sheet).",
        ]
        for problem in self.result.top_problems():
            lines.append(_problem_line(problem))
        lines.append(f"disadvantaged: {self.result.disadvantaged_from}.")
        return lines


def _problem_line(problem: dict[str, object]) -> str:
    """One kind of problem: count, column, code and rows. The example message quotes pupils'
    values (names, dates of birth), so it is shown only with --verbose: a screen or a log is
    not the place for them."""
    from targetkit import console

    rows = problem["rows"]
    more = ", …" if int(problem["count"]) > len(rows) else ""  # type: ignore[arg-type]
    line = (
        f"  {problem['severity']:<7} {problem['count']:>5} x {problem['column']} "
        f"({problem['code']}): row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}{more}"  # type: ignore[call-overload]
    )
    return f"{line}: {problem['example']}" if console.settings.verbose else line


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
    year = parse_academic_year(academic_year)
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
        if looks_like_xml(path):
            with console.step(f"Reading {path.name}"):
                source = read_ctf(path)
            sheet_name, encoding = None, "XML (Common Transfer File)"
        else:
            with console.step(f"Reading {path.name}"):
                table = read_table(path, sheet=sheet, is_known_header=is_known, uncalculated="flag")
            source = SourceTable(
                path.name, table.frame, table.header_row, table.blank_rows, table.uncalculated
            )
            sheet_name, encoding = table.sheet, table.encoding
        tables.append(source)
        described.append(
            {
                "file": str(path),
                "sha256": file_sha256(path),
                "sheet": sheet_name,
                "header_row": source.header_row,
                "rows": len(source.frame),
                "encoding": encoding,
            }
        )
    with console.step(f"Importing {sum(len(t.frame) for t in tables):,} rows"):
        result = import_cohort(tables, academic_year=year, mapping=user_map)
    done = None
    if pseudonymise_key is not None:
        done = pseudonymisation(result.pupils)
        _pseudonymise(result, pseudonymise_key)
    done_text = pseudonymised_about(done)
    for item, name in zip(described, (t.name for t in tables), strict=True):
        item["pupils"] = int((result.pupils["source_file"] == name).sum())
    if out.suffix.lower() == ".csv":
        with console.step(f"Writing {out.name}"):
            write_csvs([(result.pupils, out), (result.issues, issues_csv_path(out))], force=force)
    else:
        write_cohort_workbook(
            out,
            pupils=result.pupils,
            issues=result.issues,
            headers=result.headers,
            scales=result.scales,
            about=[*_about(result, described, mapping, year), ("pseudonymised", done_text)],
            force=force,
            issues_sheet_fits=_issues_fit_a_sheet(out, result, force),
        )
    return ImportOutcome(out, result, described, year, pseudonymised=done)


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


def _issues_fit_a_sheet(out: Path, result: ImportResult, force: bool) -> bool:
    """More data issues than an Excel sheet holds go to `X-issues.csv` beside the workbook
    (said on screen) instead of being cut at the sheet's last row."""
    from targetkit import console, workbook

    if len(result.issues) + 1 <= workbook.MAX_SHEET_ROWS:
        return True
    issues = issues_csv_path(out)
    write_csvs([(result.issues, issues)], force=force)
    console.info(
        f"Data issues: {len(result.issues):,} rows, more than an Excel sheet holds; written "
        f"to {issues} instead of the 'Data issues' sheet."
    )
    return False


def _pseudonymise(result: ImportResult, key: bytes) -> None:
    """Pseudonymise the cohort, and the identifiers and names quoted on 'Data issues'.

    A UPN or admission number quoted in an issue gets the same pseudonym as in `Pupils`; a
    quoted name, which is pseudonymised with its pupil's UPN there, is withheld.
    """
    from targetkit.findings import message
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
    issues.loc[conflicts, "message"] = message("CONFLICTING_SOURCES", variant="withheld")
    if result.issue_pupils is not None:  # the pupils' own summary of their issues, reworded
        result.pupils["row_issues"] = row_issue_texts(
            issues, result.issue_pupils, len(result.pupils)
        )
