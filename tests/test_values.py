"""Value normalisers of `targetkit import`: each spelling an MIS uses, worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from targetkit.pipeline import values as v


def series(*items: object, start: int = 2) -> pd.Series:
    return pd.Series(list(items), index=range(start, start + len(items)), dtype=object)


def test_yes_no_flags_in_every_spelling_become_true_false_or_blank():
    result = v.normalise_boolean(series("Y", "n", "Yes", "NO", "True", "f", "1", "0", None, " "))
    expected = [True, False, True, False, True, False, True, False, pd.NA, pd.NA]
    assert result.values.tolist() == expected
    assert result.issues.empty


def test_a_flag_that_is_not_yes_or_no_is_an_error_and_left_blank():
    result = v.normalise_boolean(series("Y", "maybe"))
    assert result.values.tolist() == [True, pd.NA]
    assert result.issues.loc[3, "severity"] == "error"
    assert result.issues.loc[3, "value"] == "maybe"


def test_workbook_true_false_cells_are_kept():
    assert v.normalise_boolean(series(True, False)).values.tolist() == [True, False]


@pytest.mark.parametrize(
    ("text", "year_group"),
    [
        ("Year 3", 3),
        ("Y3", 3),
        ("3", 3),
        (3, 3),
        ("Yr 3", 3),
        ("NC Year 10", 10),
        ("R", 0),
        ("Rec", 0),
        ("Reception", 0),
        ("YR", 0),
        ("N1", -1),
        ("N2", -1),
        ("Nursery", -1),
    ],
)
def test_year_groups_as_schools_write_them(text, year_group):
    assert v.normalise_year_group(series(text)).values.tolist() == [year_group]


def test_year_groups_out_of_range_or_unreadable_are_errors():
    result = v.normalise_year_group(series("Year 15", "Class 4", "6"))
    assert result.values.tolist() == [pd.NA, pd.NA, 6]
    assert result.issues["code"].tolist() == ["YEAR_GROUP_OUT_OF_RANGE", "NOT_A_YEAR_GROUP"]
    assert result.issues.index.tolist() == [2, 3]


def test_gender_words_become_f_and_m():
    result = v.normalise_gender(series("F", "male", "Girl", "X"))
    assert result.values.tolist() == ["F", "M", "F", None]
    assert result.issues["code"].tolist() == ["NOT_A_GENDER"]


def test_old_sen_codes_are_changed_with_a_note():
    # A (School Action) and P (School Action Plus) became SEN support K; S (statement) became E.
    result = v.normalise_sen(series("A", "P", "S", "N", "K", "E", "SEN Support", "EHC Plan"))
    assert result.values.tolist() == ["K", "K", "E", "N", "K", "E", "K", "E"]
    assert result.issues["code"].tolist() == ["OLD_SEN_CODE"] * 3
    assert result.issues["severity"].tolist() == ["info"] * 3
    assert result.issues.loc[2, "message"] == "old SEN code A (School Action) recorded as K"


def test_first_language_english_is_not_eal_other_is_and_not_obtained_is_unknown():
    result = v.normalise_eal(series("ENG", "ENB", "OTH", "OTB", "NOT", "REF", "Y", "N"))
    assert result.values.tolist() == [False, False, True, True, pd.NA, pd.NA, True, False]
    assert result.issues.empty


def test_a_first_language_named_in_full_counts_as_eal_with_a_note():
    result = v.normalise_eal(series("English", "Polish"))
    assert result.values.tolist() == [False, True]
    assert result.issues["code"].tolist() == ["LANGUAGE_NAMED"]


def test_ethnicity_codes_are_checked_against_the_cbds_list():
    result = v.normalise_ethnicity(series("wbri", "White - British", "APKN", "WBR"))
    assert result.values.tolist() == ["WBRI", "WBRI", "APKN", None]
    assert result.issues.loc[5, "code"] == "NOT_AN_ETHNICITY_CODE"
    assert "WBRI" in result.issues.loc[5, "suggestion"]


def test_uk_dates_are_read_day_first_never_as_us_dates():
    result = v.normalise_date(series("03/04/2016", "17/02/2016", "1/9/2015", "17.02.2016"))
    assert result.values.tolist() == [
        dt.date(2016, 4, 3),  # 3 April, not 4 March
        dt.date(2016, 2, 17),
        dt.date(2015, 9, 1),
        dt.date(2016, 2, 17),
    ]


def test_a_month_first_date_is_an_error_with_the_uk_spelling_suggested():
    result = v.normalise_date(series("02/17/2016"))
    assert result.values.tolist() == [None]
    assert result.issues.loc[2, "code"] == "US_DATE"
    assert result.issues.loc[2, "suggestion"] == "17/02/2016"


def test_iso_dates_excel_serials_and_workbook_dates():
    # Excel serial 42370: 42370 days after 30/12/1899 is 01/01/2016.
    result = v.normalise_date(
        series("2016-02-17", 42370, "42370", dt.datetime(2016, 2, 17), "2016-02-17 00:00:00")
    )
    assert result.values.tolist() == [
        dt.date(2016, 2, 17),
        dt.date(2016, 1, 1),
        dt.date(2016, 1, 1),
        dt.date(2016, 2, 17),
        dt.date(2016, 2, 17),
    ]


def test_impossible_dates_and_text_are_errors():
    result = v.normalise_date(series("29/02/2011", "soon"))
    assert result.values.tolist() == [None, None]
    assert result.issues["code"].tolist() == ["NOT_A_DATE", "NOT_A_DATE"]


def test_two_digit_years_are_read_as_this_century_with_a_note():
    result = v.normalise_date(series("17/02/16"), latest_year=2026)
    assert result.values.tolist() == [dt.date(2016, 2, 17)]
    assert result.issues.loc[2, "code"] == "TWO_DIGIT_YEAR"


def test_attendance_percentages_and_excel_fractions():
    assert v.normalise_attendance(series("95.5%", "100", "87")).values.tolist() == [
        95.5,
        100,
        87,
    ]
    # Excel shows 0.955 formatted as 95.5%; a column of fractions is scaled up.
    scaled = v.normalise_attendance(series(0.955, 0.5)).values.tolist()
    assert scaled == pytest.approx([95.5, 50.0])
    wrong = v.normalise_attendance(series("150", "lots"))
    assert wrong.values.isna().all()
    assert sorted(wrong.issues.index) == [2, 3]


def test_dates_of_birth_map_to_year_groups_by_the_1_september_cut_off():
    # In 2026/27 Year 6 was born 1/9/2015-31/8/2016 and Reception 1/9/2021-31/8/2022.
    dob = series(
        dt.date(2015, 9, 1), dt.date(2016, 8, 31), dt.date(2015, 8, 31), dt.date(2021, 9, 1), None
    )
    assert v.birth_year_group(dob, 2026).tolist() == [6, 6, 7, 0, pd.NA]


def test_names_keep_their_spelling_and_lose_surrounding_spaces():
    result = v.normalise_text(series(" O'Brien ", "=1+1", "Zoë", 1258))
    assert result.values.tolist() == ["O'Brien", "=1+1", "Zoë", "1258"]


@pytest.mark.parametrize(
    "normaliser",
    [
        v.normalise_boolean,
        v.normalise_year_group,
        v.normalise_gender,
        v.normalise_sen,
        v.normalise_eal,
        v.normalise_ethnicity,
        v.normalise_text,
        v.normalise_attendance,
        v.normalise_date,
    ],
)
def test_every_normaliser_takes_an_empty_column_and_an_all_blank_column(normaliser):
    empty = normaliser(pd.Series([], dtype=object))
    assert len(empty.values) == 0 and empty.issues.empty
    blank = normaliser(series(None, "", "  "))
    assert blank.values.isna().all() and blank.issues.empty
    assert blank.values.index.tolist() == [2, 3, 4]
