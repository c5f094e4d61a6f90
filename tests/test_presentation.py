"""Workbooks for people (issue 16): headers in words, read back by words or names, % formats,
panes and print titles, Summary sentences worked out by hand, findings most serious first, a
blanked import cell marked, and set-targets run again on its own workbook."""

from __future__ import annotations

import shutil
import zipfile

import openpyxl
import pytest
from helpers import ROOT, cli, column_numbers, read_named

from targetkit.columns import canonical_name
from targetkit.labels import label

EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("reading_target", "Reading target"),
        ("maths_chance_4plus", "Maths: chance of level 4+"),
        ("english_milestone_y8", "English milestone, end of Year 8"),
        ("maths_milestone_spr2", "Maths milestone, spring 2"),
        ("reading_most_likely", "Reading most likely"),
        ("writing_reason", "Writing: why this target"),
        ("flags", "Flags"),
        ("upn", "UPN"),
        ("chance_5acem", "Chance of 5 A*-C incl. English and maths"),
    ],
)
def test_targetkit_columns_have_words_and_the_words_read_back_to_the_name(name, words):
    assert label(name, "level") == words
    assert canonical_name(words) == name
    assert canonical_name(name) in (name, None) or canonical_name(name) == name


def test_summary_words_are_never_taken_for_an_input_column():
    assert label("pct_targeted") == "% of pupils targeted"
    assert canonical_name("% of pupils targeted") is None
    assert canonical_name("Pupils") is None  # a user's own column stays the user's


@pytest.fixture
def small_cohort(tmp_path):
    """Five Year 6 pupils; the KS1 results make the Summary's sentences easy to work out."""
    path = tmp_path / "five.csv"
    path.write_text(
        "UPN,Surname,Forename,Year Group,reading_ks1,maths_ks1\n"
        "A801200120001,Ash,Ann,6,2b,2b\n"
        "B801200120002,Birch,Ben,6,2b,3\n"
        "C801200120003,Cedar,Cat,6,2b,3\n"
        "D801200120004,Dale,Dan,6,3,3\n"
        "E801200120005,Elm,Eve,6,3,3\n",
        encoding="utf-8",
    )
    return path


def test_summary_opens_with_a_sentence_a_subject_worked_out_by_hand(small_cohort, tmp_path):
    out = tmp_path / "t.xlsx"
    result = cli(
        "set-targets", small_cohort, "-o", out, "--policy", "ks2", "--subjects", "reading,maths"
    )
    assert result.exit_code == 0, result.stderr
    summary = openpyxl.load_workbook(out)["Summary"]
    # Level 2 pupils at least level 4, level 3 at least level 5: all five are targeted 4+.
    # ks1_ks2_levels (illustrative rows), top 25%, chance of 4+: reading 2b .46 + .50 = .96,
    # 3 .07 + .92 = .99; maths 2b .51 + .45 = .96, 3 .08 + .91 = .99.
    # Reading (.96 x 3 + .99 x 2) / 5 = .972 -> 97%; maths (.96 + .99 x 4) / 5 = .984 -> 98%.
    assert summary["A1"].value == (
        "Reading: 5 of 5 pupils (100%) are targeted level 4+; in top-25% schools, pupils "
        "with the same KS1 results reach 97% (illustrative figures)."
    )
    assert summary["A2"].value == (
        "Maths: 5 of 5 pupils (100%) are targeted level 4+; in top-25% schools, pupils "
        "with the same KS1 results reach 98% (illustrative figures)."
    )
    headers = [c.value for c in summary[4]]
    assert headers[0] == "Subject and threshold" and "% of pupils targeted" in headers
    targeted = summary.cell(5, headers.index("% of pupils targeted") + 1)
    assert targeted.value == 1.0 and targeted.number_format == "0%"
    assert summary["A5"].value == "Reading level 4+"
    with zipfile.ZipFile(out) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    assert charts and "% of pupils targeted" in charts[0] and "pct_targeted" not in charts[0]


def test_targets_sheet_keeps_pupils_in_view_and_prints_a_subject_a_page(small_cohort, tmp_path):
    out = tmp_path / "t.xlsx"
    assert cli("set-targets", small_cohort, "-o", out, "--policy", "ks2").exit_code == 0
    book = openpyxl.load_workbook(out)
    sheet = book["Targets"]
    headers = [c.value for c in sheet[1]]
    assert headers[:6] == ["UPN", "Surname", "Forename", "Year Group", "reading_ks1", "maths_ks1"]
    assert sheet.freeze_panes == "D2"  # UPN, surname and forename stay in view
    assert sheet.print_title_rows == "$1:$1" and sheet.print_title_cols == "$A:$C"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.oddFooter.left.text == "&A" and sheet.oddFooter.right.text == "Page &P of &N"
    numbers = column_numbers(sheet)
    breaks = [b.id for b in sheet.col_breaks.brk]
    for subject in ("reading", "writing", "maths"):
        first = numbers[f"{subject}_prior"]
        assert first - 1 in breaks  # each subject's block starts a printed page
        assert sheet.column_dimensions[openpyxl.utils.get_column_letter(first)].outlineLevel == 1
    target = sheet.cell(2, numbers["maths_target"])
    assert target.alignment.horizontal == "center" and target.data_type == "s"
    for sheet_name in ("Read me", "About"):
        page = book[sheet_name]
        # one page wide (Excel's default width 1 is left out of the file), as tall as needed
        assert page.sheet_properties.pageSetUpPr.fitToPage
        assert page.page_setup.fitToWidth in (None, 1) and page.page_setup.fitToHeight == 0
    # long text wraps within the page
    assert book["About"]["B2"].alignment.wrap_text and book["Read me"]["A3"].alignment.wrap_text


def test_set_targets_on_its_own_workbook_keeps_its_targets_as_previous(small_cohort, tmp_path):
    first = tmp_path / "first.xlsx"
    assert cli("set-targets", small_cohort, "-o", first, "--policy", "ks2").exit_code == 0
    book = openpyxl.load_workbook(first)
    sheet = book["Targets"]
    numbers = column_numbers(sheet)
    sheet.cell(2, numbers["maths_target"]).value = "5"  # a teacher raises Ann's maths target
    book.save(first)
    again = tmp_path / "again.xlsx"
    result = cli("set-targets", first, "-o", again, "--policy", "ks2")
    assert result.exit_code == 0, result.stderr
    headers = [c.value for c in openpyxl.load_workbook(again)["Targets"][1]]
    assert len(headers) == len(set(headers))  # fresh columns replace the earlier ones
    assert headers[:6] == ["UPN", "Surname", "Forename", "Year Group", "reading_ks1", "maths_ks1"]
    frame = read_named(again, "Targets")
    assert len(frame) == 5
    # Ann (KS1 maths 2b: at least level 4) keeps the raised 5: a target is never lowered.
    assert frame.loc[0, "maths_target"] == "5" and frame.loc[1, "maths_target"] == "5"
    assert frame.loc[0, "maths_suggested"] == "5"


def test_la_challenges_are_most_serious_first_then_by_school_and_row(tmp_path):
    out = tmp_path / "la.xlsx"
    result = cli("check-ambition", EXAMPLES / "submissions", "-o", out, "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out)["Challenges"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Severity", "School", "Row"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    rank = {"challenge": 0, "warning": 1, "info": 2}
    keys = [(rank[r[0]], r[1].casefold(), r[2] if r[2] is not None else -1) for r in rows]
    assert keys == sorted(keys)
    assert rows[0][0] == "challenge" and {r[0] for r in rows} >= {"challenge", "warning"}
    message = sheet.cell(2, headers.index("Message") + 1)
    assert message.alignment.wrap_text


def test_import_marks_a_blanked_cell_and_lists_errors_first(tmp_path):
    source = tmp_path / "messy.csv"
    shutil.copy(EXAMPLES / "messy-mis-export.csv", source)
    out = tmp_path / "cohort.xlsx"
    assert cli("import", source, "-o", out).exit_code == 0
    book = openpyxl.load_workbook(out)
    issues = book["Data issues"]
    headers = [c.value for c in issues[1]]
    severities = [r[0].value for r in issues.iter_rows(min_row=2)]
    rank = {"error": 0, "warning": 1, "info": 2}
    assert [rank[s] for s in severities] == sorted(rank[s] for s in severities)
    unknown = [
        [c.value for c in row]
        for row in issues.iter_rows(min_row=2)
        if row[headers.index("Code")].value == "UNKNOWN_GRADE"
    ]
    assert len(unknown) == 1
    row = unknown[0][headers.index("Source row")]
    value = unknown[0][headers.index("Value")]
    pupils = book["Pupils"]
    numbers = column_numbers(pupils)
    assert [c.value for c in pupils[1]][:2] == ["UPN", "Admission number"]
    line = next(
        r
        for r in range(2, pupils.max_row + 1)
        if pupils.cell(r, numbers["source_row"]).value == row
    )
    cell = pupils.cell(line, numbers["reading_ks1"])
    assert cell.value is None
    assert cell.fill.fgColor.rgb.endswith("F4B6B6")
    assert f"{value} is not a grade" in cell.comment.text


def test_the_la_summary_sentences_say_when_the_benchmark_rates_are_illustrative(tmp_path):
    """SPEC §8: illustrative numbers are labelled wherever they reach a person. The demo
    schools are checked under the ks2 policy, whose KS1 → KS2 level table is illustrative in
    every row (only the guidance's threshold rates were published), so every subject's
    sentence says so."""
    assert cli("demo", tmp_path / "demo").exit_code == 0
    out = tmp_path / "la.xlsx"
    result = cli("check-ambition", tmp_path / "demo" / "submissions", "-o", out, "--jobs", "1")
    assert result.exit_code in (0, 1), result.stderr
    sheet = openpyxl.load_workbook(out)["LA summary"]
    sentences = [c.value for row in sheet.iter_rows(max_row=5) for c in row
                 if isinstance(c.value, str) and ": across " in c.value]  # fmt: skip
    # English is a ks2 subject (SPEC §8 "English at KS2", issue 14)
    assert [s.split(":")[0] for s in sentences] == ["Reading", "Writing", "Maths", "English"]
    assert all(s.endswith("(illustrative figures).") for s in sentences)
