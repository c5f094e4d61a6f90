"""SPEC §8 "Pipeline purity": data files are loaded before the pipeline runs; the pipeline itself
opens no file. The engine, the ambition checks and the report's computations run here with every
way of opening a file patched to fail. Also: openpyxl reads XML through defusedxml."""

from __future__ import annotations

import builtins
import io
import os
import pathlib

import pandas as pd
import pytest

from targetkit.findings import catalogue
from targetkit.pipeline import reporting as rp
from targetkit.pipeline.ambition import check_school, cohort_columns, policy_rules
from targetkit.pipeline.targets import compute_targets
from targetkit.policies import load_policy
from targetkit.scales import load_scale
from targetkit.subjects import load_subjects

COHORTS = {
    "ks1": {"year_group": [2, 2], "reading_eyfs": ["2", "A"]},
    "ks2": {"year_group": [6, 6], "reading_ks1": ["2b", "A"], "reading_spr1": ["3c", None]},
    "ks3": {"year_group": [9, 9], "english_ks2": ["4", "3"]},
    "ks4": {"year_group": [11, 11], "reading_ks2": ["101", None], "maths_ks2": ["99", None]},
    "steps": {
        "year_group": [4, 4],
        "reading_sum2_2026": ["3s", None],
        "reading_aut1": ["3s+", None],
    },
}


def _cohort(policy: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"upn": ["A000000000001", "A000000000002"], "sen": "N", "lac": ["Y", "N"]} | COHORTS[policy]
    )


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"the pipeline opened a file: {args!r}")


@pytest.fixture
def no_file_access(monkeypatch):
    """Every way of opening a file fails while the test runs."""
    for target, name in [
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (pathlib.Path, "open"),
        (pathlib.Path, "read_text"),
        (pathlib.Path, "read_bytes"),
    ]:
        monkeypatch.setattr(target, name, _refuse)


@pytest.mark.parametrize("policy", list(COHORTS))
def test_the_engine_and_the_checks_open_no_file(policy, request):
    chosen = load_policy(policy)  # loaded before: policy, scales, conversion tables, catalogue
    catalogue()
    load_subjects()  # the GCSE subject list, read by the checks of every policy
    scale = load_scale(chosen.target_scale)
    cohort = _cohort(policy)
    compute_targets(cohort, chosen)  # warms the loaded data files' caches
    request.getfixturevalue("no_file_access")
    result = compute_targets(cohort, chosen)
    assert result.pupils[f"{chosen.subjects[0]}_target"].notna().all()
    submission = pd.concat([cohort, result.pupils], axis=1)
    thresholds, prior_columns = policy_rules(chosen, chosen.subjects, scale)
    expected = compute_targets(cohort_columns(submission), chosen, summaries=False).pupils
    found = check_school(
        submission,
        scale=scale,
        expected=expected,
        thresholds=thresholds,
        prior_columns=prior_columns,
        subjects=list(chosen.subjects),
        key_threshold=chosen.key_threshold,
    ).findings
    assert "MISSING_TARGET" not in set(found["code"])


def test_the_report_computations_open_no_file(request):
    settings = rp.load_settings()  # loaded before
    request.getfixturevalue("no_file_access")
    drops = pd.DataFrame({"baseline": [17.0, 15.0], "aut1": [18.0, 15.0]})
    progress = rp.subject_progress(drops, pd.Series([4, 4]), pd.Series([23.0, 22.0]), settings)
    assert progress["half_terms"].tolist() == [1, 1]
    pupils = pd.DataFrame({"pupil": ["a", "b"], "year_group": [4, 4], "lac": ["Y", "N"]})
    groups = rp.pupil_groups(pupils, settings)
    assert [g.name for g in groups] == ["Looked-after"]
    rp.key_questions(pupils, {"reading": progress}, groups, settings)


def test_openpyxl_reads_xml_through_defusedxml():
    # openpyxl guards against XML attacks only when defusedxml is installed (a dependency)
    from openpyxl import xml

    assert xml.DEFUSEDXML is True
