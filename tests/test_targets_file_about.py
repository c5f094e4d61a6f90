"""A submission's `Targets` and `About` sheets come from one checked read of the file."""

from __future__ import annotations

import openpyxl
import pytest
from helpers import cli

from targetkit import io
from targetkit.commands import targets_file
from targetkit.commands.demo import _write_cohort
from targetkit.commands.targets_file import Recorded, read_about, read_targets
from targetkit.demo import primary_cohort


@pytest.fixture
def targets_workbook(tmp_path):
    cohort = _write_cohort(tmp_path / "cohort.xlsx", "c", primary_cohort(30), 2026, True)
    out = tmp_path / "targets.xlsx"
    result = cli("-q", "set-targets", cohort, "-o", out, "--benchmark", "top50")
    assert result.exit_code in (0, 1), result.output
    return out


# What set-targets records for a Year 6 cohort with KS1 levels (About sheet): the ks2 policy
# (chosen automatically), its conversion table, the benchmark asked for, the year 2026/27.
EXPECTED = Recorded(
    policy="ks2", benchmark="top50", conversion="ks1_ks2_levels", academic_year=2026
)


def test_about_after_read_targets_parses_the_file_once(targets_workbook, monkeypatch):
    calls = []
    real = io.read_table

    def counted(path, **kwargs):
        calls.append(kwargs.get("sheet"))
        return real(path, **kwargs)

    monkeypatch.setattr(targets_file, "read_table", counted)
    frame = read_targets(targets_workbook)
    recorded = read_about(targets_workbook)
    assert len(calls) == 1  # Targets through io's checks; About without a second full read
    assert len(frame) == 30 and "reading_target" in frame
    assert recorded == EXPECTED


def test_about_of_a_file_not_read_first_goes_through_the_checked_read(
    targets_workbook, monkeypatch
):
    monkeypatch.setattr(targets_file, "_checked", {})
    monkeypatch.setattr(targets_file, "_about_items_checked", None)  # would fail if called
    assert read_about(targets_workbook) == EXPECTED


def test_a_file_changed_after_reading_is_checked_again(targets_workbook, monkeypatch):
    read_targets(targets_workbook)
    book = openpyxl.load_workbook(targets_workbook)
    about = book["About"]
    for row in about.iter_rows(min_row=2):
        if row[0].value == "benchmark":
            row[1].value = "national"
    book.save(targets_workbook)
    monkeypatch.setattr(targets_file, "_about_items_checked", None)  # would fail if called
    assert read_about(targets_workbook).benchmark == "national"


def test_both_ways_of_reading_about_agree_on_every_item(targets_workbook):
    read_targets(targets_workbook)
    quick = targets_file._about_items_checked(targets_workbook)
    checked = targets_file._about_items(targets_workbook)
    assert quick is not None and checked is not None
    for item in ("policy", "benchmark", "conversion table", "academic year", "subjects"):
        assert quick[item] == checked[item], item
    assert quick["benchmark"] == "top50" and quick["academic year"] == "2026/27"
