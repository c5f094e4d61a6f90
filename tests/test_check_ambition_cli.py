"""`targetkit check-ambition` on LA batches built here: a school with a planted problem of every
code, clean schools whose targets are exactly set-targets' suggestions, a corrupt file, lock,
hidden and previous-targets files; exit statuses, --jobs, JSON and the workbook reopened."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import cli, run_targetkit

from targetkit.commands.check_ambition import check_ambition
from targetkit.commands.set_targets import set_targets
from targetkit.demo import la_submissions
from targetkit.pipeline.ambition import FINDING_COLUMNS

PLANTED = "Planted Primary"
#  row  what is planted                                     reading_ks1 spr1  target
PLANTED_PUPILS = [
    (2, "below the level-4 minimum for KS1 2b", "2b", None, "3"),
    (3, "below the latest attainment 5a", "2b", "5a", "4"),
    (4, "no target", "2b", None, None),
    (5, "EHC plan, no plan target", "2b", None, "5"),
    (6, "lower than last year's target 5", "2b", None, "4"),
    *[(r, "disadvantaged, level 1, targeted 3", "1", "3a", "3") for r in range(7, 12)],
    *[(r, "others, level 1, targeted 4", "1", "3c", "4") for r in range(12, 17)],
    *[(r, "looked after (2: a small group)", "2b", None, "5") for r in range(17, 19)],
]


def planted_school() -> pd.DataFrame:
    rows = [r for r, *_ in PLANTED_PUPILS]
    return pd.DataFrame(
        {
            "upn": [f"T80199990{r:04d}" for r in rows],
            "surname": [f"Surname{r}" for r in rows],
            "forename": [f"Forename{r}" for r in rows],
            "school": PLANTED,
            "year_group": 6,
            "disadvantaged": ["Y" if 7 <= r <= 11 else "N" for r in rows],
            "sen": ["E" if r == 5 else "N" for r in rows],
            "lac": ["Y" if r >= 17 else "N" for r in rows],
            "eal": "N",
            "ethnicity": "WBRI",
            "reading_ks1": [ks1 for _, _, ks1, _, _ in PLANTED_PUPILS],
            "reading_spr1": [spr1 for *_, spr1, _ in PLANTED_PUPILS],
            "reading_target": [target for *_, target in PLANTED_PUPILS],
        }
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """submissions/: two clean set-targets workbooks, the planted school (CSV), a corrupt
    workbook, a lock file, a hidden file, and previous_targets/ (never read as a submission)."""
    root = tmp_path_factory.mktemp("la")
    cohorts = root / "cohorts"
    cohorts.mkdir()
    folder = root / "submissions"
    (folder / "previous_targets").mkdir(parents=True)
    for name, cohort in la_submissions(2, 30).items():
        cohort.to_csv(cohorts / f"{name}.csv", index=False)
        set_targets(cohorts / f"{name}.csv", output=folder / f"{name}-targets.xlsx")
    planted_school().to_csv(folder / "planted.csv", index=False)
    (folder / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not a real workbook")
    (folder / "~$planted.xlsx").write_bytes(b"lock")
    (folder / ".hidden.csv").write_text("upn,reading_target\nX,1\n")
    previous = pd.DataFrame(
        {"upn": ["T801999900006", "T801999900002"], "reading_target": ["5", "3"]}
    )
    previous.to_csv(folder / "previous_targets" / "planted-2025.csv", index=False)
    results = pd.DataFrame(
        {
            "school": PLANTED,
            "disadvantaged": ["Y"] * 5 + ["N"] * 5,
            "reading_ks2": ["4"] * 10,
        }
    )
    results.to_csv(root / "results-2025.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def planted_only(batch, tmp_path_factory) -> Path:
    """A batch of one school: the planted one (quick runs for options and exit statuses)."""
    folder = tmp_path_factory.mktemp("one") / "submissions"
    folder.mkdir()
    (folder / "planted.csv").write_bytes((batch / "planted.csv").read_bytes())
    return folder


def clean_only(batch: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    for path in sorted(batch.glob("*-targets.xlsx"))[:1]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.fixture(scope="module")
def outcome(batch):
    return check_ambition(
        [batch],
        previous_targets=batch / "previous_targets",
        previous_results=batch.parent / "results-2025.csv",
        jobs=1,
    )


def rows_of(found: pd.DataFrame, code: str, school: str = PLANTED) -> list[int]:
    chosen = found[(found["code"] == code) & (found["school"] == school)]
    return chosen["row"].tolist()


def test_a_planted_problem_of_every_code_is_found_on_the_right_pupil(outcome):
    found = outcome.findings
    assert rows_of(found, "BELOW_EXPECTED_PROGRESS") == [2]
    assert rows_of(found, "BELOW_PREVIOUS_BEST") == [3]
    assert rows_of(found, "MISSING_TARGET") == [4]
    assert rows_of(found, "EHC_INDIVIDUAL_TARGET") == [5]
    assert rows_of(found, "TARGET_LOWERED") == [6]
    # Most likely outcomes in the shipped KS1→KS2 reading table (top 25%): 2b → 5, 1 → 4, so
    # targets 3 (row 2), 4 (rows 3, 6) and 3 (rows 7-11) are below them: warnings.
    pupil_warnings = found[(found["code"] == "BELOW_BENCHMARK") & found["upn"].notna()]
    assert pupil_warnings[pupil_warnings["school"] == PLANTED]["row"].tolist() == [
        2,
        3,
        6,
        7,
        8,
        9,
        10,
        11,
    ]
    school = found[(found["school"] == PLANTED) & found["upn"].isna()]
    by_code = {code: rows for code, rows in school.groupby("code")}
    # Disadvantaged level-1 pupils all targeted 3, others with level 1 targeted 4.
    assert by_code["GROUP_EXPECTATION_LOWER"]["group"].tolist() == ["Disadvantaged"]
    assert by_code["GROUP_EXPECTATION_LOWER"]["severity"].tolist() == ["challenge"]
    # Level 4+: 10 of 17 targeted; the table implies 7 × 0.96 (2b) + 10 × 0.63 (level 1)
    # = 13.02 of 17 = 77% → a school-level challenge at the key threshold.
    key = by_code["BELOW_BENCHMARK"]
    assert key[key["severity"] == "challenge"]["message"].tolist() == [
        "reading: 59% of pupils with a prior are targeted 4plus, below the 77% that pupils "
        "with the same starting points reach in top25 schools."
    ]
    # Last year's gap was 0 points (all at level 4); targets: disadvantaged 21 points,
    # others (21+27+33+27+5×27+2×33)/11 = 28.09 → a gap of 7.1 points.
    assert by_code["GROUP_GAP_WIDENING"]["message"].tolist() == [
        "The gap for Disadvantaged pupils in reading is 7.1 points, wider than 0.0 last year."
    ]
    assert by_code["SMALL_GROUP"]["group"].tolist() == ["Looked-after"]
    unreadable = found[found["code"] == "FILE_UNREADABLE"]
    assert unreadable["file"].map(lambda f: Path(f).name).tolist() == ["corrupt.xlsx"]
    assert unreadable["severity"].tolist() == ["challenge"]


def test_targets_exactly_as_set_targets_suggests_raise_no_challenge(outcome):
    clean = outcome.findings[outcome.findings["school"].str.match(r"^10000[12] ")]
    assert len(outcome.schools) == 3
    assert not clean.empty  # they are checked (benchmark warnings, EHC notes) ...
    assert "challenge" not in set(clean["severity"])  # ... but nothing is challenged
    summary = outcome.schools.set_index("school")
    assert summary.loc[PLANTED, "RAG"] == "red"
    assert set(summary.drop(index=PLANTED)["RAG"]) <= {"amber", "green"}


def test_files_lists_every_file_read_or_not_and_why(outcome):
    files = outcome.files.assign(name=outcome.files["file"].map(lambda f: Path(f).name))
    status = dict(zip(files["name"], files["status"], strict=True))
    assert status.pop("corrupt.xlsx") == "unreadable"
    assert status.pop("~$planted.xlsx") == "skipped"
    assert status.pop(".hidden.csv") == "skipped"
    assert status.pop("planted.csv") == "checked"
    assert set(status.values()) == {"checked"} and len(status) == 2
    assert "planted-2025.csv" not in set(files["name"])  # previous targets are not submissions
    reason = files.set_index("name").loc["corrupt.xlsx", "reason"]
    assert "damaged" in reason


def test_findings_are_sorted_by_school_then_file_whatever_the_order_found(outcome):
    schools = outcome.findings["school"].tolist()
    order = list(dict.fromkeys(schools))
    assert order == sorted(order, key=str.casefold)
    assert [s for s in schools] == sorted(schools, key=order.index)


def test_jobs_1_and_jobs_2_give_identical_json_equal_to_the_library_result(batch, outcome):
    args = [
        "check-ambition",
        batch,
        "--previous-targets",
        batch / "previous_targets",
        "--previous-results",
        batch.parent / "results-2025.csv",
        "--format",
        "json",
    ]
    before = {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()}
    one = cli(*args, "--jobs", "1")
    two = cli(*args, "--jobs", "2")
    assert one.exit_code == two.exit_code == 1
    assert one.stdout == two.stdout
    document = json.loads(two.stdout)
    assert document["command"] == "check-ambition"
    assert document["findings"] == outcome.finding_records()  # the library's findings, exactly
    assert [{k: v for k, v in f.items() if k != "basis"} for f in document["findings"]] == (
        outcome.records()
    )
    assert document["summary"]["checked"] == 3 and document["summary"]["unreadable"] == 1
    assert document["summary"]["by_severity"]["challenge"] == sum(
        f["severity"] == "challenge" for f in outcome.records()
    )
    # Inputs are never changed.
    assert {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("fail_on", "planted_exit", "clean_exit"),
    [("challenge", 1, 0), ("warning", 1, 0), ("never", 0, 0)],
)
def test_exit_status_follows_fail_on(
    batch, planted_only, tmp_path, fail_on, planted_exit, clean_exit
):
    # The clean schools are untouched set-targets output: nothing at warning or above (SPEC §8;
    # a target below the most likely outcome is information only); the planted school has
    # challenges.
    assert cli("check-ambition", planted_only, "--fail-on", fail_on).exit_code == planted_exit
    clean = clean_only(batch, tmp_path)
    assert cli("check-ambition", clean, "--fail-on", fail_on, "--jobs", "1").exit_code == (
        clean_exit
    )


def test_default_fail_on_is_challenge_and_an_unreadable_file_alone_gives_exit_1(tmp_path):
    (tmp_path / "broken.csv").write_bytes(b"")  # empty file
    result = cli("check-ambition", tmp_path)
    assert result.exit_code == 1
    assert "FILE_UNREADABLE" in result.stdout and "the file is empty" in result.stdout


def test_no_submissions_or_a_bad_option_is_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt.pdf").write_text("not a table")
    result = cli("check-ambition", empty)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("targetkit: error: ")
    assert "no submissions found" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert cli("check-ambition", empty, "--jobs", "0").exit_code == 2
    assert cli("check-ambition", empty, "--fail-on", "sometimes").exit_code == 2


def test_the_workbook_has_the_la_summary_challenges_and_files(batch, outcome, tmp_path):
    out = tmp_path / "la-check.xlsx"
    check_ambition(
        [batch],
        output=out,
        previous_targets=batch / "previous_targets",
        previous_results=batch.parent / "results-2025.csv",
        jobs=2,
    )
    library = outcome
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:6] == [
        "LA summary",
        "Challenges",
        "Subject gaps",
        "Files",
        "Read me",
        "About",
    ]

    summary = book["LA summary"]
    # One sentence a subject opens the sheet (beside the school column, which every printed
    # page repeats); the table starts below it, headers in words.
    assert summary["B1"].value.startswith("Reading: across 3 schools, ")
    top = next(r for r in range(1, 10) if summary.cell(r, 1).value == "School")
    header = [c.value for c in summary[top]]
    assert header[:4] == ["School", "File", "Policy", "Pupils"]
    assert {
        "Reading 4+: % targeted",
        "Reading 4+: % benchmark implies",
        "Reading 4+: targeted minus benchmark",
        "Challenges",
        "Warnings",
        "RAG",
    } <= set(header)
    rows = [
        dict(zip(header, [c.value for c in row], strict=True))
        for row in summary.iter_rows(min_row=top + 1)
    ]
    assert [r["School"] for r in rows] == [
        "100001 Oakfield Primary",
        "100002 St Mary's CE Primary",
        PLANTED,
        "LA total",
    ]
    schools, total = rows[:3], rows[3]
    # LA total: pupils summed (30 + 30 + 17); percentages weighted by pupils.
    assert total["Pupils"] == 77
    weighted = sum(r["Reading 4+: % targeted"] * r["Pupils"] for r in schools) / 77
    assert total["Reading 4+: % targeted"] == pytest.approx(weighted)
    # The total's challenges include the unreadable file's.
    assert total["Challenges"] == sum(r["Challenges"] for r in schools) + 1
    assert rows[2]["RAG"] == "red" and total["RAG"] == "red"
    cell = summary.cell(top + 1, header.index("Reading 4+: % targeted") + 1)
    assert cell.number_format == "0%"
    assert len(summary._charts) == 1
    rag_rules = [rule.formula[0] for rng in summary.conditional_formatting for rule in rng.rules]
    assert {'"red"', '"amber"', '"green"'} <= set(rag_rules)
    assert summary.freeze_panes == f"B{top + 1}"

    challenges = book["Challenges"]
    header = [c.value for c in challenges[1]]
    # the most serious first: severity leads, then school and row
    assert header == [
        "Severity",
        "School",
        "Row",
        "UPN",
        "Pupil",
        "Subject",
        "Group",
        "Code",
        "File",
        "Message",
    ]
    assert challenges.auto_filter.ref is not None
    assert challenges.max_row - 1 == len(library.findings)
    lowered = [
        [c.value for c in row]
        for row in challenges.iter_rows(min_row=2)
        if row[7].value == "BELOW_EXPECTED_PROGRESS"
    ]
    assert lowered == [
        [
            "challenge",
            PLANTED,
            2,
            "T801999900002",
            "Forename2 Surname2",
            "reading",
            None,
            "BELOW_EXPECTED_PROGRESS",
            str(batch / "planted.csv"),
            "reading target 3 is below the minimum 4 expected from 2b.",
        ]
    ]

    files = book["Files"]
    statuses = {Path(row[0].value).name: row[2].value for row in files.iter_rows(min_row=2)}
    assert statuses["corrupt.xlsx"] == "unreadable" and statuses["planted.csv"] == "checked"
    readme_text = " ".join(
        str(c.value) for row in book["Read me"].iter_rows() for c in row if c.value
    )
    assert "every pupil on roll" in readme_text and "GROUP_EXPECTATION_LOWER" in readme_text


def test_an_existing_output_is_not_overwritten_without_force(planted_only, tmp_path):
    out = tmp_path / "la.xlsx"
    out.write_bytes(b"keep me")
    result = cli("check-ambition", planted_only, "-o", out)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert out.read_bytes() == b"keep me"
    forced = cli("check-ambition", planted_only, "-o", out, "--force", "--fail-on", "never")
    assert forced.exit_code == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "LA summary"


def test_pseudonymise_replaces_upns_and_names_in_the_findings(planted_only, monkeypatch):
    monkeypatch.setenv("TARGETKIT_KEY", "a-secret-key-of-the-LA-0123")
    result = cli("check-ambition", planted_only, "--pseudonymise", "--format", "json")
    records = [r for r in json.loads(result.stdout)["findings"] if r["upn"] is not None]
    assert records and all(r["upn"].startswith("P-") for r in records)
    assert all(r["pupil"].startswith("P-") for r in records if r["pupil"])
    assert "T801999900002" not in result.stdout and "Surname2" not in result.stdout


def test_a_real_run_prints_a_table_per_school_and_exits_1(batch):
    result = run_targetkit("check-ambition", batch, "--jobs", "2")
    assert result.returncode == 1, result.stderr
    assert PLANTED in result.stdout and "100001 Oakfield Primary" in result.stdout
    assert "BELOW_EXPECTED_PROGRESS" in result.stdout and "corrupt" in result.stdout
    assert "Checked 3 submissions; 1 unreadable" in result.stdout  # a result, on stdout
    assert "Traceback" not in result.stderr


def test_a_chunk_checked_together_gives_exactly_each_file_checked_alone(
    batch, tmp_path, monkeypatch
):
    """The batched checks (one pass over a chunk's files) against the checks one file at a
    time, on set-targets workbooks, a corrupt file and planted schools whose columns differ."""
    from targetkit.commands import check_ambition as command

    folder = tmp_path / "chunk"
    folder.mkdir()
    for path in [*batch.glob("*-targets.xlsx"), batch / "planted.csv", batch / "corrupt.xlsx"]:
        (folder / path.name).write_bytes(path.read_bytes())
    second = planted_school().drop(columns=["sen", "reading_spr1"]).assign(school="Second")
    second["reading_target"] = ["3", None, "3", "4", "4"] + ["3"] * 12
    second.to_csv(folder / "second.csv", index=False)
    third = planted_school().assign(school="Third", notes="kept", ethnicity="BCRB")
    third["reading_plan_target"] = [None, None, None, "3", *[None] * 13]
    third.to_csv(folder / "third.csv", index=False)
    files, _ = command.find_submissions([folder])
    context = command._Context(
        "top25",
        command.read_previous_targets(batch / "previous_targets"),
        command.read_submission(batch.parent / "results-2025.csv"),
    )
    monkeypatch.setattr(command, "_context", context)
    sizes: list[int] = []
    check_schools = command.check_schools

    def spy(submissions: list[pd.DataFrame], **kwargs: object) -> list[object]:
        sizes.append(len(submissions))
        return check_schools(submissions, **kwargs)

    monkeypatch.setattr(command, "check_schools", spy)
    together = command.check_files(files)
    assert max(sizes) >= 3  # the planted schools were checked together

    def one_by_one(*args: object, **kwargs: object) -> None:
        raise RuntimeError("not together")  # check_files then checks each file alone

    monkeypatch.setattr(command, "check_schools", one_by_one)
    alone = command.check_files(files)
    assert [(r.file, r.school, r.status, r.reason, r.pupils, r.policy) for r in together] == [
        (r.file, r.school, r.status, r.reason, r.pupils, r.policy) for r in alone
    ]
    for batched, single in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(
            pd.DataFrame(batched.findings, columns=FINDING_COLUMNS),
            pd.DataFrame(single.findings, columns=FINDING_COLUMNS),
        )
        assert pd.Series(batched.summary, dtype=object).equals(
            pd.Series(single.summary, dtype=object)
        )
    found = pd.DataFrame([f for r in together for f in r.findings], columns=FINDING_COLUMNS)
    schools_with = found.groupby("code")["school"].nunique()
    assert schools_with["BELOW_EXPECTED_PROGRESS"] >= 3
    assert schools_with["MISSING_TARGET"] >= 2
    assert {"TARGET_LOWERED", "EHC_TARGET_BELOW_RULE", "FILE_UNREADABLE"} <= set(found["code"])
    assert [r.status for r in together].count("unreadable") == 1


def test_a_targets_sheet_is_read_directly_and_other_workbooks_still_choose_a_sheet(tmp_path):
    from targetkit.commands.check_ambition import read_submission
    from targetkit.errors import UsageError
    from targetkit.io import read_table

    def workbook(path: Path, sheets: dict[str, list[list[object]]], hidden: str = "") -> Path:
        book = openpyxl.Workbook()
        book.remove(book.active)
        for name, rows in sheets.items():
            sheet = book.create_sheet(name)
            for row in rows:
                sheet.append(row)
            if name == hidden:
                sheet.sheet_state = "hidden"
        book.save(path)
        return path

    pupils = [["upn", "surname", "reading_target"], ["T801999900002", "Smith", "4"]]
    summary = [["subject", "upn", "surname", "forename", "school", "year_group"], ["x"] * 6]
    both = workbook(tmp_path / "both.xlsx", {"Targets": pupils, "Summary": summary})
    # Choosing would take Summary (more known headers); the Targets sheet is read instead.
    assert read_table(both).sheet == "Summary"
    assert read_table(both, prefer_sheet="Targets").sheet == "Targets"
    assert read_submission(both)["reading_target"].tolist() == ["4"]
    # No Targets sheet, or a hidden one: the sheet is chosen as before.
    other = workbook(tmp_path / "other.xlsx", {"Pupils": pupils, "About": [["a", "b"]]})
    assert read_submission(other)["upn"].tolist() == ["T801999900002"]
    hidden = workbook(tmp_path / "hidden.xlsx", {"Targets": pupils, "Pupils": pupils}, "Targets")
    assert read_table(hidden, prefer_sheet="Targets").sheet == "Pupils"
    # An explicit sheet still wins, and a missing one is still an error.
    assert read_table(both, sheet="Summary", prefer_sheet="Targets").sheet == "Summary"
    with pytest.raises(UsageError):
        read_table(both, sheet="Nope", prefer_sheet="Targets")


def test_expectations_without_school_summaries_are_the_same_pupil_rows():
    """check-ambition asks compute_targets for the pupils' rows only (`summaries=False`)."""
    from targetkit.pipeline.targets import compute_targets
    from targetkit.policies import choose_policy, load_policy

    cohort = next(iter(la_submissions(1, 30).values()))
    policy = load_policy(choose_policy(cohort)[0])
    full = compute_targets(cohort, policy)
    lean = compute_targets(cohort, policy, summaries=False)
    pd.testing.assert_frame_equal(lean.pupils, full.pupils)
    assert lean.notes == full.notes
    assert not full.summary.empty
    assert lean.summary.empty and lean.by_group.empty
