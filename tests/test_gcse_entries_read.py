"""Reading GCSE entries (issue 15): their headers come from the column aliases data
(`data/columns/aliases.yaml`, `entries`), and set-targets opens the cohort workbook once when
it has no `Entries` sheet (the sheet names come with the cohort's `io.Table`)."""

from __future__ import annotations

import pandas as pd
import pytest

import targetkit.io
from targetkit.columns import entry_headers, match_key
from targetkit.datafiles import safe_load
from tests.helpers import cli, read_named
from tests.test_gcse_targets import COHORT, UPNS, write_cohort

ALIASES = targetkit.io.Path(targetkit.__file__).parent / "data" / "columns" / "aliases.yaml"


def test_entry_headers_are_the_alias_files():
    listed = safe_load(ALIASES.read_text(encoding="utf-8"))["entries"]
    assert set(listed) == {"upn", "subject", "qualification"}
    for name, spellings in listed.items():
        for spelling in spellings:
            assert entry_headers()[match_key(spelling)] == name
    # matched like every alias: case, spaces, _ and . ignored
    assert entry_headers()[match_key("COURSE_NAME")] == "subject"
    assert entry_headers()[match_key("qual. type")] == "qualification"


def test_entries_sheet_with_other_spellings_of_the_headers(tmp_path):
    cohort = tmp_path / "cohort.xlsx"
    rows = [(UPNS[0], "GCSE History", "GCSE"), (UPNS[1], "Computer Sci", "GCSE")]
    with pd.ExcelWriter(cohort) as writer:
        COHORT.to_excel(writer, sheet_name="Cohort", index=False)
        pd.DataFrame(rows, columns=["Unique Pupil Number", "Course Name", "Qual Type"]).to_excel(
            writer, sheet_name="Entries", index=False
        )
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", cohort, "-o", out)
    assert result.exit_code == 0, result.output
    targets = read_named(out, "Targets").set_index("upn")
    assert targets.loc[UPNS[0], "history_target"] is not None
    assert pd.isna(targets.loc[UPNS[1], "history_target"])
    assert targets.loc[UPNS[1], "computer_science_target"] is not None


def test_entries_without_a_subject_column_name_the_file(tmp_path):
    entries = tmp_path / "entries.csv"
    entries.write_text("UPN,Teacher\nA100000000001,Mr X\n", encoding="utf-8")
    result = cli(
        "set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", tmp_path / "t.xlsx",
        "--entries", entries,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "entries.csv" in result.stderr
    assert "the GCSE entries have no subject column (found: UPN, Teacher)" in result.stderr


@pytest.mark.parametrize("with_entries_sheet", [False, True])
def test_the_cohort_workbook_is_opened_once_per_sheet_read(
    tmp_path, monkeypatch, with_entries_sheet
):
    cohort = tmp_path / "cohort.xlsx"
    if with_entries_sheet:
        write_cohort(cohort)
    else:
        wide = COHORT.assign(history_entered=["yes", "no", "yes"])
        wide.to_excel(cohort, index=False, sheet_name="Cohort")
    opened = []
    real = targetkit.io._read_workbook

    def counting(path, *args, **kwargs):
        opened.append(targetkit.io.Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(targetkit.io, "_read_workbook", counting)
    import python_calamine

    listing = python_calamine.CalamineWorkbook.from_path

    def no_listing(path, *args, **kwargs):  # how the sheets used to be listed: a second open
        opened.append(f"listed {targetkit.io.Path(path).name}")
        return listing(path, *args, **kwargs)

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", no_listing)
    result = cli("set-targets", cohort, "-o", tmp_path / "targets.xlsx")
    assert result.exit_code == 0, result.output
    # the cohort sheet, and the Entries sheet when there is one; never a third open
    assert opened == ["cohort.xlsx"] * (2 if with_entries_sheet else 1)
