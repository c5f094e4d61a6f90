"""Reading exports as they come (encodings, delimiters, title rows) and writing safely."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from targetkit.columns import canonical_name
from targetkit.errors import InputError, OutputError, UsageError
from targetkit.io import _HOST, atomic_output, read_table, remove_stale_temporaries, write_csv


def known(header: str) -> bool:
    return canonical_name(header) is not None


def test_utf8_with_bom_is_read_without_the_bom_in_the_first_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffupn,surname\nB801200005001,Zoë\n".encode())
    table = read_table(path)
    assert list(table.frame.columns) == ["upn", "surname"]
    assert table.frame["surname"].tolist() == ["Zoë"]


def test_windows_1252_names_keep_their_accents_and_apostrophes(tmp_path):
    path = tmp_path / "sims.csv"
    path.write_bytes("Legal Surname,Legal Forename\nO'Brien,José\nMuñoz,Chloé\n".encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "windows-1252"
    assert table.frame["Legal Surname"].tolist() == ["O'Brien", "Muñoz"]
    assert table.frame["Legal Forename"].tolist() == ["José", "Chloé"]


def test_semicolon_delimited_csv(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("upn;surname;reading_ks1\nB801200005001;Smith;2b\n", encoding="utf-8")
    table = read_table(path)
    assert table.delimiter == ";"
    assert table.frame.loc[2].tolist() == ["B801200005001", "Smith", "2b"]


def test_utf16_csv_with_tabs(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("upn\tsurname\nB801200005001\tÅsa\n".encode("utf-16"))
    assert read_table(path).frame["surname"].tolist() == ["Åsa"]


def test_header_is_found_below_report_title_rows_and_rows_keep_their_file_numbers(tmp_path):
    path = tmp_path / "titled.csv"
    path.write_text(
        "Pupil Details Report\nPrinted 12/09/2026\n\nUPN,Legal Surname,NC Year\n"
        "B801200005001,Smith,Year 6\n\nH801200001001,Jones,Y6\n",
        encoding="utf-8",
    )
    table = read_table(path, is_known_header=known)
    assert table.header_row == 4
    assert list(table.frame.columns) == ["UPN", "Legal Surname", "NC Year"]
    assert table.frame.index.tolist() == [5, 7]  # the rows a person sees in Excel
    assert table.blank_rows == [6]


def test_empty_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(path) in str(caught.value) and "empty" in str(caught.value)


def test_header_only_file_gives_an_empty_table_with_its_columns(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("upn,surname,reading_ks1\n", encoding="utf-8")
    table = read_table(path)
    assert list(table.frame.columns) == ["upn", "surname", "reading_ks1"]
    assert len(table.frame) == 0


def test_a_text_file_named_xlsx_is_refused_as_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("upn,surname\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(path) in str(caught.value) and "not a .xlsx workbook" in str(caught.value)


def test_a_truncated_workbook_is_refused_as_damaged(tmp_path):
    good = tmp_path / "good.xlsx"
    write_simple_workbook(good, [["upn", "surname"], ["B801200005001", "Smith"]])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError) as caught:
        read_table(broken)
    assert str(broken) in str(caught.value)


def test_duplicate_headers_are_an_error_naming_both_columns(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("upn,surname,Surname\nB801200005001,a,b\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert "columns B and C" in str(caught.value) and "row 1" in str(caught.value)


def write_simple_workbook(path: Path, rows: list[list[object]], sheets: dict | None = None) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    for name, sheet_rows in (sheets or {"Sheet1": rows}).items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(sheet_rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    workbook.close()


def test_grade_column_starting_with_numbers_keeps_a_later_sub_level(tmp_path):
    """SPEC §7: a reader that guesses types from the first rows would blank the `2b`."""
    rows = [["upn", "reading_ks1"]] + [[f"P{i}", 3 if i % 2 else 4] for i in range(2000)]
    rows.append(["LAST", "2b"])
    path = tmp_path / "types.xlsx"
    write_simple_workbook(path, rows)
    frame = read_table(path).frame
    assert frame["reading_ks1"].iloc[-1] == "2b"
    assert frame["reading_ks1"].iloc[0] == 4  # a whole number stays a number, not 4.0
    csv_path = tmp_path / "types.csv"
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(csv_path, index=False)
    assert read_table(csv_path).frame["reading_ks1"].iloc[-1] == "2b"


def test_workbook_dates_come_back_as_dates(tmp_path):
    path = tmp_path / "dates.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["upn", "dob"])
    sheet.write_string(1, 0, "B801200005001")
    sheet.write_datetime(
        1, 1, dt.datetime(2015, 3, 4), workbook.add_format({"num_format": "dd/mm/yyyy"})
    )
    workbook.close()
    assert read_table(path).frame["dob"].tolist() == [dt.date(2015, 3, 4)]


def test_several_sheets_with_data_need_sheet_and_the_error_lists_them(tmp_path):
    path = tmp_path / "two.xlsx"
    write_simple_workbook(
        path, [], sheets={"Autumn": [["a", "b"], [1, 2]], "Spring": [["a", "b"], [3, 4]]}
    )
    with pytest.raises(UsageError) as caught:
        read_table(path)
    assert "Autumn, Spring" in str(caught.value) and "--sheet" in str(caught.value)
    assert read_table(path, sheet="Spring").frame["a"].tolist() == [3]
    with pytest.raises(UsageError) as caught:
        read_table(path, sheet="Summer")
    assert "the sheets are: Autumn, Spring" in str(caught.value)


def test_missing_path_and_folder_are_refused(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="folder"):
        read_table(tmp_path)


# --- writing -------------------------------------------------------------------------------


def test_an_interrupted_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(out, force=True) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("power cut")
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_existing_output_needs_force(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous\n", encoding="utf-8")
    frame = pd.DataFrame({"a": ["new"]})
    with pytest.raises(OutputError) as caught:
        write_csv(frame, out)
    assert "--force" in str(caught.value) and str(out) in str(caught.value)
    write_csv(frame, out, force=True)
    assert "new" in out.read_text(encoding="utf-8-sig")


def test_output_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="folder for the output does not exist"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "missing" / "out.csv")


def test_a_killed_runs_temporary_file_is_cleared_by_the_next_run(tmp_path):
    out = tmp_path / "out.csv"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = _HOST
    stale = tmp_path / f".out.csv.targetkit-{host}-{dead.stdout.strip()}.tmp"
    stale.write_text("half-written", encoding="utf-8")
    alive = tmp_path / f".out.csv.targetkit-{host}-{os.getppid()}.tmp"
    alive.write_text("someone else's run", encoding="utf-8")
    assert remove_stale_temporaries(out) == [stale]
    assert alive.exists() and not stale.exists()


def test_csv_output_neutralises_formula_like_text():
    import io as stdlib_io

    frame = pd.DataFrame(
        {"surname": ["=1+1", "+44", "-x", "@SUM(A1)", "Smith"], "n": [1, 2, 3, 4, 5]}
    )
    buffer = stdlib_io.StringIO()
    from targetkit.io import _csv_cell

    frame["surname"].map(_csv_cell).to_csv(buffer, index=False)
    assert buffer.getvalue().splitlines()[1:] == ["'=1+1", "'+44", "'-x", "'@SUM(A1)", "Smith"]


def test_csv_output_file_is_utf8_with_bom_and_neutralised(tmp_path):
    out = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"surname": ['=HYPERLINK("http://x")', "Zoë"]}), out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "surname",
        '"\'=HYPERLINK(""http://x"")"',
        "Zoë",
    ]


def test_formula_text_reopens_as_a_string_not_a_formula(tmp_path):
    from targetkit.workbook import ReadMe, Sheet, write_workbook

    out = tmp_path / "out.xlsx"
    text = '=HYPERLINK("http://example.invalid","click")'
    values = [text, "=1+1", "@A1", "-2", "+44 20", "\t=1+2", "Smith"]
    frame = pd.DataFrame({"surname": values})
    write_workbook(out, [Sheet("Pupils", frame)], readme=ReadMe("t"), about=[])
    sheet = openpyxl.load_workbook(out)["Pupils"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 2 + len(values))]
    assert [c.value for c in cells] == values
    assert all(c.data_type == "s" for c in cells)


def test_uncalculated_formulas_are_refused_or_listed_by_row_and_column(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Pupils"
    workbook.active.append(["upn", "points"])
    workbook.active.append(["A", "=1+1"])  # openpyxl saves no cached value
    workbook.active.append(["B", 4])
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    with pytest.raises(InputError, match=r"cell B2 .* never calculated"):
        read_table(path)
    table = read_table(path, uncalculated="flag")
    assert table.uncalculated == [(2, "points")]
    assert table.frame["points"].tolist() == [None, 4]


def test_an_ods_workbook_reads_like_xlsx(tmp_path):
    path = tmp_path / "cohort.ods"
    frame = pd.DataFrame({"UPN": ["B801200005001", "H801200001001"], "Reading KS1": ["2b", "3"]})
    with pd.ExcelWriter(path, engine="odf") as writer:
        frame.to_excel(writer, sheet_name="Pupils", index=False, startrow=2)
    table = read_table(path)
    assert table.header_row == 3
    assert table.frame["Reading KS1"].tolist() == ["2b", "3"]
    assert table.frame.index.tolist() == [4, 5]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_legacy_xls_workbook_reads_like_xlsx(tmp_path):
    source = tmp_path / "cohort.xlsx"
    write_simple_workbook(source, [["UPN", "Reading KS1"], ["B801200005001", "2b"], ["X", 3]])
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    table = read_table(tmp_path / "cohort.xls")
    assert table.frame["Reading KS1"].tolist() == ["2b", 3]
