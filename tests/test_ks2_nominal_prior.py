"""SPEC §8 "No prior is not a low prior" at KS4: KS2 outcomes below the standard of the test take
the DfE's nominal scaled scores.

Expected scores are read from `tests/reference/ks2_nominal_scores.csv` (the DfE's table as SISRA
republishes it) with plain `csv`; bands, chances and Attainment 8 estimates are worked by hand
and read from the DfE rows in `tests/reference/` (`ks2_ks4_transition_2024.csv`,
`attainment8_estimates_2024.csv`). targetkit's two choices (EM 62, B without a teacher
assessment 79) are literals here, as docs/rules.md gives them.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.errors import DataFileError
from targetkit.nominal_scores import ks2_nominal_scores
from targetkit.pipeline.ks2_prior import ks2_prior
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy
from targetkit.upn import make_upns
from tests.helpers import cli, column_numbers, read_named, run_targetkit
from tests.test_gcse_targets import dfe_estimate  # the DfE estimate read with plain csv

REFERENCE = Path(__file__).parent / "reference"
KS4_POLICY = Path(__file__).parents[1] / "src" / "targetkit" / "data" / "policies" / "ks4.yaml"
P1_TO_P3 = ["P1i", "P1ii", "P2i", "P2ii", "P3i", "P3ii"]
CHOICES = {"EM": 62.0, "B": 79.0}  # targetkit's, not the DfE's (docs/rules.md)
NO_PRIOR = ["A", None, "", "L", "F", "P", "M", "T", "D", "X"]


@functools.cache
def published() -> dict[str, dict[str, float]]:
    """The DfE table: code → {era: score}, a row "P1i to P3ii" spread over its six codes."""
    with (REFERENCE / "ks2_nominal_scores.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    table = {}
    for row in rows:
        label = row.pop("outcome")
        scores = {era: float(v) for era, v in row.items() if v}
        codes = P1_TO_P3 if label == "P1i to P3ii" else [label.split()[0]]
        table.update(dict.fromkeys(codes, scores))
    return table


def applied(code: str) -> float:
    """The score targetkit should apply: the 2019-on column, else the latest earlier one."""
    if code in CHOICES:
        return CHOICES[code]
    eras = published()[code]
    return eras.get("2019 on", eras.get("2017-2018"))


@functools.cache
def dfe_chance_4plus(subject: str, band: str) -> float:
    """% of the band's pupils (X included) reaching grade 4+, from the DfE's counts."""
    with (REFERENCE / "ks2_ks4_transition_2024.csv").open(newline="", encoding="utf-8") as f:
        rows = [
            r
            for r in csv.DictReader(f)
            if r["subject"] == subject and r["group"] == "Total" and r["ks2_band"] == band
        ]
    reached = sum(int(r["pupils"]) for r in rows if r["outcome"] in {"4", "5", "6", "7", "8", "9"})
    return round(100 * reached / int(rows[0]["band_pupils"]), 1)


# ---------------------------------------------------------------------------------------------
# The data file


def test_the_shipped_scores_are_the_dfe_table_and_two_marked_choices():
    shipped = ks2_nominal_scores()
    dfe = {o.code: o.scores for o in shipped.outcomes if not o.choice}
    assert dfe == published()
    assert {o.code for o in shipped.outcomes if o.choice} == set(CHOICES)
    assert shipped.used == "2019 on"


def test_the_applied_score_is_the_2019_column_and_older_codes_take_their_latest_score():
    by_code = ks2_nominal_scores().by_code()
    assert by_code == {code.upper(): applied(code) for code in [*published(), *CHOICES]}
    # spot values by hand from the DfE table: PK1 64, BLW 62, N 79; PKF (2016-2018 only) 73,
    # P7 (to 2018) 67, P4 61
    assert (by_code["PK1"], by_code["BLW"], by_code["N"]) == (64, 62, 79)
    assert (by_code["PKF"], by_code["P7"], by_code["P4"]) == (73, 67, 61)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("{code: PK1, meaning: x, scores: {\"2019 on\": 64}}", "PK1"),  # repeated code
        ("{code: ZZ, meaning: x, scores: {\"2019 on\": 85}}", "between 0 and 80"),
        ("{code: ZZ, meaning: x, scores: {\"2020\": 70}}", "not eras"),
    ],
)
def test_a_bad_nominal_scores_file_is_refused_naming_the_file(tmp_path, monkeypatch, change, words):
    source = KS4_POLICY.parents[1] / "conversions" / "ks2_nominal_scores.yaml"
    folder = tmp_path / "conversions"
    folder.mkdir()
    text = source.read_text(encoding="utf-8").replace(
        "outcomes:\n", f"outcomes:\n  - {change}\n", 1
    )
    (folder / "ks2_nominal_scores.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(tmp_path))
    ks2_nominal_scores.cache_clear()
    try:
        with pytest.raises(DataFileError) as error:
            ks2_nominal_scores()
    finally:
        monkeypatch.delenv("TARGETKIT_DATA_DIR")
        ks2_nominal_scores.cache_clear()
    assert "ks2_nominal_scores.yaml" in str(error.value)
    assert words in str(error.value)


# ---------------------------------------------------------------------------------------------
# Hand-worked pupils through the engine

# reading, maths, reading TA → average by hand, band, Attainment 8 estimate group
PUPILS = pd.DataFrame(
    {
        "reading_ks2": ["PK6", "BLW", "B", "N", "EM", "A", None, "L", "104", "B"],
        "maths_ks2": ["85", "PK1", "100", None, "90", None, None, "F", "105", "95"],
        "reading_ks2_ta": [None, None, "PK3", None, None, None, None, None, None, None],
    }
)
# PK6 79 and 85 → 82; BLW 62 and PK1 64 → 63; B with TA PK3 70 and 100 → 85; N 79 alone → 79;
# EM 62 and 90 → 76; A / blank / L and F → no prior; 104 and 105 → 104.5; B (no TA) 79 and 95
# → 87
AVERAGES = [82.0, 63.0, 85.0, 79.0, 76.0, None, None, None, 104.5, 87.0]
BANDS = [
    "80 - 89.5", "Less than 80", "80 - 89.5", "Less than 80", "Less than 80",
    "No scaled score", "No scaled score", "No scaled score", "102.5 - 104.5", "80 - 89.5",
]  # fmt: skip
NOMINAL = [0, 1, 2, 3, 4, 9]
NONE = [5, 6, 7]


def cohort() -> pd.DataFrame:
    return PUPILS.assign(upn=make_upns(len(PUPILS)), year_group=11)


@pytest.fixture(scope="module")
def result():
    return compute_targets(cohort(), load_policy("ks4"), subjects=["english", "maths"])


def test_outcomes_below_the_test_give_a_prior_in_the_lowest_bands(result):
    pupils = result.pupils
    averages = pupils["ks2_average_scaled_score"].astype("float64")
    assert [None if pd.isna(a) else a for a in averages] == AVERAGES
    assert pupils["maths_prior"].tolist() == BANDS
    assert pupils["english_prior"].tolist() == BANDS
    flags = pupils["flags"].str.split("; ")
    assert [i for i, f in enumerate(flags) if "NOMINAL_KS2_SCORE" in f] == NOMINAL
    assert [i for i, f in enumerate(flags) if "NO_PRIOR_RESULT" in f] == NONE


def test_their_chances_are_the_dfe_rows_of_their_band(result):
    pupils = result.pupils
    for row in NOMINAL:
        band = BANDS[row]
        assert pupils.loc[row, "english_chance_4plus"] == dfe_chance_4plus("english_language", band)
        assert pupils.loc[row, "maths_chance_4plus"] == dfe_chance_4plus("mathematics", band)
    # by hand: 'Less than 80' maths, 6 + 22 + 37 + 53 + 159 + 272 = 549 of 4,719 → 11.6%
    assert pupils.loc[1, "maths_chance_4plus"] == 11.6


def test_their_minimum_and_reason_say_where_the_prior_came_from(result):
    pupils = result.pupils
    # ks4.yaml: 'Less than 80' and '80 - 89.5' at least grade 1
    assert pupils.loc[NOMINAL, "maths_minimum"].tolist() == ["1"] * len(NOMINAL)
    assert "(DfE nominal scores: reading PK6 → 79)" in pupils.loc[0, "maths_reason"]
    assert "reading BLW → 62; maths PK1 → 64" in pupils.loc[1, "english_reason"]
    assert "reading B, teacher assessment PK3 → 70" in pupils.loc[2, "maths_reason"]
    assert "reading B → 79" in pupils.loc[9, "maths_reason"]
    assert "nominal" not in pupils.loc[8, "maths_reason"]
    assert "band No scaled score;" in pupils.loc[5, "maths_reason"]


def test_their_attainment8_estimate_is_the_dfe_group_of_their_average(result):
    estimates = result.pupils["attainment8_estimate"]
    for row in NOMINAL:
        assert estimates[row] == dfe_estimate(AVERAGES[row])
    # by hand: 63 → group 1 (59 to 82) 15.96; 85 → group 2 (82.5 to 86) 16.63; 87 → group 3
    assert (estimates[1], estimates[2], estimates[9]) == (15.96, 16.63, 19.01)
    assert estimates[NONE].isna().all()


def test_they_are_inside_progress8_and_no_prior_pupils_outside(tmp_path):
    frame = cohort().assign(history_entered="yes", geography_entered="yes")
    result = compute_targets(frame, load_policy("ks4"))
    p8 = result.pupils["progress8_of_targets"]
    a8 = result.pupils["attainment8_of_targets"].astype("float64")
    for row in NOMINAL:
        expected = (a8[row] - dfe_estimate(AVERAGES[row])) / 10
        assert p8[row] == pytest.approx(expected, abs=0.006)
    assert p8[NONE].isna().all()


CODES = [*published(), *CHOICES]


@settings(max_examples=60, deadline=None)
@given(
    reading=st.one_of(st.sampled_from(CODES), st.integers(80, 120), st.sampled_from(NO_PRIOR)),
    maths=st.one_of(st.sampled_from(CODES), st.integers(80, 120), st.sampled_from(NO_PRIOR)),
)
def test_the_prior_is_the_mean_of_the_scores_and_nominal_scores_a_pupil_has(reading, maths):
    def value(cell: object) -> float | None:
        if isinstance(cell, int):
            return float(cell)
        return applied(cell) if cell in CODES else None

    frame = pd.DataFrame({"reading_ks2": [reading], "maths_ks2": [maths]}, dtype=object)
    prior = ks2_prior(frame, load_policy("ks4"))
    values = [v for v in (value(reading), value(maths)) if v is not None]
    average = prior.average.iloc[0]
    if values:
        assert average == sum(values) / len(values)
    else:
        assert pd.isna(average)
    assert (prior.nominal.iloc[0] != "") == any(c in CODES for c in (reading, maths))


# ---------------------------------------------------------------------------------------------
# Through the commands


def write_cohort(path: Path) -> Path:
    cohort().to_csv(path, index=False)
    return path


def test_set_targets_reports_each_nominal_pupil_and_check_ambition_finds_nothing(tmp_path):
    source = write_cohort(tmp_path / "cohort.csv")
    out = tmp_path / "targets.xlsx"
    done = cli("set-targets", source, "--policy", "ks4", "-o", out, "--format", "json")
    assert done.exit_code == 0, done.stderr
    findings = json.loads(done.stdout)["findings"]
    # the CSV's header is row 1, so pupil i is row i + 2
    assert [f["row"] for f in findings if f["code"] == "NOMINAL_KS2_SCORE"] == [
        i + 2 for i in NOMINAL
    ]
    assert [f["row"] for f in findings if f["code"] == "NO_PRIOR_RESULT"] == [i + 2 for i in NONE]
    assert {f["severity"] for f in findings if f["code"] == "NOMINAL_KS2_SCORE"} == {"info"}
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        sheet = book["Targets"]
        columns = column_numbers(sheet)
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
    finally:
        book.close()
    average = [r for r in columns if r.startswith("KS2 average")]
    band = [r for r in columns if r.startswith("Maths prior")]
    assert average and band, list(columns)
    assert rows[1][columns[average[0]] - 1] == 63
    assert rows[1][columns[band[0]] - 1] == "Less than 80"
    checked = cli("check-ambition", out, "--format", "json", "--fail-on", "warning")
    assert checked.exit_code == 0, checked.stdout
    severities = {f["severity"] for f in json.loads(checked.stdout)["findings"]}
    assert severities <= {"info"}


def test_a_real_run_gives_a_pk6_pupil_the_band_of_82(tmp_path):
    source = write_cohort(tmp_path / "cohort.csv")
    done = run_targetkit("set-targets", source, "--policy", "ks4", "-o", tmp_path / "t.xlsx")
    assert done.returncode == 0, done.stderr
    pupils = read_named(tmp_path / "t.xlsx", "Targets")
    assert pupils.loc[0, "maths_prior"] == "80 - 89.5"
    assert float(pupils.loc[0, "ks2_average_scaled_score"]) == 82


def test_an_mis_export_keeps_the_codes_through_import(tmp_path):
    """A Bromcom-like export with KS2 codes among the scores and a reading teacher assessment
    column: import keeps every code (P7 and L included, no UNKNOWN_GRADE), set-targets uses
    them."""
    reading = ["P7", "PK3", "B", "EM", "L", "N", "96", "104"]
    pd.DataFrame(
        {
            "UPN": make_upns(len(reading)),
            "Year": 10,
            "KS2 Reading Scaled Score": reading,
            "KS2 Maths Scaled Score": ["101", "101", "101", "101", "101", "", "98", "108"],
            "KS2 Reading TA": ["", "", "PK2", "", "", "", "", ""],
        }
    ).to_csv(tmp_path / "export.csv", index=False)
    imported = cli(
        "import", tmp_path / "export.csv", "--academic-year", "2026/27",
        "-o", tmp_path / "c.xlsx", "--format", "json",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)["findings"] == []
    cohort = read_named(tmp_path / "c.xlsx", "Pupils")
    assert cohort["reading_ks2"].astype(str).tolist() == reading
    assert cohort["reading_ks2_ta"].fillna("").tolist() == ["", "", "PK2", "", "", "", "", ""]
    done = cli("set-targets", tmp_path / "c.xlsx", "--policy", "ks4", "-o", tmp_path / "t.xlsx")
    assert done.exit_code == 0, done.stderr
    pupils = read_named(tmp_path / "t.xlsx", "Targets")
    # with maths 101: P7 67 → 84, PK3 70 → 85.5, B with TA PK2 67 → 84, EM 62 → 81.5, L no
    # prior → 101 (maths alone); N 79 alone → 79; 96 and 98 → 97; 104 and 108 → 106
    averages = pupils["ks2_average_scaled_score"].astype("float64").tolist()
    assert averages == [84.0, 85.5, 84.0, 81.5, 101.0, 79.0, 97.0, 106.0]
