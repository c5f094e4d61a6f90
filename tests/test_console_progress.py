"""Slow steps show progress on a terminal only (issue 18): pipes, logs and tests get nothing."""

from __future__ import annotations

import io

import pandas as pd
from helpers import cli, run_targetkit

from targetkit import console
from targetkit.commands.demo import _write_cohort
from targetkit.demo import primary_cohort
from targetkit.workbook import ReadMe, Sheet, write_workbook


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_step_writes_nothing(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with console.step("Writing targets.xlsx", total=10) as advance:
        advance(4)
        advance(6)
    assert stream.getvalue() == ""


def test_on_a_terminal_a_step_shows_its_description_and_nests(monkeypatch):
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(console.settings, "quiet", False)
    with console.step("Writing targets.xlsx", total=2) as advance:
        advance(1)
        with console.step("Saving (comments and compression)"):  # one display for both
            pass
        advance(1)
    shown = stream.getvalue()
    assert "Writing targets.xlsx" in shown
    assert console._live is None  # the display is gone when the outer step ends


def test_quiet_hides_progress_even_on_a_terminal(monkeypatch):
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(console.settings, "quiet", True)
    with console.step("Reading cohort.xlsx"):
        pass
    assert stream.getvalue() == ""


def test_writing_a_workbook_on_a_terminal_shows_its_name(monkeypatch, tmp_path):
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(console.settings, "quiet", False)
    frame = pd.DataFrame({"upn": ["A", "B"]})
    write_workbook(tmp_path / "out.xlsx", [Sheet("T", frame)], readme=ReadMe("t"), about=[])
    assert "Writing out.xlsx" in stream.getvalue()
    assert (tmp_path / "out.xlsx").exists()


def test_commands_under_clirunner_and_in_a_pipe_print_no_progress(tmp_path):
    cohort = _write_cohort(tmp_path / "c.xlsx", "c", primary_cohort(10), 2026, True)
    done = cli("set-targets", cohort, "-o", tmp_path / "a.xlsx")
    assert done.exit_code in (0, 1)
    assert "Writing" not in done.stderr and "\x1b[" not in done.stderr
    piped = run_targetkit("set-targets", cohort, "-o", tmp_path / "b.xlsx")
    assert piped.returncode in (0, 1)
    assert "Writing" not in piped.stderr and "Setting targets" not in piped.stderr
    assert "\x1b[" not in piped.stderr
