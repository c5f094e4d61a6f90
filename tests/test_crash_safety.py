"""Outputs are all-or-nothing: a killed, interrupted or failed run never leaves a half-written
workbook in place of the previous one, and two runs writing one output never mix.

The runs are real `targetkit convert` processes, paused at the moment they write the workbook
(a hook around xlsxwriter's `close`, which is where the file is written), so the tests do not
depend on timing: the parent waits for "WRITING" and then kills, interrupts or releases them.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, cli

from targetkit.io import TEMP_MARK

# Runs targetkit's CLI with xlsxwriter's close() paused: it first writes the start of a
# workbook into the temporary file (as a real write would), says WRITING, waits for a line
# on stdin, then writes the whole workbook.
DRIVER = r"""
import sys
import xlsxwriter
from targetkit.cli import main

real_close = xlsxwriter.Workbook.close

def paused_close(self):
    print("SPOOL", self.tmpdir, flush=True)
    with open(self.filename, "wb") as partial:
        partial.write(b"PK\x03\x04 half a workbook")
    print("WRITING", flush=True)
    sys.stdin.readline()
    real_close(self)

xlsxwriter.Workbook.close = paused_close
main(sys.argv[1:], prog_name="targetkit")
"""
HANG_GUARD_SECONDS = 60


def cohort(path: Path, surnames: list[str]) -> Path:
    rows = ["UPN,Surname,Reading KS1"]
    rows += [f"L8012000150{i:02d},{name},2b" for i, name in enumerate(surnames)]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    return path


def convert_args(source: Path, out: Path) -> list[str]:
    return ["convert", str(source), "--column", "Reading KS1", "--from", "nc", "--to", "points",
            "-o", str(out), "--force"]  # fmt: skip


def start_paused(source: Path, out: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, *convert_args(source, out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.spool = line.split(" ", 1)[1].strip() if line.startswith("SPOOL") else ""  # type: ignore[attr-defined]
    line = process.stdout.readline() if line.startswith("SPOOL") else line
    assert line.strip() == "WRITING", process.stderr.read() if process.stderr else line
    return process


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMP_MARK in p.name]


def surnames_in(workbook: Path) -> list[str]:
    book = openpyxl.load_workbook(workbook, read_only=True)
    try:
        return [row[1] for row in book["Converted"].iter_rows(min_row=2, values_only=True)]
    finally:
        book.close()


@pytest.fixture
def previous_output(tmp_path) -> Path:
    """A finished output from an earlier run: what must survive a failed rerun."""
    out = tmp_path / "converted.xlsx"
    result = cli(*convert_args(cohort(tmp_path / "old.csv", ["Old", "Run"]), out))
    assert result.exit_code == 0, result.stderr
    return out


def test_sigkill_while_writing_leaves_the_previous_output_and_the_next_run_clears_the_temporary(
    tmp_path, previous_output
):
    before = previous_output.read_bytes()
    process = start_paused(cohort(tmp_path / "new.csv", ["New", "Pupils", "Here"]), previous_output)
    process.kill()  # SIGKILL: no handler, no cleanup can run
    process.communicate(timeout=HANG_GUARD_SECONDS)
    assert process.returncode == -signal.SIGKILL
    assert previous_output.read_bytes() == before
    assert surnames_in(previous_output) == ["Old", "Run"]
    left = [p for p in temporaries(tmp_path) if p.is_file()]  # and the spool folder
    assert len(left) == 1 and left[0].read_bytes().startswith(b"PK\x03\x04 half")

    again = cli(*convert_args(tmp_path / "new.csv", previous_output))
    assert again.exit_code == 0, again.stderr
    assert temporaries(tmp_path) == []
    assert surnames_in(previous_output) == ["New", "Pupils", "Here"]


def test_ctrl_c_while_writing_leaves_the_previous_output_and_no_temporary(
    tmp_path, previous_output
):
    before = previous_output.read_bytes()
    process = start_paused(cohort(tmp_path / "new.csv", ["New"]), previous_output)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=HANG_GUARD_SECONDS)
    assert process.returncode == 130
    assert stderr.strip() == "targetkit: error: interrupted; no output was written"
    assert previous_output.read_bytes() == before
    assert temporaries(tmp_path) == []


def test_an_error_while_writing_leaves_the_previous_output_no_temporary_and_one_line(
    tmp_path, previous_output, monkeypatch
):
    import xlsxwriter

    real_close = xlsxwriter.Workbook.close

    def disk_full(self):
        real_close(self)  # writes (and closes xlsxwriter's own temporary files), then:
        with open(self.filename, "r+b") as partial:
            partial.truncate(100)  # the disk filled up part way through the workbook
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", disk_full)
    before = previous_output.read_bytes()
    result = cli(*convert_args(cohort(tmp_path / "new.csv", ["New"]), previous_output))
    assert result.exit_code == 2
    assert result.stderr == (
        f"targetkit: error: {previous_output}: cannot write the output (No space left on "
        "device) (check that its folder exists, can be written to and has free space)\n"
    )
    assert previous_output.read_bytes() == before
    assert temporaries(tmp_path) == []


def test_two_runs_writing_one_output_at_once_end_with_one_complete_file(tmp_path):
    out = tmp_path / "converted.xlsx"
    first = start_paused(cohort(tmp_path / "a.csv", ["Alpha", "Apple", "Acorn"]), out)
    second = start_paused(cohort(tmp_path / "b.csv", ["Beta", "Bear"]), out)
    # each run writes its own temporary file (and spools into its own folder)
    assert len([p for p in temporaries(tmp_path) if p.is_file()]) == 2
    for process in (first, second):
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in (first, second):
        process.communicate(timeout=HANG_GUARD_SECONDS)
        assert process.returncode == 0
    # whichever finished last won; its rows are all there and none of the other run's
    assert surnames_in(out) in (["Alpha", "Apple", "Acorn"], ["Beta", "Bear"])
    assert temporaries(tmp_path) == []


def test_without_force_the_second_of_two_simultaneous_runs_is_refused_not_mixed(tmp_path):
    out = tmp_path / "converted.xlsx"
    runs = []
    for name, surnames in (("a.csv", ["Alpha"]), ("b.csv", ["Beta"])):
        args = convert_args(cohort(tmp_path / name, surnames), out)[:-1]  # no --force
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        assert process.stdout.readline().startswith("SPOOL")
        assert process.stdout.readline().strip() == "WRITING"
        runs.append(process)
    outcomes = []
    for process in runs:  # release the first, let it finish, then the second
        _, stderr = process.communicate("go\n", timeout=HANG_GUARD_SECONDS)
        outcomes.append((process.returncode, stderr))
    assert outcomes[0][0] == 0, outcomes[0][1]
    assert outcomes[1][0] == 2
    assert "the output appeared while writing" in outcomes[1][1]
    assert surnames_in(out) == ["Alpha"]
    assert temporaries(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# No input ever overwritten (issue 17)


def submission(path: Path) -> Path:
    """A tiny targets CSV that check-ambition reads as one school's submission."""
    path.write_text(
        "UPN,Surname,Year Group,reading_ks1,reading_target\r\n"
        "L801200015001,Smith,6,2b,4b\r\nA801200015002,Jones,6,3,5c\r\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("option", ["--previous-targets", "--previous-results"])
def test_check_ambition_never_writes_over_a_file_it_reads_through_an_option(tmp_path, option):
    school = submission(tmp_path / "school.csv")
    previous = submission(tmp_path / "previous.csv")
    before = previous.read_bytes()
    result = cli("check-ambition", school, option, previous, "-o", previous, "--force")
    assert result.exit_code == 2
    assert "would overwrite an input file" in result.stderr
    assert previous.read_bytes() == before


def test_an_output_that_is_an_input_under_another_name_is_refused(tmp_path):
    """A hard link is what a case-insensitive file system does to `Cohort.csv` and
    `cohort.csv`: two names, one file. Names differ, so only the file's identity tells."""
    source = cohort(tmp_path / "cohort.csv", ["Smith"])
    other_name = tmp_path / "Cohort-link.csv"
    os.link(source, other_name)
    before = source.read_bytes()
    result = cli(*convert_args(source, other_name))
    assert result.exit_code == 2
    assert "would overwrite an input file" in result.stderr
    assert source.read_bytes() == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_output_that_is_a_fifo_is_refused_even_with_force(tmp_path):
    fifo = tmp_path / "out.xlsx"
    os.mkfifo(fifo)
    result = cli(*convert_args(cohort(tmp_path / "c.csv", ["Smith"]), fifo))
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr
    assert fifo.is_fifo()


def test_an_output_that_is_a_device_is_refused_even_with_force(tmp_path):
    """A copy of /dev/null made in the test's folder (never the system's own: before the fix,
    a root run replaced the device with a file)."""
    import stat

    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")
    result = cli(*convert_args(cohort(tmp_path / "c.csv", ["Smith"]), device))
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr
    assert device.is_char_device()


def test_force_keeps_the_mode_of_the_file_it_replaces(tmp_path, previous_output):
    previous_output.chmod(0o600)
    result = cli(*convert_args(cohort(tmp_path / "new.csv", ["New"]), previous_output))
    assert result.exit_code == 0, result.stderr
    assert surnames_in(previous_output) == ["New"]
    assert previous_output.stat().st_mode & 0o777 == 0o600


def test_a_stale_temporary_of_an_output_with_glob_characters_is_cleaned(tmp_path):
    from targetkit.io import _HOST, remove_stale_temporaries

    out = tmp_path / "[Y6] targets.xlsx"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".{out.name}{TEMP_MARK}{_HOST}-{dead}.tmp"
    stale.write_bytes(b"half")
    assert remove_stale_temporaries(out) == [stale]
    assert not stale.exists()


def test_a_temporary_of_a_run_on_another_machine_is_never_deleted(tmp_path):
    """Pids are per machine: a pid that is dead here may be a live run on the file server's
    other client, so a temporary file with another host's name is left alone."""
    from targetkit.io import _HOST, remove_stale_temporaries, temporary_path

    out = tmp_path / "targets.xlsx"
    assert temporary_path(out).name == f".targets.xlsx{TEMP_MARK}{_HOST}-{os.getpid()}.tmp"
    elsewhere = tmp_path / f".{out.name}{TEMP_MARK}otherpc-999999.tmp"
    elsewhere.write_bytes(b"someone else's live run")
    assert remove_stale_temporaries(out) == []
    assert elsewhere.exists()


# ---------------------------------------------------------------------------------------------
# One file never ends the batch; Ctrl-C and SIGTERM give one line (issue 17)


def batch(folder: Path, names: list[str]) -> Path:
    folder.mkdir()
    for name in names:
        submission(folder / f"{name}.csv")
    return folder


def test_a_worker_killed_by_one_file_makes_that_file_unreadable_and_the_batch_goes_on(
    tmp_path, monkeypatch
):
    """A native reader aborting (SIGABRT) on a crafted file kills its worker process and, with
    it, the pool. The workers are forked from this process, so the patched reader is theirs."""
    from targetkit.commands import check_ambition as module

    real = module.read_submission

    def aborting(path):
        if Path(path).stem == "crafted":
            import faulthandler

            faulthandler.disable()  # pytest's would print the dying worker's stack
            os.abort()
        return real(path)

    monkeypatch.setattr(module, "read_submission", aborting)
    folder = batch(tmp_path / "subs", ["alpha", "beta", "crafted", "delta", "gamma"])
    out = tmp_path / "la.xlsx"
    outcome = module.check_ambition([folder], jobs=2, output=out)
    status = dict(zip(outcome.files["file"].map(lambda f: Path(f).name), outcome.files["status"],
                      strict=True))  # fmt: skip
    assert status == {"alpha.csv": "checked", "beta.csv": "checked", "crafted.csv": "unreadable",
                      "delta.csv": "checked", "gamma.csv": "checked"}  # fmt: skip
    unreadable = outcome.findings[outcome.findings["code"] == "FILE_UNREADABLE"]
    assert unreadable["file"].map(lambda f: Path(f).name).tolist() == ["crafted.csv"]
    assert out.is_file()  # the LA workbook was written


ABORTING_READER_DRIVER = r"""
import os, sys
from pathlib import Path
from targetkit.commands import check_ambition
from targetkit.cli import main

real = check_ambition.read_submission

def aborting(path):
    if Path(path).stem == "crafted":
        import faulthandler
        faulthandler.disable()
        os.abort()  # as a native reader does on a crafted sheet (SIGABRT)
    return real(path)

check_ambition.read_submission = aborting
main(sys.argv[1:], prog_name="targetkit")
"""


def test_with_jobs_1_a_reader_crash_makes_that_file_unreadable_and_the_run_goes_on(tmp_path):
    """`--jobs 1` reads in a worker process too: before, it read in the main process, so a
    reader's abort ended the run with no LA workbook and no line."""
    folder = batch(tmp_path / "subs", ["alpha", "crafted", "gamma"])
    out = tmp_path / "la.xlsx"
    process = subprocess.run(
        [sys.executable, "-c", ABORTING_READER_DRIVER, "check-ambition", str(folder), "--jobs",
         "1", "-o", str(out), "--format", "json", "--fail-on", "never"],
        capture_output=True, text=True, timeout=HANG_GUARD_SECONDS * 5, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    found = json.loads(process.stdout)["findings"]
    unreadable = [Path(f["file"]).name for f in found if f["code"] == "FILE_UNREADABLE"]
    assert unreadable == ["crafted.csv"]
    assert {Path(f["file"]).name for f in found} - {"crafted.csv"} <= {"alpha.csv", "gamma.csv"}
    files = openpyxl.load_workbook(out)["Files"]
    status = {Path(row[0]).name: row[2] for row in files.iter_rows(min_row=2, values_only=True)}
    assert status == {"alpha.csv": "checked", "crafted.csv": "unreadable", "gamma.csv": "checked"}


SLOW_CHECK_DRIVER = r"""
import sys, time
from targetkit.commands import check_ambition
from targetkit.cli import main

real = check_ambition.check_files

def slow(paths):
    print("CHECKING", flush=True)
    time.sleep(60)
    return real(paths)

check_ambition.check_files = slow
main(sys.argv[1:], prog_name="targetkit")
"""


@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_during_a_parallel_check_is_one_line(tmp_path, signal_number, status):
    """Ctrl-C on a terminal reaches every process of the group: the workers leave quietly and
    the main process says one line (no worker traceback); SIGTERM is handled the same way."""
    folder = batch(tmp_path / "subs", ["alpha", "beta", "gamma", "delta"])
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHECK_DRIVER, "check-ambition", str(folder), "--jobs", "2",
         "-o", str(tmp_path / "la.xlsx")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert process.stdout.readline().startswith("CHECKING")  # both workers may say it at once
    os.killpg(process.pid, signal_number)
    _, stderr = process.communicate(timeout=HANG_GUARD_SECONDS)
    assert process.returncode == status
    assert stderr == "targetkit: error: interrupted; no output was written\n"
    assert not (tmp_path / "la.xlsx").exists()


# A worker that has started but not yet put its quiet handlers in place says STARTING and
# waits (at most a minute) until a signal is pending for it, then goes on starting: the
# moment a Ctrl-C hit under load, made certain instead of left to timing.
STARTING_WORKER_DRIVER = r"""
import signal, sys, time
from targetkit.commands import check_ambition
from targetkit.cli import main

real = check_ambition._init_pool_worker

def slow_start(context):
    print("STARTING", flush=True)
    deadline = time.monotonic() + 60
    while not signal.sigpending() and time.monotonic() < deadline:
        time.sleep(0.01)
    real(context)

check_ambition._init_pool_worker = slow_start
main(sys.argv[1:], prog_name="targetkit")
"""


@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_while_a_worker_is_still_starting_is_one_line(tmp_path, signal_number, status):
    """The flaky case, made certain: the signal reaches a worker before its own handlers are
    in place. Workers start with Ctrl-C and SIGTERM held, so they still leave quietly."""
    folder = batch(tmp_path / "subs", ["alpha", "beta"])
    process = subprocess.Popen(
        [sys.executable, "-c", STARTING_WORKER_DRIVER, "check-ambition", str(folder), "--jobs",
         "2", "-o", str(tmp_path / "la.xlsx")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert process.stdout.readline().startswith("STARTING")
    os.killpg(process.pid, signal_number)
    _, stderr = process.communicate(timeout=HANG_GUARD_SECONDS * 2)
    assert process.returncode == status
    assert stderr == "targetkit: error: interrupted; no output was written\n"
    assert not (tmp_path / "la.xlsx").exists()


def test_xlsxwriter_spools_into_a_private_folder_beside_the_output_cleared_after_sigkill(
    tmp_path, previous_output
):
    """Not $TMPDIR: a killed run would leave pupil data there for anyone to read."""
    process = start_paused(cohort(tmp_path / "new.csv", ["New"]), previous_output)
    spool = Path(process.spool)
    assert spool.parent == tmp_path and spool.is_dir()
    assert spool.name.startswith(f".{previous_output.name}{TEMP_MARK}")
    assert spool.stat().st_mode & 0o777 == 0o700
    process.kill()
    process.communicate(timeout=HANG_GUARD_SECONDS)
    assert spool.is_dir()  # nothing can run on SIGKILL
    again = cli(*convert_args(tmp_path / "new.csv", previous_output))
    assert again.exit_code == 0, again.stderr
    assert temporaries(tmp_path) == []


def test_sigterm_while_writing_is_one_line_exit_143_and_leaves_nothing(tmp_path, previous_output):
    before = previous_output.read_bytes()
    process = start_paused(cohort(tmp_path / "new.csv", ["New"]), previous_output)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=HANG_GUARD_SECONDS)
    assert process.returncode == 143
    assert stderr == "targetkit: error: interrupted; no output was written\n"
    assert previous_output.read_bytes() == before
    assert temporaries(tmp_path) == []


def test_import_csv_and_its_issues_csv_are_replaced_together_or_not_at_all(tmp_path, monkeypatch):
    """The disk fills up as the second file is renamed: the old pair stays, never a new
    `X.csv` beside the old `X-issues.csv`."""
    out = tmp_path / "cohort.csv"
    first = cli("import", cohort(tmp_path / "old.csv", ["Old"]), "-o", out)
    assert first.exit_code == 0, first.stderr
    issues = tmp_path / "cohort-issues.csv"
    before = (out.read_bytes(), issues.read_bytes())
    real_replace = os.replace

    def disk_full_on_the_issues(source, destination):
        new = TEMP_MARK in str(source) and ".old" not in str(source)
        if new and str(destination).endswith("cohort-issues.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", disk_full_on_the_issues)
    again = cli("import", cohort(tmp_path / "new.csv", ["New", "Pupil"]), "-o", out, "--force")
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "No space left on device" in again.stderr
    assert (out.read_bytes(), issues.read_bytes()) == before
    assert temporaries(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Nothing cut silently (issue 17)


def test_a_cell_longer_than_excel_holds_is_kept_to_the_limit_and_named(tmp_path):
    source = tmp_path / "notes.csv"
    note = "n" * 40_000
    source.write_text(f"UPN,Surname,Notes,Reading KS1\r\nL801200015001,Smith,{note},2b\r\n")
    out = tmp_path / "out.xlsx"
    result = cli("convert", source, "--column", "Reading KS1", "--from", "nc", "--to", "points",
                 "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (
        "sheet 'Converted', row 2, column 'Notes': text of 40,000 characters kept to Excel's "
        "limit of 32,767"
    ) in result.stderr
    book = openpyxl.load_workbook(out)
    assert book["Converted"]["C2"].value == "n" * 32_767


def test_a_long_cell_is_a_data_issue_of_import_naming_its_row_and_column(tmp_path):
    """Not only a line on screen: a row of 'Data issues' (and of the issues CSV) says which
    cell a workbook keeps to 32,767 characters; the CSV output keeps the text whole."""
    source = tmp_path / "export.csv"
    note = "n" * 40_000
    source.write_text(
        "UPN,Surname,Notes,Reading KS1\r\n"
        f"L801200015001,Smith,short,2b\r\nA801200015002,Jones,{note},3\r\n",
        encoding="utf-8",
    )
    said = (
        "text of 40,000 characters: an Excel cell holds 32,767, so a workbook keeps the first "
        "32,767 (a CSV output keeps it whole)"
    )
    out = tmp_path / "cohort.xlsx"
    result = cli("import", source, "-o", out)
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out)
    issues = list(book["Data issues"].iter_rows(values_only=True))
    assert issues[1:] == [("warning", "TEXT_TOO_LONG", "export.csv", 3, "Notes", "", said,
                           "check the cell in the export (a pasted document?); write CSV "
                           "(-o NAME.csv) to keep it whole")]  # fmt: skip
    pupils = book["Pupils"]
    notes = next(c.column for c in pupils[1] if c.value == "Notes")
    assert pupils.cell(3, notes).value == "n" * 32_767
    assert pupils.cell(2, notes).value == "short"

    as_csv = tmp_path / "cohort.csv"
    assert cli("import", source, "-o", as_csv).exit_code == 0
    with open(tmp_path / "cohort-issues.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["code"], r["source_row"], r["column"], r["message"]) for r in rows] == [
        ("TEXT_TOO_LONG", "3", "Notes", said)
    ]
    with open(as_csv, encoding="utf-8-sig", newline="") as handle:
        assert [r["Notes"] for r in csv.DictReader(handle)] == ["short", note]


def test_more_columns_than_excel_holds_is_an_error_before_writing(tmp_path):
    source = tmp_path / "wide.csv"
    header = ["UPN", "Reading KS1", *[f"c{i}" for i in range(16_400)]]
    source.write_text(
        ",".join(header) + "\r\n" + ",".join(["L801200015001", "2b"] + ["x"] * 16_400)
    )
    out = tmp_path / "out.xlsx"
    result = cli("convert", source, "--column", "Reading KS1", "--from", "nc", "--to", "points",
                 "-o", out)  # fmt: skip
    assert result.exit_code == 2
    assert "more than an Excel sheet holds" in result.stderr and "CSV" in result.stderr
    assert not out.exists() and temporaries(tmp_path) == []


def test_data_issues_beyond_a_sheets_rows_go_to_a_csv_beside_the_workbook(tmp_path, monkeypatch):
    """A sheet of 1,048,576 rows is too slow for a test: the limit is lowered to 3 rows."""
    from targetkit import workbook

    monkeypatch.setattr(workbook, "MAX_SHEET_ROWS", 3)
    source = tmp_path / "export.csv"
    rows = "".join(f"BADUPN{i},P{i},9z\r\n" for i in range(2))  # a bad UPN, an unknown grade
    source.write_text("UPN,Surname,Reading KS1\r\n" + rows)
    out = tmp_path / "cohort.xlsx"
    result = cli("import", source, "-o", out)
    assert result.exit_code == 0, result.stderr
    beside = tmp_path / "cohort-issues.csv"
    assert f"written to {beside}" in result.stderr
    assert "Data issues" not in openpyxl.load_workbook(out).sheetnames
    with open(beside, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 4  # each pupil: a bad UPN and an unknown grade


def test_after_an_interruption_python_s_ignored_exceptions_are_not_printed(monkeypatch):
    """Python 3.11's process-pool exit hook can race its pipe closing after Ctrl-C and print
    'Exception ignored ... Bad file descriptor' after the one line: silenced, not with
    --verbose."""
    from targetkit import console
    from targetkit.cli import common

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    monkeypatch.setattr(console.settings, "verbose", False)
    with pytest.raises(SystemExit) as stopped:
        common._run_guarded(interrupted, (), {})
    assert stopped.value.code == 130
    assert sys.unraisablehook is common._ignore_unraisable

    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    monkeypatch.setattr(console.settings, "verbose", True)
    with pytest.raises(SystemExit):
        common._run_guarded(interrupted, (), {})
    assert sys.unraisablehook is sys.__unraisablehook__
