"""The benchmark script runs and reports every command it measures (not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT

from targetkit.cli import main

BENCHMARK = ROOT / "benchmarks" / "run.py"
# run.py name → the CLI command it runs (several cases may run one command).
CASES = {
    "convert": "convert",
    "import": "import",
    "import-xlsx": "import",
    "set-targets": "set-targets",
    "set-targets-csv": "set-targets",
    "report": "report",
    "check-ambition": "check-ambition",
}


def test_benchmark_reports_a_ratio_and_peak_memory_for_every_command(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--sizes", "200", "--json", "--schools", "2",
         "--school-pupils", "20", "--commands", ",".join([*CASES, "help"]),
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    measured = {r["command"]: r for r in report["results"]}
    registered = set(main.commands)
    expected = {"help"} | {case for case, command in CASES.items() if command in registered}
    assert set(measured) == expected
    skipped = {note.split(" ", 1)[0] for note in report["skipped"]}
    assert skipped == set(CASES) - expected  # a command not built yet is named, not dropped
    for name, result in measured.items():
        assert "error" not in result, (name, result.get("error"))
        assert result["seconds"] > 0 and result["floor_seconds"] > 0, name
        assert result["ratio"] == result["seconds"] / result["floor_seconds"], name
        assert 5 < result["peak_mib"] < 4096, name  # a Python process's max RSS, in MiB
    for name in expected - {"help"}:
        floor = measured[name]["floor"]
        assert floor["files_read"] >= 1 and floor["cells_written"] > 0, name
    assert measured["help"]["imports_pandas"] is False  # `targetkit --help` stays light
    ambition = measured["check-ambition"]  # issue 18's own floor beside run.py's
    assert ambition["issue_floor_seconds"] < ambition["floor_seconds"]
    assert ambition["ratio_to_issue_floor"] == ambition["seconds"] / ambition["issue_floor_seconds"]
    assert ambition["least_seconds"] > ambition["issue_floor_seconds"]  # importing pandas costs
    assert report["machine"]["cpus"] >= 1


def test_the_write_floor_copies_every_cell_and_comment_of_the_output(tmp_path):
    """The floor writes what the command wrote: same sheets, cells and cell comments."""
    import importlib.util

    import openpyxl
    import pandas as pd

    from targetkit.workbook import ReadMe, Sheet, write_workbook

    spec = importlib.util.spec_from_file_location("floors", ROOT / "benchmarks" / "floors.py")
    floors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floors)
    frame = pd.DataFrame(
        {"upn": ["B801200005001", "H801200001001"], "reading_target": ["4b", "5c"]}
    )
    comments = {"reading_target": pd.Series(["KS1 2b: +2 levels -> 4b", None])}
    output = tmp_path / "targets.xlsx"
    write_workbook(
        output,
        [Sheet("Targets", frame, comments=comments)],
        readme=ReadMe(title="t"),
        about=[("rows", 2)],
    )
    measured = floors.time_write({"path": str(output)}, tmp_path)
    assert measured["comments"] == 1 and measured["seconds"] > 0
    original = openpyxl.load_workbook(output)
    copy = openpyxl.load_workbook(tmp_path / "floor-targets.xlsx")
    assert copy.sheetnames == original.sheetnames
    for name in original.sheetnames:
        cells = [[c.value for c in row] for row in original[name].iter_rows()]
        assert [[c.value for c in row] for row in copy[name].iter_rows()] == cells, name
    assert copy["Targets"]["B2"].comment.text == "KS1 2b: +2 levels -> 4b"
    assert copy["Targets"]["B3"].comment is None


def test_benchmark_runs_the_reference_writer_too(tmp_path):
    """`TARGETKIT_XLSX_BACKEND=xlsxwriter-cells` measures xlsxwriter's own per-cell writing
    (issue 18: the smoke test runs both writers), and the run says which it measured."""
    import os

    import openpyxl

    env = {**os.environ, "TARGETKIT_XLSX_BACKEND": "xlsxwriter-cells"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--sizes", "200", "--json", "--commands",
         "set-targets", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["machine"]["workbook_writer"] == "xlsxwriter-cells"
    (result,) = report["results"]
    assert "error" not in result and result["floor"]["comments_written"] > 0
    about = openpyxl.load_workbook(tmp_path / "outputs-200" / "targets.xlsx", read_only=True)
    try:
        items = dict(about["About"].iter_rows(min_row=2, values_only=True))
    finally:
        about.close()
    assert items["workbook writer"].endswith("cell by cell")
