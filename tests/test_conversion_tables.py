"""The shipped conversion tables reproduce every figure the guidance and the DfE publish.

Each quoted figure has its own test, named after it. The DfE spot values are also recomputed
independently from the reference CSVs in tests/reference (plain `csv`, no targetkit code).
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import DFE_GROUP_CODES, read_named, run_targetkit
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit import conversion_tables as ct
from targetkit.conversion_tables import ConversionTableError, build_conversion, load_table
from targetkit.errors import DataFileError

EXACT = 1e-9  # the guidance quotes whole percentages: the tables hold them exactly
POINT_ONE_PP = 0.0005  # DfE percentages are published to 0.1 percentage points

SHIPPED = [
    "eyfs_y1_steps",
    "ks1_ks2_levels",
    "ks2_basics_2024",
    "ks2_gcse91_2024",
    "ks2_gcse_combined_science_2024",
    "ks2_gcse_legacy_2016",
    "ks2_gcse_subjects_2024",
    "ks2_ks3_levels",
    "ks2_ks4_5ac",
    "ks3_ks4_5acem",
]


def one(table: ct.ConversionTable, benchmark, subject, prior, threshold, group="all") -> float:
    """A pupil-level lookup for a single pupil (exercises the vectorised path)."""
    pupils = pd.Series([prior], index=["pupil"])
    return float(table.chance(benchmark, subject, pupils, threshold, group).loc["pupil"])


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---- the guidance's figures (DATA.md §1), exactly


def test_top25_primary_ks1_level1_pupils_reach_level4_english_56_percent():
    table = load_table("ks1_ks2_levels")
    assert one(table, "top25", "english", "1", "4plus") == pytest.approx(0.56, abs=EXACT)
    assert table.rate("top25", "english", "1", "4c") == pytest.approx(0.56, abs=EXACT)


def test_top25_primary_ks1_level2c_pupils_reach_level4_english_88_percent():
    table = load_table("ks1_ks2_levels")
    assert one(table, "top25", "english", "2c", "4plus") == pytest.approx(0.88, abs=EXACT)
    assert table.rate("top25", "english", "2C", "L4") == pytest.approx(0.88, abs=EXACT)


@pytest.mark.parametrize("subject", ["english", "maths", "science"])
def test_top25_secondary_ks2_level3_pupils_reach_level5_at_ks3_57_percent(subject):
    table = load_table("ks2_ks3_levels")
    assert one(table, "top25", subject, "3", "5plus") == pytest.approx(0.57, abs=EXACT)


@pytest.mark.parametrize("subject", ["english", "science"])
def test_top25_secondary_ks2_level4_pupils_reach_level5_at_ks3_93_percent(subject):
    table = load_table("ks2_ks3_levels")
    assert one(table, "top25", subject, "4", "5plus") == pytest.approx(0.93, abs=EXACT)


def test_the_subjectless_93_percent_is_not_maths_where_94_percent_reached_it_nationally():
    """The guidance names no subject; in 2006 94% of KS2 level-4 pupils reached level 5+ in KS3
    maths nationally (Hansard, DATA.md §5b), so a top-25% maths rate of 93% would be below the
    national one: the maths row follows the national anchor and stays above it."""
    table = load_table("ks2_ks3_levels")
    assert one(table, "national", "maths", "4", "5plus") == pytest.approx(0.94, abs=EXACT)
    assert one(table, "top25", "maths", "4", "5plus") > 0.94


def test_top25_ks4_ks2_level4_pupils_reach_5_a_star_to_c_81_percent():
    table = load_table("ks2_ks4_5ac")
    assert one(table, "top25", "overall", "4", "5ac") == pytest.approx(0.81, abs=EXACT)
    assert table.rate("top25", "overall", "4", "yes") == pytest.approx(0.81, abs=EXACT)


def test_national_ks3_level6_in_english_maths_science_reach_5acem_95_percent():
    table = load_table("ks3_ks4_5acem")
    assert one(table, "national", "overall", "L6_EMS", "5acem") == pytest.approx(0.95, abs=EXACT)


def test_national_ks3_level6_in_english_and_maths_reach_5acem_92_percent():
    table = load_table("ks3_ks4_5acem")
    assert one(table, "national", "overall", "L6_EM", "5acem") == pytest.approx(0.92, abs=EXACT)


def test_national_ks3_level5_in_english_maths_science_reach_5acem_71_percent():
    table = load_table("ks3_ks4_5acem")
    assert one(table, "national", "overall", "L5_EMS", "5acem") == pytest.approx(0.71, abs=EXACT)


def test_national_ks3_level5_in_english_and_maths_reach_5acem_67_percent():
    table = load_table("ks3_ks4_5acem")
    assert one(table, "national", "overall", "L5_EM", "5acem") == pytest.approx(0.67, abs=EXACT)


def test_published_rows_are_exactly_the_quoted_figures_and_everything_else_is_labelled():
    """Only numbers quoted in a source are `published`; made-up ones say `illustrative`."""
    expected = {
        "ks2_ks4_5ac": {("top25", "4", "yes"): 0.81, ("national", "4", "yes"): 0.79},
        "ks3_ks4_5acem": {
            ("national", "L6_EMS", "yes"): 0.95,
            ("national", "L6_EM", "yes"): 0.92,
            ("national", "L5_EMS", "yes"): 0.71,
            ("national", "L5_EM", "yes"): 0.67,
        },
        "ks1_ks2_levels": {("national", "3", "4"): 0.13},  # KS1 reading 3 -> KS2 4, 2013
        "ks2_ks3_levels": {},
        "eyfs_y1_steps": {},
    }
    for name, published in expected.items():
        frame = load_table(name).frame
        rows = frame[frame["status"] == "published"]
        found = {(r.benchmark, r.prior, r.outcome): r.proportion for r in rows.itertuples()}
        assert found == pytest.approx(published), name
        assert set(frame["status"]) <= {"published", "derived", "illustrative"}
    assert set(load_table("eyfs_y1_steps").frame["status"]) == {"illustrative"}


@pytest.mark.parametrize("name", ct.list_tables())
def test_every_row_says_what_it_is_and_the_provenance_explains_each_label(name):
    """Issue 14: every row is labelled published, derived or illustrative, and the yaml says
    which rows are which; a published row of a table quoting rates has its quote listed."""
    table = load_table(name)
    frame, meta = table.frame, table.metadata
    assert set(frame["status"]) <= set(ct.STATUSES) and (frame["status"] != "").all()
    for status in set(frame["status"]):
        assert status in meta.provenance.lower(), (name, status)
    if meta.published_rates:
        quoted = {(q.benchmark, q.subject, q.group, q.prior) for q in meta.published_rates}
        published = frame[frame["status"] == "published"]
        rows = set(published[["benchmark", "subject", "group", "prior"]].itertuples(index=False))
        assert rows <= quoted, (name, rows - quoted)


def test_every_published_rate_listed_in_the_metadata_is_reproduced():
    for name in SHIPPED:
        table = load_table(name)
        for quoted in table.metadata.published_rates:
            value = table.rate(
                quoted.benchmark, quoted.subject, quoted.prior, quoted.threshold, quoted.group
            )
            assert value == pytest.approx(quoted.rate, abs=EXACT), (name, quoted)


# ---- DfE 2023/24 KS2 -> GCSE 9-1 (DATA.md §2), to 0.1 percentage points


def dfe_transition(reference: Path, subject: str, band: str, group: str = "Total"):
    """Independent count of (band pupils, pupils per outcome) from the reference CSV."""
    rows = [
        r
        for r in read_rows(reference / "ks2_ks4_transition_2024.csv")
        if r["subject"] == subject and r["group"] == group and r["ks2_band"] == band
    ]
    band_pupils = int(rows[0]["band_pupils"])
    return band_pupils, {r["outcome"]: int(r["pupils"]) for r in rows}


def test_dfe_2024_maths_band_100_102_grade4_is_31_0_percent(reference):
    table = load_table("ks2_gcse91_2024")
    grade4 = table.distribution("national", "maths").loc["100 - 102", "4"]
    assert round(grade4 * 100, 1) == 31.0
    band_pupils, counts = dfe_transition(reference, "mathematics", "100 - 102")
    assert (band_pupils, counts["4"]) == (59175, 18362)
    assert grade4 == pytest.approx(counts["4"] / band_pupils, abs=POINT_ONE_PP)


def test_dfe_2024_maths_band_100_102_grade5_is_20_7_percent(reference):
    table = load_table("ks2_gcse91_2024")
    grade5 = table.distribution("national", "maths").loc["100 - 102", "5"]
    assert round(grade5 * 100, 1) == 20.7
    band_pupils, counts = dfe_transition(reference, "mathematics", "100 - 102")
    assert grade5 == pytest.approx(counts["5"] / band_pupils, abs=POINT_ONE_PP)


def test_dfe_2024_maths_band_110_113_reach_grade4_plus_96_4_percent(reference):
    table = load_table("ks2_gcse91_2024")
    chance = one(table, "national", "maths", "110 - 113", "4plus")
    assert round(chance * 100, 1) == 96.4
    band_pupils, counts = dfe_transition(reference, "mathematics", "110 - 113")
    independent = sum(counts[g] for g in "456789") / band_pupils
    assert chance == pytest.approx(independent, abs=POINT_ONE_PP)


def test_dfe_2024_english_band_100_102_reach_grade4_plus_60_3_percent(reference):
    table = load_table("ks2_gcse91_2024")
    chance = one(table, "national", "english", "100 - 102", "4")
    assert round(chance * 100, 1) == 60.3
    band_pupils, counts = dfe_transition(reference, "english_language", "100 - 102")
    independent = sum(counts[g] for g in "456789") / band_pupils
    assert chance == pytest.approx(independent, abs=POINT_ONE_PP)


def test_dfe_2024_every_cell_matches_the_published_counts(reference):
    """All 2,376 rows: the same proportions and counts as the source, groups renamed."""
    names = DFE_GROUP_CODES
    subjects = {"english_language": "english", "mathematics": "maths"}
    source = {
        (subjects[r["subject"]], names[r["group"]], r["ks2_band"], r["outcome"]): (
            int(r["pupils"]),
            int(r["pupils"]) / int(r["band_pupils"]),
        )
        for r in read_rows(reference / "ks2_ks4_transition_2024.csv")
    }
    frame = load_table("ks2_gcse91_2024").frame
    shipped = {
        (r.subject, r.group, r.prior, r.outcome): (int(r.pupils), r.proportion)
        for r in frame.itertuples()
    }
    assert shipped.keys() == source.keys()
    for key, (pupils, proportion) in source.items():
        assert shipped[key][0] == pupils, key
        assert shipped[key][1] == pytest.approx(proportion, abs=1e-6), key


def test_dfe_2024_x_entered_no_result_counts_in_the_denominator_but_has_no_points():
    table = load_table("ks2_gcse91_2024")
    wide = table.distribution("national", "maths")
    row = wide.loc["100 - 102"]
    assert row["X"] > 0
    assert table.rates("national", "maths", "U")["100 - 102"] == pytest.approx(
        1 - row["X"], abs=1e-5
    )
    points = np.arange(10) * row[["U", *"123456789"]].to_numpy()
    expected = points.sum() / row.drop("X").sum()  # over pupils with a result
    assert expected == pytest.approx(points.sum() / (1 - row["X"]), abs=1e-4)
    pupils = pd.Series(["100 - 102"])
    assert table.expected_points("national", "maths", pupils).iloc[0] == pytest.approx(expected)


def test_dfe_2024_disadvantaged_pupils_reach_4_plus_less_often_at_the_same_band():
    """A gap the data shows (to be closed): never a reason for a lower target."""
    table = load_table("ks2_gcse91_2024")
    gap = table.rates("national", "maths", "4plus", "not_disadvantaged") - table.rates(
        "national", "maths", "4plus", "disadvantaged"
    )
    assert (gap.drop(["Less than 80", "No scaled score"]) > 0).all()


# ---- DfE 2023/24 English and maths 9-4 / 9-5 (DATA.md §3)


def dfe_basics(reference: Path, band: str, group: str = "Total") -> dict[str, str]:
    rows = read_rows(reference / "ks2_ks4_basics_2024.csv")
    return next(r for r in rows if r["group"] == group and r["ks2_band"] == band)


def test_dfe_2024_basics_band_110_113_achieve_english_and_maths_9_4_93_9_percent(reference):
    table = load_table("ks2_basics_2024")
    chance = one(table, "national", "basics_9_4", "110 - 113", "achieved")
    assert round(chance * 100, 1) == 93.9
    source = dfe_basics(reference, "110 - 113")
    assert int(source["pupils"]) == 84076
    assert chance == pytest.approx(float(source["basics_9_4"]), abs=POINT_ONE_PP)


def test_dfe_2024_basics_band_100_102_achieve_english_and_maths_9_4_51_5_percent(reference):
    table = load_table("ks2_basics_2024")
    chance = one(table, "national", "basics_9_4", "100 - 102", "yes")
    assert round(chance * 100, 1) == 51.5
    assert chance == pytest.approx(
        float(dfe_basics(reference, "100 - 102")["basics_9_4"]), abs=POINT_ONE_PP
    )


def test_dfe_2024_basics_all_bands_together_65_0_percent_from_the_counts(reference):
    frame = load_table("ks2_basics_2024").frame
    rows = frame[(frame["subject"] == "basics_9_4") & (frame["group"] == "all")]
    rate = rows.loc[rows["outcome"] == "yes", "pupils"].sum() / rows["pupils"].sum()
    assert round(rate * 100, 1) == 65.0
    total = dfe_basics(reference, "Total")
    assert rows["pupils"].sum() == int(total["pupils"])
    assert rate == pytest.approx(float(total["basics_9_4"]), abs=POINT_ONE_PP)


def test_dfe_2024_basics_9_5_is_never_above_9_4():
    table = load_table("ks2_basics_2024")
    for group in table.groups:
        strong = table.rates("national", "basics_9_5", "yes", group)
        standard = table.rates("national", "basics_9_4", "yes", group)
        assert (strong <= standard + 1e-9).all(), group


# ---- legacy KS2 -> GCSE A*-G (DATA.md §4)


def test_legacy_2016_all_pupils_maths_ks2_4b_grade_c_47_8_percent_and_b_16_1_percent(reference):
    table = load_table("ks2_gcse_legacy_2016")
    row = table.distribution("national", "maths").loc["4b"]
    assert round(row["C"], 3) == 0.478
    assert round(row["B"], 3) == 0.161
    source = {
        r["outcome"]: float(r["proportion"])
        for r in read_rows(reference / "ks2_gcse_legacy_2016.csv")
        if (r["group"], r["subject"], r["ks2_level"]) == ("all", "mathematics", "4b")
    }
    assert row.to_dict() == pytest.approx(source, abs=1e-9)


def test_legacy_2016_english_ks2_5a_grade_a_star_43_4_percent(reference):
    table = load_table("ks2_gcse_legacy_2016")
    a_star = one(table, "national", "english", "5a", "a_star")
    assert round(a_star, 3) == 0.434
    source = next(
        float(r["proportion"])
        for r in read_rows(reference / "ks2_gcse_legacy_2016.csv")
        if (r["group"], r["subject"], r["ks2_level"], r["outcome"])
        == ("all", "english", "5a", "A*")
    )
    assert a_star == pytest.approx(source, abs=1e-9)


def test_legacy_2016_whole_level_4_counts_as_4b():
    table = load_table("ks2_gcse_legacy_2016")
    pupils = pd.Series(["4", "4b", "4B", " 4b "])
    chances = table.chance("national", "maths", pupils, "a_star_to_c")
    assert chances.nunique() == 1


# ---- Attainment 8 estimates and KS2 bands (DATA.md §5)


def test_attainment8_estimate_group_14_99_5_to_100_is_35_46():
    estimates = ct.attainment8_estimates().set_index("ks2_prior_attainment_group")
    assert estimates.loc[14, "ks2_average_scaled_score_range"] == "99.5 to 100"
    assert estimates.loc[14, "attainment8"] == pytest.approx(35.46, abs=EXACT)
    scores = pd.Series([99.5, 100.0])
    assert ct.attainment8_estimate(scores).tolist() == pytest.approx([35.46, 35.46])


def test_attainment8_estimate_group_34_119_5_to_120_is_82_03(reference):
    estimates = ct.attainment8_estimates().set_index("ks2_prior_attainment_group")
    assert estimates.loc[34, "attainment8"] == pytest.approx(82.03, abs=EXACT)
    assert ct.attainment8_estimate(pd.Series([119.5, 120])).tolist() == [82.03, 82.03]
    shipped = (ct.CONVERSIONS_DIR / "attainment8_estimates_2024.csv").read_bytes()
    assert shipped == (reference / "attainment8_estimates_2024.csv").read_bytes()


def test_attainment8_estimate_by_score_follows_the_dfe_upper_bound_rule():
    scores = pd.Series([50, 82, 82.5, 100.25, 120.5, None], index=list("abcdef"))
    estimates = ct.attainment8_estimate(scores)
    assert estimates.index.tolist() == list("abcdef")
    assert estimates.iloc[:4].tolist() == [15.96, 15.96, 16.63, 37.27]
    assert estimates.iloc[4:].isna().all()
    assert ct.attainment8_estimate(pd.Series([100]), "maths").iloc[0] == pytest.approx(6.95)


def test_ks2_bands_are_the_dfe_bands_in_order_with_bounds_parsed_from_their_labels():
    bands = ct.ks2_bands()
    for table_name in ("ks2_gcse91_2024", "ks2_basics_2024"):
        assert bands["label"].tolist() == load_table(table_name).priors
    for band in bands.itertuples():
        if match := re.fullmatch(r"([\d.]+) - ([\d.]+)", band.label):
            assert (band.lower, band.upper) == (float(match[1]), float(match[2]))
            assert band.upper_inclusive
    assert bands.iloc[0].to_dict() | {"lower": None} == {
        "label": "Less than 80",
        "lower": None,
        "upper": 80.0,
        "upper_inclusive": False,
        "missing": False,
    }
    assert bands.iloc[-1]["missing"]


def test_ks2_band_maps_average_scaled_scores_to_the_dfe_band():
    scores = pd.Series([70, 79.5, 80, 89.5, 89.75, 100, 102, 102.5, 113, 120, 120.5, None, "x"])
    assert ct.ks2_band(scores).tolist()[:10] == [
        "Less than 80",
        "Less than 80",
        "80 - 89.5",
        "80 - 89.5",
        "90 - 95.5",
        "100 - 102",
        "100 - 102",
        "102.5 - 104.5",
        "110 - 113",
        "117 - 120",
    ]
    assert ct.ks2_band(scores).iloc[10:].isna().all()
    assert ct.ks2_band(scores, no_score_band=True).iloc[11] == "No scaled score"
    assert pd.isna(ct.ks2_band(scores, no_score_band=True).iloc[12])  # "x" is not a blank


def test_ks2_band_then_chance_gives_each_pupil_the_dfe_rate():
    table = load_table("ks2_gcse91_2024")
    scores = pd.Series([101.5, 111.0, 130.0], index=["p1", "p2", "p3"])
    chance = table.chance("national", "maths", ct.ks2_band(scores), "4plus")
    assert round(chance["p1"] * 100, 1) == round(
        table.rate("national", "maths", "100 - 102", "4plus") * 100, 1
    )
    assert round(chance["p2"] * 100, 1) == 96.4
    assert np.isnan(chance["p3"])


# ---- every shipped table loads and holds together


def test_list_tables_names_every_shipped_conversion_table_and_nothing_else():
    assert ct.list_tables() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_table_loads_validates_and_says_where_it_came_from(name):
    table = load_table(name)
    meta = table.metadata
    assert meta.name == name
    assert meta.source.publisher and meta.provenance.strip() and meta.licence
    frame = table.frame
    totals = frame.groupby(["benchmark", "subject", "group", "prior"])["proportion"].sum()
    assert ((totals - 1).abs() <= 0.002).all()
    assert frame["proportion"].between(0, 1).all()
    assert set(frame["outcome"]) <= set(meta.outcome_order)
    for threshold in meta.thresholds:
        assert table.outcomes_meeting(threshold)
    if "illustrative" in set(frame["status"]):
        assert "illustrative" in meta.provenance.lower()
    header = (ct.CONVERSIONS_DIR / f"{name}.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["benchmark", "subject", "prior", "outcome", "proportion", "status"]
    assert set(header[6:]) <= {"group", "pupils"}


ILLUSTRATIVE = ["ks1_ks2_levels", "ks2_ks3_levels", "ks2_ks4_5ac", "ks3_ks4_5acem", "eyfs_y1_steps"]


@pytest.mark.parametrize("name", ILLUSTRATIVE)
def test_illustrative_tables_rise_with_the_prior_and_with_the_benchmark(name):
    """Higher prior → never a lower chance; top25 ≥ top50 ≥ national, for every threshold."""
    table = load_table(name)
    order = table.outcome_order
    for subject in table.subjects:
        by_benchmark = {}
        for benchmark in table.benchmarks:
            rates = pd.concat(
                [table.rates(benchmark, subject, grade) for grade in order[1:]], axis=1
            )
            assert (rates.diff().iloc[1:] >= -1e-9).all().all(), (benchmark, subject)
            by_benchmark[benchmark] = rates
        ranked = [b for b in ("national", "top50", "top25") if b in by_benchmark]
        for lower, higher in itertools.pairwise(ranked):
            assert (by_benchmark[higher] >= by_benchmark[lower] - 1e-9).all().all()


def benchmark_inversions(table: ct.ConversionTable) -> list[tuple[str, ...]]:
    """Rows where a better benchmark (top50, top25) gives a lower chance than a weaker one,
    for every subject, group, prior and outcome cut: (subject, group, prior, cut, benchmarks)."""
    ranked = [b for b in ("national", "top50", "top25") if b in table.benchmarks]
    found: list[tuple[str, ...]] = []
    if len(ranked) < 2:  # one benchmark (e.g. the DfE's national tables): nothing to compare
        return found
    for subject, group in itertools.product(table.subjects, table.groups):
        present = [b for b in ranked if table.has(b, subject, group)]
        for lower, higher in itertools.pairwise(present):
            for cut in table.outcome_order[1:]:
                low = table.rates(lower, subject, cut, group)
                high = table.rates(higher, subject, cut, group)
                common = low.index.intersection(high.index)
                below = high[common] < low[common] - 1e-9
                found += [(subject, group, p, cut, f"{higher}<{lower}") for p in common[below]]
    return found


@pytest.mark.parametrize("name", ct.list_tables())
def test_no_top25_or_top50_rate_is_below_the_national_rate_of_the_same_row(name):
    """Issue 14: a top-25% rate below the national rate of the same row is an error.

    Over every shipped table (tables added later included): every subject, group, prior and
    outcome cut.
    """
    assert benchmark_inversions(load_table(name)) == []


def test_the_benchmark_check_catches_a_top25_rate_below_national(tmp_path):
    for suffix in (".csv", ".yaml"):
        shutil.copy(ct.CONVERSIONS_DIR / f"ks2_ks4_5ac{suffix}", tmp_path / f"bad{suffix}")
    text = (tmp_path / "bad.csv").read_text()
    assert "top25,overall,5,yes,0.98" in text
    text = text.replace("top25,overall,5,no,0.02", "top25,overall,5,no,0.10")
    text = text.replace("top25,overall,5,yes,0.98", "top25,overall,5,yes,0.90")
    (tmp_path / "bad.csv").write_text(text)
    # top25 0.90 is below top50 0.96 and national 0.92: adjacent benchmarks are compared
    assert benchmark_inversions(load_table(tmp_path / "bad.csv")) == [
        ("overall", "all", "5", "yes", "top25<top50")
    ]


def test_eyfs_to_year1_most_likely_steps_are_the_policy_targets():
    table = load_table("eyfs_y1_steps")
    outcomes = pd.Series(["1", "2", "3", "expected"])
    for benchmark in table.benchmarks:
        for subject in table.subjects:
            likely = table.most_likely(benchmark, subject, outcomes).tolist()
            assert likely == ["1w", "1w+", "1s+", "1w+"]


# ---- lookups


def test_lookups_are_per_pupil_keep_the_index_and_give_nan_for_unknown_priors():
    table = load_table("ks1_ks2_levels")
    priors = pd.Series(["1", "2c", None, "6a", "2", 3, "3b", "1a"], index=[9, 8, 7, 6, 5, 4, 3, 2])
    chance = table.chance("top25", "english", priors, "4plus")
    assert chance.index.tolist() == priors.index.tolist()
    assert chance.tolist()[:2] == pytest.approx([0.56, 0.88])
    assert chance.iloc[2:4].isna().all()
    assert chance[5] == pytest.approx(table.rate("top25", "english", "2b", "4plus"))  # 2 → 2b
    assert chance[4] == chance[3] == pytest.approx(table.rate("top25", "english", "3", "4plus"))
    assert chance[2] == pytest.approx(0.56)  # 1a → level 1
    assert table.resolve_priors(priors).tolist()[4:] == ["2b", "3", "3", "1"]


def test_nc_thresholds_compare_whole_levels_by_digit_and_sub_levels_by_points():
    table = load_table("ks1_ks2_levels")  # outcomes are whole levels 2 (or below), 3, 4, 5
    assert table.outcomes_meeting("4c") == ["4", "5"]
    assert table.outcomes_meeting("4") == ["4", "5"]
    assert table.outcomes_meeting("L4+") == ["4", "5"]
    assert table.outcomes_meeting("4b") == ["4", "5"]  # a whole level counts as its b
    assert table.outcomes_meeting("4a") == ["5"]
    assert table.outcomes_meeting("5plus") == ["5"]
    with pytest.raises(ValueError, match="threshold"):
        table.outcomes_meeting("grade C")


def test_most_likely_tie_goes_to_the_higher_grade(tmp_path):
    path = tmp_path / "tie.csv"
    path.write_text(
        "benchmark,subject,prior,outcome,proportion,status\n"
        "top25,maths,2b,3,0.40,illustrative\n"
        "top25,maths,2b,4,0.40,illustrative\n"
        "top25,maths,2b,5,0.20,illustrative\n"
    )
    table = load_table(path)  # no yaml: a minimal default, outcomes in row order
    assert table.metadata.prior_scale == "unknown"
    assert table.most_likely("top25", "maths", pd.Series(["2b"])).tolist() == ["4"]
    assert table.rate("top25", "maths", "2b", "4") == pytest.approx(0.6)
    with pytest.raises(ValueError, match="outcome points"):
        table.expected_points("top25", "maths", pd.Series(["2b"]))


def test_expected_points_use_the_outcome_points():
    table = load_table("ks1_ks2_levels")
    row = table.distribution("top25", "english").loc["1"]
    expected = row["2"] * 15 + row["3"] * 21 + row["4"] * 27 + row["5"] * 33
    got = table.expected_points("top25", "english", pd.Series(["1"])).iloc[0]
    assert got == pytest.approx(expected)


def test_unknown_benchmark_subject_or_group_is_refused_with_what_there_is():
    table = load_table("ks3_ks4_5acem")
    with pytest.raises(ValueError, match=r"no benchmark 'top25'.*national"):
        table.chance("top25", "overall", pd.Series(["L6_EM"]), "5acem")
    assert not table.has("top25", "overall")
    assert table.has("national", "overall")
    with pytest.raises(ValueError, match="no prior 'L4'"):
        table.rate("national", "overall", "L4", "5acem")


def test_a_million_pupil_lookups_need_no_per_pupil_python():
    table = load_table("ks2_gcse91_2024")
    bands = pd.Series(np.tile(np.array(table.priors, dtype=object), 100_000))
    chance = table.chance("national", "maths", bands, "4plus")
    assert len(chance) == 1_200_000 and chance.notna().all()


# ---- refusing bad files


@pytest.fixture
def copied(tmp_path: Path):
    def copy(name: str) -> Path:
        for suffix in (".csv", ".yaml"):
            shutil.copy(ct.CONVERSIONS_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
        return tmp_path / f"{name}.csv"

    return copy


def test_a_copy_whose_proportions_do_not_sum_to_1_is_refused_naming_the_file(copied):
    path = copied("ks2_ks4_5ac")
    text = path.read_text().replace("national,overall,3,no,0.85", "national,overall,3,no,0.75")
    path.write_text(text)
    with pytest.raises(ConversionTableError) as refused:
        load_table(path)
    message = str(refused.value)
    assert str(path) in message
    assert "benchmark=national, subject=overall, group=all, prior=3 add up to 0.9000" in message
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, DataFileError)


def test_a_copy_with_an_unknown_status_is_refused_naming_the_file_and_line(copied):
    path = copied("ks1_ks2_levels")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("illustrative", "guessed")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        ValueError, match=r"ks1_ks2_levels\.csv.*unknown status 'guessed' \(line 4\)"
    ):
        load_table(path)


def test_a_copy_that_no_longer_reproduces_a_published_rate_is_refused(copied):
    path = copied("ks1_ks2_levels")
    text = path.read_text()
    text = text.replace("top25,english,1,3,0.36", "top25,english,1,3,0.40")
    text = text.replace("top25,english,1,4,0.50", "top25,english,1,4,0.46")
    path.write_text(text)
    with pytest.raises(ValueError, match=r"published rate top25/english/all prior 1 .* 0\.52"):
        load_table(path)


def test_broken_metadata_is_refused_naming_the_yaml(copied):
    path = copied("ks2_ks4_5ac")
    meta_path = path.with_suffix(".yaml")
    meta = yaml.safe_load(meta_path.read_text())
    del meta["licence"]
    meta["thresholds"]["6plus"] = "maybe"
    meta_path.write_text(yaml.safe_dump(meta))
    with pytest.raises(ConversionTableError, match=r"ks2_ks4_5ac\.yaml.*licence"):
        load_table(path)
    meta["licence"] = "MIT"
    meta_path.write_text(yaml.safe_dump(meta))
    with pytest.raises(ConversionTableError, match="threshold '6plus'"):
        load_table(path)


def test_missing_columns_bad_numbers_and_unknown_names_are_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("benchmark,subject,prior,outcome,proportion\nnational,maths,1,2,1\n")
    with pytest.raises(ConversionTableError, match=r"missing column.*status"):
        load_table(path)
    path.write_text(
        "benchmark,subject,prior,outcome,proportion,status\n"
        "national,maths,1,2,lots,derived\n"
        "national,maths,1,3,1.5,derived\n"
    )
    with pytest.raises(ConversionTableError, match=r"not a number.*line 2.*outside 0 to 1.*line 3"):
        load_table(path)
    with pytest.raises(ConversionTableError, match="no conversion table called 'nope'"):
        load_table("nope")
    with pytest.raises(ConversionTableError, match="not found"):
        load_table(tmp_path / "missing.csv")


# ---- building a table from local history


def hand_made_history() -> pd.DataFrame:
    """4 schools x 12 pupils: 4 pupils with each KS1 prior 1, 2 and 3 per school.

    KS2 outcomes (whole levels; points 3 = 21, 4 = 27, 5 = 33):

        school  prior 1      prior 2      prior 3
        A       4, 4, 4, 3   5, 5, 4, 4   5, 5, 5, 5
        B       3, 3, 4, 3   4, 4, 4, 4   5, 5, 5, 4
        C       3, 3, 3, 3   4, 4, 4, 3   5, 4, 4, 4
        D       3, 3, 3, 3   4, 3, 3, 3   4, 4, 4, 4

    National expectation (mean points of all 16 pupils with the prior):
        prior 1: four 4s, twelve 3s → 21 + 6 × 4/16 = 22.5
        prior 2: (120 + 108 + 102 + 90) / 16 = 26.25
        prior 3: (132 + 126 + 114 + 108) / 16 = 30
    Value added (sum of residuals / 12 pupils):
        A: (102 − 90) + (120 − 105) + (132 − 120) = 39 → +3.25
        B: (90 − 90) + (108 − 105) + (126 − 120) = 9 → +0.75
        C: (84 − 90) + (102 − 105) + (114 − 120) = −15 → −1.25
        D: (84 − 90) + (90 − 105) + (108 − 120) = −33 → −2.75
    Top 25% of 4 schools = 1 school: A. Its table:
        prior 1: 3 → 1/4, 4 → 3/4, 5 → 0
        prior 2: 3 → 0,   4 → 2/4, 5 → 2/4
        prior 3: 3 → 0,   4 → 0,   5 → 4/4
    Top 50% = A and B:
        prior 1: 3 → 4/8, 4 → 4/8; prior 2: 4 → 6/8, 5 → 2/8; prior 3: 4 → 1/8, 5 → 7/8
    """
    outcomes = {
        "A": [[4, 4, 4, 3], [5, 5, 4, 4], [5, 5, 5, 5]],
        "B": [[3, 3, 4, 3], [4, 4, 4, 4], [5, 5, 5, 4]],
        "C": [[3, 3, 3, 3], [4, 4, 4, 3], [5, 4, 4, 4]],
        "D": [[3, 3, 3, 3], [4, 3, 3, 3], [4, 4, 4, 4]],
    }
    rows = [
        {"school": school, "reading_ks1": str(prior), "reading_ks2": str(level)}
        for school, by_prior in outcomes.items()
        for prior, levels in zip((1, 2, 3), by_prior, strict=True)
        for level in levels
    ]
    # A pupil without a KS2 result is left out (and counted), never guessed.
    rows.append({"school": "A", "reading_ks1": "3", "reading_ks2": None})
    return pd.DataFrame(rows).sample(frac=1, random_state=7)  # input order must not matter


LEVEL_POINTS = {"3": 21, "4": 27, "5": 33}


def test_build_conversion_keeps_the_top_quarter_of_schools_by_value_added():
    built = build_conversion(
        hand_made_history(), "reading_ks1", "reading_ks2", top=25, outcome_points=LEVEL_POINTS
    )
    schools = built.schools.set_index("school")
    assert schools["value_added"].to_dict() == pytest.approx(
        {"A": 3.25, "B": 0.75, "C": -1.25, "D": -2.75}
    )
    assert schools["rank"].to_dict() == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert schools["kept"].to_dict() == {"A": True, "B": False, "C": False, "D": False}
    assert built.excluded_rows == 1
    assert (built.benchmark, built.subject) == ("top25", "reading")
    wide = built.table.pivot(index="prior", columns="outcome", values="proportion")
    assert wide.loc["1"].tolist() == pytest.approx([1 / 4, 3 / 4, 0])
    assert wide.loc["2"].tolist() == pytest.approx([0, 2 / 4, 2 / 4])
    assert wide.loc["3"].tolist() == pytest.approx([0, 0, 1])
    assert set(built.table["status"]) == {"derived"}
    assert built.table.groupby("prior")["pupils"].sum().to_dict() == {"1": 4, "2": 4, "3": 4}
    # every prior rests on 4 pupils: all listed as small cells, and said so in the provenance
    assert built.small_cells["prior"].tolist() == ["1", "2", "3"]
    assert built.small_cells["pupils"].tolist() == [4, 4, 4]
    table = built.to_table("local_reading", prior_scale="nc", outcome_scale="nc")
    assert "Small cells (fewer than 5 pupils): prior 1: 4 pupils" in table.metadata.provenance
    assert table.rate("top25", "reading", "1", "4c") == pytest.approx(0.75)
    assert table.most_likely("top25", "reading", pd.Series(["2"])).tolist() == ["5"]  # tie → up


def test_build_conversion_top_half_keeps_two_of_four_schools():
    built = build_conversion(
        hand_made_history(),
        "reading_ks1",
        "reading_ks2",
        top=50,
        outcome_points=LEVEL_POINTS,
        prior_points={"1": 9, "2": 15, "3": 21},
    )
    assert built.schools.loc[built.schools["kept"], "school"].tolist() == ["A", "B"]
    wide = built.table.pivot(index="prior", columns="outcome", values="proportion")
    assert wide.loc["1"].tolist() == pytest.approx([4 / 8, 4 / 8, 0])
    assert wide.loc["2"].tolist() == pytest.approx([0, 6 / 8, 2 / 8])
    assert wide.loc["3"].tolist() == pytest.approx([0, 1 / 8, 7 / 8])
    assert built.small_cells.empty
    assert built.table["benchmark"].unique().tolist() == ["top50"]


def test_build_conversion_breaks_value_added_ties_by_pupils_then_school_name():
    history = pd.DataFrame(
        {
            "school": ["Z", "Z", "M", "M", "B", "B", "B", "B"],
            "prior": ["2b"] * 8,
            "outcome": ["4b", "4b", "4b", "4b", "4b", "4b", "4b", "4b"],
        }
    )
    built = build_conversion(history, "prior", "outcome", top=25, outcome_points={"4b": 27})
    # equal value added (0): more pupils first (B), then school name (M before Z)
    assert built.schools["school"].tolist() == ["B", "M", "Z"]
    assert built.schools["kept"].tolist() == [True, False, False]  # ceil(3 × 25%) = 1


def test_build_conversion_refuses_outcomes_without_points_and_missing_columns():
    history = pd.DataFrame({"school": ["A"], "p": ["2b"], "o": ["4z"]})
    with pytest.raises(ValueError, match="without points: 4z"):
        build_conversion(history, "p", "o", outcome_points={"4b": 27})
    with pytest.raises(ValueError, match="no column"):
        build_conversion(history, "p", "missing", outcome_points={"4b": 27})


def test_a_built_table_round_trips_through_csv_and_yaml(tmp_path):
    built = build_conversion(
        hand_made_history(), "reading_ks1", "reading_ks2", outcome_points=LEVEL_POINTS
    )
    table = built.to_table("local", prior_scale="nc", outcome_scale="nc")
    (tmp_path / "local.csv").write_text(table.to_csv_text())
    (tmp_path / "local.yaml").write_text(table.metadata.to_yaml_text())
    again = load_table(tmp_path / "local.csv")
    assert again.metadata == table.metadata
    assert again.rates("top25", "reading", "4").tolist() == pytest.approx(
        table.rates("top25", "reading", "4").tolist()
    )


# ---- properties


@st.composite
def distributions(draw):
    """A random table: 1-4 priors, 2-7 outcomes, proportions summing to 1."""
    n_priors = draw(st.integers(1, 4))
    n_outcomes = draw(st.integers(2, 7))
    rows = []
    for p in range(n_priors):
        weights = draw(st.lists(st.integers(0, 20), min_size=n_outcomes, max_size=n_outcomes))
        if sum(weights) == 0:
            weights[0] = 1
        for o, w in enumerate(weights):
            rows.append(("top25", "maths", f"P{p}", f"O{o}", w / sum(weights), "illustrative"))
    frame = pd.DataFrame(rows, columns=list(ct.REQUIRED_COLUMNS))
    return frame, [f"O{o}" for o in range(n_outcomes)]


@settings(max_examples=60, deadline=None)
@given(distributions())
def test_chance_never_rises_as_the_threshold_rises(case):
    frame, outcomes = case
    meta = ct.TableMetadata(
        name="random",
        title="random",
        prior_scale="x",
        outcome_scale="x",
        subjects=["maths"],
        benchmarks=["top25"],
        outcome_order=outcomes,
        source=ct.TableSource(publisher="test", document="hypothesis"),
        provenance="made up by hypothesis",
        licence="MIT",
    )
    table = ct.table_from_frame(frame, meta)
    priors = pd.Series(sorted(set(frame["prior"])))
    chances = [table.chance("top25", "maths", priors, o).to_numpy() for o in outcomes]
    assert np.allclose(chances[0], 1)
    for lower, higher in itertools.pairwise(chances):
        assert (higher <= lower + 1e-12).all()


@functools.cache
def shipped_table(name: str) -> ct.ConversionTable:
    return load_table(name)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SHIPPED), data=st.data())
def test_shipped_tables_chance_never_rises_as_the_threshold_rises(name, data):
    table = shipped_table(name)
    slices = table.frame[["benchmark", "subject", "group"]].drop_duplicates()
    benchmark, subject, group = data.draw(st.sampled_from(list(slices.itertuples(index=False))))
    priors = pd.Series(table.distribution(benchmark, subject, group).index)
    previous = np.ones(len(priors))
    for grade in table.outcome_order:
        chance = table.chance(benchmark, subject, priors, grade, group).to_numpy()
        assert (chance <= previous + 1e-12).all()
        previous = chance


# ---- TARGETKIT_DATA_DIR: conversion tables load like every other data file (issue 12)


def user_data_dir(tmp_path: Path) -> Path:
    """A user's data folder: its own copy of ks1_ks2_levels where, in the top 25% of schools,
    66% of KS1 maths 2b pupils reach level 5 and 30% level 4 (shipped: 45% and 51%), and a
    new table `ours` (a renamed copy)."""
    folder = tmp_path / "data" / "conversions"
    folder.mkdir(parents=True)
    csv = (ct.CONVERSIONS_DIR / "ks1_ks2_levels.csv").read_text(encoding="utf-8")
    changed = csv.replace("top25,maths,2b,4,0.51,", "top25,maths,2b,4,0.30,").replace(
        "top25,maths,2b,5,0.45,", "top25,maths,2b,5,0.66,"
    )
    assert changed.count("0.66") > csv.count("0.66")
    (folder / "ks1_ks2_levels.csv").write_text(changed, encoding="utf-8")
    meta = (ct.CONVERSIONS_DIR / "ks1_ks2_levels.yaml").read_text(encoding="utf-8")
    (folder / "ks1_ks2_levels.yaml").write_text(meta, encoding="utf-8")
    (folder / "ours.csv").write_text(csv, encoding="utf-8")
    (folder / "ours.yaml").write_text(
        meta.replace("name: ks1_ks2_levels", "name: ours"), encoding="utf-8"
    )
    return tmp_path / "data"


def test_tables_in_targetkit_data_dir_are_listed_and_win_over_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(user_data_dir(tmp_path)))
    assert ct.list_tables() == sorted([*SHIPPED, "ours"])
    assert load_table("ours").path == tmp_path / "data" / "conversions" / "ours.csv"
    table = load_table("ks1_ks2_levels")
    assert table.path == tmp_path / "data" / "conversions" / "ks1_ks2_levels.csv"
    rows = table.frame[
        (table.frame["benchmark"] == "top25")
        & (table.frame["subject"] == "maths")
        & (table.frame["prior"] == "2b")
    ]
    assert dict(zip(rows["outcome"], rows["proportion"], strict=True))["5"] == pytest.approx(0.66)


def test_set_targets_uses_the_user_s_table_from_targetkit_data_dir(tmp_path, monkeypatch):
    cohort = tmp_path / "cohort.csv"
    pd.DataFrame({"upn": ["A801200015001"], "year_group": [6], "maths_ks1": ["2b"]}).to_csv(
        cohort, index=False
    )

    def maths(out: Path) -> dict[str, object]:
        args = ["set-targets", cohort, "--policy", "ks2", "--subjects", "maths", "-o", out]
        done = run_targetkit(*args)
        assert done.returncode == 0, done.stderr
        frame = read_named(out, "Targets")
        chance, likely = frame.iloc[0][["maths_chance_5plus", "maths_most_likely"]]
        return {"maths_chance_5plus": round(float(chance), 2), "maths_most_likely": str(likely)}

    assert maths(tmp_path / "shipped.xlsx") == {
        "maths_chance_5plus": 0.45,
        "maths_most_likely": "4",
    }
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(user_data_dir(tmp_path)))
    assert maths(tmp_path / "user.xlsx") == {"maths_chance_5plus": 0.66, "maths_most_likely": "5"}


def test_the_ks2_bands_lookup_comes_from_targetkit_data_dir_too(tmp_path, monkeypatch):
    folder = tmp_path / "conversions"
    folder.mkdir()
    shipped = (ct.CONVERSIONS_DIR / "ks2band.yaml").read_text(encoding="utf-8")
    (folder / "ks2band.yaml").write_text(shipped.replace("100 - 102", "100 to 102"), "utf-8")
    ct.ks2_bands.cache_clear()  # loaded once per run, before the pipeline: start afresh here
    assert "100 - 102" in set(ct.ks2_bands()["label"])
    monkeypatch.setenv("TARGETKIT_DATA_DIR", str(tmp_path))
    ct.ks2_bands.cache_clear()
    try:
        assert "100 to 102" in set(ct.ks2_bands()["label"])
    finally:
        ct.ks2_bands.cache_clear()


def test_cached_table_loads_a_table_once_and_is_the_engines_and_check_ambitions():
    """One public cache (issue 15): the engine and check-ambition share the loaded table, and
    it holds the same rows as a fresh load (the 2006 guidance's 81% of KS2 level 4 at 5 A*-C)."""
    from targetkit.commands import check_ambition
    from targetkit.pipeline import targets

    first = ct.cached_table("ks2_ks4_5ac")
    assert ct.cached_table("ks2_ks4_5ac") is first
    assert first.rate("top25", "overall", "4", "5ac") == 0.81
    pd.testing.assert_frame_equal(first.frame, load_table("ks2_ks4_5ac").frame)
    assert targets.cached_table is check_ambition.cached_table is ct.cached_table
    assert not hasattr(targets, "_load_table") and not hasattr(check_ambition, "_cached_table")
