"""`demo` as a library call: write the synthetic example inputs to a folder."""

from __future__ import annotations

from pathlib import Path

from targetkit import __version__, demo
from targetkit.io import atomic_output
from targetkit.workbook import ReadMe, Sheet, write_workbook

DEMO_NOTE = "Synthetic example data made by `targetkit demo`: every pupil is fictional."


def write_demo(
    directory: str | Path, *, pupils: int = 60, seed: int = 2026, force: bool = False
) -> list[Path]:
    """Write every example input into `directory` (created if needed); return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cohorts = {
        "primary-cohort.xlsx": (
            "Year 6 cohort with KS1 levels",
            demo.primary_cohort(pupils, seed=seed),
        ),
        "infant-cohort.xlsx": (
            "Year 2 cohort with EYFS outcomes",
            demo.infant_cohort(pupils, seed=seed),
        ),
        "ks3-cohort.xlsx": ("Year 9 cohort with KS2 levels", demo.ks3_cohort(pupils, seed=seed)),
        "secondary-cohort.xlsx": (
            "Year 11 cohort with KS2 scaled scores and KS3 levels",
            demo.secondary_cohort(pupils, seed=seed),
        ),
        "steps-tracking.xlsx": (
            "Year 4 steps tracking over six data drops",
            demo.steps_tracking(pupils, seed=seed),
        ),
    }
    written = [
        _write_cohort(directory / name, title, frame, seed, force)
        for name, (title, frame) in cohorts.items()
    ]
    submissions = directory / "submissions"
    submissions.mkdir(exist_ok=True)
    per_school = max(5, pupils // 2)
    schools = demo.la_submissions(pupils_per_school=per_school, seed=seed)
    for number, (school, frame) in enumerate(schools.items()):
        path = submissions / (school.split(" ", 1)[0] + ".xlsx")
        written.append(_write_submission(path, school, frame, seed, force, lower=number == 1))
    written.append(_write_messy(directory / "messy-mis-export.csv", pupils, seed, force))
    return written


def _write_submission(
    path: Path, school: str, frame: object, seed: int, force: bool, *, lower: bool
) -> Path:
    """A school's targets workbook as set-targets writes it; `lower` plays an unambitious
    teacher who moderates three maths targets below the expected progress in Excel."""
    import tempfile

    from targetkit.commands.set_targets import set_targets

    with tempfile.TemporaryDirectory() as folder:
        cohort = _write_cohort(Path(folder) / "cohort.xlsx", school, frame, seed, force=True)
        set_targets(cohort, output=path, force=force)
    if lower:
        _lower_targets(path, "maths", count=3)
    return path


def _lower_targets(path: Path, subject: str, count: int) -> None:
    """Set the first `count` targets of pupils whose minimum is level 4 to level 3."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book["Targets"]
    from targetkit.columns import canonical_name

    headers = [canonical_name(cell.value) or cell.value for cell in sheet[1]]
    minimum = headers.index(f"{subject}_minimum") + 1
    target = headers.index(f"{subject}_target") + 1
    lowered = 0
    for row in range(2, sheet.max_row + 1):
        if lowered < count and sheet.cell(row, minimum).value == "4":
            sheet.cell(row, target).value = "3"
            lowered += 1
    with atomic_output(path, force=True) as temporary:
        book.save(temporary)


def _write_cohort(path: Path, title: str, frame: object, seed: int, force: bool) -> Path:
    return write_workbook(
        path,
        [Sheet("Pupils", frame, freeze_columns=4)],  # type: ignore[arg-type]
        readme=ReadMe(title=title, lines=[DEMO_NOTE]),
        about=[("made by", f"targetkit {__version__} demo"), ("seed", seed)],
        force=force,
    )


def _write_messy(path: Path, pupils: int, seed: int, force: bool) -> Path:
    """A SIMS-style CSV in Windows-1252 with report-title rows above the header."""
    import csv
    import io

    frame, titles = demo.messy_mis_export(pupils, seed=seed)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for title in titles:
        writer.writerow([title])
    writer.writerow([])
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        writer.writerow(["" if v is None or v != v else _cp1252(v) for v in row])
    with atomic_output(path, force=force) as temporary:
        temporary.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _cp1252(value: object) -> object:
    """Windows-1252 cannot hold every name (ś): such letters lose their accent, as in SIMS."""
    import unicodedata

    if not isinstance(value, str):
        return value
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", value)
        return "".join(c for c in decomposed if c.encode("cp1252", errors="ignore"))
    return value
