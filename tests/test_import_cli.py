"""`targetkit import` on the command line: workbook contents, exit codes, errors, a real run."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from helpers import ROOT, cli, run_targetkit

GOLDEN = Path(__file__).parent / "golden" / "import"
SIMS = "sims-pupil-details.csv"


@pytest.fixture
def sims(tmp_path: Path) -> Path:
    path = tmp_path / SIMS
    shutil.copy(GOLDEN / SIMS, path)
    return path


def sheet_rows(path: Path, name: str) -> list[dict[str, object]]:
    """Rows keyed by column name: headers in words read back to targetkit's names."""
    from targetkit.labels import column_name, labels_file

    written = {words: name for name, words in labels_file().written.items()}
    sheet = openpyxl.load_workbook(path)[name]
    rows = list(sheet.iter_rows(values_only=True))
    if name == "About":  # Item / Value, as written
        keys = list(rows[0])
    else:  # the user's own columns (Preferred Surname) keep their headers
        keys = [column_name(h) or written.get(h, h) for h in rows[0]]
    return [dict(zip(keys, row, strict=True)) for row in rows[1:]]


SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def most_serious_first(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Errors, then warnings, then notes; by file and row within each (blank rows first)."""
    return sorted(
        rows,
        key=lambda r: (
            SEVERITY_RANK[r["severity"]],
            r.get("source_file", "").casefold(),  # one source here: no file column
            int(r["source_row"]) if r["source_row"] else -1,
        ),
    )


def expected(name: str) -> list[dict[str, str]]:
    with open(GOLDEN / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date"):
        return value.date().isoformat()  # type: ignore[union-attr]
    return str(value)


def test_import_writes_pupils_data_issues_read_me_and_about_beside_the_first_source(sims):
    result = cli("import", sims, "--academic-year", "2026/27")
    assert result.exit_code == 0, result.output
    out = sims.with_name("sims-pupil-details-cohort.xlsx")
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["Pupils", "Data issues", "Read me", "About"]
    pupils = sheet_rows(out, "Pupils")
    want = expected("sims-pupil-details.expected-pupils.csv")
    assert [{k: cell_text(row[k]) for k in want[0]} for row in pupils] == want
    issues = sheet_rows(out, "Data issues")
    want_issues = most_serious_first(expected("sims-pupil-details.expected-issues.csv"))
    assert [{k: cell_text(row[k]) for k in want_issues[0]} for row in issues] == want_issues
    assert all(row["source_file"] == SIMS for row in issues)


def test_formula_like_text_is_a_string_cell_when_the_workbook_is_reopened(sims):
    cli("import", sims, "--academic-year", "2026/27")
    sheet = openpyxl.load_workbook(sims.with_name("sims-pupil-details-cohort.xlsx"))["Pupils"]
    surname = next(c for c in sheet[1] if c.value == "Surname").column
    cell = sheet.cell(row=4, column=surname)  # third pupil, source row 7
    assert cell.value == "=1+1"
    assert cell.data_type == "s"


def test_about_records_each_source_with_its_sha256_and_the_academic_year(sims):
    cli("import", sims, "--academic-year", "2026/27")
    about = {
        row["Item"]: row["Value"]
        for row in sheet_rows(sims.with_name("sims-pupil-details-cohort.xlsx"), "About")
    }
    assert about["source 1 SHA-256"] == hashlib.sha256(sims.read_bytes()).hexdigest()
    assert about["academic year"] == "2026/27"
    assert about["mapping"] == "shipped MIS aliases only"
    assert about["disadvantaged"].startswith("derived as FSM or looked after")
    assert "Legal Surname → surname" in about["source 1 columns mapped"]


def test_data_issues_are_coloured_by_severity(sims):
    cli("import", sims, "--academic-year", "2026/27")
    sheet = openpyxl.load_workbook(sims.with_name("sims-pupil-details-cohort.xlsx"))["Data issues"]
    formulas = {rule.formula[0] for rng in sheet.conditional_formatting for rule in rng.rules}
    assert formulas == {'"error"', '"warning"', '"info"'}


def test_the_input_is_never_changed(sims):
    before = sims.read_bytes()
    cli("import", sims, "--academic-year", "2026/27")
    assert sims.read_bytes() == before


def test_a_merged_title_above_the_header_in_a_workbook_gives_the_same_cohort(tmp_path):
    # The SIMS golden rows typed into a workbook with its title merged across A1:F1.
    lines = (GOLDEN / SIMS).read_bytes().decode("cp1252").splitlines()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row_number, line in enumerate(csv.reader(lines), start=1):
        for column, text in enumerate(line, start=1):
            if text:
                cell = sheet.cell(row=row_number, column=column)
                cell.value = text
                cell.data_type = "s"  # `=1+1` stays text, as the MIS exported it
    sheet.merge_cells("A1:F1")
    path = tmp_path / "sims.xlsx"
    workbook.save(path)
    out = tmp_path / "cohort.xlsx"
    assert cli("import", path, "-o", out, "--academic-year", "2026/27").exit_code == 0
    want = expected("sims-pupil-details.expected-pupils.csv")
    assert [{k: cell_text(row[k]) for k in want[0]} for row in sheet_rows(out, "Pupils")] == want


def test_a_workbook_grade_column_of_numbers_then_text_keeps_every_grade(tmp_path):
    # SPEC §7 "Reading types": 3, 4 ... then 2b must not turn 2b into a blank.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["UPN", "Maths KS1"])
    for upn, grade in [("B801200005001", 3), ("H801200001001", 4), ("P207000016049", "2b")]:
        sheet.append([upn, grade])
    path = tmp_path / "grades.xlsx"
    workbook.save(path)
    out = tmp_path / "cohort.xlsx"
    assert cli("import", path, "-o", out, "--strict").exit_code == 0
    assert [r["maths_ks1"] for r in sheet_rows(out, "Pupils")] == ["3", "4", "2b"]


def test_a_formula_with_no_saved_result_is_a_flagged_blank_naming_its_row_and_column(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Pupils"
    sheet.append(["UPN", "Legal Surname", "Reading KS1"])
    sheet.append(["B801200005001", "Smith", "=B5"])  # openpyxl saves no cached value
    sheet.append(["H801200001001", "Jones", "2b"])
    path = tmp_path / "formula.xlsx"
    workbook.save(path)
    out = tmp_path / "cohort.xlsx"
    result = cli("import", path, "-o", out, "--strict")
    # The pupil is kept; the cell is blank (its value is unknown) and an error names row 2,
    # column Reading KS1, so --strict exits 1.
    assert result.exit_code == 1, result.stderr
    pupils = sheet_rows(out, "Pupils")
    assert [r["upn"] for r in pupils] == ["B801200005001", "H801200001001"]
    assert [r["reading_ks1"] for r in pupils] == [None, "2b"]
    issues = [r for r in sheet_rows(out, "Data issues") if r["code"] == "FORMULA_NOT_CALCULATED"]
    assert [(r["source_row"], r["column"], r["severity"]) for r in issues] == [
        (2, "Reading KS1", "error")
    ]


def test_other_commands_refuse_a_formula_with_no_saved_result_naming_the_cell(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["UPN", "Reading KS1"])
    workbook.active.append(["B801200005001", "=B5"])
    path = tmp_path / "formula.xlsx"
    workbook.save(path)
    result = cli("set-targets", path, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 2
    assert "cell B2" in result.stderr and "never calculated" in result.stderr


def test_json_summary_counts_issues_by_severity(sims):
    result = cli("import", sims, "--academic-year", "2026/27", "--format", "json")
    document = json.loads(result.stdout)
    assert document["command"] == "import"
    summary = document["summary"]
    # errors: duplicate UPN x2, wrong check letter, unknown grade 2d, missing UPN;
    # warning: DOB of row 9; info: 2B, L3, A, 2 c, S, Level 3, blank row, P, totals row.
    assert summary["by_severity"] == {"challenge": 0, "error": 5, "warning": 1, "info": 9}
    assert len(document["findings"]) == 15  # every issue, as the Data issues sheet lists them
    duplicates = [f for f in document["findings"] if f["code"] == "DUPLICATE_UPN"]
    assert [(f["severity"], f["row"], f["column"]) for f in duplicates] == [
        ("error", 5, "UPN"),
        ("error", 10, "UPN"),
    ]
    assert duplicates[0]["file"] == sims.name
    assert summary["pupils"] == 6
    assert summary["top_problems"][0] == {
        "severity": "error",
        "code": "DUPLICATE_UPN",
        "column": "UPN",
        "count": 2,
        "example": "the same UPN is on rows 5, 10",
    }


def test_the_terminal_summary_names_pupils_issues_and_top_problems(sims):
    result = cli("import", sims, "--academic-year", "2026/27")
    assert "Imported 6 pupils from 1 file into" in result.stdout  # results on stdout
    assert "Data issues: 5 errors, 1 warning, 9 notes" in result.stdout
    assert "error       2 x UPN (DUPLICATE_UPN): rows 5, 10" in result.stdout
    assert result.stderr == ""
    # the example message (it may quote a name or a date of birth) only with --verbose
    assert "the same UPN is on rows 5, 10" not in result.stdout
    verbose = cli(
        "-v", "import", sims, "--academic-year", "2026/27", "-o", sims.with_name("v.xlsx")
    )
    assert "error       2 x UPN (DUPLICATE_UPN): rows 5, 10: the same UPN is on rows 5, 10" in (
        verbose.stdout
    )


def test_exit_status_is_1_with_strict_when_there_are_errors(sims):
    assert cli("import", sims, "--strict").exit_code == 1


def test_exit_status_is_0_with_strict_when_there_are_no_errors(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text("UPN,Surname,NC Year\nB801200005001,Smith,Year 6\n", encoding="utf-8")
    assert cli("import", path, "--strict").exit_code == 0


def test_csv_output_writes_the_issues_beside_it_and_neutralises_formulas(sims, tmp_path):
    out = tmp_path / "cohort.csv"
    assert cli("import", sims, "-o", out, "--academic-year", "2026/27").exit_code == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["surname"] for r in rows][2] == "'=1+1"  # OWASP: prefixed in CSV
    with open(tmp_path / "cohort-issues.csv", encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 15


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b"", ".csv", "the file is empty"),
        (b"UPN,Surname\n", ".xlsx", "is not a .xlsx workbook"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"),
            ".xlsx",
            "save an unprotected copy",
        ),
    ],
)
def test_unreadable_files_exit_2_with_one_line_naming_the_file(tmp_path, content, suffix, message):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(content)
    result = cli("import", path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_an_ambiguous_header_exits_2_naming_both_columns(tmp_path):
    path = tmp_path / "export.csv"
    # EAL beside First Language is settled by the preference list; two grade spellings are not.
    path.write_text("UPN,Maths KS1,KS1 Maths\nB801200005001,2b,2c\n", encoding="utf-8")
    result = cli("import", path)
    assert result.exit_code == 2
    assert "the columns 'Maths KS1' and 'KS1 Maths' both mean 'maths_ks1'" in result.stderr


def test_an_existing_output_is_not_overwritten_without_force(sims):
    assert cli("import", sims).exit_code == 0
    again = cli("import", sims)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert cli("import", sims, "--force").exit_code == 0


def test_a_bad_academic_year_is_a_usage_error(sims):
    result = cli("import", sims, "--academic-year", "2026/28")
    assert result.exit_code == 2
    assert "write it as 2026/27" in result.stderr


def test_a_mapping_file_names_columns_renames_ignores_and_refuses_empty_names(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Child Surname,KS1 Read TA\nSmith,2B\n", encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  Child Surname: surname\n  KS1 Read TA: reading_ks1\n")
    out = tmp_path / "cohort.xlsx"
    assert cli("import", path, "--mapping", mapping, "-o", out).exit_code == 0
    row = sheet_rows(out, "Pupils")[0]
    assert (row["surname"], row["reading_ks1"]) == ("Smith", "2b")
    # Any other name renames the column (kept as text); `ignore` keeps it as it is.
    mapping.write_text("columns:\n  Child Surname: family_name\n  KS1 Read TA: ignore\n")
    renamed = tmp_path / "renamed.xlsx"
    assert cli("import", path, "--mapping", mapping, "-o", renamed).exit_code == 0
    row = sheet_rows(renamed, "Pupils")[0]
    assert (row["family_name"], row["KS1 Read TA"]) == ("Smith", "2B")
    assert "surname" not in row and "reading_ks1" not in row
    mapping.write_text("columns:\n  Child Surname: ' '\n")
    bad = cli("import", path, "--mapping", mapping, "-o", tmp_path / "other.xlsx")
    assert bad.exit_code == 2
    assert "a header is mapped to an empty name" in bad.stderr


def test_several_sources_on_the_command_line_are_joined(tmp_path):
    first = tmp_path / "pupils.csv"
    first.write_text(
        "UPN,Surname,Forename\nB801200005001,Smith,Amy\nH801200001001,Jones,Ben\n",
        encoding="utf-8",
    )
    second = tmp_path / "results.csv"
    second.write_text("UPN,Forename,Maths KS1\nH801200001001,Benjamin,3\n", encoding="utf-8")
    result = cli("import", first, second, "--format", "json")
    summary = json.loads(result.stdout)["summary"]
    assert summary["joined_on"] == "upn"
    assert summary["by_severity"]["warning"] == 1  # Ben / Benjamin
    rows = sheet_rows(tmp_path / "pupils-cohort.xlsx", "Pupils")
    assert [(r["forename"], r["maths_ks1"]) for r in rows] == [("Amy", None), ("Ben", "3")]


def test_a_real_run_on_the_messy_example_export(tmp_path):
    source = tmp_path / "messy.csv"
    shutil.copy(ROOT / "examples" / "messy-mis-export.csv", source)
    done = run_targetkit("import", source, "--academic-year", "2026/27")
    assert done.returncode == 0, done.stderr
    # 34 lines: two title lines, a blank line, the header, 30 pupils.
    rows = sheet_rows(tmp_path / "messy-cohort.xlsx", "Pupils")
    assert len(rows) == 30
    assert [r["source_row"] for r in rows] == list(range(5, 35))
    codes = {r["code"] for r in sheet_rows(tmp_path / "messy-cohort.xlsx", "Data issues")}
    assert {"DUPLICATE_UPN", "UPN_CHECK_LETTER", "UNKNOWN_GRADE", "OLD_SEN_CODE"} <= codes
    strict = run_targetkit("import", source, "--strict", "--force", "--format", "json")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["summary"]["by_severity"]["error"] >= 4


def test_pseudonymise_replaces_upns_and_names_everywhere_with_keyed_pseudonyms(sims, tmp_path):
    import hmac

    key = tmp_path / "key.txt"
    key.write_text("a long random school secret 0123456789")
    out = tmp_path / "shared.xlsx"
    result = cli("import", sims, "-o", out, "--pseudonymise", "--key-file", key)
    assert result.exit_code == 0, result.stderr
    secret = key.read_bytes().strip()  # privacy.load_key strips surrounding whitespace
    # privacy.py: "P-" + first 12 hex digits (upper case) of HMAC-SHA256(key, "upn\x1f" + UPN)
    digest = hmac.new(secret, b"upn\x1fU880331216001", "sha256").hexdigest()[:12].upper()
    pupils = sheet_rows(out, "Pupils")
    issues = sheet_rows(out, "Data issues")
    assert pupils[0]["upn"] == f"P-{digest}"
    duplicate = [r for r in issues if r["code"] == "DUPLICATE_UPN"]
    assert {r["value"] for r in duplicate} == {f"P-{digest}"}
    everything = repr(pupils) + repr(issues)
    for private in ("U880331216001", "O'Brien", "Siobhán", "Dupont", "Khan"):
        assert private not in everything
