"""Single and double award kept apart (issue 15): a ks4 submission is read on `gcse91_any`
(9-1 and Combined Science's double grades in one scale), but each subject takes one kind of
grade. A double grade (`5-4`) typed for a single-award subject, or a single grade (`4`) for
Combined Science, is not a grade of that subject: INVALID_TARGET, as for any bad grade."""

from __future__ import annotations

import json

import openpyxl
import pytest

from targetkit.subjects import award_scale
from tests.helpers import cli
from tests.test_gcse_targets import UPNS, write_cohort


@pytest.mark.parametrize(
    ("subject", "scale", "expected"),
    [
        ("combined_science", "gcse91_any", "gcse91_double"),  # two slots: double award
        ("history", "gcse91_any", "gcse91"),
        ("maths", "gcse91_any", "gcse91"),
        ("english", "gcse91_any", "gcse91"),  # not a GCSE key: English of English and maths
        ("history", "gcse91", "gcse91"),  # any other scale is every subject's
        ("reading", "nc", "nc"),
    ],
)
def test_award_scale(subject, scale, expected):
    assert award_scale(subject, scale) == expected


def _retype(path, out, changes: dict[tuple[int, str], object]) -> None:
    """Save a copy of the targets workbook with some target cells typed over: (pupil's row on
    the Targets sheet, header in lower case) → value."""
    book = openpyxl.load_workbook(path)
    sheet = book["Targets"]
    header = {str(c.value).lower(): c.column for c in sheet[1]}
    for (row, name), value in changes.items():
        sheet.cell(row, header[name]).value = value
    book.save(out)


def test_a_grade_of_the_other_award_is_not_a_target(tmp_path):
    targets = tmp_path / "targets.xlsx"
    cohort = write_cohort(tmp_path / "cohort.xlsx")
    assert cli("set-targets", cohort, "-o", targets).exit_code == 0
    edited = tmp_path / "edited.xlsx"
    # Pupil 1 (row 2) takes history, Combined Science and maths; pupil 2 (row 3) maths and
    # Spanish. Valid: 5/4 in Combined Science (read as 5-4), 6 in Spanish.
    _retype(
        targets,
        edited,
        {
            (2, "history target"): "5-4",
            (2, "combined science target"): "4",
            (2, "maths target"): "6-5",
            (3, "spanish target"): 6,
        },
    )
    result = cli("check-ambition", edited, "--format", "json")
    found = json.loads(result.stdout)["findings"]
    invalid = {
        (f["upn"], f["subject"]): f["message"] for f in found if f["code"] == "INVALID_TARGET"
    }
    assert set(invalid) == {
        (UPNS[0], "history"),
        (UPNS[0], "combined_science"),
        (UPNS[0], "maths"),
    }
    assert "'5-4' is not a grade of the gcse91 scale" in invalid[(UPNS[0], "history")]
    assert "'4' is not a grade of the gcse91_double scale" in invalid[(UPNS[0], "combined_science")]
    assert "'6-5' is not a grade of the gcse91 scale" in invalid[(UPNS[0], "maths")]
    severities = {f["severity"] for f in found if f["code"] == "INVALID_TARGET"}
    assert severities == {"challenge"}


def test_combined_science_spellings_are_its_grades(tmp_path):
    # 1/1 is Combined Science's 1-1: a valid grade, and counted as one (below the band's
    # minimum), not skipped as an unreadable target
    targets = tmp_path / "targets.xlsx"
    assert cli("set-targets", write_cohort(tmp_path / "cohort.xlsx"), "-o", targets).exit_code == 0
    edited = tmp_path / "edited.xlsx"
    _retype(targets, edited, {(2, "combined science target"): "1/1"})
    found = json.loads(cli("check-ambition", edited, "--format", "json").stdout)["findings"]
    assert [f for f in found if f["code"] in ("INVALID_TARGET", "MISSING_TARGET")] == []
    below = {(f["upn"], f["subject"]) for f in found if f["code"] == "BELOW_EXPECTED_PROGRESS"}
    assert below == {(UPNS[0], "combined_science")}
