"""A bad grade in a working-at column is never dropped silently (issue 15): set-targets leaves
it out of the latest attainment, flags the pupil's row WORKING_AT_NOT_A_GRADE and names the
column and the value in the subject's reason (the target's comment). One rule for English and
maths and every GCSE subject, each read on its own award (`5-4` is no history grade, `5` no
Combined Science grade)."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.pipeline.targets import unread_grades
from targetkit.scales import load_scale
from tests.helpers import cli, read_named

UPNS = ["A100000000001", "A100000000002", "A100000000003"]


def cohort(**working_at: list[object]) -> pd.DataFrame:
    """Three Year 10 pupils, all KS2 104 and 105 (band 102.5 - 104.5: minimum grade 4),
    entered for history and Combined Science."""
    return pd.DataFrame(
        {
            "upn": UPNS,
            "year_group": [10, 10, 10],
            "reading_ks2": [104, 104, 104],
            "maths_ks2": [105, 105, 105],
            "history_entered": ["yes"] * 3,
            "combined_science_entered": ["yes"] * 3,
            **working_at,
        }
    )


def set_targets(tmp_path, frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, dict, object]:
    source = tmp_path / f"{name}.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / f"{name}-targets.xlsx"
    result = cli("set-targets", source, "-o", out, "--format", "json")
    assert result.exit_code == 0, result.output
    return read_named(out, "Targets"), json.loads(result.stdout), out


def test_wrong_award_and_misspelt_grades_are_flagged_named_and_not_used(tmp_path):
    bad = cohort(
        history_sum2=["5-4", "7", None],  # a double grade for history
        combined_science_sum2=["5", "7-7", None],  # a single grade for Combined Science
        english_sum2=["four", None, None],  # the policy's English, the same rule
    )
    targets, report, out = set_targets(tmp_path, bad, "bad")
    flagged = targets["flags"].fillna("").str.contains("WORKING_AT_NOT_A_GRADE")
    assert flagged.tolist() == [True, False, False]
    first = targets.iloc[0]
    assert first["history_reason"].endswith(
        "; working-at value not used (not a grade of the gcse91 scale): history_sum2 '5-4'"
    )
    assert first["combined_science_reason"].endswith(
        "(not a grade of the gcse91_double scale): combined_science_sum2 '5'"
    )
    assert first["english_reason"].endswith("gcse91 scale): english_sum2 'four'")
    assert "not used" not in str(targets.iloc[1]["history_reason"])
    # pupil 2's grades of the right award are the latest attainment: the targets are not below
    # them (7 in history, 7-7 in Combined Science, above the band's minimum 4 and 4-4)
    assert int(targets.iloc[1]["history_target"]) >= 7
    assert int(str(targets.iloc[1]["combined_science_target"]).split("-")[1]) >= 7
    # pupil 1's bad values are not used: the targets are those of a cohort without them
    without = bad.drop(columns=["english_sum2"]).assign(
        history_sum2=[None, "7", None], combined_science_sum2=[None, "7-7", None]
    )
    clean, _, _ = set_targets(tmp_path, without, "clean")
    for column in ("history_target", "combined_science_target", "english_target"):
        assert str(first[column]) == str(clean.iloc[0][column])
    # a warning in JSON, on the cohort file's row 2 (row 1 is the header), once
    found = [f for f in report["findings"] if f["code"] == "WORKING_AT_NOT_A_GRADE"]
    assert [(f["severity"], f["row"]) for f in found] == [("warning", 2)]
    # the target cell's comment says it too
    sheet = openpyxl.load_workbook(out)["Targets"]
    header = {c.value: c.column for c in sheet[1]}
    assert "history_sum2 '5-4'" in sheet.cell(2, header["History target"]).comment.text


def test_codes_and_blanks_are_not_bad_grades(tmp_path):
    """The scale's codes (gcse91: ABS absent, X no result, Q pending) and blanks are readable
    values, not typing slips."""
    targets, report, _ = set_targets(
        tmp_path, cohort(history_aut1=["ABS", "X", None], maths_aut1=[" ", "6", "Q"]), "codes"
    )
    assert not targets["flags"].fillna("").str.contains("WORKING_AT_NOT_A_GRADE").any()
    assert not [f for f in report["findings"] if f["code"] == "WORKING_AT_NOT_A_GRADE"]


GOOD = ["4", "9", "U", "ABS", "X", "", None]
BAD = ["5-4", "four", "4+", "10", "A"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(GOOD + BAD), min_size=3, max_size=3), min_size=1,
                max_size=6))  # fmt: skip
def test_a_pupil_is_named_exactly_when_a_drop_holds_a_value_of_no_grade(rows):
    """Property: every unknown value of every drop is named, in column order, and nothing else."""
    frame = pd.DataFrame(rows, columns=["history_aut1", "history_spr1", "history_sum2"])
    found = unread_grades(frame.assign(maths_aut1="nonsense"), "history", load_scale("gcse91"))
    for row, values in zip(found, rows, strict=True):
        named = [f"{c} '{v}'" for c, v in zip(frame.columns, values, strict=True) if v in BAD]
        assert row == (", ".join(named) if named else None)
