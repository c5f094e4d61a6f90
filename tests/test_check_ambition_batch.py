"""check-ambition on a batch: the benchmark a message names (issue 15), notes said once, the
terminal summary when the LA workbook holds the details, and the reading shortcuts taken for
speed (issue 18) giving exactly what the full checks give."""

from __future__ import annotations

import json
import re

import openpyxl
import pytest
from helpers import cli, column_numbers
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit import io as tk_io
from targetkit.demo import secondary_cohort
from targetkit.errors import InputError
from targetkit.io import find_header_row

FALLBACK = "No top-25%-of-schools figures are published for these targets"


@pytest.fixture(scope="module")
def ks4_submissions(tmp_path_factory):
    """Two copies of a Year 11 school's set-targets workbook (top25 asked for), in which the
    first pupil (KS2 English and maths 92: band 90 - 95.5) is targeted grade 2 in English."""
    folder = tmp_path_factory.mktemp("ks4")
    cohort = secondary_cohort(30)
    cohort.loc[0, ["english_ks2", "maths_ks2"]] = 92
    cohort.to_csv(folder / "cohort.csv", index=False)
    made = cli("set-targets", folder / "cohort.csv", "-o", folder / "school.xlsx")
    assert made.exit_code in (0, 1), made.output
    workbook = openpyxl.load_workbook(folder / "school.xlsx")
    sheet = workbook["Targets"]
    columns = column_numbers(sheet)
    assert sheet.cell(2, columns["upn"]).value == cohort.loc[0, "upn"]
    sheet.cell(2, columns["english_target"]).value = "2"
    workbook.save(folder / "a.xlsx")
    workbook.save(folder / "b.xlsx")
    workbook.close()
    (folder / "school.xlsx").unlink()
    (folder / "cohort.csv").unlink()
    return folder, str(cohort.loc[0, "upn"])


def test_a_ks4_pupil_below_the_benchmark_is_told_the_national_figures_used(ks4_submissions):
    folder, upn = ks4_submissions
    result = cli("check-ambition", folder, "--benchmark", "top25", "--format", "json")
    found = json.loads(result.stdout)["findings"]
    mine = [f for f in found if f["upn"] == upn and f["code"] == "BELOW_BENCHMARK"]
    # DfE KS2-KS4 matrices 2023/24, national, English, KS2 90 - 95.5: grade 3 is the most
    # likely outcome (39.3 % of pupils; grade 2 20.1 %, grade 4 16.2 %). No top-25% figures
    # exist for KS4, so the message names national figures, not "top25 schools".
    expected = (
        "english target 2 is below 3, the most likely outcome for 90 - 95.5 in schools nationally."
    )
    assert [f["message"] for f in mine] == [expected, expected]  # one per file
    assert not any("top25" in f["message"] for f in found if f["code"] == "BELOW_BENCHMARK")
    # the fallback is said once for the run (two files), not once per file or pupil
    assert result.stderr.count(FALLBACK) == 1
    assert f"2 submissions: {FALLBACK}" in result.stderr


@pytest.mark.parametrize(
    ("policy", "subject", "benchmark", "words"),
    [
        # ks1_ks2_levels has top25, top50 and national rows for reading: the one asked for
        ("ks2", "reading", "top25", "top25 schools"),
        ("ks2", "reading", "top50", "top50 schools"),
        ("ks2", "reading", "national", "schools nationally"),
        # ks2_gcse91_2024 (DfE KS2-KS4 matrices) has national rows only
        ("ks4", "english", "top25", "schools nationally"),
        ("ks4", "maths", "top50", "schools nationally"),
    ],
)
def test_the_benchmark_named_is_the_one_the_table_has(policy, subject, benchmark, words):
    from targetkit.conversion_tables import load_table
    from targetkit.pipeline.ambition import PolicyData, benchmark_words
    from targetkit.policies import load_policy

    loaded = load_policy(policy)
    data = PolicyData(loaded, load_table(loaded.conversion))
    assert benchmark_words(data, benchmark, subject) == words
    # without a table, the benchmark asked for (nothing is known to fall back from)
    assert benchmark_words(None, "top25", subject) == "top25 schools"
    assert benchmark_words(PolicyData(loaded), "top25", subject) == "top25 schools"


def test_with_a_workbook_the_terminal_gets_one_summary_table(ks4_submissions, tmp_path):
    folder, _ = ks4_submissions
    out = tmp_path / "la.xlsx"
    result = cli("check-ambition", folder, "-o", out, "--fail-on", "never")
    assert result.exit_code == 0, result.output
    assert f"Schools (the findings are in {out})" in result.stdout
    # one row per file's school, with pupils, challenges, warnings and RAG; no per-code tables
    rows = [line for line in result.stdout.splitlines() if "Kingsmead Academy" in line]
    assert len(rows) == 2 and all(re.search(r"\b30\b", row) for row in rows)
    assert "BELOW_BENCHMARK" not in result.stdout
    # the details are all in the workbook
    workbook = openpyxl.load_workbook(out, read_only=True)
    codes = [row[7] for row in workbook["Challenges"].iter_rows(min_row=2, values_only=True)]
    workbook.close()
    assert "BELOW_BENCHMARK" in codes


# --- reading: the shortcuts give what the full checks give -----------------------------------


def _header_row_before(rows, is_known_header):
    """find_header_row as it was before the shortcut (every row's names counted)."""
    candidates = [(i, row) for i, row in enumerate(rows[:30]) if any(v is not None for v in row)]
    if not candidates:
        return None
    known = [
        (sum(1 for v in row if isinstance(v, str) and is_known_header(v)), i)
        for i, row in candidates
    ]
    best_known, best_index = max(known, key=lambda item: (item[0], -item[1]))
    if best_known >= 2:
        return best_index
    filled = [(sum(v is not None for v in row), i) for i, row in candidates]
    widest = max(count for count, _ in filled)
    return next(i for count, i in filled if count == widest)


CELLS = st.one_of(
    st.none(),
    st.sampled_from(["upn", "surname", "reading_ks2", "notes", "2b", "Y", "", "forename"]),
    st.integers(0, 120),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, max_size=8), max_size=40), st.booleans())
def test_the_header_row_is_the_one_found_before(rows, with_names):
    known = {"upn", "surname", "forename", "reading_ks2"}
    is_known = (lambda text: text in known) if with_names else None
    assert find_header_row(rows, is_known) == _header_row_before(
        rows, is_known or (lambda _: False)
    )


def _refused_before(xml: bytes, refs: list[tuple[str, int]]) -> bool:
    """The extent check as it was before its one-scan shortcut: the quick bound of ten
    searches (`_extent_bound`, unchanged), else the exact count (5+ column letters count as
    over the limit)."""
    if tk_io._extent_bound(xml) <= tk_io.MAX_CELLS:
        return False
    width = max([1] + [_column(letters) for letters, _ in refs])
    height = max([0] + [row for _, row in refs])
    return width > 16_384 or height > 1_048_576 or width * height > tk_io.MAX_CELLS


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number if len(letters) < 5 else 16_385


REFS = st.lists(
    st.tuples(st.text("ABCXZ", min_size=1, max_size=3), st.integers(1, 2_000_000)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(REFS)
def test_the_extent_check_refuses_exactly_the_sheets_too_large(refs):
    xml = "".join(
        f'<row r="{row}"><c r="{letters}{row}"><v>1</v></c></row>' for letters, row in refs
    ).encode()
    try:
        tk_io._check_sheet_extent(tk_io.Path("x.xlsx"), "xl/worksheets/sheet1.xml", xml)
        refused = False
    except InputError:
        refused = True
    assert refused == _refused_before(xml, refs)


def test_a_formula_cell_is_still_found_next_to_drop_down_formulas():
    # a drop-down's <formula1> must not hide, or be taken for, a formula with no value
    sheet = (
        b'<sheetData><row r="2"><c r="B2"><f>1+1</f></c></row></sheetData>'
        b"<dataValidations><dataValidation><formula1>$A$1:$A$3</formula1>"
        b"</dataValidation></dataValidations>"
    )
    info = tk_io.zipfile.ZipInfo("xl/worksheets/sheet1.xml")
    assert tk_io._check_xml_part(tk_io.Path("x.xlsx"), info, sheet, False) == ["B2"]
    only_drop_down = sheet.replace(b'<c r="B2"><f>1+1</f></c>', b'<c r="B2"><v>2</v></c>')
    assert tk_io._check_xml_part(tk_io.Path("x.xlsx"), info, only_drop_down, False) == []


# Pieces of a sheet's XML, usual and unusual spellings of a reference (tabs, new lines, single
# quotes, spaces around `=`, lower-case letters) and row numbers of 1 to 7 digits.
XML_PIECES = st.lists(
    st.sampled_from(
        [' r="A1"', ' r="B12"', ' r="C999"', ' r="AB1000"', ' r="7"', ' r="1234"', " r='A1'",
         ' r = "A1"', ' r\t="A1"', '\tr="A1"', '\nr="A1"', '\rr="A1"', ' r="a1"', " r=\t'A1'",
         ' rgb="FF000000"', ' ref="A1:B2"', "<v>1000</v>", "\n", "\t", "\r", " ", "r", '="']
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(XML_PIECES)
def test_the_one_scan_proves_what_the_two_searches_proved(pieces):
    # the extent check's quick path: one search in place of `_unusual_references` and the
    # search for a row or cell number of 4 digits or more, answering exactly as the two did
    xml = "".join(pieces).encode()
    row_of_thousands = re.compile(rb' r="[A-Z]*[0-9]{4}')
    before = not tk_io._unusual_references(xml) and not row_of_thousands.search(xml)
    after = not (tk_io._unusual_spaces(xml) or tk_io._UNUSUAL_OR_THOUSANDS.search(xml))
    assert after == before


@given(st.integers(1, 500), st.integers(1, 8))
def test_the_files_are_shared_out_evenly_in_chunks_of_eighty_at_most(files, jobs):
    from targetkit.commands.check_ambition import MAX_CHUNK, _chunks

    paths = [tk_io.Path(f"{i:03d}.xlsx") for i in range(files)]
    chunks = _chunks(paths, min(jobs, files))
    assert [p for chunk in chunks for p in chunk] == paths  # every file once, in order
    sizes = [len(chunk) for chunk in chunks]
    assert max(sizes) <= MAX_CHUNK and max(sizes) - min(sizes) <= 1
    assert len(chunks) % min(jobs, files) == 0 or len(chunks) == files
    assert len(chunks) < min(jobs, files) + -(-files // MAX_CHUNK) or len(chunks) == files
    if files == 150 and jobs == 2:
        assert sizes == [75, 75]  # one task a worker: each task pays the engine's fixed costs
    if files == 170 and jobs == 2:
        assert sizes == [43, 43, 42, 42]  # not 80, 80, 10: one worker idle at the end


@pytest.mark.parametrize(
    ("files", "jobs", "sizes"),
    [(150, 2, [75, 75]), (170, 2, [43, 43, 42, 42]), (5, 2, [3, 2]), (161, 1, [54, 54, 53])],
)
def test_an_la_batch_is_one_task_a_worker_where_it_fits(files, jobs, sizes):
    # worked by hand: 150 files fit in one task of 80 at most a worker (75 + 75); 170 do not,
    # so two tasks a worker, shared evenly (43 + 43 + 42 + 42); 161 on one worker: 3 tasks
    from targetkit.commands.check_ambition import _chunks

    chunks = _chunks([tk_io.Path(f"{i:03d}.xlsx") for i in range(files)], jobs)
    assert [len(chunk) for chunk in chunks] == sizes
