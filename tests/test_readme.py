"""The README tells the truth: CLI reference in step with --help, CI runs its test command."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

from helpers import ROOT, run_targetkit


def test_cli_reference_in_readme_is_up_to_date():
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        "README CLI reference is stale: run python -m cogapp -r README.md"
    )


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    install_and_test = blocks[1]
    test_command = install_and_test.split(" && ")[-1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == test_command


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    assert blocks[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    assert "pip install -e '.[test]'" in blocks[1]


def test_tests_and_benchmarks_never_read_the_shared_folder():
    """SPEC §8: the repository is self-contained; a fresh clone has no ../shared beside it."""
    pattern = re.compile(r"""["'/]shared["'/]|\.\./shared|parent\s*/\s*["']shared["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("tests", "benchmarks", "src")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line) and "sharedStrings" not in line and path.name != "test_readme.py"
    ]
    assert offenders == []


def test_every_reference_file_has_its_source_written_down():
    sources = (ROOT / "tests" / "reference" / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in (ROOT / "tests" / "reference").glob("*.csv"))
    assert files, "tests/reference holds the reference CSVs"
    assert [name for name in files if f"`{name}`" not in sources] == []


def _block_after(readme: str, heading: str) -> str:
    """The first ```bash block after a heading of the README."""
    start = readme.index(heading)
    return re.findall(r"```bash\n(.*?)\n```", readme[start:], flags=re.S)[0]


def _commands(block: str) -> list[list[str]]:
    """Each command line of a block as arguments after `targetkit` (comments dropped)."""
    commands = []
    for line in block.splitlines():
        args = shlex.split(line, comments=True)
        if not args or args[:2] == ["source", ".venv/bin/activate"]:
            continue
        assert args[0] == "targetkit", line
        commands.append(args[1:])
    return commands


def test_the_readme_tour_runs_as_written(tmp_path):
    """Issue 16: every command of the one-minute tour, in a fresh folder, in a real process;
    each writes what the README says (its -o, or the file named after "→")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = _block_after(readme, "## A one-minute tour")
    assert block.splitlines()[0].startswith("source .venv/bin/activate")  # says to activate
    commands = _commands(block)
    assert [args[0] for args in commands if not args[0].startswith("-")] == [
        "demo",
        "import",
        "set-targets",
        "check-ambition",
        "report",
        "convert",
    ]
    promised = re.findall(r"→ (my-demo/\S+\.xlsx)", block)
    for args in commands:
        run = run_targetkit(*args, cwd=tmp_path)
        # check-ambition exits 1 when it finds challenges (the demo plants some): by design
        expected = 1 if "check-ambition" in args else 0
        assert run.returncode == expected, f"{args}: {run.stderr}"
        assert "error" not in run.stderr, run.stderr
        if "-o" in args:
            assert (tmp_path / args[args.index("-o") + 1]).exists(), args
    assert promised and all((tmp_path / path).is_file() for path in promised)
    assert list((tmp_path / "my-demo").glob("report-y*-*.xlsx"))
    assert (tmp_path / "my-demo" / "primary-cohort-points.xlsx").is_file()


def test_the_readme_cron_example_runs_twice_in_a_term(tmp_path):
    """The report section's cron command: its first run makes reports/, and a second run in
    the same term (a corrected drop) replaces that term's report instead of exiting 2."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [args] = _commands(_block_after(readme, "### The termly progress report"))
    assert run_targetkit("demo", "d", "--pupils", "12", cwd=tmp_path).returncode == 0
    shutil.copy(tmp_path / "d" / "steps-tracking.xlsx", tmp_path / "tracking.xlsx")
    made = run_targetkit("set-targets", "tracking.xlsx", "-o", "targets.xlsx", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert not (tmp_path / "reports").exists()
    for _ in range(2):
        run = run_targetkit(*args, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
    reports = [p.name for p in (tmp_path / "reports").iterdir()]
    assert len(reports) == 1 and re.fullmatch(r"report-y4-(aut|spr|sum)[12]\.xlsx", reports[0])
