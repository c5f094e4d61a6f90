"""Every registered command on every file of the bad-input corpus (tests/bad_inputs/).

The answer is always one of: exit 2 with one error line naming the file (and row) and what to
do; a normal run; or a normal run that reports the problem. Never a traceback, never a hang,
never a changed input. What each file must give is in tests/bad_inputs/README.md.
`COMMANDS` says how to run each command on one input; a command registered in
`targetkit.cli.main` without an entry here fails `test_every_registered_command_has_an_entry`,
so the table grows with the CLI. The other reliability tests import it from here.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import ROOT, cli

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
HANG_GUARD_SECONDS = 60  # a subprocess still running after this has hung


@dataclass(frozen=True)
class Call:
    """How to run a command on one input file, writing into `out` (a folder)."""

    args: Callable[[Path, Path], list[str | Path]]
    output: str  # the file or folder the command writes inside `out`
    pupil_sheet: str | None = None  # the sheet holding one row per input pupil, if any
    reads_input: bool = True


def _demo(_input: Path, out: Path) -> list[str | Path]:
    return ["demo", out / "examples"]


COMMANDS: dict[str, Call] = {
    "convert": Call(
        lambda f, out: [
            "convert", f, "--column", "Reading KS1", "--from", "nc", "--to", "points",
            "-o", out / "converted.xlsx",
        ],
        "converted.xlsx",
        pupil_sheet="Converted",
    ),
    "import": Call(lambda f, out: ["import", f, "-o", out / "cohort.xlsx"], "cohort.xlsx",
                   pupil_sheet="Pupils"),
    "set-targets": Call(lambda f, out: ["set-targets", f, "-o", out / "targets.xlsx"],
                        "targets.xlsx"),
    "check-ambition": Call(lambda f, out: ["check-ambition", f, "-o", out / "check.xlsx"],
                           "check.xlsx"),
    "report": Call(lambda f, out: ["report", f, "-o", out / "report.xlsx"], "report.xlsx"),
    "build-conversion": Call(
        lambda f, out: [
            "build-conversion", f, "--prior", "reading_ks1", "--outcome", "reading_ks2",
            "-o", out / "table.csv",
        ],
        "table.csv",
    ),
    "demo": Call(_demo, "examples", reads_input=False),
}  # fmt: skip


def registered_commands() -> list[str]:
    from targetkit.cli import main

    return sorted(main.commands)


def input_commands() -> list[str]:
    return [
        name for name in registered_commands() if COMMANDS.get(name, Call(_demo, "")).reads_input
    ]


@dataclass(frozen=True)
class Entry:
    name: str
    what: str
    outcome: str  # "exit 2", "read" or "flagged"
    phrase: str | None  # what the error line must contain (exit 2)


def corpus() -> list[Entry]:
    """The README table: | `file` | what it is | outcome | what must happen |."""
    entries = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([^`]+)` \| (.+?) \| (exit 2|read|flagged) \| (.+) \|$", line)
        if match:
            phrase = re.search(r"`([^`]+)`", match[4])
            outcome = match[3]
            entries.append(
                Entry(
                    match[1],
                    match[2],
                    outcome,
                    phrase[1] if phrase and outcome == "exit 2" else None,
                )
            )
    return entries


def sha256(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("targetkit: error:")]


def assert_no_crash(name: str, output: str) -> None:
    assert "Traceback" not in output, f"{name}: traceback\n{output}"
    assert "unexpected error" not in output, f"{name}: an unhandled exception\n{output}"


def assert_one_error_line_naming(path: Path, stderr: str, phrase: str | None = None) -> str:
    lines = error_lines(stderr)
    assert len(lines) == 1, f"expected one error line, got:\n{stderr}"
    assert path.name in lines[0], f"the error does not name {path.name}: {lines[0]}"
    if phrase:
        assert phrase.lower() in lines[0].lower(), f"{phrase!r} not in: {lines[0]}"
    return lines[0]


# ---------------------------------------------------------------------------------------------


def test_every_registered_command_has_an_entry():
    missing = [name for name in registered_commands() if name not in COMMANDS]
    assert not missing, f"add these commands to COMMANDS in tests/test_bad_inputs.py: {missing}"


def test_the_corpus_has_at_least_40_files_each_with_a_readme_line():
    entries = corpus()
    named = {entry.name for entry in entries}
    on_disk = {p.name for p in CORPUS.iterdir()} - {"README.md", "make_corpus.py"}
    assert len(entries) >= 40
    assert named == on_disk, f"undocumented: {on_disk - named}; missing: {named - on_disk}"
    assert {entry.outcome for entry in entries} == {"exit 2", "read", "flagged"}
    assert all(entry.phrase for entry in entries if entry.outcome == "exit 2")


def test_the_corpus_stays_small():
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert total < 2 * 2**20


ENTRIES = corpus()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_convert_gives_exactly_what_the_corpus_readme_says(entry, tmp_path):
    """convert is the reference: the README's outcome and phrase, exactly."""
    source = CORPUS / entry.name
    before = sha256(source)
    result = cli(*COMMANDS["convert"].args(source, tmp_path))
    assert_no_crash(entry.name, result.stdout + result.stderr)
    if entry.outcome == "exit 2":
        assert result.exit_code == 2, result.stdout + result.stderr
        assert_one_error_line_naming(source, result.stderr, entry.phrase)
        assert not (tmp_path / "converted.xlsx").exists()
    else:
        assert result.exit_code == 0, result.stderr
        assert (tmp_path / "converted.xlsx").is_file()
        if entry.outcome == "flagged":
            assert "could not be converted" in result.stdout  # a result, on stdout
    assert sha256(source) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


OTHER_COMMANDS = [name for name in input_commands() if name != "convert"]


@pytest.mark.parametrize("command", OTHER_COMMANDS)
def test_every_other_command_answers_every_corpus_file_clearly(command, tmp_path):
    """Exit 0/1, or exit 2 with one line naming the file; a file convert refuses is never a
    plain success; no traceback; the input unchanged."""
    problems = []
    for entry in ENTRIES:
        source = CORPUS / entry.name
        before = sha256(source)
        out = tmp_path / entry.name.replace(".", "_")
        out.mkdir()
        result = cli(*COMMANDS[command].args(source, out))
        output = result.stdout + result.stderr
        where = f"{command} {entry.name} (exit {result.exit_code})"
        if "Traceback" in output or "unexpected error" in output:
            problems.append(f"{where}: crashed: {output.strip()[-300:]}")
        elif result.exit_code not in (0, 1, 2):
            problems.append(f"{where}: unexpected exit status")
        elif result.exit_code == 2:
            lines = error_lines(result.stderr)
            if len(lines) != 1 or source.name not in lines[0]:
                problems.append(f"{where}: not one line naming the file: {result.stderr!r}")
        elif (
            entry.outcome == "exit 2"
            and result.exit_code == 0
            and not flags_instead(command, entry.name, output)
        ):
            problems.append(f"{where}: a file that cannot be read gave a plain success")
        if sha256(source) != before:
            problems.append(f"{where}: the input changed")
    assert not problems, "\n".join(problems)


def flags_instead(command: str, name: str, output: str) -> bool:
    """`import` keeps a pupil whose cell holds a formula never calculated and flags the cell
    (issue 5); every other command refuses the file (the README's outcome)."""
    return (
        command == "import"
        and name == "formulas_not_calculated.xlsx"
        and ("never calculated" in output or "FORMULA_NOT_CALCULATED" in output)
    )


HOSTILE_SAMPLE = [
    "zip_bomb.xlsx",
    "billion_laughs.xlsx",
    "far_away_cell.xlsx",
    "far_cell_single_quotes.xlsx",  # a reader abort (SIGABRT) before issue 17
    "understated_zip.xlsx",
    "shared_string_out_of_range.xlsx",
    "password_protected.xlsx",
    "unclosed_quote.csv",
    "formulas_not_calculated.xlsx",
]


@pytest.mark.parametrize("name", HOSTILE_SAMPLE)
def test_a_real_run_on_a_hostile_file_ends_with_one_line_and_never_hangs(name, tmp_path):
    """In a real process (a crash in a native reader would kill it), with a hang guard."""
    source = CORPUS / name
    entry = next(e for e in ENTRIES if e.name == name)
    completed = subprocess.run(
        [sys.executable, "-m", "targetkit", *map(str, COMMANDS["convert"].args(source, tmp_path))],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 2, completed.stderr
    assert_no_crash(name, completed.stderr)
    assert completed.stderr.count("\n") == 1
    assert_one_error_line_naming(source, completed.stderr, entry.phrase)


@pytest.mark.parametrize("command", input_commands())
def test_a_missing_input_path_is_one_line_naming_it(command, tmp_path):
    missing = tmp_path / "no-such-export.xlsx"
    result = cli(*COMMANDS[command].args(missing, tmp_path))
    assert_no_crash(command, result.stdout + result.stderr)
    if command == "check-ambition" and result.exit_code == 1:
        assert missing.name in result.stdout + result.stderr  # reported as FILE_UNREADABLE
        return
    assert result.exit_code == 2
    assert_one_error_line_naming(missing, result.stderr)


@pytest.mark.parametrize("command", input_commands())
def test_an_output_in_a_folder_that_does_not_exist_is_refused_before_any_work(command, tmp_path):
    source = CORPUS / "header_only.csv"
    missing_folder = tmp_path / "no such folder"
    result = cli(*COMMANDS[command].args(source, missing_folder))
    assert_no_crash(command, result.stdout + result.stderr)
    assert result.exit_code == 2
    line = assert_one_error_line_naming(missing_folder / COMMANDS[command].output, result.stderr)
    assert "folder" in line
    assert not missing_folder.exists()


def test_an_output_in_a_read_only_place_is_one_clear_line(tmp_path):
    """As root, permissions do not stop writing, so use a place no one can write: /proc."""
    source = CORPUS / "header_only.csv"
    target = Path("/proc/targetkit-test-output.xlsx")
    if not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    args = COMMANDS["convert"].args(source, tmp_path)
    args[args.index("-o") + 1] = target
    result = cli(*args)
    assert_no_crash("convert", result.stdout + result.stderr)
    assert result.exit_code == 2
    line = assert_one_error_line_naming(target, result.stderr)
    assert "write" in line
    assert not target.exists()


def test_an_output_in_a_read_only_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permission bits (CI runs as root): answer as a user would
        real_access = os.access

        def user_access(path, mode, *args, **kwargs):
            if Path(path) == folder and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", user_access)
    try:
        result = cli(*COMMANDS["convert"].args(CORPUS / "header_only.csv", folder))
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2
    assert "permission" in assert_one_error_line_naming(folder / "converted.xlsx", result.stderr)


def test_the_mixed_encoding_file_reads_both_kinds_of_accent_right(tmp_path):
    from targetkit.io import read_table

    table = read_table(CORPUS / "mixed_encoding.csv")
    # make_corpus: Zoë written in UTF-8 (row 4); O’Neill and Chloé in Windows-1252 (row 6)
    assert table.frame.loc[4, "Forename"] == "Zoë"
    assert table.frame.loc[6, "Surname"] == "O’Neill"
    assert table.frame.loc[6, "Forename"] == "Chloé"
    assert table.encoding == "utf-8 with windows-1252"


def test_the_hidden_sheet_is_not_read(tmp_path):
    from targetkit.io import read_table

    table = read_table(CORPUS / "hidden_sheet.xlsx")
    assert table.sheet == "Pupils"
    assert "Old" not in set(table.frame["Surname"])


def test_a_renamed_xls_reads_the_same_as_the_genuine_one():
    from targetkit.io import read_table

    renamed = read_table(CORPUS / "xls_named.xlsx").frame
    genuine = read_table(CORPUS / "real.xls").frame
    assert renamed.equals(genuine)
    # make_corpus PUPILS: Smith 2b, Jones 3 (text), O'Brien 1a, Patel W; year group 3 (a number)
    assert renamed["Reading KS1"].tolist() == ["2b", "3", "1a", "W"]
    assert renamed["Year Group"].tolist() == [3, 3, 3, 3]


def test_the_100000_character_cell_is_kept_whole():
    from targetkit.io import read_table

    table = read_table(CORPUS / "long_cell.csv")
    assert len(table.frame.loc[2, "Notes"]) == 100_000


def test_calculated_formulas_give_their_saved_values_and_nothing_runs():
    from targetkit.io import read_table

    table = read_table(CORPUS / "formulas_calculated.xlsx")
    # xlsxwriter saved the DDE formula's value as the pupil's grade, and ROW()*2 as 4, 6, 8, 10
    assert table.frame["Reading KS1"].tolist() == ["2b", "3", "1a", "W"]
    assert table.frame["Points"].tolist() == [4, 6, 8, 10]


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("nul_bytes.csv", "row 3"),  # make_corpus put the NULs in Jones's row: row 3
        ("unclosed_quote.csv", "row 2"),  # the quote opens before Smith, the first pupil
        ("duplicate_headers.csv", "row 1"),  # the header row
        ("formulas_not_calculated.xlsx", "cell F2"),  # the first formula, beside Smith
    ],
)
def test_errors_name_the_row_or_cell_to_look_at(name, place, tmp_path):
    result = cli(*COMMANDS["convert"].args(CORPUS / name, tmp_path))
    assert result.exit_code == 2
    assert place in assert_one_error_line_naming(CORPUS / name, result.stderr)


def test_data_only_on_a_hidden_sheet_is_not_read_but_the_message_names_the_sheet(tmp_path):
    import openpyxl

    from targetkit.errors import InputError
    from targetkit.io import read_table

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    hidden = book.create_sheet("Pupils")
    hidden.append(["UPN", "Reading KS1"])
    hidden.append(["L801200015001", "2b"])
    hidden.sheet_state = "hidden"
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert "hidden sheets are Pupils; read one with --sheet NAME" in str(caught.value)
    assert read_table(path, sheet="Pupils").frame["Reading KS1"].tolist() == ["2b"]
