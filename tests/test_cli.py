"""The command line: help for every command, instant --help, exit statuses, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from helpers import ROOT, cli, run_targetkit

from targetkit import __version__
from targetkit.cli import main


def all_commands() -> list[str]:
    return sorted(main.commands)


def test_version():
    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize("command", all_commands())
def test_every_command_has_help_text(command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert main.commands[command].help, f"{command} has no docstring"
    assert "Usage: " in result.stdout


@pytest.mark.parametrize("command", all_commands())
def test_every_command_is_in_the_readme_cli_reference(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"### `targetkit {command}`" in readme


def test_help_does_not_import_pandas():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "targetkit", "--help"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "pandas" not in imported and "numpy" not in imported
    assert "Usage: targetkit" in result.stdout


def test_an_error_is_one_line_without_traceback_and_exit_2(tmp_path):
    missing = tmp_path / "missing.csv"
    result = run_targetkit("convert", missing, "--column", "a", "--from", "nc", "--to", "points")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"targetkit: error: {missing}: no such file (check the path and the file name)"
    )


def test_verbose_shows_the_traceback(tmp_path):
    result = run_targetkit(
        "-v", "convert", tmp_path / "missing.csv", "--column", "a", "--from", "nc", "--to", "points"
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "InputError" in result.stderr


def test_bad_option_is_usage_exit_2():
    result = run_targetkit("convert", "--from")
    assert result.returncode == 2


def test_no_colour_codes_when_not_on_a_terminal():
    result = run_targetkit("convert", "--list")
    assert result.returncode == 0
    assert not re.search(r"\x1b\[", result.stdout + result.stderr)


def test_a_text_file_named_xlsx_exits_2_naming_the_file(tmp_path):
    fake = tmp_path / "cohort.xlsx"
    fake.write_text("upn,reading_ks1\nB801200005001,2b\n", encoding="utf-8")
    result = cli("convert", fake, "--column", "reading_ks1", "--from", "nc", "--to", "points")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"targetkit: error: {fake}: this is not a .xlsx workbook")
    assert not (tmp_path / "cohort-points.xlsx").exists()
