"""The README tells the truth: CLI reference in step with --help, CI runs its test command."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import ROOT


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
