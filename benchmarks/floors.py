"""The I/O floor: the fastest way available here to read an input and write an output like it.

Run as a child process by `run.py` (so its start-up and peak memory are measured the same way
as a targetkit command's):

    python benchmarks/floors.py SPEC.json

SPEC lists the inputs to read (`{"path": ..., "skip_rows": 0}`) and the outputs to imitate
(a file targetkit wrote). Reading uses fastexcel with every column as text (else
python-calamine) for workbooks and pyarrow (else the csv module) for CSV, keeping the
fastest. Writing copies each sheet of the output targetkit wrote, cell for cell, with
xlsxwriter directly in constant-memory mode, row by row, each row's comments written with it;
a CSV output is copied with pyarrow (else the csv module). The copy's source is read before the
clock starts, so only the writing is timed. Prints one JSON object.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")


# ---------------------------------------------------------------------------------------------
# Reading


def read_workbook_fastexcel(path: Path) -> int:
    """Every sheet of data read with fastexcel, all columns as text; returns the cells read."""
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    cells = 0
    for name in reader.sheet_names:
        if name.lower() in ("read me", "about", "lists"):
            continue
        batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
        cells += batch.num_rows * batch.num_columns
    return cells


def read_workbook_calamine(path: Path) -> int:
    """Every sheet of data read with python-calamine as Python lists; returns the cells read."""
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    cells = 0
    for name in workbook.sheet_names:
        if name.lower() in ("read me", "about", "lists"):
            continue
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        cells += sum(len(row) for row in rows)
    return cells


def read_csv_pyarrow(path: Path, skip_rows: int, encoding: str) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, encoding=encoding, newline="") as handle:
        for _ in range(skip_rows):
            handle.readline()
        header = next(csv.reader([handle.readline()]))
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=skip_rows, encoding=encoding),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())),
    )
    return table.num_rows * table.num_columns


def read_csv_module(path: Path, skip_rows: int, encoding: str) -> int:
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle))
    return sum(len(row) for row in rows[skip_rows:])


def _readers(path: Path, spec: dict[str, Any]) -> list[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        found = [("fastexcel", lambda: read_workbook_fastexcel(path))] if _has("fastexcel") else []
        return [*found, ("python-calamine", lambda: read_workbook_calamine(path))]
    skip, encoding = int(spec.get("skip_rows", 0)), spec.get("encoding", "utf-8-sig")
    found = [("pyarrow", lambda: read_csv_pyarrow(path, skip, encoding))] if _has("pyarrow") else []
    return [*found, ("csv module", lambda: read_csv_module(path, skip, encoding))]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class Clock:
    """Wall and CPU seconds of a block (CPU time is what a loaded machine disturbs least)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def time_read(spec: dict[str, Any]) -> dict[str, Any]:
    """The fastest reader for one input: its name and seconds (each reader tried once)."""
    path = Path(spec["path"])
    timings: dict[str, Clock] = {}
    for name, read in _readers(path, spec):
        with Clock() as clock:
            read()
        timings[name] = clock
    best = min(timings, key=lambda name: timings[name].wall)
    return {
        "path": str(path),
        "reader": best,
        "seconds": timings[best].wall,
        "cpu_seconds": timings[best].cpu,
        "all": {name: clock.wall for name, clock in timings.items()},
    }


# ---------------------------------------------------------------------------------------------
# Writing


def workbook_comments(path: Path) -> list[dict[tuple[int, int], str]]:
    """Each worksheet's cell comments {(row, column): text}, in sheet order (xlsxwriter files)."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        sheets = sorted(
            (n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
            key=lambda n: int(re.search(r"(\d+)\.xml", n).group(1)),  # type: ignore[union-attr]
        )
        found: list[dict[tuple[int, int], str]] = []
        for sheet in sheets:
            rels = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
            comments: dict[tuple[int, int], str] = {}
            if rels in names:
                xml = archive.read(rels).decode()
                for target in re.findall(r'Target="\.\./(comments\d+\.xml)"', xml):
                    body = archive.read(f"xl/{target}").decode()
                    for ref, inner in re.findall(
                        r'<comment ref="([A-Z]+\d+)"[^>]*>(.*?)</comment>', body, re.S
                    ):
                        text = "".join(re.findall(r"<t(?:\s[^>]*)?>(.*?)</t>", inner, re.S))
                        comments[_cell(ref)] = _unescape(text)
            found.append(comments)
    return found


def _cell(ref: str) -> tuple[int, int]:
    letters, digits = re.fullmatch(r"([A-Z]+)(\d+)", ref).groups()  # type: ignore[union-attr]
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return int(digits) - 1, column - 1


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def _workbook_cells(path: Path) -> list[tuple[str, list[list[Any]]]]:
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return [
        (name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
        for name in workbook.sheet_names
    ]


def write_workbook_copy(
    sheets: list[tuple[str, list[list[Any]]]],
    comments: list[dict[tuple[int, int], str]],
    target: Path,
    with_comments: bool,
) -> None:
    """Write the cells (and comments) with xlsxwriter, constant memory, row by row."""
    import datetime as dt

    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(target),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for (name, rows), notes in zip(sheets, comments + [{}] * len(sheets), strict=False):
        worksheet = workbook.add_worksheet(name)
        by_row: dict[int, list[tuple[int, str]]] = {}
        if with_comments:
            for (row, column), text in notes.items():
                by_row.setdefault(row, []).append((column, text))
        for row_index, row in enumerate(rows):
            for column, value in enumerate(row):
                if value == "" or value is None:
                    continue
                if isinstance(value, str):
                    worksheet.write_string(row_index, column, value)
                elif isinstance(value, (dt.date, dt.datetime)):
                    worksheet.write_datetime(row_index, column, value, date_format)
                else:
                    worksheet.write(row_index, column, value)
            for column, text in by_row.get(row_index, ()):
                worksheet.write_comment(row_index, column, text)
    workbook.close()


def time_write(spec: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """Seconds to write a copy of one output targetkit wrote (reading it is not timed)."""
    path = Path(spec["path"])
    target = scratch / f"floor-{path.name}"
    if path.suffix.lower() == ".csv":
        return _time_csv_write(path, target)
    sheets = _workbook_cells(path)
    comments = workbook_comments(path)
    result: dict[str, Any] = {
        "path": str(path),
        "writer": "xlsxwriter constant memory",
        "cells": sum(sum(len(r) for r in rows) for _, rows in sheets),
        "comments": sum(len(c) for c in comments),
    }
    with Clock() as clock:
        write_workbook_copy(sheets, comments, target, with_comments=False)
    result["seconds_without_comments"] = clock.wall
    with Clock() as clock:
        write_workbook_copy(sheets, comments, target, with_comments=True)
    result["seconds"], result["cpu_seconds"] = clock.wall, clock.cpu
    return result


def _time_csv_write(path: Path, target: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if _has("pyarrow"):
        import pyarrow as pa
        import pyarrow.csv as pacsv

        header, body = rows[0], rows[1:]
        names = [f"{i}_{h}" for i, h in enumerate(header)]  # pyarrow needs distinct names
        table = pa.table(
            {n: [r[i] if i < len(r) else "" for r in body] for i, n in enumerate(names)}
        )
        with Clock() as clock:
            pacsv.write_csv(table, target)
        writer = "pyarrow"
    else:
        with Clock() as clock, open(target, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
        writer = "csv module"
    return {
        "path": str(path),
        "writer": writer,
        "cells": sum(len(row) for row in rows),
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="targetkit-floor-") as scratch:
        reads = [time_read(item) for item in spec.get("read", [])]
        writes = [time_write(item, Path(scratch)) for item in spec.get("write", [])]
    print(
        json.dumps(
            {
                "read_seconds": sum(r["seconds"] for r in reads),
                "write_seconds": sum(w["seconds"] for w in writes),
                "read_cpu_seconds": sum(r["cpu_seconds"] for r in reads),
                "write_cpu_seconds": sum(w["cpu_seconds"] for w in writes),
                "write_seconds_without_comments": sum(
                    w.get("seconds_without_comments", w["seconds"]) for w in writes
                ),
                "reads": reads,
                "writes": writes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
