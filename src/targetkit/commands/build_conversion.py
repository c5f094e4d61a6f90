"""`build-conversion` as a library call: a top-quarter conversion table from historic results.

Reads a history (one row per pupil with `school`, a prior column and an outcome column), ranks
schools by value added, keeps the top `top`% and counts what their pupils with each prior grade
achieved (`conversion_tables.build_conversion`). Writes `TABLE.csv` and its metadata
`TABLE.yaml` beside it, so `set-targets --conversion TABLE.csv` can use it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from targetkit.columns import header_key
from targetkit.conversion_tables import BuiltConversion, build_conversion
from targetkit.errors import InputError, UsageError
from targetkit.io import atomic_output, check_output, file_sha256, read_table
from targetkit.scales import Scale, load_scale
from targetkit.wording import counted

GUESS_SCALES = ("nc", "gcse91", "gcse", "steps", "eyfs", "ks2ss", "pscales")


@dataclass
class BuildOutcome:
    output: Path
    metadata_file: Path
    built: BuiltConversion
    prior_scale: str
    outcome_scale: str

    def summary(self) -> dict[str, Any]:
        schools = self.built.schools
        return {
            "output": str(self.output),
            "metadata": str(self.metadata_file),
            "benchmark": self.built.benchmark,
            "subject": self.built.subject,
            "prior_scale": self.prior_scale,
            "outcome_scale": self.outcome_scale,
            "schools": len(schools),
            "schools_kept": schools.loc[schools["kept"], "school"].astype(str).tolist(),
            "pupils_kept": int(schools.loc[schools["kept"], "pupils"].sum()),
            "rows_left_out": self.built.excluded_rows,
            "small_cells": len(self.built.small_cells),
        }

    def finding_records(self) -> list[dict[str, Any]]:
        """Each prior with too few pupils in the kept schools, as a `SMALL_CELL` warning."""
        return [
            {
                "severity": "warning",
                "code": "SMALL_CELL",
                "prior": str(cell.prior),
                "pupils": int(cell.pupils),
                "message": f"prior {cell.prior} has {counted(int(cell.pupils), 'pupil')} in the "
                "kept schools; treat its proportions with care",
            }
            for cell in self.built.small_cells.itertuples(index=False)
        ]

    def report_lines(self) -> list[str]:
        data = self.summary()
        lines = [
            f"Kept {len(data['schools_kept'])} of {counted(data['schools'], 'school')} "
            f"({counted(data['pupils_kept'], 'pupil')}) by value added: "
            f"{', '.join(data['schools_kept'])}.",
            f"Wrote {self.output} and {self.metadata_file.name}.",
        ]
        if data["rows_left_out"]:
            lines.append(
                f"{counted(data['rows_left_out'], 'row')} without a school, prior or outcome "
                "left out."
            )
        lines.extend(f"Small cell: {cell['message']}." for cell in self.finding_records())
        return lines


def _find_column(frame: pd.DataFrame, name: str, path: Path, option: str) -> str:
    by_key = {header_key(c): c for c in frame.columns}
    found = by_key.get(header_key(name))
    if found is None:
        raise InputError(
            f"no column {name!r} for {option}",
            file=path,
            hint=f"columns are: {', '.join(map(str, frame.columns))}",
        )
    return str(found)


def _scale_for(values: pd.Series, name: str | None, column: str, path: Path) -> Scale:
    """The named scale, or the first shipped scale that knows every value in the column."""
    if name:
        scale = load_scale(name)
        parsed = scale.parse(values)
        if parsed.unknown.any():
            row = parsed.unknown[parsed.unknown].index[0]
            raise InputError(
                f"{values[row]!r} is not a grade of the {scale.name} scale",
                file=path,
                row=int(row),
                column=column,
            )
        return scale
    for candidate in GUESS_SCALES:
        scale = load_scale(candidate)
        parsed = scale.parse(values)
        if not parsed.unknown.any() and parsed.points.notna().any():
            return scale
    raise InputError(
        "cannot tell which scale the grades are on",
        file=path,
        column=column,
        hint="give --prior-scale / --outcome-scale",
    )


def build_conversion_file(
    history_file: str | Path,
    prior: str,
    outcome: str,
    output: str | Path,
    *,
    top: int = 25,
    school: str = "school",
    prior_scale: str | None = None,
    outcome_scale: str | None = None,
    subject: str | None = None,
    min_pupils: int = 5,
    sheet: str | None = None,
    force: bool = False,
) -> BuildOutcome:
    """Build TABLE.csv (+ TABLE.yaml) from a history file; see the module docstring."""
    history_file = Path(history_file)
    out = Path(output)
    if out.suffix.lower() != ".csv":
        raise UsageError("the conversion table must be a .csv file", file=out)
    if not 1 <= top <= 100:
        raise UsageError(f"--top must be a percentage from 1 to 100, not {top}")
    meta = out.with_suffix(".yaml")
    check_output(out, force=force, inputs=[history_file])
    check_output(meta, force=force, inputs=[history_file])
    table = read_table(history_file, sheet=sheet)
    frame = table.frame
    prior_col = _find_column(frame, prior, history_file, "--prior")
    outcome_col = _find_column(frame, outcome, history_file, "--outcome")
    school_col = _find_column(frame, school, history_file, "--school")
    prior_on = _scale_for(frame[prior_col], prior_scale, prior_col, history_file)
    outcome_on = _scale_for(frame[outcome_col], outcome_scale, outcome_col, history_file)
    prior_parsed = prior_on.parse(frame[prior_col])
    outcome_parsed = outcome_on.parse(frame[outcome_col])
    # Canonical grade spellings (2B -> 2b); non-grade codes (A absent) become blanks: left out.
    history = pd.DataFrame(
        {
            "school": frame[school_col],
            "prior": prior_parsed.grade,
            "outcome": outcome_parsed.grade,
        },
        index=frame.index,
    )
    built = build_conversion(
        history,
        "prior",
        "outcome",
        school_col="school",
        top=top,
        outcome_points=outcome_on.points_of,
        prior_points=prior_on.points_of,
        subject=subject or outcome_col.split("_")[0].lower(),
        min_pupils=min_pupils,
    )
    metadata = built.metadata(
        out.stem,
        prior_scale=prior_on.name,
        outcome_scale=outcome_on.name,
        source_description=(
            f"{history_file.name} (SHA-256 {file_sha256(history_file)}), prior column "
            f"{prior_col!r}, outcome column {outcome_col!r}"
        ),
    )
    validated = built.to_table(
        out.stem,
        prior_scale=prior_on.name,
        outcome_scale=outcome_on.name,
        source_description=metadata.source.description,
    )
    with atomic_output(out, force=force) as temporary:
        temporary.write_text(validated.to_csv_text(), encoding="utf-8")
    with atomic_output(meta, force=force) as temporary:
        temporary.write_text(metadata.to_yaml_text(), encoding="utf-8")
    return BuildOutcome(out, meta, built, prior_on.name, outcome_on.name)
