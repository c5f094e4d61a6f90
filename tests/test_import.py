"""`targetkit import` as a library: golden MIS exports, joins, and nothing lost (SPEC §4, §7)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.errors import InputError, UsageError
from targetkit.io import read_table
from targetkit.pipeline.importing import ImportResult, SourceTable, import_cohort, totals_rows

GOLDEN = Path(__file__).parent / "golden" / "import"
YEAR = 2026  # academic year 2026/27: Year 6 born 1/9/2015-31/8/2016
ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def reference_check_letter(body: str) -> str:
    """DATA.md's algorithm written out plainly, independent of targetkit.upn."""
    total = sum(
        (int(ch) if ch.isdigit() else ALPHABET.index(ch)) * position
        for position, ch in enumerate(body, start=2)
    )
    return ALPHABET[total % 23]


def source(frame: pd.DataFrame, name: str = "export.csv", **kwargs: object) -> SourceTable:
    return SourceTable(name, frame, **kwargs)  # type: ignore[arg-type]


def read_source(path: Path) -> SourceTable:
    table = read_table(path)
    return SourceTable(path.name, table.frame, table.header_row, table.blank_rows)


def as_text(value: object) -> str:
    """How a cell is written in the expected CSVs: blank for missing, ISO dates."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def expected_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def actual_rows(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, str]]:
    return [
        {c: as_text(value) for c, value in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False)
    ]


# ---------------------------------------------------------------------------------------------
# Golden exports (expected outputs worked out by hand: see tests/golden/import/README.md)


@pytest.mark.parametrize("name", ["sims-pupil-details", "arbor-students", "bromcom-students"])
def test_golden_mis_exports_give_the_hand_worked_pupils_and_issues(name):
    result = import_cohort([read_source(GOLDEN / f"{name}.csv")], academic_year=YEAR)
    assert_matches_golden(result, name, f"{name}.csv")


def assert_matches_golden(result: ImportResult, stem: str, source: str) -> None:
    """The cohort's columns, pupils and issues are those of the hand-worked expected files."""
    pupils = expected_rows(GOLDEN / f"{stem}.expected-pupils.csv")
    columns = list(pupils[0])
    assert [c for c in result.pupils.columns if c not in ("source_file", "row_issues")] == columns
    assert actual_rows(result.pupils, columns) == pupils
    issues = expected_rows(GOLDEN / f"{stem}.expected-issues.csv")
    assert actual_rows(result.issues, list(issues[0])) == issues
    assert set(result.issues["source_file"]) == {source}


def test_golden_upns_have_the_check_letters_data_md_defines():
    rows = expected_rows(GOLDEN / "sims-pupil-details.expected-pupils.csv")
    good = [r["upn"] for r in rows if r["source_row"] not in ("9", "11")]
    assert all(reference_check_letter(u[1:]) == u[0] for u in good)
    assert reference_check_letter("880331216004") == "L"  # row 9 has M: a wrong check letter


def test_row_issues_sum_up_each_pupils_errors_and_warnings():
    result = import_cohort([read_source(GOLDEN / "sims-pupil-details.csv")], academic_year=YEAR)
    by_row = dict(zip(result.pupils["source_row"], result.pupils["row_issues"], strict=True))
    assert by_row[9] == (
        "error UPN: wrong check letter: expected L, found M; "
        "warning DOB: born 12/05/2014: the Year 8 age range in 2026/27, not Year 6; "
        "error Writing KS1: not a grade of the nc scale (National Curriculum levels and "
        "sub-levels); left blank"
    )
    assert by_row[11] == "error UPN: missing UPN"
    assert pd.isna(by_row[6])  # only info notes (old SEN code, grade spelling)


def test_unknown_grades_suggest_the_nearest_valid_grades():
    result = import_cohort([read_source(GOLDEN / "sims-pupil-details.csv")], academic_year=YEAR)
    unknown = result.issues[result.issues["code"] == "UNKNOWN_GRADE"].iloc[0]
    assert unknown["value"] == "2d"
    assert unknown["suggestion"].startswith("nearest: ")
    assert {"2c", "2b"} <= set(unknown["suggestion"].removeprefix("nearest: ").split(", "))


def test_disadvantaged_is_derived_from_fsm_or_looked_after_when_there_is_no_column():
    result = import_cohort([read_source(GOLDEN / "sims-pupil-details.csv")], academic_year=YEAR)
    assert result.disadvantaged_from.startswith("derived as FSM or looked after")
    # row 7: FSM N but In Care Y -> disadvantaged
    row7 = result.pupils[result.pupils["source_row"] == 7].iloc[0]
    assert (row7["fsm"], row7["lac"], row7["disadvantaged"]) == (False, True, True)


def test_disadvantaged_is_taken_from_its_column_when_present():
    result = import_cohort([read_source(GOLDEN / "arbor-students.csv")], academic_year=YEAR)
    assert result.disadvantaged_from == "from the column 'Pupil Premium' of arbor-students.csv"


def test_ks2_columns_of_scaled_scores_are_read_on_the_scaled_score_scale():
    result = import_cohort([read_source(GOLDEN / "bromcom-students.csv")], academic_year=YEAR)
    assert result.scales == {"maths_ks2": "ks2ss", "reading_ks2": "ks2ss"}


def test_the_academic_year_decides_the_date_of_birth_check():
    # In 2027/28 the same Year 6 pupils (born 2015/16) are in the Year 7 age range.
    result = import_cohort([read_source(GOLDEN / "sims-pupil-details.csv")], academic_year=2027)
    warned = result.issues[result.issues["code"] == "DOB_OUTSIDE_YEAR_GROUP"]
    assert warned["source_row"].tolist() == [5, 6, 7, 9, 10, 11]


# ---------------------------------------------------------------------------------------------
# Rows that are not pupils, and headers


def test_totals_and_count_rows_are_recognised_only_without_a_pupil_in_them():
    frame = pd.DataFrame(
        {
            "UPN": ["B801200005001", None, None, None],
            "Legal Surname": ["Total", "Total", None, "Smith"],
            "Reading KS1": ["2b", None, "30 pupils", "Count on me"],
        },
        index=[2, 3, 4, 5],
    )
    found = totals_rows(frame, ["UPN", "Legal Surname"])
    # row 2 has a UPN (a pupil called Total); row 5 has a surname (a pupil).
    assert found.to_dict() == {3: "Total", 4: "30 pupils"}


def test_two_columns_meaning_one_name_is_an_error_naming_both():
    # No preference list settles two spellings of one grade column (data/columns/aliases.yaml).
    frame = pd.DataFrame({"Reading KS1": ["2b"], "KS1 Reading": ["3c"]}, index=[2])
    with pytest.raises(InputError) as raised:
        import_cohort([source(frame)], academic_year=YEAR)
    assert "'Reading KS1' and 'KS1 Reading' both mean 'reading_ks1'" in str(raised.value)
    assert str(raised.value).startswith("export.csv, row 1:")


def test_a_user_mapping_names_columns_the_aliases_do_not_know():
    frame = pd.DataFrame({"Child Surname": ["Smith"], "KS1 Read TA": ["2B"]}, index=[2])
    mapping = {"Child Surname": "surname", "KS1 Read TA": "reading_ks1"}
    result = import_cohort([source(frame)], academic_year=YEAR, mapping=mapping)
    assert result.pupils[["surname", "reading_ks1"]].iloc[0].tolist() == ["Smith", "2b"]


# ---------------------------------------------------------------------------------------------
# Several sources


def pupils_file() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "UPN": ["B801200005001", "H801200001001", "P207000016049"],
            "Legal Surname": ["Smith", "Jones", "Patel"],
            "Legal Forename": ["Amy", "Ben", "Cara"],
            "NC Year": ["Year 6", "Year 6", "Year 6"],
        },
        index=[2, 3, 4],
    )


def results_file() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "UPN": ["P207000016049", "B801200005001", "U880331216001"],
            "Forename": ["Cara", "Amelia", "Dev"],
            "Reading Spr1": ["5w", "5s", "5b"],
            "Notes": ["new", None, None],
        },
        index=[5, 6, 7],
    )


def test_several_sources_are_joined_on_upn_keeping_the_first_files_order():
    result = import_cohort(
        [source(pupils_file(), "pupils.csv"), source(results_file(), "results.csv")],
        academic_year=YEAR,
    )
    pupils = result.pupils
    assert result.key == "upn"
    assert pupils["upn"].tolist() == [
        "B801200005001",
        "H801200001001",
        "P207000016049",
        "U880331216001",  # only in results.csv: added at the end, not dropped
    ]
    assert pupils["reading_spr1"].tolist() == ["5s", None, "5w", "5b"]
    assert pupils["forename"].tolist() == ["Amy", "Ben", "Cara", "Dev"]  # first file's value kept
    assert pupils["source_file"].tolist() == ["pupils.csv"] * 3 + ["results.csv"]
    assert pupils["source_row"].tolist() == [2, 3, 4, 7]
    assert [as_text(n) for n in pupils["Notes"]] == ["", "", "new", ""]


def test_conflicting_values_between_sources_are_warnings_naming_both_rows():
    result = import_cohort(
        [source(pupils_file(), "pupils.csv"), source(results_file(), "results.csv")],
        academic_year=YEAR,
    )
    conflicts = result.issues[result.issues["code"] == "CONFLICTING_SOURCES"]
    assert conflicts[
        ["severity", "source_file", "source_row", "column", "value"]
    ].values.tolist() == [["warning", "results.csv", 6, "Forename", "Amelia"]]
    assert conflicts["message"].iloc[0] == "pupils.csv row 2 has Amy; kept that value"
    added = result.issues[result.issues["code"] == "NOT_IN_FIRST_SOURCE"]
    assert added[["source_row", "value"]].values.tolist() == [[7, "U880331216001"]]
    # The conflict shows on the pupil's row in Pupils.
    assert "Forename: pupils.csv row 2 has Amy" in result.pupils["row_issues"].iloc[0]


def test_sources_without_upns_are_joined_on_the_admission_number():
    first = pd.DataFrame({"Adno": ["001", "002"], "Surname": ["Smith", "Jones"]}, index=[2, 3])
    second = pd.DataFrame({"Admission No": ["002"], "Maths KS1": ["2a"]}, index=[2])
    result = import_cohort([source(first, "a.csv"), source(second, "b.csv")], academic_year=YEAR)
    assert result.key == "pupil_id"
    assert result.pupils["maths_ks1"].tolist() == [None, "2a"]


def test_admission_numbers_join_whether_or_not_leading_zeros_were_kept():
    # A CSV keeps "001258"; the same number typed in Excel is stored as 1258.
    first = pd.DataFrame({"Adno": ["001258", "001259"], "Surname": ["Ali", "Bo"]}, index=[2, 3])
    second = pd.DataFrame({"Adno": [1259], "Maths KS1": ["3"]}, index=[2])
    result = import_cohort([source(first, "a.csv"), source(second, "b.xlsx")], academic_year=YEAR)
    assert result.pupils["pupil_id"].tolist() == ["001258", "001259"]
    assert result.pupils["maths_ks1"].tolist() == [None, "3"]


def test_a_header_only_export_gives_an_empty_cohort_and_no_issues():
    frame = pd.DataFrame(
        {"UPN": [], "Legal Surname": [], "NC Year": [], "DOB": [], "Reading KS1": []},
        index=pd.Index([], dtype="int64"),
        dtype=object,
    )
    result = import_cohort([source(frame)], academic_year=YEAR)
    assert len(result.pupils) == 0
    assert list(result.pupils.columns[:3]) == ["upn", "surname", "year_group"]
    assert result.issues.empty
    assert result.counts() == {"error": 0, "warning": 0, "info": 0}


def test_a_reimported_cohort_keeps_its_earlier_bookkeeping_columns_renamed():
    frame = pd.DataFrame(
        {"upn": ["B801200005001"], "source_file": ["sims.csv"], "source_row": [7], "x": ["y"]},
        index=[2],
    )
    pupils = import_cohort([source(frame, "cohort.xlsx")], academic_year=YEAR).pupils
    assert pupils[["source_file (input)", "source_row (input)", "x"]].iloc[0].tolist() == [
        "sims.csv",
        7,
        "y",
    ]
    assert pupils[["source_file", "source_row"]].iloc[0].tolist() == ["cohort.xlsx", 2]


def test_sources_with_no_common_key_cannot_be_joined():
    first = pd.DataFrame({"Surname": ["Smith"]}, index=[2])
    with pytest.raises(UsageError, match="cannot join"):
        import_cohort([source(first, "a.csv"), source(first, "b.csv")], academic_year=YEAR)


# ---------------------------------------------------------------------------------------------
# Properties: nothing lost, every issue placed

SAFE_TEXT = st.text(alphabet="abdeghijklmABDEGH'=-é ñ", max_size=8)  # cannot spell "total"
UPNS = st.sampled_from(
    ["B801200005001", "H801200001001", "A801200005001", "B80120000500", "", None, "x"]
)
YEARS = st.sampled_from(["Year 6", "Y6", "6", "R", "N1", "Year 15", "banana", None])
GRADES = st.sampled_from(["2b", "2B", "L3", "2d", "A", "", None, 4])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(UPNS, SAFE_TEXT, YEARS, GRADES), min_size=0, max_size=25),
    st.integers(min_value=1, max_value=5),
)
def test_every_pupil_row_is_in_the_cohort_exactly_once_in_order(rows, header_row):
    index = list(range(header_row + 1, header_row + 1 + len(rows)))
    frame = pd.DataFrame(
        rows, columns=["UPN", "Legal Surname", "NC Year", "Reading KS1"], index=index, dtype=object
    )
    frame = frame[[any(v not in (None, "") for v in row) for row in rows]] if rows else frame
    result = import_cohort([source(frame, header_row=header_row)], academic_year=YEAR)
    assert result.pupils["source_row"].tolist() == list(frame.index)
    expected_names = [
        None if v in (None, "") else v.strip() or None for v in frame["Legal Surname"]
    ]
    assert [None if pd.isna(v) or v == "" else v for v in result.pupils["surname"]] == [
        n or None for n in expected_names
    ]
    issues = result.issues
    assert issues["source_row"].notna().all()
    assert issues["column"].map(lambda c: isinstance(c, str) and c != "").all()
    assert set(issues["source_row"]) <= set(frame.index) | {header_row}
