"""Real export formats (issue 13): a CTF, DfE KS2 and census downloads, a UTF-16 tab file and a
SIMS list with Y/blank flags and dates in words. The expected `Pupils` and `Data issues` beside
each golden input were worked out by hand (tests/golden/import/README.md)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest
from helpers import cli, read_named, run_targetkit
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.columns import canonical_name
from targetkit.ctf import read_ctf
from targetkit.errors import InputError
from targetkit.pipeline.importing import SourceTable, import_cohort
from targetkit.pipeline.values import (
    normalise_date,
    normalise_eal,
    normalise_ethnicity,
    normalise_sen,
    vocabulary,
)
from targetkit.scales import load_scale
from tests.test_import import GOLDEN, assert_matches_golden, read_source

# (input file, academic year the expected files were worked out for)
REAL_EXPORTS = [
    ("dfe-ks2-download.csv", 2026),
    ("dfe-census-download.csv", 2026),
    ("unicode-text-students.txt", 2026),
    ("sims-student-list.csv", 2026),
]


@pytest.mark.parametrize(("name", "year"), REAL_EXPORTS)
def test_real_exports_give_the_hand_worked_pupils_and_issues(name, year):
    result = import_cohort([read_source(GOLDEN / name)], academic_year=year)
    assert_matches_golden(result, name.rsplit(".", 1)[0], name)


def test_a_common_transfer_file_gives_the_hand_worked_pupils_and_issues():
    # The KS2 CTF of July 2026 is imported in 2025/26, the year its pupils are in Year 6.
    result = import_cohort([read_ctf(GOLDEN / "ctf-oakfield.xml")], academic_year=2025)
    assert_matches_golden(result, "ctf-oakfield", "ctf-oakfield.xml")


def test_the_dfe_downloads_say_where_disadvantaged_came_from():
    ks2 = import_cohort([read_source(GOLDEN / "dfe-ks2-download.csv")], academic_year=2026)
    assert (
        ks2.disadvantaged_from == "derived as ever-6 FSM (no disadvantaged or pupil premium column)"
    )
    sims = import_cohort([read_source(GOLDEN / "sims-student-list.csv")], academic_year=2026)
    assert (
        sims.disadvantaged_from == "from the column 'Pupil Premium  (Y/N)' of sims-student-list.csv"
    )


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("DateOfBirth", "dob"),
        ("NCYear", "year_group"),
        ("PreferredFirstName", "preferred_forename"),
        ("LegalSurname", "surname"),
        ("FSMEver6", "fsm_ever6"),
        ("Date.Of.Birth", "dob"),
        ("KS2_READSCORE", "reading_ks2"),
        ("KS2_MATSCORE", "maths_ks2"),
        ("FSMeligible_SPR24", "fsm"),
        ("EVERFSM_6", "fsm_ever6"),
        ("Ever in care", "ever_in_care"),
        ("Disadvantaged (PP)", "disadvantaged"),
        ("Pupil Premium  (Y/N)", "disadvantaged"),
        ("SEND  (E / K / N)", "sen"),
        ("Gender  (M/F)", "gender"),
        ("SEN Code", "sen"),
        ("Reg", "reg_group"),
        ("Full Name", "full_name"),
        ("Name", "full_name"),
        ("Pupil Name", "full_name"),
        ("Student", "full_name"),
        ("Surname Forename", "full_name"),
        ("Forename Surname", "full_name"),
        ("Known As", "preferred_name"),
        ("Preferred Name", "preferred_name"),
        ("Preferred Forename", "preferred_forename"),
        ("Preferred Surname", "preferred_surname"),
        ("Middle Name(s)", "middle_names"),
        ("Former Surname", "former_surname"),
        ("Exam No.", "candidate_number"),
        ("Candidate Number", "candidate_number"),
        ("Email", "email"),
        ("English as additional language", "eal"),
        ("Eligible for free meals", "fsm"),
        ("KS2 Reading (Scaled score)", "reading_ks2"),
        ("KS2 Reading (Outcome)", "reading_ks2_outcome"),
        ("ReadingKS1", "reading_ks1"),
        # KS1 TAs as the DfE's KS1 statistics name them (readta, writta, matta), NPD-prefixed
        ("KS1_READTA", "reading_ks1"),
        ("KS1_WRITTA", "writing_ks1"),
        ("KS1 MATTA", "maths_ks1"),
    ],
)
def test_real_header_spellings_are_recognised(header, canonical):
    assert canonical_name(header) == canonical


def test_text_in_brackets_still_counts_and_a_ks1_prefix_never_makes_a_ks2_column():
    assert canonical_name("KS2 Reading (Scaled score)") != canonical_name("KS2 Reading (Outcome)")
    assert canonical_name("Gender (Legal)") is None
    assert canonical_name("KS1_MATSCORE") != "maths_ks2"
    # an alias of a KS2 column that is not a grade column (an outcome) is not KS1's either
    assert canonical_name("KS1_READOUTCOME") != "reading_ks2_outcome"
    assert canonical_name("KS2_READOUTCOME") == "reading_ks2_outcome"


def test_an_xml_file_that_is_not_a_ctf_is_refused_naming_what_it_is(tmp_path):
    atf = tmp_path / "admissions.xml"
    atf.write_text('<?xml version="1.0"?><ATfile><Header/></ATfile>', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a Common Transfer File.*Admissions Transfer File"):
        read_ctf(atf)
    other = tmp_path / "feed.xml"
    other.write_text("<rss><channel/></rss>", encoding="utf-8")
    with pytest.raises(InputError, match="its root element is <rss>"):
        read_ctf(other)


def test_a_ctf_declaring_entities_is_refused_before_anything_is_expanded(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE CTfile [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<CTfile><CTFpupilData><Pupil><UPN>&b;</UPN></Pupil></CTFpupilData></CTfile>",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="declares a DTD or entities"):
        read_ctf(bomb)
    external = tmp_path / "external.xml"
    external.write_text(
        '<?xml version="1.0"?><!DOCTYPE CTfile SYSTEM "http://example.com/x.dtd"><CTfile/>',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="declares a DTD"):
        read_ctf(external)


def test_a_broken_ctf_names_the_line(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<CTfile>\n<CTFpupilData>\n<Pupil>\n</CTFpupilData>\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_ctf(broken)
    assert "not well formed" in str(raised.value)
    assert raised.value.row == 4  # the mismatched end tag


# ---------------------------------------------------------------------------------------------
# On the command line


def sheet(path, name):
    """A sheet's rows as dicts by column name (targetkit's headers in words read back)."""
    from targetkit.labels import label

    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    issue_columns = ("severity", "code", "column", "value", "message", "suggestion")
    words = {label(column): column for column in issue_columns}  # Data issues' headers
    names = [words.get(h) or canonical_name(h) or h for h in rows[0]]
    return [dict(zip(names, row, strict=True)) for row in rows[1:]]


def test_import_of_a_ctf_writes_its_pupils_and_results_to_the_workbook(tmp_path):
    ctf = tmp_path / "880LLLL_CTF_8804001_001.xml"
    shutil.copy(GOLDEN / "ctf-oakfield.xml", ctf)
    out = tmp_path / "cohort.xlsx"
    result = cli("import", ctf, "-o", out, "--academic-year", "2025/26")
    assert result.exit_code == 0, result.stderr
    assert "Imported 4 pupils" in result.stdout
    pupils = sheet(out, "Pupils")
    assert [p["upn"] for p in pupils] == [
        "H880331215001",
        "X880331215002",
        "A880331214003",
        "B880331219004",
    ]
    assert (pupils[0]["reading_ks2"], pupils[0]["maths_ks2"], pupils[0]["writing_ks2"]) == (
        "108",
        "111",
        "EXS",
    )
    assert (pupils[2]["reading_eyfs"], pupils[2]["writing_eyfs"], pupils[2]["maths_eyfs"]) == (
        "2",
        "1",
        "2",
    )
    codes = [row["code"] for row in sheet(out, "Data issues")]
    assert codes.count("CTF_RESULT_NOT_USED") == 2
    assert "EYFS_AREA_INCOMPLETE" in codes


def test_a_ctf_with_another_suffix_is_still_read_as_a_ctf_not_as_lines_of_text(tmp_path):
    # Before issue 13 each XML line became a pupil: "Imported 274 pupils", exit 0.
    renamed = tmp_path / "results.csv"
    shutil.copy(GOLDEN / "ctf-oakfield.xml", renamed)
    out = tmp_path / "cohort.xlsx"
    result = cli("import", renamed, "-o", out, "--academic-year", "2025/26")
    assert result.exit_code == 0, result.stderr
    assert len(sheet(out, "Pupils")) == 4


def test_an_xml_that_is_not_a_ctf_exits_2_naming_what_it_is(tmp_path):
    workbook = tmp_path / "export.xml"
    workbook.write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
        "<Worksheet/></Workbook>",
        encoding="utf-8",
    )
    result = cli("import", workbook)
    assert result.exit_code == 2
    assert "not a Common Transfer File (CTF): an Excel 2003 XML spreadsheet" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_commands_refuse_an_xml_file_instead_of_reading_its_lines(tmp_path):
    ctf = tmp_path / "cohort.csv"
    shutil.copy(GOLDEN / "ctf-oakfield.xml", ctf)
    result = cli("set-targets", ctf, "--policy", "ks2", "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 2
    assert "this is an XML file, not a table" in result.stderr


def test_a_ctf_imports_end_to_end_in_a_real_process(tmp_path):
    ctf = tmp_path / "ks2.xml"
    shutil.copy(GOLDEN / "ctf-oakfield.xml", ctf)
    done = run_targetkit("import", ctf, "--academic-year", "2025/26", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"pupils": 4' in done.stdout
    assert (tmp_path / "ks2-cohort.xlsx").exists()


# ---------------------------------------------------------------------------------------------
# Values and invariants


ALIASES = ["Date of Birth", "NC Year", "Preferred First Name", "Legal Surname", "FSM Ever 6"]


@given(
    alias=st.sampled_from(ALIASES),
    separator=st.sampled_from(["", " ", "_", "-", ".", "  ", " - "]),
    upper=st.booleans(),
)
def test_a_header_means_the_same_whatever_its_separators_and_case(alias, separator, upper):
    words = alias.split()
    spelt = separator.join(w.capitalize() for w in words)
    assert canonical_name(spelt.upper() if upper else spelt) == canonical_name(alias)


@given(day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_dates_with_the_month_in_words_read_as_that_date(day):
    spellings = [
        f"{day.day} {day:%B %Y}",
        f"{day:%d %b %Y}",
        f"{day:%d-%b-%Y}",
        f"{day.day} {day:%b}. {day.year}",
    ]
    result = normalise_date(pd.Series(spellings, index=range(2, 6)), latest_year=2030)
    assert result.values.tolist() == [day] * 4
    assert result.issues.empty


def test_a_date_in_words_with_a_two_digit_year_says_how_it_was_read():
    result = normalise_date(pd.Series(["13-Apr-14", "2 Sep 99"], index=[2, 3]), latest_year=2026)
    assert result.values.tolist() == [dt.date(2014, 4, 13), dt.date(1999, 9, 2)]
    assert result.issues["message"].tolist() == [
        "two-digit year read as 2014",
        "two-digit year read as 1999",
    ]
    assert normalise_date(pd.Series(["31 Feb 2014", "13 Brumaire 2014"])).values.tolist() == [
        None,
        None,
    ]


def test_every_cbds_code_and_its_labels_read_as_that_code():
    codes = vocabulary().ethnicity
    for code, labels in codes.items():
        values = pd.Series([code, code.lower(), *labels, f"{code} - {labels[0]}"])
        result = normalise_ethnicity(values)
        assert set(result.values) == {code}, code
        assert result.issues.empty


def test_every_extended_ethnicity_code_rolls_up_to_its_main_code_with_a_note():
    extended = vocabulary().ethnicity_extended.codes
    assert set(extended) <= set(vocabulary().ethnicity)
    for main, subs in extended.items():
        result = normalise_ethnicity(pd.Series(subs))
        assert set(result.values) == {main}
        assert set(result.issues["code"]) == {"EXTENDED_ETHNICITY_CODE"}


@pytest.mark.parametrize(
    ("given", "main"),
    [  # rows of the DfE extended codes table (GOV.UK, AP census codes: ethnicity), by hand
        ("WCOR", "WBRI"),  # White - Cornish
        ("WNIR", "WBRI"),  # White - Northern Irish
        ("WSCO", "WBRI"),  # White - Scottish
        ("WOWB", "WBRI"),  # Other White British
        ("WKOS", "WOTH"),  # Kosovan
        ("WTUC", "WOTH"),  # Turkish Cypriot
        ("WEEU", "WOTH"),  # White Eastern European
        ("WOTW", "WOTH"),  # White other
        ("WROG", "WROM"),  # Gypsy
        ("WROO", "WROM"),  # Other Gypsy/Roma
        ("MWAP", "MWAS"),  # White and Pakistani
        ("MWAO", "MWAS"),  # White and any other Asian background
        ("MAOE", "MOTH"),  # Asian and any other ethnic group
        ("MABL", "MOTH"),  # Asian and Black
    ],
)
def test_a_dfe_extended_ethnicity_code_rolls_up_to_the_main_code_the_dfe_table_gives(given, main):
    result = normalise_ethnicity(pd.Series([given, f"{given} - as exported"]))
    assert result.values.tolist() == [main, main]
    assert set(result.issues["code"]) == {"EXTENDED_ETHNICITY_CODE"}


@pytest.mark.parametrize("made_up", ["WPOL", "WLIT", "WLAT"])
def test_codes_that_are_not_in_the_dfe_extended_table_are_not_read_as_ethnicities(made_up):
    # Polish, Lithuanian and Latvian pupils are WEEU (White Eastern European) in the DfE table.
    result = normalise_ethnicity(pd.Series([made_up]))
    assert result.values.tolist() == [None]
    assert result.issues["code"].tolist() == ["NOT_AN_ETHNICITY_CODE"]


def test_ks1_teacher_assessments_carry_the_dfe_prior_attainment_points():
    """Primary school accountability in 2022, KS1 point scores: GDS 10, EXS 8, WTS 6, PKF 4.
    BLW and PK1-PK4 have no confirmed DfE points: they rank below PKF (PK4 level with it)."""
    parsed = load_scale("ks1ta").parse(pd.Series(["GDS", "EXS", "WTS", "PKF", "exs"]))
    assert parsed.points.tolist() == [10.0, 8.0, 6.0, 4.0, 8.0]
    ranks = load_scale("ks1ta").parse(pd.Series(["BLW", "PK1", "PK2", "PK3", "PK4"])).points
    assert ranks.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("K - SEN Support", "K"),
        ("E - EHCP", "E"),
        ("N - No SEN", "N"),
        ("SEN Support", "K"),
        ("EHCP", "E"),
        ("E – EHC plan", "E"),
    ],
)
def test_sen_as_code_plus_words_or_in_words(value, code):
    assert normalise_sen(pd.Series([value])).values.tolist() == [code]


def test_ealgrp_and_language_codes_are_read_by_their_meaning():
    frame = pd.DataFrame({"UPN": [None] * 4, "EALGRP": ["1", "2", "3", "9"]}, index=range(2, 6))
    result = import_cohort([SourceTable("npd.csv", frame)], academic_year=2026)
    assert result.pupils["eal"].tolist()[:3] == [False, True, pd.NA]
    assert result.issues.query("code == 'NOT_A_LANGUAGE'")["value"].tolist() == ["9"]
    languages = normalise_eal(pd.Series(["ENG", "ENB", "POL", "URD", "NOT", "REF"]))
    assert languages.values.tolist() == [False, False, True, True, pd.NA, pd.NA]
    assert languages.issues.empty


@pytest.mark.parametrize(
    ("values", "expected", "noted"),
    [
        (["Y", None, "Y", " "], [True, False, True, False], True),
        (["Yes", None, "yes"], [True, False, True], True),
        (["Y", "N", None], [True, False, pd.NA], False),  # a real "no" exists: blank unknown
        (["Y", "Yes", None], [True, True, pd.NA], False),  # two spellings: not an export of Y
        ([None, None], [pd.NA, pd.NA], False),
    ],
)
def test_a_flag_column_of_y_and_blanks_reads_blank_as_no_only_then(values, expected, noted):
    frame = pd.DataFrame({"FSM": values}, index=range(2, 2 + len(values)))
    result = import_cohort([SourceTable("sims.csv", frame)], academic_year=2026)
    assert result.pupils["fsm"].tolist() == expected
    assert ("BLANK_MEANS_NO" in set(result.issues["code"])) == noted


def test_ever6_and_ever_in_care_feed_disadvantaged_and_never_fsm_or_lac():
    frame = pd.DataFrame(
        {
            "FSM": ["N", "N", "Y", "N"],
            "EVERFSM_6": ["Y", "N", "N", "N"],
            "Ever in care": ["N", "Y", "N", "N"],
        },
        index=range(2, 6),
    )
    result = import_cohort([SourceTable("census.csv", frame)], academic_year=2026)
    pupils = result.pupils
    assert pupils["disadvantaged"].tolist() == [True, True, False, False]
    assert pupils["fsm"].tolist() == [False, False, True, False]
    assert "lac" not in pupils
    assert result.disadvantaged_from == (
        "derived as ever-6 FSM or ever in care (no disadvantaged or pupil premium column)"
    )


def test_pseudonymise_replaces_full_names_and_exam_numbers(tmp_path):
    source = tmp_path / "sims-student-list.csv"
    shutil.copy(GOLDEN / "sims-student-list.csv", source)
    key = tmp_path / "key.txt"
    key.write_text("a long random school secret 0123456789")
    out = tmp_path / "shared.xlsx"
    result = cli("import", source, "-o", out, "--pseudonymise", "--key-file", key)
    assert result.exit_code == 0, result.stderr
    everything = repr(sheet(out, "Pupils")) + repr(sheet(out, "Data issues"))
    for private in ("Adams Ella", "Brontë Jack", "4101", "Q880331210101", "002101"):
        assert private not in everything


def test_a_cohort_import_wrote_is_read_again_without_its_kept_columns_clashing():
    # import keeps LAESTAB and ESTAB beside the school column it chose; the other commands
    # read that cohort: the canonical name itself wins, the kept columns stay ordinary ones.
    from targetkit.columns import unambiguous_columns

    found = unambiguous_columns(["upn", "school", "ESTAB", "LAESTAB", "FSM6", "fsm_ever6"], "c")
    assert found == {"upn": "upn", "school": "school", "fsm_ever6": "fsm_ever6"}
    # Without a canonical header, the shipped preference list decides (URN before LAESTAB).
    assert unambiguous_columns(["LAESTAB", "URN"], "c") == {"URN": "school"}
    with pytest.raises(InputError, match="both mean 'reading_ks1'"):
        unambiguous_columns(["Reading KS1", "KS1 Reading"], "c")


RESULT = st.fixed_dictionaries(
    {
        "Stage": st.sampled_from(["KS1", "KS2", "KS3", "MTC"]),
        "Subject": st.sampled_from(["ENG", "MAT", "SCI", "PHO", "ART"]),
        "Method": st.sampled_from(["TT", "TA", "XX"]),
        "Component": st.sampled_from(["RE", "MA", "WRI", "GPS", "PHO", "ZZ"]),
        "ResultQualifier": st.sampled_from(["SS", "TO", "MK", "TA", "QQ"]),
        "Result": st.integers(1, 120).map(str),
        "Year": st.integers(2016, 2026).map(str),
    }
)


def ctf_text(pupils: list[list[dict[str, str]]]) -> str:
    body = []
    for number, results in enumerate(pupils):
        stages = "".join(
            "<KeyStage><Stage>{Stage}</Stage><StageAssessment><Year>{Year}</Year>"
            "<Subject>{Subject}</Subject><Method>{Method}</Method><Component>{Component}"
            "</Component><ResultQualifier>{ResultQualifier}</ResultQualifier>"
            "<Result>{Result}</Result></StageAssessment></KeyStage>".format(**r)
            for r in results
        )
        body.append(
            f"<Pupil>\n<UPN>A{number:012d}</UPN><StageAssessments>{stages}</StageAssessments>"
            "</Pupil>\n"
        )
    return f"<CTfile><Header/><CTFpupilData>\n{''.join(body)}</CTFpupilData></CTfile>"


@settings(max_examples=40, deadline=None)
@given(pupils=st.lists(st.lists(RESULT, max_size=8), min_size=1, max_size=3))
def test_every_ctf_result_is_in_a_column_or_listed(tmp_path_factory, pupils):
    path = tmp_path_factory.mktemp("ctf") / "random.xml"
    path.write_text(ctf_text(pupils), encoding="utf-8")
    table = read_ctf(path)
    results = [c for c in table.frame.columns if c[0].islower()]
    in_columns = int(table.frame[results].notna().sum().sum()) if results else 0
    notes = pd.concat(table.notes) if table.notes else pd.DataFrame({"code": [], "message": []})
    earlier = int((notes["code"] == "CTF_EARLIER_RESULT").sum())
    unused = notes.loc[notes["code"] == "CTF_RESULT_NOT_USED", "message"]
    listed = int(unused.str.extract(r"^(\d+) ")[0].astype(int).sum()) if len(unused) else 0
    assert in_columns + earlier + listed == sum(len(p) for p in pupils)
    assert len(table.frame) == len(pupils)


# ---------------------------------------------------------------------------------------------
# Import → set-targets on a secondary format (SPEC §8 "KS2 prior for KS4")


def test_a_dfe_ks2_download_imports_then_gets_gcse_targets_from_reading_and_maths(tmp_path):
    """The DfE prior is the mean of the KS2 reading and maths scaled scores, or the one score a
    pupil has. Worked by hand from dfe-ks2-download.csv and ks2band.yaml's DfE bands:
    Ahmed 104 and 101 → 102.5 → '102.5 - 104.5'; Baker 96 and 99 → 97.5 → '96 - 99.5';
    Cole reading outcome B (below the test, no reading TA: nominal 79, SPEC §8), maths 88 →
    (79 + 88) / 2 = 83.5 → '80 - 89.5', flagged NOMINAL_KS2_SCORE and not NO_PRIOR_RESULT;
    Doyle reading unreadable (left blank), maths 110 → '110 - 113'; Evans 100 and 100 → '100 - 102'.
    Evans's English 4+ chance is the DfE's 60.3% for band 100 - 102 (DATA.md §2)."""
    source = tmp_path / "ks2.csv"
    shutil.copy(GOLDEN / "dfe-ks2-download.csv", source)
    imported = cli("import", source, "--academic-year", "2026/27", "-o", tmp_path / "c.xlsx")
    assert imported.exit_code == 0, imported.stderr
    done = run_targetkit("set-targets", tmp_path / "c.xlsx", "--policy", "ks4",
                         "-o", tmp_path / "t.xlsx")  # fmt: skip
    assert done.returncode == 0, done.stderr
    pupils = read_named(tmp_path / "t.xlsx", "Targets").set_index("surname")
    assert pupils["maths_prior"].to_dict() == {
        "AHMED": "102.5 - 104.5", "BAKER": "96 - 99.5", "COLE": "80 - 89.5",
        "DOYLE": "110 - 113", "EVANS": "100 - 102",
    }  # fmt: skip
    assert (pupils["english_prior"] == pupils["maths_prior"]).all()
    assert pupils["english_target"].notna().all() and pupils["maths_target"].notna().all()
    assert float(pupils.loc["COLE", "ks2_average_scaled_score"]) == 83.5
    assert pupils.loc["COLE", "flags"].split("; ").count("NOMINAL_KS2_SCORE") == 1
    assert "NO_PRIOR_RESULT" not in pupils.loc["COLE", "flags"]
    assert "reading B → 79" in pupils.loc["COLE", "maths_reason"]
    # a chance is a fraction shown with a % format
    assert float(pupils.loc["EVANS", "english_chance_4plus"]) == pytest.approx(0.603, abs=0.001)


# ---------------------------------------------------------------------------------------------
# Yes/no columns on Pupils: real booleans, shown as TRUE/FALSE in every spreadsheet program


def test_yes_no_columns_are_booleans_every_spreadsheet_program_shows_as_true_or_false(tmp_path):
    """bromcom-students.csv row 4 (D'Souza): FSM True, Looked After 0; blank stays blank."""
    source = tmp_path / "bromcom.csv"
    shutil.copy(GOLDEN / "bromcom-students.csv", source)
    out = tmp_path / "cohort.xlsx"
    assert cli("import", source, "--academic-year", "2026/27", "-o", out).exit_code == 0
    sheet = openpyxl.load_workbook(out)["Pupils"]
    header = [c.value for c in sheet[1]]
    fsm, looked_after = header.index("FSM") + 1, header.index("Looked after") + 1
    dsouza = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 3).value == "D'Souza")
    assert sheet.cell(dsouza, fsm).value is True
    assert sheet.cell(dsouza, looked_after).value is False
    assert sheet.cell(dsouza, fsm).number_format == '"TRUE";"TRUE";"FALSE"'
    assert sheet.cell(dsouza, header.index("SEN") + 1).number_format == "General"
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return  # openpyxl's reading is checked; LibreOffice's display needs LibreOffice
    shown = tmp_path / "shown"
    subprocess.run(
        [soffice, "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,1",
         str(out), "--outdir", str(shown)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    with (shown / "cohort-Pupils.csv").open(encoding="utf-8", newline="") as text:
        rows = list(csv.reader(text))
    by_surname = {row[2]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_surname["D'Souza"]["FSM"] == "TRUE"
    assert by_surname["D'Souza"]["Looked after"] == "FALSE"


@pytest.mark.parametrize(
    ("name", "year", "key", "priors"),
    [
        # Go4Schools-style UTF-16 list, Year 7 (no UPN, no year column): by hand, 104 and 101 →
        # 102.5; 96 and 99 → 97.5; reading blank, maths 88 → 88; 110 and 112 → 111.
        ("unicode-text-students.txt", "2026/27", "full_name", {
            "Ahmed, Zara": "102.5 - 104.5", "Baker, Tom": "96 - 99.5",
            "Cole, Ava": "80 - 89.5", "Núñez, José": "110 - 113",
        }),
        # Bromcom, Year 11: maths 104 and reading 99 → 101.5; maths 121 is no scaled score
        # (left blank), reading 110 → 110; reading B (below the test, no teacher assessment:
        # targetkit's nominal 79, SPEC §8), maths 95 → (79 + 95) / 2 = 87; 100/100.
        ("bromcom-students.csv", "2026/27", "surname", {
            "Ní Bhriain": "100 - 102", "D'Souza": "110 - 113",
            "Kowalczyk": "80 - 89.5", "Smith": "100 - 102",
        }),
        # The KS2 results CTF, imported the year its pupils sat KS2: 108 and 111 → 109.5;
        # 96 and 99 → 97.5; reading test outcome B with no score and no reading TA (nominal
        # 79), maths 102 → (79 + 102) / 2 = 90.5; the Year 2 pupil has no KS2 result: no band,
        # and the target is flagged NO_PRIOR_RESULT.
        ("ctf-oakfield.xml", "2025/26", "surname", {
            "Hart": "107.5 - 109.5", "Khan": "96 - 99.5",
            "Evans": "90 - 95.5", "O'Neill": "No scaled score",
        }),
    ],
)  # fmt: skip
def test_each_secondary_format_imports_then_gets_gcse_targets_from_its_ks2_priors(
    tmp_path, name, year, key, priors
):
    """import → set-targets --policy ks4 on each format with KS2 scaled scores (SPEC §8: the
    prior is the mean of KS2 reading and maths, or the one score a pupil has), bands of
    ks2band.yaml; the golden SIMS list and census download have no KS2 results (exit 2, named)."""
    source = tmp_path / name
    shutil.copy(GOLDEN / name, source)
    imported = cli("import", source, "--academic-year", year, "-o", tmp_path / "c.xlsx")
    assert imported.exit_code == 0, imported.stderr
    done = cli("set-targets", tmp_path / "c.xlsx", "--policy", "ks4", "-o", tmp_path / "t.xlsx")
    assert done.exit_code == 0, done.stderr
    pupils = read_named(tmp_path / "t.xlsx", "Targets").set_index(key)
    assert pupils["maths_prior"].to_dict() == priors
    assert pupils["english_prior"].to_dict() == priors
    assert pupils["english_target"].notna().all() and pupils["maths_target"].notna().all()
    if name.endswith(".xml"):
        assert "NO_PRIOR_RESULT" in pupils.loc["O'Neill", "flags"]
    below_the_test = {"bromcom-students.csv": "Kowalczyk", "ctf-oakfield.xml": "Evans"}.get(name)
    flagged = pupils["flags"].fillna("").str.contains("NOMINAL_KS2_SCORE")
    assert flagged[flagged].index.tolist() == ([below_the_test] if below_the_test else [])
    if below_the_test:
        assert "NO_PRIOR_RESULT" not in str(pupils.loc[below_the_test, "flags"])


@pytest.mark.parametrize("name", ["sims-student-list.csv", "dfe-census-download.csv"])
def test_a_format_without_ks2_results_is_refused_by_ks4_naming_what_it_needs(tmp_path, name):
    source = tmp_path / name
    shutil.copy(GOLDEN / name, source)
    assert (
        cli("import", source, "--academic-year", "2026/27", "-o", tmp_path / "c.xlsx").exit_code
        == 0
    )
    done = cli("set-targets", tmp_path / "c.xlsx", "--policy", "ks4", "-o", tmp_path / "t.xlsx")
    assert done.exit_code == 2
    assert "needs KS2 scaled scores (reading_ks2 or maths_ks2)" in done.stderr
    assert "Traceback" not in done.stderr
