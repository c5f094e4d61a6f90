"""`targetkit build-conversion` on a constructed history whose answer is worked out by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import cli, run_targetkit

from targetkit.conversion_tables import load_table

# Four schools, KS1 prior -> KS2 whole level (nc points: 3 = 21, 4 = 27, 5 = 33).
ROWS = [
    ("A", "2b", "4"),
    ("A", "2B", "4"),
    ("A", "3b", "5"),
    ("B", "2b", "3"),
    ("B", "2b", "4"),
    ("B", "3b", "4"),
    ("C", "2b", "3"),
    ("C", "2b", "3"),
    ("C", "3b", "5"),
    ("D", "2b", "4"),
    ("D", "2b", "3"),
    ("D", "3b", "4"),
    ("D", "A", "4"),  # absent at KS1: left out
]
# National expectation: 2b -> mean(27,27,21,27,21,21,27,21) = 24; 3b -> mean(33,27,33,27) = 30.
# Value added: A (3+3+3)/3 = +3; B (-3+3-3)/3 = -1; C (-3-3+3)/3 = -1; D (3-3-3)/3 = -1.
# Top 25%: ceil(4 x 0.25) = 1 school, A: 2b -> 4 for 2 of 2; 3b -> 5 for 1 of 1.
# Top 50%: 2 schools: A, then the tie at -1 (3 pupils each) goes to the first name, B:
# 2b -> 3 for 1 of 4 (0.25), 4 for 3 of 4 (0.75); 3b -> 4 for 1 of 2, 5 for 1 of 2.


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.csv"
    pd.DataFrame(ROWS, columns=["School", "Reading KS1", "Reading KS2"]).to_csv(path, index=False)
    return path


def proportions(path) -> dict[tuple[str, str], float]:
    frame = pd.read_csv(path, dtype={"prior": str, "outcome": str})
    return {
        (r.prior, r.outcome): round(r.proportion, 6) for r in frame.itertuples() if r.proportion
    }


def test_top_quarter_keeps_the_school_with_the_highest_value_added(history, tmp_path):
    out = tmp_path / "mine.csv"
    result = cli(
        "build-conversion", history, "--prior", "reading_ks1", "--outcome", "reading_ks2", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    assert proportions(out) == {("2b", "4"): 1.0, ("3b", "5"): 1.0}
    assert "Kept 1 of 4 schools (3 pupils) by value added: A." in result.output
    assert "Small cell: prior 2b has 2 pupils in the kept schools" in result.output
    assert "Small cell: prior 3b has 1 pupil in the kept schools" in result.output
    table = load_table(out)  # the yaml beside it makes it a valid table for set-targets
    assert table.benchmarks == ["top25"]
    assert "1 row without a prior, outcome or school left out" in table.metadata.provenance


def test_top_half_keeps_two_schools_and_breaks_ties_by_name(history, tmp_path):
    out = tmp_path / "half.csv"
    result = cli(
        "--quiet",
        "build-conversion",
        history,
        "--prior",
        "Reading KS1",
        "--outcome",
        "Reading KS2",
        "--top",
        "50",
        "-o",
        out,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == "build-conversion"
    data = document["summary"]
    assert data["schools_kept"] == ["A", "B"]
    # A and B keep 4 pupils with prior 2b and 2 with 3b: both under 5, so both are small cells.
    assert [(f["code"], f["prior"], f["pupils"]) for f in document["findings"]] == [
        ("SMALL_CELL", "2b", 4),
        ("SMALL_CELL", "3b", 2),
    ]
    assert data["small_cells"] == 2 and data["by_severity"]["warning"] == 2
    assert proportions(out) == {
        ("2b", "3"): 0.25,
        ("2b", "4"): 0.75,
        ("3b", "4"): 0.5,
        ("3b", "5"): 0.5,
    }


def test_a_missing_column_is_one_clear_line(history, tmp_path):
    result = cli(
        "build-conversion",
        history,
        "--prior",
        "maths_ks1",
        "--outcome",
        "reading_ks2",
        "-o",
        tmp_path / "x.csv",
    )
    assert result.exit_code == 2
    assert "no column 'maths_ks1' for --prior" in result.stderr


def test_subprocess_build_then_set_targets_with_it(history, tmp_path):
    out = tmp_path / "local.csv"
    done = run_targetkit(
        "build-conversion", history, "--prior", "reading_ks1", "--outcome", "reading_ks2", "-o", out
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file() and out.with_suffix(".yaml").is_file()
    again = run_targetkit(
        "build-conversion", history, "--prior", "reading_ks1", "--outcome", "reading_ks2", "-o", out
    )
    assert again.returncode == 2 and "already exists" in again.stderr
