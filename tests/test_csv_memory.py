"""set-targets on a big CSV cohort within memory (issue 18): the CSV reader holds each repeated
cell text once, the engine each distinct reason once, and nothing read or written changes."""

from __future__ import annotations

import csv
import io as _io
import tempfile
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from helpers import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit import io
from targetkit.demo import primary_cohort
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy

HEADER = ["upn", "surname", "reading_ks1", "notes"]
# Cells as an export has them: grades that repeat, blanks, spaces, quotes, commas, line breaks,
# accents and formula-like text (no tabs or semicolons: the delimiter stays a comma).
CELL = st.one_of(
    st.sampled_from(["2b", "3", "W", "", "  ", "O'Neil", 'say "hi"', "a,b", "x\r\ny", "Zoë"]),
    st.sampled_from(["=1+1", "+44", " 2b ", "-"]),
    st.text(alphabet="ab2 ,\"\n", max_size=6),
)


def _plain_reading(text: str) -> list[list[str | None]]:
    """What the file holds, read with nothing but the csv module: blank cells as None."""
    return [
        [value if value.strip() else None for value in row]
        for row in csv.reader(_io.StringIO(text, newline=""))
    ]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=4, max_size=4), min_size=1, max_size=25),
    remembered=st.sampled_from([1, 3, 50_000]),
)
def test_a_csv_cohort_reads_cell_for_cell_as_the_csv_module_reads_it(rows, remembered):
    """Sharing repeated texts (and forgetting them every `remembered` texts) changes no cell,
    no row number and no blank row."""
    buffer = _io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER, *rows])
    text = buffer.getvalue()
    expected = _plain_reading(text)[1:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.csv"
        path.write_bytes(text.encode("utf-8"))
        with mock.patch.object(io, "SHARED_CSV_TEXTS", remembered):
            table = io.read_table(path)
    kept = [(number, row) for number, row in enumerate(expected, start=2) if any(row)]
    assert list(table.frame.columns) == HEADER
    assert list(table.frame.index) == [number for number, _ in kept]
    assert table.frame.to_numpy(dtype=object).tolist() == [row for _, row in kept]
    assert table.blank_rows == [n for n, row in enumerate(expected, start=2) if not any(row)]


def test_a_repeated_cell_text_is_held_once(tmp_path):
    """400 pupils with the same KS1 grade hold one string, not 400 (1,000,000 pupils' cells as
    separate strings took 1.3 GB); unique texts (UPNs) stay as they are."""
    path = tmp_path / "cohort.csv"
    lines = ["upn,surname,reading_ks1"] + [f"A80120702{i:04d},Smith,2b" for i in range(400)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = io.read_table(path).frame
    assert len({id(v) for v in frame["reading_ks1"]}) == 1
    assert len({id(v) for v in frame["surname"]}) == 1
    assert list(frame["upn"]) == [f"A80120702{i:04d}" for i in range(400)]


def test_each_distinct_reason_is_held_once():
    """A reason is a few hundred distinct sentences however many pupils: each is one object
    (about 300 bytes a pupil and subject otherwise)."""
    cohort = primary_cohort(600)
    cohort.loc[cohort.index[:5], "sen"] = "E"  # EHC plans: reasons of their own
    result = compute_targets(cohort, load_policy("ks2"))
    for subject in result.subjects:
        reasons = result.pupils[f"{subject}_reason"]
        assert reasons.notna().all()
        assert len({id(v) for v in reasons}) == reasons.nunique(), subject
        assert reasons.nunique() < 200, subject
        assert reasons[cohort.index[0]].endswith("; EHC plan: agree an individual target.")


def test_the_csv_is_the_targets_sheet_cell_for_cell(tmp_path):
    """From a CSV cohort, `-o targets.csv` holds every cell of the workbook's Targets sheet:
    the same text (formula-like text neutralised with `'`), the same numbers, blanks empty."""
    frame = primary_cohort(80)
    frame.loc[0, "surname"] = "=SUM(A1)"
    frame.loc[1, "sen"] = "E"
    frame.loc[1, "maths_plan_target"] = "3"
    frame.loc[2, "reading_ks1"] = None
    cohort = tmp_path / "cohort.csv"
    frame.to_csv(cohort, index=False, encoding="utf-8")
    workbook, text = tmp_path / "targets.xlsx", tmp_path / "targets.csv"
    assert cli("-q", "set-targets", cohort, "-o", workbook).exit_code in (0, 1)
    assert cli("-q", "set-targets", cohort, "-o", text).exit_code in (0, 1)
    with open(text, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    book = openpyxl.load_workbook(workbook, read_only=True)
    sheet = [list(r) for r in book["Targets"].iter_rows(values_only=True)]
    book.close()
    assert len(rows) == len(sheet) == 81  # the header and every pupil
    for number, (written, shown) in enumerate(zip(rows, sheet, strict=True), start=1):
        assert len(written) == len(shown), number
        for got, cell in zip(written, shown, strict=True):
            if cell is None:
                assert got == "", number
            elif isinstance(cell, str):
                assert got == (f"'{cell}" if cell.startswith(io.FORMULA_START) else cell), number
            else:
                assert float(got) == pytest.approx(cell, rel=1e-12), number
    assert rows[1][rows[0].index("surname")] == "'=SUM(A1)"
