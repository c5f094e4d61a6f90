"""`targetkit convert`: the shipped conversions, round trips and reported failures."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from helpers import cli
from hypothesis import given
from hypothesis import strategies as st

from targetkit.pipeline.converting import convert_columns
from targetkit.scales import convert_values, load_scale


def convert(values, source, target):
    return convert_values(pd.Series(values, dtype=object), "col", source, target)


def test_nc_to_points_uses_the_dfe_points():
    result = convert(["W", "2c", "4b", "4", "EP"], "nc", "points")
    assert result.values.tolist() == [3, 13, 27, 27, 57]
    assert result.problems.empty


def test_legacy_gcse_to_attainment8_points_as_the_dfe_mapped_them_for_2017_18():
    result = convert(["A*", "A", "B", "C", "D", "E", "F", "G", "U"], "gcse", "attainment8")
    assert result.values.tolist() == [8.5, 7, 5.5, 4, 3, 2, 1.5, 1, 0]


def test_gcse91_to_attainment8_points_are_the_grade_numbers():
    assert convert(["9", "4", "U"], "gcse91", "attainment8").values.tolist() == [9, 4, 0]


def test_gcse_to_gcse91_follows_the_ofqual_anchors_and_is_marked_approximate():
    result = convert(["A", "C", "G", "A*", "U"], "gcse", "gcse91")
    # bottom of A = bottom of 7; bottom of C = bottom of 4; bottom of G = bottom of 1
    assert result.values.tolist() == ["7", "4", "1", "8", "U"]
    assert result.approximate


def test_eyfs_outcomes_map_to_the_end_of_year_1_steps_the_policy_gives():
    assert convert(["1", "2", "3"], "eyfs", "steps").values.tolist() == ["1w", "1w+", "1s+"]


def test_codes_and_unknown_values_are_reported_not_guessed():
    result = convert_values(
        pd.Series(["2b", "A", "2d", None], index=[5, 6, 7, 8]), "reading_ks1", "nc", "points"
    )
    assert result.values.tolist()[0] == 15
    assert result.values.iloc[1:].isna().all()
    problems = result.problems
    assert problems.index.tolist() == [6, 7]
    assert problems.loc[6, "message"].startswith("a non-grade code")
    assert problems.loc[7, "value"] == "2d" and "not a grade" in problems.loc[7, "message"]


@given(st.sampled_from(["nc", "steps", "gcse", "gcse91", "ks2ss", "eyfs", "pscales"]), st.data())
def test_to_points_and_back_keeps_every_main_grade(name, data):
    grades = data.draw(st.lists(st.sampled_from(load_scale(name).grade_names), min_size=1))
    points = convert(grades, name, "points").values
    back = convert_values(points.astype(object), "col", "points", name)
    assert back.values.tolist() == grades


def test_points_that_no_grade_has_are_reported():
    result = convert_values(pd.Series([27, 28]), "col", "points", "nc")
    assert result.values.tolist() == ["4b", None]
    assert result.problems.index.tolist() == [1]


def test_converted_columns_stand_beside_their_source_and_rows_are_kept():
    frame = pd.DataFrame({"upn": ["a", "b"], "Reading KS1": ["2b", "3"], "maths_ks1": ["1c", "W"]})
    result = convert_columns(frame, ["reading_ks1", "Maths KS1"], "nc", "points")
    assert list(result.frame.columns) == [
        "upn",
        "Reading KS1",
        "Reading KS1_points",
        "maths_ks1",
        "maths_ks1_points",
    ]
    assert result.frame["Reading KS1_points"].tolist() == [15, 21]
    pd.testing.assert_frame_equal(result.frame[frame.columns], frame)


def test_cli_convert_writes_a_workbook_and_reports_rows(tmp_path):
    source = tmp_path / "cohort.csv"
    source.write_text("upn,reading_ks1\nB801200005001,2B\nH801200001001,2d\n", encoding="utf-8")
    result = cli(
        "convert",
        source,
        "--column",
        "reading_ks1",
        "--from",
        "nc",
        "--to",
        "points",
        "-o",
        tmp_path / "out.xlsx",
    )
    assert result.exit_code == 0, result.output
    assert "row 3, column 'reading_ks1': '2d'" in result.stdout  # a result, not progress
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    rows = list(book["Converted"].iter_rows(values_only=True))
    assert rows == [
        ("upn", "reading_ks1", "reading_ks1 as points"),
        ("B801200005001", "2B", 15),
        ("H801200001001", "2d", None),
    ]
    problems = list(book["Not converted"].iter_rows(values_only=True))
    assert problems[1][:3] == (3, "reading_ks1", "2d")
    assert source.read_text(encoding="utf-8").startswith("upn,reading_ks1")  # input unchanged


def test_cli_convert_to_csv_and_json_summary(tmp_path):
    source = tmp_path / "gcse.csv"
    source.write_text("upn,english_ks4\nx,C\ny,X\n", encoding="utf-8")
    result = cli(
        "convert",
        source,
        "--column",
        "english_ks4",
        "--from",
        "gcse",
        "--to",
        "gcse91",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["command"] == "convert"
    assert document["summary"]["approximate"] is True
    assert document["summary"]["not_converted"] == 1
    assert document["summary"]["by_severity"]["warning"] == 1
    assert document["findings"] == [
        {
            "severity": "warning",
            "code": "NOT_CONVERTED",
            "row": 3,
            "column": "english_ks4",
            "value": "X",
            "message": "a non-grade code (missing with a reason)",
            "suggestion": "",
        }
    ]
    written = (tmp_path / "gcse-gcse91.csv").read_text(encoding="utf-8-sig").splitlines()
    assert written == ["upn,english_ks4,english_ks4_gcse91", "x,C,4", "y,X,"]


def test_cli_convert_list_names_every_conversion():
    result = cli("convert", "--list", "--format", "json")
    document = json.loads(result.stdout)
    assert document["command"] == "convert" and document["findings"] == []
    rows = document["summary"]["conversions"]
    assert document["summary"]["count"] == len(rows)
    pairs = {(row["from"], row["to"]) for row in rows}
    assert {
        ("nc", "points"),
        ("gcse", "gcse91"),
        ("gcse", "attainment8"),
        ("gcse91", "attainment8"),
        ("eyfs", "steps"),
    } <= pairs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "nope", "--from", "nc", "--to", "points"], "no column 'nope'"),
        (
            ["--column", "reading_ks1", "--from", "nc", "--to", "gcse"],
            "no conversion from nc to gcse",
        ),
        (
            ["--column", "reading_ks1", "--from", "levels", "--to", "points"],
            "unknown scale 'levels'",
        ),
        (["--from", "nc", "--to", "points"], "at least one --column"),
    ],
)
def test_cli_convert_bad_usage_exits_2_with_one_line(tmp_path, args, message):
    source = tmp_path / "c.csv"
    source.write_text("upn,reading_ks1\nx,2b\n", encoding="utf-8")
    result = cli("convert", source, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
