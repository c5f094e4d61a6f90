"""Hostile workbooks are refused before a parser sees them; nothing in a file is ever run;
text that a spreadsheet would run as a formula is written as text (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, cli

from targetkit import io as tk_io
from targetkit.errors import InputError
from targetkit.io import read_table

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
FORMULA_LIKE = ["=HYPERLINK(\"http://evil\",\"x\")", "+Amy", "-Jones", "@SUM(A1:A9)", "\tTab",
                "\rReturn", "=cmd|' /C calc'!A0"]  # fmt: skip


def workbook(rows: list[list[object]], sheet: str = "Pupils") -> bytes:
    """A workbook written by xlsxwriter: strings stay strings (never formulas)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    page = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                page.write_string(r, c, value)
            elif value is not None:
                page.write_number(r, c, value)
    book.close()
    return buffer.getvalue()


def with_part(data: bytes, name: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            part = source.read(info.filename)
            archive.writestr(info.filename, change(part) if info.filename == name else part)
    return out.getvalue()


GOOD = [["UPN", "Surname", "Reading KS1"], ["L801200015001", "Smith", "2b"]]


def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.file == str(path)
    return str(caught.value)


# --- zip bombs --------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_by_its_sizes_before_anything_is_unpacked(monkeypatch):
    # zip_bomb.xlsx: 66 KB on disk, sheet1.xml 60 MiB of one repeated letter (ratio ~1000:1)
    path = CORPUS / "zip_bomb.xlsx"
    assert path.stat().st_size < 100_000

    def no_unpacking(*args, **kwargs):
        raise AssertionError("the bomb was unpacked")

    monkeypatch.setattr(zipfile.ZipFile, "read", no_unpacking)
    monkeypatch.setattr(zipfile.ZipFile, "open", no_unpacking)
    message = refused(path)
    assert "zip bomb" in message and "60 MiB" in message


def test_a_workbook_whose_parts_add_up_to_too_much_is_refused(tmp_path, monkeypatch):
    # The total guard: with the limit at 1 KiB, a genuine 3-cell workbook (about 3 KiB of XML
    # unpacked) is over it. The real limit, 3 GiB, cannot be built in a fast test.
    path = tmp_path / "pupils.xlsx"
    path.write_bytes(workbook(GOOD))
    monkeypatch.setattr(tk_io, "MAX_UNZIPPED_BYTES", 1024)
    assert "zip bomb" in refused(path)


# --- XML entities -----------------------------------------------------------------------------

LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
)


@pytest.mark.parametrize(
    "part",
    ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "[Content_Types].xml"],
)
def test_an_entity_definition_in_any_part_is_refused_before_parsing(part, tmp_path):
    def add_dtd(xml: bytes) -> bytes:
        declaration_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        return xml[:declaration_end] + LAUGHS.encode() + xml[declaration_end:]

    data = workbook(GOOD)
    if part not in zipfile.ZipFile(io.BytesIO(data)).namelist():
        pytest.skip(f"xlsxwriter wrote no {part}")
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(with_part(data, part, add_dtd))
    message = refused(path)
    assert part in message and "entity-expansion" in message


def test_the_billion_laughs_workbook_is_refused_not_expanded(monkeypatch):
    import python_calamine

    def parser_reached(*args, **kwargs):
        raise AssertionError("the XML reached the parser")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", parser_reached)
    assert "entity-expansion" in refused(CORPUS / "billion_laughs.xlsx")


def test_an_external_entity_never_reads_the_file_it_names():
    message = refused(CORPUS / "external_entity.xlsx")
    assert "entity-expansion" in message and "root:" not in message


def test_the_parser_alone_would_not_expand_entities_either(tmp_path):
    """Defence in depth: calamine rejects an undefined-entity reference rather than expanding."""
    import python_calamine

    data = (CORPUS / "billion_laughs.xlsx").read_bytes()
    with pytest.raises(Exception, match="entity"):
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        book.get_sheet_by_index(0).to_python()


# --- cells far away ---------------------------------------------------------------------------


def test_one_cell_at_xfd1048576_is_refused_instead_of_laying_out_17_billion_cells():
    message = refused(CORPUS / "far_away_cell.xlsx")
    # 16,384 columns x 1,048,576 rows
    assert "column XFD and row 1048576" in message and "17,179,869,184 cells" in message


def test_the_cell_limit_counts_rows_times_columns(tmp_path, monkeypatch):
    # GOOD is 2 rows x 3 columns = 6 cells: refused at a limit of 5, read at 6.
    path = tmp_path / "pupils.xlsx"
    path.write_bytes(workbook(GOOD))
    monkeypatch.setattr(tk_io, "MAX_CELLS", 5)
    assert "6 cells" in refused(path)
    monkeypatch.setattr(tk_io, "MAX_CELLS", 6)
    assert read_table(path).frame.shape == (1, 3)


# --- nothing is run ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["macro.xlsm", "formulas_calculated.xlsx"])
def test_nothing_in_a_workbook_is_run(name, monkeypatch, tmp_path):
    def forbidden(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr("os.system", forbidden)
    monkeypatch.setattr("os.startfile", forbidden, raising=False)
    table = read_table(CORPUS / name)
    # both files hold make_corpus's four pupils; the DDE formula's saved value is the grade
    assert table.frame["UPN"].tolist() == [
        "L801200015001",
        "A801200015002",
        "P801200015003",
        "D801200015004",
    ]
    assert table.frame["Reading KS1"].tolist() == ["2b", "3", "1a", "W"]


def test_a_macro_workbook_converts_to_a_workbook_without_the_macro(tmp_path):
    out = tmp_path / "out.xlsx"
    result = cli("convert", CORPUS / "macro.xlsm", "--column", "Reading KS1", "--from", "nc",
                 "--to", "points", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = zipfile.ZipFile(out).namelist()
    assert not [n for n in names if "vba" in n.lower()]
    # 2b = 15 points, 3 = 21, 1a = 11, W = 3 (SPEC §3 nc scale)
    sheet = openpyxl.load_workbook(out)["Converted"]
    assert [sheet.cell(r, 6).value for r in range(2, 6)] == [15, 21, 11, 3]


# --- formula-like text ------------------------------------------------------------------------


@pytest.fixture
def formula_cohort(tmp_path) -> Path:
    path = tmp_path / "cohort.xlsx"
    rows = [["UPN", "Surname", "Reading KS1"]]
    rows += [[f"L80120001500{i}", text, "2b"] for i, text in enumerate(FORMULA_LIKE)]
    path.write_bytes(workbook(rows))
    return path


def test_formula_like_text_is_written_to_xlsx_as_the_same_text_never_a_formula(
    formula_cohort, tmp_path
):
    out = tmp_path / "out.xlsx"
    result = cli("convert", formula_cohort, "--column", "Reading KS1", "--from", "nc", "--to",
                 "points", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out)["Converted"]
    cells = [sheet.cell(row, 2) for row in range(2, 2 + len(FORMULA_LIKE))]
    assert [cell.data_type for cell in cells] == ["s"] * len(FORMULA_LIKE)
    # SPEC §7: exactly the user's value, no apostrophe added; the CR is stored as OOXML's
    # escape _x000D_, which openpyxl leaves as it is and Excel (and calamine) turn back into CR
    assert [cell.value.replace("_x000D_", "\r") for cell in cells] == FORMULA_LIKE
    assert read_table(out, sheet="Converted").frame["Surname"].tolist() == FORMULA_LIKE
    xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml


def test_formula_like_text_is_neutralised_in_csv_output(formula_cohort, tmp_path):
    out = tmp_path / "out.csv"
    result = cli("convert", formula_cohort, "--column", "Reading KS1", "--from", "nc", "--to",
                 "points", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    # OWASP: a leading = + - @ tab or CR gets a ' in front, so a spreadsheet shows it as text
    assert [row[1] for row in rows[1:]] == ["'" + text for text in FORMULA_LIKE]
    assert all(not row[1].startswith(tk_io.FORMULA_START) for row in rows[1:])


def test_formula_like_headers_are_text_too(tmp_path):
    source = tmp_path / "cohort.xlsx"
    source.write_bytes(workbook([["UPN", "=1+1", "Reading KS1"], ["L801200015001", "x", "2b"]]))
    out = tmp_path / "out.xlsx"
    assert cli("convert", source, "--column", "Reading KS1", "--from", "nc", "--to", "points",
               "-o", out).exit_code == 0  # fmt: skip
    header = openpyxl.load_workbook(out)["Converted"].cell(1, 2)
    assert header.value == "=1+1" and header.data_type == "s"


@pytest.mark.parametrize(
    "far_cell",
    [
        '<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>',
        '<c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c>',  # r not the first attribute
        '<c\tr="XFD1048576" t="inlineStr"><is><t>x</t></is></c>',  # a tab, not a space
        '<c\nr="A99999999" t="inlineStr"><is><t>x</t></is></c>',  # a row past Excel's last
        "<c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c>",  # single quotes
        '<c r = "XFD1048576" t="inlineStr"><is><t>x</t></is></c>',  # spaces around =
        '<c r="XFD3"/></row><row r="1048576"><c t="inlineStr"><is><t>x</t></is></c>',  # no r
    ],
    ids=[
        "usual",
        "r-attribute-later",
        "tab-before-r",
        "row-past-excel",
        "single-quotes",
        "spaced",
        "row-number-only",
    ],
)
def test_a_far_cell_is_refused_however_its_xml_is_spelt(far_cell, tmp_path):
    data = with_part(
        workbook(GOOD),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(
            b"</sheetData>", f'<row r="3">{far_cell}</row></sheetData>'.encode()
        ),
    )
    path = tmp_path / "far.xlsx"
    path.write_bytes(data)
    assert "far more than a school export" in refused(path)


def test_a_wide_sheet_within_the_limit_is_read(tmp_path):
    # 30 columns (to AD) x 2 rows: the quick bound (702 columns x 9 rows) is under the limit
    header = ["UPN", "Surname", "Reading KS1", *[f"Extra {i}" for i in range(27)]]
    path = tmp_path / "wide.xlsx"
    path.write_bytes(workbook([header, ["L801200015001", "Smith", "2b", *["x"] * 27]]))
    assert read_table(path).frame.shape == (1, 30)


def test_a_formula_whose_saved_result_is_empty_text_is_read_not_refused(tmp_path):
    # Excel saves =IF(...,"") that gave "" as <c t="str"><f>..</f><v></v></c>: calculated.
    excel_empty = b'<c r="D2" t="str"><f>IF(1=2,"x","")</f><v></v></c>'
    data = with_part(
        workbook(GOOD),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"</row></sheetData>", excel_empty + b"</row></sheetData>"),
    )
    path = tmp_path / "excel.xlsx"
    path.write_bytes(data)
    assert read_table(path).frame["Reading KS1"].tolist() == ["2b"]


def test_a_formula_never_calculated_is_refused_naming_its_cell(tmp_path):
    # openpyxl writes =F2*1 as <c r="F2"><f>F2*1</f><v/></c> (no value); so do scripts
    message = refused(CORPUS / "formulas_not_calculated.xlsx")
    assert "cell F2" in message and "never calculated" in message


# --- issue 17: what a crafted zip or sheet could still do ---------------------------------------


def understating(data: bytes, name: str, claimed: int) -> bytes:
    """`data` with the zip directory (and local header) saying `name` unpacks to `claimed`
    bytes: a zip's sizes are whatever its writer put there."""
    raw = bytearray(data)
    encoded = name.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + len(encoded)] == encoded:
                raw[start + size_at : start + size_at + 4] = claimed.to_bytes(4, "little")
            start += 4
    return bytes(raw)


def test_a_zip_directory_that_understates_a_part_is_refused_by_what_is_really_inflated(
    tmp_path,
):
    # sheet1.xml is 60 MiB of one letter (packs to ~60 KB) but the directory says 1 MiB:
    # directory sizes pass every check, and the reader would inflate all 60 MiB.
    big = with_part(
        workbook(GOOD),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<c ", b"<c " + b" " * (60 << 20), 1),
    )
    path = tmp_path / "understated.xlsx"
    path.write_bytes(understating(big, "xl/worksheets/sheet1.xml", 1 << 20))
    infos = zipfile.ZipFile(path).infolist()
    assert max(info.file_size for info in infos) == 1 << 20  # what a directory check sees
    message = refused(path)
    assert "zip bomb" in message and "more than its zip directory says" in message


def test_a_shared_text_number_out_of_range_names_the_cell(tmp_path):
    """Cell B2 points at shared text 99 of 6: a reader shows string 0 ("UPN") as a surname."""
    data = workbook(GOOD)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b'<c r="B2" t="s"><v>4</v></c>' in sheet  # xlsxwriter: Smith is shared text 4
    path = tmp_path / "strings.xlsx"
    path.write_bytes(
        with_part(
            data,
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace(b'<c r="B2" t="s"><v>4</v>', b'<c r="B2" t="s"><v>98</v>'),
        )
    )
    message = refused(path)
    assert "cell B2" in message and "shared text number 99" in message
    assert "holds only 6" in message


# --- issue 17: nothing from a file reaches the terminal raw --------------------------------------

RAW_CONTROLS = ["\x1b", "\x07", "\x9b", "\u202e"]


def assert_nothing_raw(text: str) -> None:
    assert not [c for c in RAW_CONTROLS if c in text], repr(text)


def test_a_file_name_with_escape_sequences_is_printed_escaped_on_one_line(tmp_path):
    missing = tmp_path / "evil\x1b]0;owned\x07\nname.csv"
    result = cli("convert", missing, "--column", "x", "--from", "nc", "--to", "points")
    assert result.exit_code == 2
    assert_nothing_raw(result.stderr)
    assert result.stderr.count("\n") == 1
    assert "evil\\x1b]0;owned\\x07\\nname.csv" in result.stderr


def test_a_school_name_with_escape_sequences_is_printed_escaped(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "school.csv").write_text(
        "UPN,Surname,school,Year Group,reading_ks1,reading_target\r\n"
        "L801200015001,Sm\x1b[2Jith,Evil\x1b]0;owned\x07 \u202eSchool,6,2b,four\r\n",
        encoding="utf-8",
    )
    result = cli("check-ambition", folder)
    output = result.stdout + result.stderr
    assert result.exit_code in (0, 1), output
    assert_nothing_raw(output)
    assert "Evil\\x1b]0;owned\\x07 \\u202eSchool" in output


def test_the_control_characters_corpus_file_prints_nothing_raw(tmp_path):
    result = cli("-v", "import", CORPUS / "control_characters.csv", "-o", tmp_path / "c.xlsx")
    assert result.exit_code in (0, 1)
    assert_nothing_raw(result.stdout + result.stderr)


# --- issue 17: one line, always ------------------------------------------------------------------


def test_formula_like_headers_are_neutralised_in_csv_output(tmp_path):
    source = tmp_path / "cohort.csv"
    source.write_text('UPN,"=HYPERLINK(""http://x"")",Reading KS1\r\nL801200015001,x,2b\r\n')
    out = tmp_path / "out.csv"
    result = cli("convert", source, "--column", "Reading KS1", "--from", "nc", "--to", "points",
                 "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[1] == '\'=HYPERLINK("http://x")'


def test_a_subject_that_looks_like_a_formula_is_text_in_the_conversion_table(tmp_path):
    history = tmp_path / "history.csv"
    rows = ["School,Reading KS1,Reading KS2"] + [f"S{i % 3},2b,{4 + i % 2}" for i in range(12)]
    history.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    out = tmp_path / "table.csv"
    result = cli("build-conversion", history, "--prior", "Reading KS1", "--outcome", "Reading KS2",
                 "--subject", "=cmd|' /C calc'!A0", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with open(out, encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert table and {row["subject"] for row in table} == {"'=cmd|' /C calc'!A0"}


def test_a_csv_field_longer_than_pythons_default_limit_is_read_whole(tmp_path):
    source = tmp_path / "long.csv"
    note = "x" * 140_000  # over csv's default field limit of 131,072, which sniffing hit
    source.write_text(f"UPN,Surname,Notes,Reading KS1\r\nL801200015001,Smith,{note},2b\r\n")
    assert read_table(source).frame.loc[2, "Notes"] == note


def test_a_5000_digit_year_group_is_a_data_issue_not_a_crash(tmp_path):
    source = tmp_path / "year.csv"
    source.write_text(
        f"UPN,Surname,Year Group,Reading KS1\r\nL801200015001,Smith,{'9' * 5000},2b\r\n"
    )
    result = cli("import", source, "-o", tmp_path / "cohort.xlsx")
    assert result.exit_code == 0, result.stderr
    issues = openpyxl.load_workbook(tmp_path / "cohort.xlsx")["Data issues"]
    messages = [row for row in issues.iter_rows(min_row=2, values_only=True)]
    assert any("not a year group" in " ".join(map(str, row)) for row in messages)


def test_a_folder_nested_1200_deep_is_searched(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    here = os.getcwd()
    try:  # short relative steps: the whole path is 2,400 characters
        os.chdir(folder)
        for _ in range(1200):
            os.mkdir("d")
            os.chdir("d")
        with open("school.csv", "w", encoding="utf-8") as handle:
            handle.write("UPN,Surname,reading_ks1,reading_target\nL801200015001,Smith,2b,4b\n")
        os.chdir(here)
        from targetkit.commands.check_ambition import find_submissions

        files, _ = find_submissions([folder])
        assert [f.name for f in files] == ["school.csv"] and len(files[0].parts) > 1200
    finally:
        os.chdir(here)
        remove_deep(folder)  # pytest's own clean-up (shutil.rmtree) would recurse too deep


def remove_deep(folder: Path) -> None:
    """Delete a deeply nested tree of `d` folders without recursion."""
    here = os.getcwd()
    try:
        os.chdir(folder)
        depth = 0
        while os.path.isdir("d"):
            os.chdir("d")
            depth += 1
        for _ in range(depth + 1):
            for name in os.listdir("."):
                if os.path.isdir(name):
                    os.rmdir(name)
                else:
                    os.remove(name)
            os.chdir("..")
    finally:
        os.chdir(here)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_results_to_a_full_disk_give_one_line_and_no_exception_ignored(tmp_path):
    source = tmp_path / "school.csv"
    source.write_text("UPN,Surname,reading_ks1,reading_target\nL801200015001,Smith,2b,4b\n")
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "targetkit", "check-ambition", source, "--format", "json"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr == (
        "targetkit: error: cannot print the results (No space left on device)\n"
    )


# --- issue 17: checks that could be dodged -------------------------------------------------------

UPN_LIST = ["L801200015001", "A801200015002", "P801200015003", "D801200015004", "H801200015005",
            "K801200015006", "M801200015007", "R801200015008"]  # fmt: skip


def test_a_target_typed_off_the_scale_is_an_invalid_target_challenge(tmp_path):
    from targetkit.commands.check_ambition import check_ambition

    targets = ["four", "4+", "99999", "-1", "4.5", "EXS", "4", "4b"]  # the last two are grades
    rows = ["UPN,Surname,Year Group,reading_ks1,reading_target"]
    rows += [
        f"{upn},P{i},6,2b,{t}" for i, (upn, t) in enumerate(zip(UPN_LIST, targets, strict=True))
    ]
    (tmp_path / "school.csv").write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    found = check_ambition([tmp_path / "school.csv"]).findings
    invalid = found[found["code"] == "INVALID_TARGET"]
    assert invalid["upn"].tolist() == UPN_LIST[:6]
    assert set(invalid["severity"]) == {"challenge"}
    assert "reading target 'four' is not a grade of the nc scale" in invalid["message"].iloc[0]


def test_a_deleted_target_column_is_a_missing_target_for_every_pupil(tmp_path):
    from targetkit.commands.check_ambition import check_ambition

    rows = ["UPN,Surname,Year Group,reading_ks1,reading_minimum,reading_suggested,"
            "maths_ks1,maths_target"]  # fmt: skip
    rows += [f"{upn},P{i},6,2b,4c,4b,2b,4b" for i, upn in enumerate(UPN_LIST[:3])]
    (tmp_path / "school.csv").write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    found = check_ambition([tmp_path / "school.csv"]).findings
    missing = found[(found["code"] == "MISSING_TARGET") & (found["subject"] == "reading")]
    assert missing["upn"].tolist() == UPN_LIST[:3]
    assert set(missing["severity"]) == {"challenge"}
