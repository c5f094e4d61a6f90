"""GCSE subjects in words wherever a person reads them (issue 15): the Summary, Summary by
group and the screen say `Computer Science`, not `computer_science`; JSON keeps the keys.
Names are the subject list's (`data/subjects/gcse.yaml`), `label` where targetkit words it
differently from the DfE (`Maths`, `Combined Science`)."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from targetkit.subjects import display_name
from tests.helpers import cli
from tests.test_gcse_targets import COHORT, ENTRIES


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("computer_science", "Computer Science"),
        ("english_language", "English Language"),
        ("combined_science", "Combined Science"),  # its label, not "(double award)"
        ("maths", "Maths"),  # its label, not the DfE's "Mathematics"
        ("art_and_design", "Art and Design"),
        ("english", "English"),  # not a GCSE key: the English of English and maths
        ("reading", "Reading"),
        ("attainment8", "Attainment 8"),
    ],
)
def test_display_name(key, words):
    assert display_name(key) == words


def _rows(path, sheet: str, header: str) -> pd.DataFrame:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    start = next(i for i, row in enumerate(rows) if row[0] == header)
    return pd.DataFrame(rows[start + 1 :], columns=rows[start]).dropna(how="all")


def test_summaries_and_screen_name_subjects_in_words_json_keeps_keys(tmp_path):
    out = tmp_path / "targets.xlsx"
    cohort = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(cohort) as writer:  # gender, so that Summary by group has rows
        COHORT.assign(Gender=["F", "M", "F"]).to_excel(writer, sheet_name="Cohort", index=False)
        pd.DataFrame(ENTRIES, columns=["UPN", "Subject", "Qualification"]).to_excel(
            writer, sheet_name="Entries", index=False
        )
    shown = cli("set-targets", cohort, "-o", out)
    assert shown.exit_code == 0, shown.output
    assert "  Computer Science 4+: " in shown.stdout
    assert "  Combined Science 4+: " in shown.stdout
    assert "computer_science" not in shown.stdout
    summary = _rows(out, "Summary", "Subject and threshold")
    row = summary[summary["Subject and threshold"].eq("Computer Science grade 4+")]
    assert row["Subject"].tolist() == ["Computer Science"]
    assert "English Language" in set(summary["Subject"])
    assert not summary["Subject"].str.contains("_").any()
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        sentences = [r[0] for r in book["Summary"].iter_rows(values_only=True) if r[0]]
    finally:
        book.close()
    assert any(str(s).startswith("Combined Science: ") for s in sentences), sentences
    groups = _rows(out, "Summary by group", "Subject")
    assert {"Combined Science", "Computer Science", "Maths"} <= set(groups["Subject"])
    assert not groups["Subject"].str.contains("_").any()
    data = json.loads(cli("set-targets", cohort, "-o", out, "--force", "--format", "json").stdout)
    keys = {row["subject"] for row in data["summary"]["thresholds"]}
    assert {"computer_science", "combined_science", "english_language"} <= keys
