"""Privacy: no network ever; keyed pseudonyms for pupils; small groups not shown as percentages.

SPEC §1: "The pupil data is personal data about children. Nothing leaves the machine."
SPEC §6: `--pseudonymise` replaces names and UPNs with stable keyed hashes; group figures for
fewer than 5 pupils are marked as small.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import cli, run_targetkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targetkit.errors import UsageError
from targetkit.labels import label
from targetkit.privacy import (
    KEY_ENV,
    load_key,
    pseudonymise,
    requested_key,
    suppress_small_groups,
)

KEY = b"a-long-random-school-secret-0123456789"
OTHER_KEY = b"another-long-random-secret-9876543210"
UPNS = ["L801200015001", "A801200015002", "P801200015003"]


def expected_pseudonym(key: bytes, kind: str, value: str) -> str:
    """Worked by hand from the definition: P- and 12 hex digits of HMAC-SHA256(kind 0x1F value)."""
    return (
        "P-" + hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:12].upper()
    )


# --- no network -------------------------------------------------------------------------------

# How to run each command on the demo files (demo itself runs first, also without network).
DEMO_RUNS: dict[str, Callable[[Path, Path], list[str | Path]]] = {
    "demo": lambda examples, out: ["demo", examples],
    "convert": lambda examples, out: ["convert", examples / "primary-cohort.xlsx", "--column",
                                      "reading_ks1", "--from", "nc", "--to", "points",
                                      "-o", out / "converted.xlsx"],
    "import": lambda examples, out: ["import", examples / "messy-mis-export.csv",
                                     "-o", out / "cohort.xlsx"],
    "set-targets": lambda examples, out: ["set-targets", examples / "primary-cohort.xlsx",
                                          "-o", out / "targets.xlsx"],
    "check-ambition": lambda examples, out: ["check-ambition", out / "targets.xlsx",
                                             "-o", out / "check.xlsx"],
    "report": lambda examples, out: ["report", examples / "steps-tracking.xlsx",
                                     "-o", out / "report.xlsx"],
    "build-conversion": lambda examples, out: ["build-conversion", history(out),
                                               "--prior", "reading_ks1", "--outcome",
                                               "reading_ks2", "-o", out / "table.csv"],
}  # fmt: skip


def history(folder: Path) -> Path:
    """Four schools' KS1 and KS2 reading levels, six pupils each (for build-conversion)."""
    lines = ["school,upn,reading_ks1,reading_ks2"]
    for school, ks2 in enumerate(
        [
            ["4", "4", "5", "3", "4", "5"],
            ["3", "4", "4", "3", "3", "4"],
            ["5", "5", "4", "4", "5", "5"],
            ["3", "3", "4", "3", "4", "3"],
        ]
    ):
        lines += [
            f"10000{school},X{school}{i},{['2b', '2a', '3', '2c', '2b', '3'][i]},{level}"
            for i, level in enumerate(ks2)
        ]
    path = folder / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ORDER = ["demo", "convert", "import", "set-targets", "check-ambition", "report", "build-conversion"]


def registered() -> list[str]:
    from targetkit.cli import main

    return sorted(main.commands, key=lambda name: ORDER.index(name) if name in ORDER else 99)


def test_every_registered_command_has_a_network_run():
    assert set(registered()) <= set(DEMO_RUNS), set(registered()) - set(DEMO_RUNS)


def test_no_command_opens_a_network_connection(tmp_path, monkeypatch):
    attempts: list[str] = []

    def blocked(name: str):
        def refuse(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network use is forbidden in this test ({name})")

        return refuse

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, blocked(name))
    examples = tmp_path / "examples"
    for command in registered():
        result = cli(*DEMO_RUNS[command](examples, tmp_path))
        assert result.exit_code in (0, 1), f"{command}: {result.stderr}"
    assert attempts == []


# --- keys -------------------------------------------------------------------------------------


def test_the_key_comes_from_the_key_file_without_its_trailing_newline(tmp_path):
    key_file = tmp_path / "school.key"
    key_file.write_bytes(KEY + b"\n")
    assert load_key(key_file) == KEY


def test_the_key_comes_from_targetkit_key_when_there_is_no_file(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY.decode())
    assert load_key(None) == KEY


def test_no_key_is_a_usage_error_saying_what_to_do(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(UsageError) as caught:
        load_key(None)
    assert "--key-file" in str(caught.value) and KEY_ENV in str(caught.value)


def test_a_short_key_is_refused_as_guessable(tmp_path):
    key_file = tmp_path / "short.key"
    key_file.write_text("abc123")
    with pytest.raises(UsageError, match="shorter than 16"):
        load_key(key_file)


def test_a_missing_key_file_names_the_file(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_key(tmp_path / "nowhere.key")
    assert caught.value.file == str(tmp_path / "nowhere.key")


def test_key_file_without_pseudonymise_is_a_mistake(tmp_path):
    assert requested_key(False, None) is None
    with pytest.raises(UsageError, match="only used with --pseudonymise"):
        requested_key(False, tmp_path / "school.key")


# --- pseudonyms -------------------------------------------------------------------------------


def cohort() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "UPN": [UPNS[0], UPNS[1], None, UPNS[2]],
            "Legal Surname": ["Smith", "Smith", "Jones", None],
            "Forename": ["Amy", "Bo", "Cy", "Di"],
            "Adno": ["001234", "001235", "001236", "001237"],  # an MIS name for pupil_id
            "Class": ["3A", "3A", "3B", "3B"],
            "Reading KS1": ["2b", "3", "W", "1a"],
        },
        dtype=object,
    )


def test_upns_become_the_hmac_sha256_pseudonym_of_the_upn():
    out = pseudonymise(cohort(), KEY)
    assert out["UPN"].tolist() == [
        expected_pseudonym(KEY, "upn", UPNS[0]),
        expected_pseudonym(KEY, "upn", UPNS[1]),
        None,
        expected_pseudonym(KEY, "upn", UPNS[2]),
    ]


def test_names_are_pseudonymised_per_pupil_so_siblings_do_not_share_one():
    out = pseudonymise(cohort(), KEY)
    # "Smith" for two pupils: keyed with each pupil's UPN (and the surname case-folded)
    assert out["Legal Surname"].tolist() == [
        expected_pseudonym(KEY, "surname", f"{UPNS[0]}\x1fsmith"),
        expected_pseudonym(KEY, "surname", f"{UPNS[1]}\x1fsmith"),
        expected_pseudonym(KEY, "surname", "\x1fjones"),  # no UPN: the name alone
        None,
    ]
    assert out["Legal Surname"][0] != out["Legal Surname"][1]


def test_other_columns_and_the_row_order_are_unchanged():
    given = cohort()
    out = pseudonymise(given, KEY)
    assert list(out.columns) == list(given.columns)
    assert out["Reading KS1"].tolist() == given["Reading KS1"].tolist()
    assert out["Class"].tolist() == given["Class"].tolist()
    assert out["Adno"].tolist() == [
        expected_pseudonym(KEY, "pupil_id", number) for number in given["Adno"]
    ]
    assert given["UPN"][0] == UPNS[0]  # the input frame itself is not changed


def test_the_same_pupil_gets_the_same_pseudonym_whatever_the_spelling():
    a = pd.DataFrame({"upn": [UPNS[0]], "pupil_id": [1234]}, dtype=object)
    b = pd.DataFrame({"UPN": [" " + UPNS[0].lower() + " "], "pupil_id": ["1234"]}, dtype=object)
    c = pd.DataFrame({"upn": [UPNS[0]], "pupil_id": [1234.0]}, dtype=object)
    firsts = [pseudonymise(frame, KEY).iloc[0].tolist() for frame in (a, b, c)]
    assert firsts[0] == firsts[1] == firsts[2]


def test_different_keys_give_different_pseudonyms():
    assert pseudonymise(cohort(), KEY)["UPN"][0] != pseudonymise(cohort(), OTHER_KEY)["UPN"][0]


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "school.key"
    path.write_bytes(KEY)
    return path


def write_cohort(path: Path, upns: list[str]) -> Path:
    lines = ["UPN,Surname,Forename,Reading KS1"]
    lines += [f"{upn},Name{upn[-1]},First{upn[-1]},2b" for upn in upns]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def convert(source: Path, out: Path, *extra: str | Path):
    return cli("convert", source, "--column", "Reading KS1", "--from", "nc", "--to", "points",
               "-o", out, *extra)  # fmt: skip


def test_convert_pseudonymise_matches_pupils_across_two_files(tmp_path, key_file):
    autumn = write_cohort(tmp_path / "autumn.csv", UPNS)
    spring = write_cohort(tmp_path / "spring.csv", [UPNS[2], UPNS[0]])  # other order, one left
    for source in (autumn, spring):
        out = tmp_path / f"{source.stem}.xlsx"
        result = convert(source, out, "--pseudonymise", "--key-file", key_file)
        assert result.exit_code == 0, result.stderr
    sheets = {
        name: openpyxl.load_workbook(tmp_path / f"{name}.xlsx")["Converted"]
        for name in ("autumn", "spring")
    }
    autumn_upns = [sheets["autumn"].cell(r, 1).value for r in range(2, 5)]
    spring_upns = [sheets["spring"].cell(r, 1).value for r in range(2, 4)]
    assert autumn_upns == [expected_pseudonym(KEY, "upn", upn) for upn in UPNS]
    assert spring_upns == [autumn_upns[2], autumn_upns[0]]
    # names gone, grades and their conversion kept (2b = 15 points)
    values = [cell.value for row in sheets["autumn"].iter_rows() for cell in row]
    assert not any(isinstance(v, str) and ("Name" in v[:4] or "First" in v) for v in values)
    assert [sheets["autumn"].cell(r, 5).value for r in range(2, 5)] == [15, 15, 15]


def test_convert_pseudonymise_with_no_key_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    out = tmp_path / "out.xlsx"
    result = convert(write_cohort(tmp_path / "c.csv", UPNS), out, "--pseudonymise")
    assert result.exit_code == 2
    assert result.stderr.startswith("targetkit: error: --pseudonymise needs a secret key (")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_a_real_run_takes_the_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY.decode())
    out = tmp_path / "out.csv"
    completed = run_targetkit("convert", write_cohort(tmp_path / "c.csv", UPNS[:1]), "--column",
                              "Reading KS1", "--from", "nc", "--to", "points", "-o", out,
                              "--pseudonymise")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].split(",")[0] == expected_pseudonym(KEY, "upn", UPNS[0])
    assert UPNS[0] not in out.read_text(encoding="utf-8-sig")


PUPIL_LEVEL_COMMANDS = ["convert", "import", "set-targets", "check-ambition", "report"]


@pytest.mark.parametrize("command", PUPIL_LEVEL_COMMANDS)
def test_every_command_writing_pupil_data_offers_pseudonymise(command):
    from targetkit.cli import main

    if command not in main.commands:
        pytest.skip(f"{command} is not registered yet")
    options = {param.name for param in main.commands[command].params}
    assert {"pseudonymise", "key_file"} <= options


# --- small groups -----------------------------------------------------------------------------


def groups() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["all", "disadvantaged", "looked after", "EAL", "none"],
            "pupils": [30, 5, 3, 4, 0],
            "reading % on track": [80.0, 60.0, 66.7, 75.0, None],
            "maths % on track": [70, 40, 100, 50, None],
        }
    )


def test_groups_of_fewer_than_5_are_marked_and_their_percentages_hidden():
    out = suppress_small_groups(groups(), "pupils", ["reading % on track", "maths % on track"])
    assert out["small_group"].tolist() == [False, False, True, True, True]
    # 5 pupils is not small (fewer than 5 is); the counts themselves stay
    assert out["reading % on track"].tolist()[:2] == [80.0, 60.0]
    assert out["reading % on track"].iloc[2:].isna().all()
    assert out["maths % on track"].tolist()[:2] == [70, 40]
    assert out["maths % on track"].iloc[2:].isna().all()
    assert out["pupils"].tolist() == [30, 5, 3, 4, 0]


def test_show_small_groups_keeps_the_figures_but_still_marks_them():
    out = suppress_small_groups(groups(), "pupils", ["reading % on track"], show=True)
    assert out["small_group"].tolist() == [False, False, True, True, True]
    assert out["reading % on track"].tolist()[:4] == [80.0, 60.0, 66.7, 75.0]


def test_the_threshold_can_be_raised_for_publication():
    out = suppress_small_groups(groups(), "pupils", ["reading % on track"], minimum=10)
    assert out["small_group"].tolist() == [False, True, True, True, True]


def test_the_input_frame_is_not_changed():
    given = groups()
    suppress_small_groups(given, "pupils", ["reading % on track"])
    assert given["reading % on track"].tolist()[2] == 66.7
    assert "small_group" not in given.columns


def test_report_offers_show_small_groups():
    from targetkit.cli import main

    if "report" not in main.commands:
        pytest.skip("report is not registered yet")
    assert "show_small_groups" in {param.name for param in main.commands["report"].params}


def test_import_and_convert_give_a_pupil_the_same_pseudonym(tmp_path, key_file):
    """An LA joins files made by different commands: the pseudonym must not depend on which."""
    from targetkit.cli import main

    if "import" not in main.commands:
        pytest.skip("import is not registered yet")
    source = write_cohort(tmp_path / "cohort.csv", UPNS)
    converted, imported = tmp_path / "converted.xlsx", tmp_path / "cohort.xlsx"
    assert convert(source, converted, "--pseudonymise", "--key-file", key_file).exit_code == 0
    result = cli("import", source, "-o", imported, "--pseudonymise", "--key-file", key_file)
    assert result.exit_code in (0, 1), result.stderr
    pupils = openpyxl.load_workbook(imported)["Pupils"]
    header = [cell.value for cell in pupils[1]]
    column = header.index("UPN") + 1
    from_import = [pupils.cell(r, column).value for r in range(2, 2 + len(UPNS))]
    from_convert = [
        openpyxl.load_workbook(converted)["Converted"].cell(r, 1).value
        for r in range(2, 2 + len(UPNS))
    ]
    assert from_import == from_convert == [expected_pseudonym(KEY, "upn", u) for u in UPNS]


# --- issue 17: every identifying column, once; what stayed is said ---------------------------

IDENTIFYING_HEADERS = {  # header as MIS exports spell it -> the kind its pseudonym is keyed by
    "Name": "full_name",
    "Full Name": "full_name",
    "Pupil Name": "full_name",
    "Student": "full_name",
    "Known As": "preferred_name",
    "Middle Name": "middle_names",
    "Preferred Name": "preferred_name",
    "Email": "email",
}


@pytest.mark.parametrize(("header", "kind"), IDENTIFYING_HEADERS.items())
def test_every_column_recognised_as_identifying_is_pseudonymised(header, kind):
    frame = pd.DataFrame({"UPN": [UPNS[0], UPNS[1]], header: ["Amy Smith", None]}, dtype=object)
    out = pseudonymise(frame, KEY)
    # a name, keyed with the pupil's UPN and case-folded, as surnames are; blanks stay blank
    assert out[header].tolist() == [expected_pseudonym(KEY, kind, f"{UPNS[0]}\x1famy smith"), None]


def test_an_exam_number_is_an_identifier_compared_in_upper_case():
    frame = pd.DataFrame({"Exam No.": ["ab123", " AB123 "]}, dtype=object)
    out = pseudonymise(frame, KEY)
    assert out["Exam No."].tolist() == [expected_pseudonym(KEY, "candidate_number", "AB123")] * 2


def test_the_identifying_columns_are_defined_once_in_privacy():
    from targetkit import privacy

    assert set(privacy.IDENTIFYING_COLUMNS) == {
        "upn", "pupil_id", "surname", "forename", "full_name", "preferred_name",
        "preferred_forename", "preferred_surname", "middle_names", "former_surname",
        "candidate_number", "email", "former_upn",
    }  # fmt: skip


def test_an_already_pseudonymised_file_is_not_hashed_again_and_says_so(capsys):
    once = pseudonymise(cohort(), KEY)
    capsys.readouterr()
    twice = pseudonymise(once, KEY)
    assert twice["UPN"].tolist() == once["UPN"].tolist()
    assert twice["Legal Surname"].tolist() == once["Legal Surname"].tolist()
    said = capsys.readouterr().err
    assert "column 'UPN' already holds pseudonyms (P-…); kept as it is, not hashed again" in said


def test_text_columns_not_recognised_are_listed_so_the_user_knows_what_stayed(capsys):
    frame = cohort().assign(Notes=["lives with gran", None, "", "x"], Score=["12", "3", None, "4"])
    pseudonymise(frame, KEY)
    said = capsys.readouterr().err
    assert "left as they are" in said
    listed = said.split("): ", 1)[1].strip()
    assert listed == "Class, Notes"  # Score holds numbers only; Reading KS1 is a known column


def test_import_prints_counts_and_rows_of_problems_but_no_values_without_verbose(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text(
        "UPN,Surname,Forename,DOB,NC Year\r\n"
        "L801200015001,Smith,Amy,01/09/2018,Year 3\r\n"
        "L801200015001,Jones,Bo,01/09/2018,Year 3\r\n"  # the same UPN again
        "A801200015002,Patel,Zoe,01/09/2010,Year 3\r\n",  # born for Year 11 in 2026/27
        encoding="utf-8",
    )
    args = ["import", source, "--academic-year", "2026/27", "-o"]
    quiet = cli(*args, tmp_path / "a.xlsx")
    assert "2010" not in quiet.stdout + quiet.stderr
    assert "(DUPLICATE_UPN): rows 2, 3\n" in quiet.stdout  # results on stdout
    assert "(DOB_OUTSIDE_YEAR_GROUP): row 4\n" in quiet.stdout
    loud = cli("-v", *args, tmp_path / "b.xlsx")
    assert "(DOB_OUTSIDE_YEAR_GROUP): row 4: born 01/09/2010" in loud.stdout


# --- issue 17: a small group's figures hidden with those they could be worked out from -------


def test_a_small_groups_row_is_blanked_but_its_count_and_the_school_totals_stay():
    from targetkit.privacy import hide_small_groups

    table = pd.DataFrame(
        {
            "group": ["all", "eal", "fsm"],
            "drop": ["aut1", "aut1", "aut1"],
            "pupils": [3, 2, 7],  # the school itself is small: its totals are never hidden
            "avg_steps": [2.0, 1.0, 2.5],
            "others_avg_steps": [None, 2.5, 1.0],  # others - gap = the group's own figure
            "gap_steps": [None, 1.5, -1.5],
            "previous_gap_steps": [None, 1.0, -1.0],
            "small": ["", "small", ""],
        }
    )
    out = hide_small_groups(table)
    assert out.loc[0, "avg_steps"] == 2.0  # the school's totals
    assert out.loc[1, "pupils"] == 2 and out.loc[1, "drop"] == "aut1"
    hidden = ["avg_steps", "others_avg_steps", "gap_steps", "previous_gap_steps"]
    assert out.loc[1, hidden].isna().all()
    assert out.loc[2, hidden].tolist() == [2.5, 1.0, -1.5, -1.0]
    assert table.loc[1, "avg_steps"] == 1.0  # the input is unchanged
    assert hide_small_groups(table, show=True).equals(table)


def test_set_targets_summary_by_group_hides_a_one_pupil_groups_figures(tmp_path):
    rows = ["UPN,Surname,Year Group,EAL,Reading KS1,Writing KS1,Maths KS1"]
    upns = ["L801200015001", "A801200015002", "P801200015003", "D801200015004", "H801200015005",
            "K801200015006"]  # fmt: skip
    for i, upn in enumerate(upns):
        rows.append(f"{upn},P{i},6,{'Y' if i == 0 else 'N'},2b,2b,2b")
    source = tmp_path / "cohort.csv"
    source.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", source, "-o", out)
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out)["Summary by group"]
    words = {label(name): name for name in ("group", "value", "pupils", "targeted",
             "pct_targeted", "average_target_points")}  # fmt: skip
    header = [words.get(c.value, c.value) for c in sheet[1]]
    records = [
        dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    eal_one = [r for r in records if r["group"] == "eal" and r["pupils"] == 1]
    assert eal_one, records
    for record in eal_one:
        assert record["pct_targeted"] is None and record["targeted"] is None
        assert record["average_target_points"] is None
    others = [r for r in records if r["group"] == "eal" and r["pupils"] == 5]
    assert others and all(r["pct_targeted"] is not None for r in others)


def test_set_targets_about_names_what_was_replaced_and_what_stayed(tmp_path, key_file):
    source = tmp_path / "cohort.csv"
    source.write_text(
        "UPN,Full Name,Notes,Year Group,Reading KS1,Writing KS1,Maths KS1\r\n"
        "L801200015001,Amy Smith,lives with gran,6,2b,2b,2b\r\n",
        encoding="utf-8",
    )
    out = tmp_path / "targets.xlsx"
    result = cli("set-targets", source, "-o", out, "--pseudonymise", "--key-file", key_file)
    assert result.exit_code == 0, result.stderr
    about = dict(openpyxl.load_workbook(out)["About"].iter_rows(min_row=2, values_only=True))
    assert about["pseudonymised"] == (
        "yes (replaced: UPN, Full Name; text columns left as they are: Notes)"
    )
    assert "left as they are" in result.stderr and "Notes" in result.stderr


# --- issue 17: a pupil's name has the same pseudonyms in every command ------------------------

NAME_LETTERS = st.sampled_from([*"abcdefghijklmnopqrstuvwxyzéöñçø", "'", "-", " "])
NOT_NAMES = {"na", "n/a", "nan", "null", "none", "total", "totals", "true", "false", "yes", "no"}


def a_name() -> st.SearchStrategy[str]:
    """A surname or forename: letters (some accented), apostrophes, hyphens, inner spaces."""
    return (
        st.text(NAME_LETTERS, min_size=1, max_size=12)
        .map(lambda text: text.strip(" '-"))
        .filter(lambda name: any(c.isalpha() for c in name) and name not in NOT_NAMES)
    )


def spelt(name: str, how: int) -> str:
    """The same name as another export spells it: case and spacing differ, letters do not."""
    return [name, name.upper(), f"  {name.title()} ", name.replace(" ", "  ")][how % 4]


@pytest.fixture(scope="module")
def tracking_rows(tmp_path_factory) -> pd.DataFrame:
    """Five Year 4 pupils of the demo's steps tracking sheet (drops, results, groups)."""
    folder = tmp_path_factory.mktemp("demo")
    assert cli("demo", folder / "demo").exit_code == 0
    demo = folder / "demo" / "steps-tracking.xlsx"
    return pd.read_excel(demo, sheet_name="Pupils", dtype=object, engine="calamine").head(5)


def name_cells(workbook: Path, sheet: str) -> dict[str, tuple[object, object]]:
    """UPN → (forename, surname) as a sheet of targetkit's output holds them."""
    from helpers import column_numbers

    rows = openpyxl.load_workbook(workbook)[sheet]
    at = column_numbers(rows)
    return {
        rows.cell(r, at["upn"]).value: (
            rows.cell(r, at["forename"]).value,
            rows.cell(r, at["surname"]).value,
        )
        for r in range(2, rows.max_row + 1)
    }


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(st.tuples(a_name(), a_name()), min_size=5, max_size=5))
def test_a_pupils_name_gets_the_same_pseudonyms_in_every_command(
    tmp_path, key_file, tracking_rows, names
):
    """import, set-targets and report write a pupil's forename and surname as the same two
    pseudonyms, and check-ambition names the pupil "P-(forename) P-(surname)" with them,
    whatever the case and spacing of each export. Worked out from the definition: HMAC of
    the UPN and the name, trimmed, inner spaces single, case-folded."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    upns = [str(u) for u in tracking_rows["upn"]]
    expected = {
        expected_pseudonym(KEY, "upn", upn): tuple(
            expected_pseudonym(KEY, kind, f"{upn}\x1f{' '.join(name.split()).casefold()}")
            for kind, name in (("forename", forename), ("surname", surname))
        )
        for upn, (surname, forename) in zip(upns, names, strict=True)
    }

    def export(how: int) -> pd.DataFrame:
        return tracking_rows.assign(
            surname=[spelt(s, how) for s, _ in names], forename=[spelt(f, how) for _, f in names]
        )

    sources = {}
    for how, command in enumerate(("import", "report", "set-targets")):
        sources[command] = folder / f"{command}.csv"
        export(how).to_csv(sources[command], index=False)
    submission = export(3)[["upn", "surname", "forename", "year_group"]]
    submission.assign(reading_ks1="2b", reading_target=None).to_csv(folder / "s.csv", index=False)
    private = ["--pseudonymise", "--key-file", key_file]
    runs = {
        "import": cli("import", sources["import"], "-o", folder / "i.xlsx", *private),
        "report": cli("report", sources["report"], "-o", folder / "r.xlsx", *private),
        "set-targets": cli("set-targets", sources["set-targets"], "--policy", "steps", "-o",
                           folder / "t.xlsx", *private),
        "check-ambition": cli("check-ambition", folder / "s.csv", "--format", "json",
                              "--fail-on", "never", *private),
    }  # fmt: skip
    for command, result in runs.items():
        assert result.exit_code in (0, 1), (command, result.stderr)
    assert name_cells(folder / "i.xlsx", "Pupils") == expected
    assert name_cells(folder / "r.xlsx", "Pupils") == expected
    assert name_cells(folder / "t.xlsx", "Targets") == expected
    found = json.loads(runs["check-ambition"].stdout)["findings"]
    missing = [f for f in found if f["code"] == "MISSING_TARGET"]
    assert {f["upn"]: f["pupil"] for f in missing} == {
        upn: f"{forename} {surname}" for upn, (forename, surname) in expected.items()
    }


# --- issue 17: every command says which text columns it left in clear --------------------------

LEFT_IN_CLEAR_RUNS: dict[str, Callable[[Path, Path], list[str | Path]]] = {
    "import": lambda source, out: ["import", source, "-o", out],
    "convert": lambda source, out: ["convert", source, "--column", "reading_aut1", "--from",
                                    "steps", "--to", "points", "-o", out],
    "set-targets": lambda source, out: ["set-targets", source, "--policy", "steps", "-o", out],
    "report": lambda source, out: ["report", source, "-o", out],
}  # fmt: skip


@pytest.mark.parametrize("command", LEFT_IN_CLEAR_RUNS)
def test_every_command_lists_the_text_columns_left_in_clear_in_its_summary_and_about(
    tmp_path, key_file, tracking_rows, command
):
    """The demo's tracking rows with a free-text `Notes` column: every pupil-level command
    replaces the four identifying columns and names `Notes` (and only it: its own computed
    columns are not the pupil's) in `--format json`'s summary and on its About sheet."""
    source = tmp_path / "tracking.csv"
    tracking_rows.assign(Notes="lives with gran").to_csv(source, index=False)
    out = tmp_path / "out.xlsx"
    args = LEFT_IN_CLEAR_RUNS[command](source, out)
    result = cli(*args, "--pseudonymise", "--key-file", key_file, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    replaced = ["upn", "pupil_id", "surname", "forename"]
    summary = json.loads(result.stdout)["summary"]
    assert summary["pseudonymised"] == {"replaced": replaced, "left_in_clear": ["Notes"]}
    about = dict(openpyxl.load_workbook(out)["About"].iter_rows(min_row=2, values_only=True))
    assert about["pseudonymised"] == (
        "yes (replaced: upn, pupil_id, surname, forename; text columns left as they are: Notes)"
    )
    assert result.stderr.count("left as they are") == 1 and result.stderr.endswith(": Notes\n")
    plain = cli(*args, "--force", "--format", "json")
    assert json.loads(plain.stdout)["summary"]["pseudonymised"] is None
    about = dict(openpyxl.load_workbook(out)["About"].iter_rows(min_row=2, values_only=True))
    assert about["pseudonymised"] == "no"


def test_check_ambition_says_its_workbook_holds_no_text_column_of_the_submissions(
    tmp_path, key_file
):
    source = tmp_path / "school.csv"
    source.write_text(
        "UPN,Surname,Forename,Notes,Year Group,reading_ks1,reading_target\r\n"
        "L801200015001,Smith,Amy,lives with gran,6,2b,\r\n",
        encoding="utf-8",
    )
    out = tmp_path / "la.xlsx"
    result = cli("check-ambition", source, "-o", out, "--pseudonymise", "--key-file", key_file,
                 "--format", "json", "--fail-on", "never")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["pseudonymised"] == {"replaced": ["upn", "pupil"], "left_in_clear": []}
    book = openpyxl.load_workbook(out)
    about = dict(book["About"].iter_rows(min_row=2, values_only=True))
    assert (
        about["pseudonymised"] == "yes (replaced: upn, pupil; text columns left as they are: none)"
    )
    cells = {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row}
    assert not {c for c in cells if "gran" in c or "Smith" in c or "Amy" in c}


def test_import_pseudonymise_leaves_no_name_in_a_pupils_own_list_of_issues(tmp_path, key_file):
    """Two exports disagree on a surname: the conflict is worded without either name on
    'Data issues' and in the pupil's `row_issues` (before, row_issues quoted "Smith")."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("UPN,Surname,Forename\r\nL801200015001,Smith,Amy\r\n", encoding="utf-8")
    second.write_text("UPN,Surname\r\nL801200015001,Smyth\r\n", encoding="utf-8")
    out = tmp_path / "cohort.csv"
    result = cli("import", first, second, "-o", out, "--pseudonymise", "--key-file", key_file)
    assert result.exit_code == 0, result.stderr
    written = out.read_text(encoding="utf-8-sig") + (tmp_path / "cohort-issues.csv").read_text(
        encoding="utf-8-sig"
    )
    assert "Smith" not in written and "Smyth" not in written and "Amy" not in written
    with open(out, encoding="utf-8-sig", newline="") as handle:
        pupil = next(csv.DictReader(handle))
    assert (
        pupil["row_issues"] == "warning Surname: the sources disagree; kept the first file's value"
    )
    assert pupil["surname"] == expected_pseudonym(KEY, "surname", "L801200015001\x1fsmith")


def test_importing_a_pseudonymised_file_again_keeps_its_pseudonyms_and_says_so(tmp_path, key_file):
    """A school sends its pseudonymised cohort and the LA pseudonymises on import as always:
    the pseudonyms must stay the ones the school made, or nothing would join."""
    first = tmp_path / "first.csv"
    once = cli("import", write_cohort(tmp_path / "c.csv", UPNS), "-o", first, "--pseudonymise",
               "--key-file", key_file)  # fmt: skip
    assert once.exit_code == 0, once.stderr
    again = cli("import", first, "-o", tmp_path / "second.csv", "--pseudonymise", "--key-file",
                key_file)  # fmt: skip
    assert again.exit_code in (0, 1), again.stderr
    with open(first, encoding="utf-8-sig", newline="") as handle:
        before = [(r["upn"], r["surname"], r["forename"]) for r in csv.DictReader(handle)]
    with open(tmp_path / "second.csv", encoding="utf-8-sig", newline="") as handle:
        after = [(r["upn"], r["surname"], r["forename"]) for r in csv.DictReader(handle)]
    assert after == before
    assert before[0][0] == expected_pseudonym(KEY, "upn", UPNS[0])
    for column in ("upn", "surname", "forename"):
        assert f"column {column!r} already holds pseudonyms (P-…); kept as it is" in again.stderr
