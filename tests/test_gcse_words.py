"""What a teacher reads on a ks4 targets workbook (issue 15's last items): GCSE subjects by
their names in the Targets headers, as the Summary names them, and read back to the same
columns; the guidance's 5 A*-C measure said as what it counts on 9-1 grades."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd

from targetkit.commands.targets_file import read_targets
from tests.helpers import cli, read_named
from tests.test_gcse_targets import write_cohort


def _headers(path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [str(c) for c in next(book["Targets"].iter_rows(values_only=True))]
    finally:
        book.close()


def test_targets_headers_name_gcse_subjects_as_the_summary_does(tmp_path):
    out = tmp_path / "targets.xlsx"
    assert cli("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out).exit_code == 0
    headers = _headers(out)
    # the subject list's names (data/subjects/gcse.yaml), not the keys capitalised
    for expected in (
        "Computer Science target",
        "Combined Science: chance of grade 4+",
        "English Literature: why this target",
        "Art and Design most likely",
        "Religious Studies milestone, end of Year 10",
        "Maths target",
        "English target",  # the English of English and maths stays English
    ):
        assert expected in headers
    for old in ("Computer science target", "Combined science target", "Art and design prior"):
        assert old not in headers
    # the Summary says the same words
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        summary = [r[1] for r in book["Summary"].iter_rows(values_only=True)]
    finally:
        book.close()
    assert {"Computer Science", "Combined Science", "English Literature"} <= set(summary)


def test_targets_headers_read_back_to_the_same_columns_as_the_old_words(tmp_path):
    """check-ambition and report read a targets workbook with read_targets: the new headers
    give the same frame as a workbook with the key-capitalised headers written before."""
    out = tmp_path / "targets.xlsx"
    assert cli("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", out).exit_code == 0
    new = read_targets(out)
    for key in ("computer_science", "combined_science", "english_literature", "art_and_design"):
        for part in ("prior", "chance_4plus", "most_likely", "target", "reason"):
            assert f"{key}_{part}" in new.columns
    assert new["combined_science_target"].dropna().str.contains("-").all()
    # the same workbook with headers as targetkit wrote them before (`Computer science target`)
    before = {
        "Computer Science": "Computer science",
        "Combined Science": "Combined science",
        "English Language": "English language",
        "English Literature": "English literature",
        "Art and Design": "Art and design",
        "Religious Studies": "Religious studies",
    }
    book = openpyxl.load_workbook(out)
    renamed = 0
    for cell in book["Targets"][1]:
        for words, old in before.items():
            if str(cell.value).startswith(words):
                cell.value = old + str(cell.value)[len(words) :]
                renamed += 1
    assert renamed > 6 * 8  # every column of six subjects' blocks
    older = tmp_path / "older.xlsx"
    book.save(older)
    assert "Computer science target" in _headers(older)
    pd.testing.assert_frame_equal(read_targets(older), new)
    # untouched, check-ambition raises nothing at warning or above (SPEC §8)
    result = cli("check-ambition", out, "--format", "json")
    found = json.loads(result.stdout)["findings"]
    assert [f for f in found if f["severity"] in ("warning", "challenge", "error")] == []


def test_the_guidances_5_a_star_to_c_row_says_what_it_counts_on_9_to_1_grades(tmp_path):
    """A Year 10 ks4 cohort with KS3 levels has the guidance's "5 A*-C incl. English and maths"
    target (ks3_ks4_5acem). On 9-1 grades it counts five grades 9-4 (grade 4 is the old C):
    the Summary says so, from the KS3 results it rests on; JSON keeps its key."""
    cohort = tmp_path / "year10.csv"
    cohort.write_text(
        "upn,surname,forename,year_group,english_ks3,maths_ks3,science_ks3,reading_ks2,maths_ks2\n"
        "A801200015001,One,Amy,10,6b,6c,6a,105,105\n"
        "A801200015003,Three,Cy,10,5b,5b,6c,105,105\n",
        encoding="utf-8",
    )
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", cohort, "--policy", "ks4", "--benchmark", "national", "-o", out)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        rows = [r[:3] for r in book["Summary"].iter_rows(values_only=True)]
    finally:
        book.close()
    words = "5 grades 9-4 incl. English and maths (the guidance's 5 A*-C)"
    assert ("Overall " + words, "Overall", words) in rows
    # Amy: level 6 in all three, 95%; Cy: level 5 in English and maths, 67% (seed 000) → 81%
    sentence = next(str(r[0]) for r in rows if str(r[0]).startswith("Overall:"))
    assert sentence.startswith(f"Overall: 2 of 2 pupils (100%) are targeted {words};")
    assert "pupils with the same KS3 results reach 81%" in sentence
    assert [round(100 * c) for c in read_named(out, "Targets")["chance_5acem"]] == [95, 67]
    as_json = cli("set-targets", cohort, "--policy", "ks4", "--benchmark", "national",
                  "-o", tmp_path / "again.xlsx", "--format", "json")  # fmt: skip
    thresholds = json.loads(as_json.stdout)["summary"]["thresholds"]
    assert [t["threshold"] for t in thresholds if t["subject"] == "overall"] == ["5acem"]
