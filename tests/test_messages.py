"""What a newcomer reads: one-line errors, files named for what they are, plurals, stdout for
results and stderr for progress, one JSON shape, NO_COLOR, shell completion (issue 16)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tokenize
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT, cli, run_targetkit

from targetkit import console

# string literals (f-strings are split into parts from Python 3.12)
TEXT_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}

# ---------------------------------------------------------------------------------------------
# Usage errors: one line naming the problem and pointing to --help, exit 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["set-targets"],
            "targetkit: error: missing argument 'COHORT' (see 'targetkit set-targets --help')",
        ),
        (
            ["set-targets", "c.xlsx", "--forc"],
            "targetkit: error: no such option '--forc'; did you mean '--force' or '--format'? "
            "(see 'targetkit set-targets --help')",
        ),
        (
            ["check-ambition", "s/", "--benchmark", "top3"],
            "targetkit: error: invalid value for '--benchmark': 'top3' is not one of 'top25', "
            "'top50', 'national' (see 'targetkit check-ambition --help')",
        ),
        (
            ["tagets"],
            "targetkit: error: no such command 'tagets'; did you mean 'set-targets'? "
            "(see 'targetkit --help')",
        ),
    ],
)
def test_a_usage_error_is_one_line_pointing_to_help(args, expected):
    result = run_targetkit(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == expected + "\n"


def test_a_broken_yaml_file_is_one_line_naming_its_line_and_column(tmp_path):
    cohort = tmp_path / "c.csv"
    cohort.write_text("upn,year_group,reading_ks1\nA801200120001,6,2b\n", encoding="utf-8")
    policy = tmp_path / "mine.yaml"
    policy.write_text("name: mine\n  bad: [\n", encoding="utf-8")  # the ':' at line 2, column 6
    result = cli("set-targets", cohort, "--policy", policy, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 2
    assert result.stderr == (
        f"targetkit: error: {policy}: cannot read this YAML file: line 2, column 6: "
        "mapping values are not allowed here\n"
    )


def test_help_and_version_still_exit_0():
    assert run_targetkit("report", "--help").stdout.startswith("Usage: targetkit report")
    version = run_targetkit("--version")
    assert version.returncode == 0 and version.stdout.startswith("targetkit, version ")


# ---------------------------------------------------------------------------------------------
# A folder or a document where a spreadsheet belongs


@pytest.mark.parametrize(
    "args",
    [
        ["set-targets", "."],
        ["import", "."],
        ["convert", ".", "--column", "reading_ks1", "--from", "nc", "--to", "points"],
    ],
)
def test_a_folder_is_not_a_spreadsheet(tmp_path, args):
    result = run_targetkit(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "targetkit: error: .: this is a folder, not a spreadsheet (give a CSV or Excel file)\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing written


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


DOCUMENTS = {
    "minutes.docx": (
        _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}),
        "a Word document",
    ),
    "slides.xlsx": (_zip({"ppt/presentation.xml": "<p/>"}), "a PowerPoint presentation"),
    "exports.zip": (_zip({"pupils.csv": "upn\n"}), "a zip archive"),
    "report.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    "scan.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    "photo.xlsx": (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
    "mis-export.xls": (b"\xef\xbb\xbf\r\n<!DOCTYPE html><html><table>", "a web page (HTML)"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_file_that_is_not_a_spreadsheet_is_named_for_what_it_is(tmp_path, name):
    data, kind = DOCUMENTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = cli("set-targets", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"targetkit: error: {path}: this is {kind}, not a spreadsheet (export the data as CSV "
        "or Excel (.xlsx) and give that file)\n"
    )


# ---------------------------------------------------------------------------------------------
# Words


def test_an_unknown_policy_is_named_in_the_singular(tmp_path):
    cohort = tmp_path / "c.csv"
    cohort.write_text("upn,year_group,reading_ks1\nA801200120001,6,2b\n", encoding="utf-8")
    result = cli("set-targets", cohort, "--policy", "ks5")
    assert result.exit_code == 2
    assert result.stderr.startswith("targetkit: error: unknown policy 'ks5'; choose one of: ")


def test_counts_take_the_right_plural(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("upn,reading_ks1\nB801200005001,2b\nH801200001001,2d\n", encoding="utf-8")
    one = cli("convert", source, "--column", "reading_ks1", "--from", "nc", "--to", "points")
    assert one.exit_code == 0
    assert f"Converted 1 column for 2 rows into {tmp_path / 'c-points.csv'}." in one.stdout
    assert "1 value could not be converted and was left blank:" in one.stdout


def test_no_message_in_the_code_writes_a_plural_as_s_in_brackets():
    """ "1 file(s)" reads badly: messages count with targetkit.wording instead."""
    pattern = re.compile(r"[a-z]\(s\)")
    offenders = []
    for path in (ROOT / "src" / "targetkit").rglob("*.py"):
        with path.open("rb") as handle:
            for token in tokenize.tokenize(handle.readline):
                if token.type in TEXT_TOKENS and pattern.search(token.string):
                    offenders.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    catalogue = (ROOT / "src" / "targetkit" / "data" / "findings.yaml").read_text("utf-8")
    assert offenders == [] and not pattern.search(catalogue)


# ---------------------------------------------------------------------------------------------
# -q / -v after the command, results on stdout and progress on stderr


def test_quiet_and_verbose_are_accepted_after_the_command(tmp_path):
    loud = run_targetkit("demo", tmp_path / "a", "--pupils", "6")
    quiet = run_targetkit("demo", tmp_path / "b", "--pupils", "6", "-q")
    assert loud.returncode == quiet.returncode == 0
    # progress (one line a file written) on stderr; the result (what to try) on stdout
    written = sorted(p for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(loud.stderr.splitlines()) == len(written)
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout.replace(str(tmp_path / "a"), str(tmp_path / "b"))
    missing = tmp_path / "missing.csv"
    verbose = run_targetkit(
        "convert", missing, "--column", "a", "--from", "nc", "--to", "points", "--verbose"
    )
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "d"
    assert cli("demo", folder, "--pupils", "12").exit_code == 0
    rows = ["A,2b,4", "A,2b,4", "A,3b,5", "B,2b,3", "B,2b,4", "B,3b,4"]  # two schools' results
    (folder / "history.csv").write_text(
        "school,reading_ks1,reading_ks2\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    return folder


def command_args(name: str, demo: Path, out: Path) -> list[str | Path]:
    return {
        "import": ["import", demo / "messy-mis-export.csv", "-o", out / "cohort.xlsx"],
        "set-targets": ["set-targets", demo / "primary-cohort.xlsx", "-o", out / "t.xlsx"],
        "check-ambition": ["check-ambition", demo / "submissions", "--fail-on", "never"],
        "report": ["report", demo / "steps-tracking.xlsx", "-o", out / "r.xlsx"],
        "convert": [
            "convert",
            demo / "primary-cohort.xlsx",
            "--column",
            "reading_ks1",
            "--from",
            "nc",
            "--to",
            "points",
            "-o",
            out / "p.xlsx",
        ],
        "build-conversion": [
            "build-conversion",
            demo / "history.csv",
            "--prior",
            "reading_ks1",
            "--outcome",
            "reading_ks2",
            "-o",
            out / "mine.csv",
        ],
    }[name]


COMMANDS = ["import", "set-targets", "check-ambition", "report", "convert", "build-conversion"]


def test_a_targets_workbook_given_as_the_cohort_is_read_as_the_previous_targets(demo, tmp_path):
    """Issue 16 found an AttributeError here (each added column twice): set-targets now reads
    its own workbook back, its targets as the previous targets (tests/test_presentation.py
    checks they are never lowered)."""
    first = tmp_path / "t.xlsx"
    assert cli("set-targets", demo / "primary-cohort.xlsx", "-o", first).exit_code == 0
    again = cli("set-targets", first, "-o", tmp_path / "t2.xlsx")
    assert again.exit_code == 0, again.stderr
    assert "unexpected error" not in again.stderr
    assert (tmp_path / "t2.xlsx").exists()


@pytest.mark.parametrize("name", COMMANDS)
def test_results_go_to_stdout_and_nothing_else_to_stderr(demo, tmp_path, name):
    result = cli(*command_args(name, demo, tmp_path), "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip(), f"{name} printed no result"
    assert result.stderr == ""


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_prints_one_json_shape(demo, tmp_path, name):
    result = cli(*command_args(name, demo, tmp_path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["command", "summary", "findings"]
    assert document["command"] == name
    findings = document["findings"]
    assert isinstance(findings, list)
    for finding in findings:
        assert {"severity", "code", "message"} <= set(finding), finding
        assert finding["severity"] in ("challenge", "error", "warning", "info")
        if "basis" in finding and finding["basis"] is not None:
            assert finding["basis"] == "illustrative" or finding["basis"].startswith(
                ("published: ", "local: ")
            )
    by_severity = document["summary"]["by_severity"]
    assert sum(by_severity.values()) == len(findings)
    for severity, count in by_severity.items():
        assert count == sum(f["severity"] == severity for f in findings)


# ---------------------------------------------------------------------------------------------
# Colour and completion


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_is_honoured_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert console._console(stderr=True).no_color is False  # colour on a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert console._console(stderr=True).no_color is True
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: never colour
    monkeypatch.delenv("NO_COLOR")
    assert console._console(stderr=True).no_color is True


def test_shell_completion_script_is_produced():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "_TARGETKIT_COMPLETE": "bash_source"}
    script = subprocess.run(
        [sys.executable, "-m", "targetkit"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "_targetkit_completion()" in script
    assert "complete -o nosort -F _targetkit_completion targetkit" in script


def test_completion_completes_command_names():
    from targetkit.cli import main

    result = CliRunner().invoke(
        main,
        prog_name="targetkit",
        env={
            "_TARGETKIT_COMPLETE": "bash_complete",
            "COMP_WORDS": "targetkit set-",
            "COMP_CWORD": "1",
        },
    )
    assert result.output.splitlines() == ["plain,set-targets"]


# ---------------------------------------------------------------------------------------------
# report -o DIR (SPEC §8)


def test_report_makes_the_folder_o_names(demo, tmp_path):
    """A trailing slash, or a missing path without an .xlsx suffix, is a folder made on the
    first run; a missing path ending in another file type is refused, and no folder made."""
    tracking = demo / "steps-tracking.xlsx"
    slash = cli("report", tracking, "-o", f"{tmp_path / 'a' / 'b'}/")
    assert slash.exit_code == 0, slash.stderr
    bare = cli("report", tracking, "-o", tmp_path / "termly")
    assert bare.exit_code == 0, bare.stderr
    for folder in (tmp_path / "a" / "b", tmp_path / "termly"):
        assert [p.suffix for p in folder.iterdir()] == [".xlsx"]
    wrong = cli("report", tracking, "-o", tmp_path / "report.csv")
    assert wrong.exit_code == 2
    assert wrong.stderr == (
        f"targetkit: error: {tmp_path / 'report.csv'}: the report is a workbook: give -o a "
        "folder or a .xlsx file\n"
    )
    assert not (tmp_path / "report.csv").exists()
