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


def _inputs(folder):
    """A messy MIS export (import), a cohort with KS1 levels (convert), a tracking sheet."""
    from targetkit import demo
    from targetkit.commands.demo import _write_messy

    export = folder / "export.csv"
    _write_messy(export, 12, 2026, True)
    cohort = _write_cohort(folder / "cohort.xlsx", "c", primary_cohort(12), 2026, True)
    tracking = _write_cohort(folder / "tracking.xlsx", "t", demo.steps_tracking(12), 2026, True)
    return export, cohort, tracking


def _commands(folder, export, cohort, tracking):
    return {
        "import": ["import", export, "-o", folder / "imported.xlsx"],
        "convert": ["convert", cohort, "--column", "reading_ks1", "--from", "nc", "--to",
                    "points", "-o", folder / "converted.csv"],
        "report": ["report", tracking, "-o", folder / "report.xlsx"],
    }  # fmt: skip


def test_import_convert_and_report_show_each_slow_step(tmp_path, monkeypatch):
    """Reading, computing and writing each run inside a step (shown on a terminal)."""
    from contextlib import contextmanager

    shown: list[str] = []

    @contextmanager
    def step(description, total=None):
        shown.append(description)
        yield lambda done=1: None

    monkeypatch.setattr(console, "step", step)
    export, cohort, tracking = _inputs(tmp_path)
    expected = {
        "import": ["Reading export.csv", "Importing 12 rows", "Writing imported.xlsx"],
        "convert": ["Reading cohort.xlsx", "Converting 12 rows", "Writing converted.csv"],
        "report": ["Reading tracking.xlsx", "Computing progress for 12 pupils", "Writing "],
    }
    for name, argv in _commands(tmp_path, export, cohort, tracking).items():
        shown.clear()
        assert cli(*argv).exit_code in (0, 1), name
        for description in expected[name]:
            assert any(s.startswith(description) for s in shown), (name, description, shown)


def test_import_convert_and_report_print_no_progress_off_a_terminal(tmp_path):
    export, cohort, tracking = _inputs(tmp_path)
    for name, argv in _commands(tmp_path, export, cohort, tracking).items():
        done = cli(*argv, "--force")
        assert done.exit_code in (0, 1), (name, done.stderr)
        piped = run_targetkit(*argv, "--force")
        assert piped.returncode in (0, 1), (name, piped.stderr)
        for stderr in (done.stderr, piped.stderr):
            assert "Reading" not in stderr and "Writing" not in stderr, name
            assert "\x1b[" not in stderr, name
