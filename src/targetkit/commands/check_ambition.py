"""`check-ambition` as a library call: find submissions, check each in parallel, summarise.

An LA analyst points it at a folder of targets workbooks (one school each); every file is read
and checked in a worker process (`--jobs`), so one damaged file never stops the batch: it
becomes a FILE_UNREADABLE challenge and every other file is still checked. Results are sorted
by school, then file, so they are the same whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from targetkit import console, findings
from targetkit.commands.targets_file import Recorded, read_about, read_targets
from targetkit.conversion_tables import cached_table
from targetkit.errors import ExitStatus, InputError, TargetkitError, UsageError
from targetkit.io import TABLE_SUFFIXES, check_output
from targetkit.pipeline.ambition import (
    FINDING_COLUMNS,
    PolicyData,
    SchoolCheck,
    check_school,
    check_schools,
    cohort_columns,
    expected_targets,
    policy_rules,
    rag,
    subject_gaps,
    target_subjects,
    text_column,
)
from targetkit.privacy import pseudonymise_names
from targetkit.wording import counted

PREVIOUS_TARGETS_FOLDER = "previous_targets"  # SPEC §7: never read as submissions
FAIL_ON = ("challenge", "warning", "never")
_SET_TARGETS_COLUMNS = ("_prior", "_minimum", "_most_likely", "_suggested", "_reason")


@dataclass
class FileResult:
    """One submission file: whether it was read, and what its check found."""

    file: str
    school: str
    status: str  # checked | unreadable | skipped
    reason: str = ""
    pupils: int = 0
    policy: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class AmbitionOutcome:
    """The whole batch: every finding, one summary row a school, and the files read."""

    findings: pd.DataFrame  # FINDING_COLUMNS, sorted by school then file
    schools: pd.DataFrame  # one row a checked school (the LA summary, without the total)
    files: pd.DataFrame  # file, school, status, pupils, policy, reason
    benchmark: str
    output: Path | None = None
    # --pseudonymise: the columns replaced and the text columns left as they are (`privacy.
    # pseudonymisation`), for the summary and the About sheet; None without it
    pseudonymised: dict[str, list[str]] | None = None

    def records(self) -> list[dict[str, Any]]:
        """The findings as plain dicts (what `--format json` prints)."""
        return [
            {key: _plain(value) for key, value in record.items()}
            for record in self.findings.to_dict("records")
        ]

    def summary(self) -> dict[str, Any]:
        """The batch in counts (`--format json`): files by status, schools, the workbook."""
        status = self.files["status"].value_counts()
        return {
            "output": str(self.output) if self.output else None,
            "benchmark": self.benchmark,
            "files": len(self.files),
            "checked": int(status.get("checked", 0)),
            "unreadable": int(status.get("unreadable", 0)),
            "skipped": int(status.get("skipped", 0)),
            "schools": len(self.schools),
            "schools_with_challenges": int((self.schools.get("challenges", pd.Series()) > 0).sum()),
            "pseudonymised": self.pseudonymised,
        }

    def finding_records(self) -> list[dict[str, Any]]:
        """Every finding; those citing a benchmark rate (BELOW_BENCHMARK) with its `basis`:
        `published: <source>` or `illustrative`, from the school's policy's conversion table."""
        records = self.records()
        policies = dict(zip(self.files["file"], self.files["policy"], strict=True))
        bases: dict[tuple[str, str], str | None] = {}
        for record in records:
            if record["code"] not in RATE_CODES:
                continue
            key = (str(policies.get(record["file"]) or ""), str(record.get("subject") or ""))
            if key not in bases:
                bases[key] = _basis(*key, self.benchmark)
            record["basis"] = bases[key]
        return records

    def report_lines(self) -> list[str]:
        """The batch in one line (after the tables, on stdout)."""
        data = self.summary()
        severities = self.findings["severity"].value_counts()
        return [
            f"Checked {counted(data['checked'], 'submission')}; {data['unreadable']} unreadable; "
            f"{counted(int(severities.get('challenge', 0)), 'challenge')}, "
            f"{counted(int(severities.get('warning', 0)), 'warning')}."
            + (f" Written to {self.output}." if self.output else "")
        ]

    def note_lines(self) -> list[str]:
        """The notes on checked files (e.g. no policy fits, so only the checks that need none
        were made; national figures used for want of top-25% ones), each once: a note shared by
        several files is said once with their number, not once per file (issue 15)."""
        checked = self.files[self.files["status"].eq("checked") & self.files["reason"].notna()]
        by_note: dict[str, list[str]] = {}
        for file, reason in checked[["file", "reason"]].itertuples(index=False):
            if isinstance(reason, str) and reason:
                by_note.setdefault(reason, []).append(str(file))
        return [
            f"{files[0]}: {note}"
            if len(files) == 1
            else f"{counted(len(files), 'submission')}: {note}"
            for note, files in by_note.items()
        ]

    def exit_status(self, fail_on: str = "challenge") -> ExitStatus:
        """1 when any finding is at or above `fail_on`, else 0 (`never`: always 0)."""
        if fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        if fail_on == "never" or self.findings.empty:
            return ExitStatus.DONE
        rank = findings.SEVERITY_RANK[fail_on]
        worst = self.findings["severity"].map(findings.SEVERITY_RANK).max()
        return ExitStatus.FINDINGS if worst >= rank else ExitStatus.DONE


# findings whose message cites a benchmark rate
RATE_CODES = ("BELOW_BENCHMARK", "UNREALISTIC_TARGET")


def _basis(policy_name: str, subject: str, benchmark: str) -> str | None:
    """The basis of a policy's benchmark rates for a subject (None when it has no table)."""
    from targetkit.policies import load_policy

    if not policy_name or not subject:
        return None
    try:
        policy = load_policy(policy_name)
        if not policy.conversion:
            return None
        return cached_table(policy.conversion).basis(benchmark, policy.table_subject(subject))
    except TargetkitError:
        return None


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


# ---------------------------------------------------------------------------------------------
# Finding the submissions


def find_submissions(
    paths: Sequence[str | Path], *, exclude: Sequence[str | Path] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to check (searched recursively, sorted) and the files skipped, with why.

    Skipped: Excel lock files (`~$…`), hidden files and folders, files that are not tables,
    anything inside a `previous_targets` folder or a folder in `exclude`. A file named on the
    command line is always checked (a wrong type then becomes FILE_UNREADABLE).
    """
    excluded = {Path(p).resolve() for p in exclude}
    found: dict[Path, None] = {}
    skipped: list[tuple[Path, str]] = []
    for given in map(Path, paths):
        if not given.exists():
            raise InputError("no such file or folder", file=given, hint="check the path")
        if given.is_file():
            found.setdefault(given, None)
            continue
        for path in _files_under(given):
            relative = path.relative_to(given).parts
            if any(part.startswith(".") for part in relative):
                skipped.append((path, "hidden file"))
            elif path.name.startswith("~$"):
                skipped.append((path, "Excel lock file (the workbook is open somewhere)"))
            elif any(part.lower() == PREVIOUS_TARGETS_FOLDER for part in relative[:-1]) or (
                excluded and not excluded.isdisjoint(path.resolve().parents)
            ):
                continue  # previous targets: read through --previous-targets, not checked
            elif path.suffix.lower() not in TABLE_SUFFIXES:
                skipped.append((path, "not a CSV file or workbook"))
            else:
                found.setdefault(path, None)
    return list(found), skipped


def _files_under(folder: Path) -> list[Path]:
    """Every file below `folder`, sorted; walked with a list, not recursion, so a folder nested
    1,200 deep is read like any other (links to folders are not followed)."""
    files: list[Path] = []
    pending = [folder]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file():
                files.append(Path(entry.path))
    return sorted(files)


# ---------------------------------------------------------------------------------------------
# Reading and checking one file (runs in a worker process)


@dataclass
class _Context:
    benchmark: str
    previous_targets: pd.DataFrame | None
    previous_results: pd.DataFrame | None
    # --pseudonymise: names are replaced as each file is read (keyed with the pupil's UPN, as
    # import and set-targets do); UPNs at the end, after matching previous targets
    key: bytes | None = None


_context: _Context | None = None


def _init_worker(context: _Context | None) -> None:
    global _context
    _context = context


def _init_pool_worker(context: _Context) -> None:
    """A worker process: its context, and quiet on Ctrl-C or SIGTERM (the main process says
    the one line; a worker's traceback would only add noise)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _quiet_exit)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent until now: see _in_pool
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _init_worker(context)


def _quiet_exit(number: int, _frame: object) -> None:
    os._exit(128 + number)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while worker processes are started. A worker forked in that
    moment would otherwise meet a signal with the parent's handlers (a traceback in each
    worker) before its own quiet ones are in place; held, the signal waits until the worker
    has them (`_init_pool_worker` releases it) and, in this process, until the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def read_submission(path: str | Path) -> pd.DataFrame:
    """A submission with canonical column names (`targets_file.read_targets`)."""
    return read_targets(path)


def school_of(frame: pd.DataFrame, path: Path) -> str:
    """The school a file belongs to: its first `school` value, else the file's name."""
    if "school" in frame:
        values = text_column(frame["school"], frame.index).dropna()
        if len(values):
            return str(values.iloc[0])
    return path.stem


def _expectations(
    cohorts: list[pd.DataFrame],
    subject_lists: list[list[str]],
    recorded: list[Recorded],
    benchmark: str,
) -> tuple[list[Any], list[pd.DataFrame | None], list[str], list[str]]:
    """What set-targets gives each cohort: (policy, expected frame, note, benchmark) per cohort.

    Recomputed with the policy, benchmark, conversion table and academic year the workbook's
    `About` sheet records (SPEC §8), else the policy set-targets would choose and `benchmark`.
    Cohorts under the same settings are computed together in one engine call (one vectorised
    pass instead of one per school: 20x faster on an LA batch). Each cohort gets its own
    `school` key for the call, so benchmark quotas stay per school and every cohort's
    expectations are exactly what set-targets gives that school alone.
    """
    from targetkit.policies import choose_policy, load_policy

    policies: list[Any] = []
    notes: list[str] = []
    for cohort, about in zip(cohorts, recorded, strict=True):
        try:
            name = about.policy or choose_policy(cohort)[0]
            try:
                policies.append(load_policy(name))
            except TargetkitError:  # a policy file not at hand: the one set-targets would pick
                policies.append(load_policy(choose_policy(cohort)[0]))
            notes.append("")
        except TargetkitError as exc:
            policies.append(None)
            notes.append(f"policy checks skipped: {exc.message}")
    benchmarks = [about.benchmark or benchmark for about in recorded]
    expected: list[pd.DataFrame | None] = [None] * len(cohorts)
    keys = {
        i: (p.name, benchmarks[i], recorded[i].conversion, recorded[i].academic_year)
        for i, p in enumerate(policies)
        if p is not None
    }
    for key in sorted(set(keys.values()), key=str):
        members = [i for i, k in keys.items() if k == key]
        _, chosen_benchmark, conversion, academic_year = key
        wanted = {s for i in members for s in subject_lists[i]}
        subjects = [s for s in policies[members[0]].subjects if s in wanted] or None
        settings = {
            "benchmark": chosen_benchmark,
            "conversion": conversion,
            "academic_year": academic_year,
            "subjects": subjects,
        }
        try:
            frames, note = expected_targets(
                [cohorts[i] for i in members], policies[members[0]], **settings
            )
            computed = dict(zip(members, [(f, note) for f in frames], strict=True))
        except Exception:  # one odd cohort must not stop the others: compute them one by one
            computed = {}
            for i in members:
                try:
                    frames, note = expected_targets([cohorts[i]], policies[i], **settings)
                    computed[i] = (frames[0], note)
                except Exception as exc:
                    notes[i] = f"policy checks skipped: {type(exc).__name__}: {exc}"
        for i, (frame, note) in computed.items():
            expected[i], notes[i] = frame, note
    return policies, expected, notes, benchmarks


def check_files(paths: Sequence[str | Path]) -> list[FileResult]:
    """Read and check a chunk of submissions (one worker task); unreadable ones give
    FILE_UNREADABLE, and never stop the others."""
    context = _context or _Context("top25", None, None)
    results: list[FileResult | None] = []
    readable: list[tuple[int, Path, pd.DataFrame, list[str]]] = []
    recorded: list[Recorded] = []
    for path in map(Path, paths):
        try:
            frame = read_submission(path)
            if context.key is not None:
                frame = pseudonymise_names(frame, context.key)
            subjects = target_subjects(frame)
            if not subjects:
                raise InputError(
                    "no target columns (such as reading_target)",
                    file=path,
                    hint="is this a targets workbook from set-targets?",
                )
            readable.append((len(results), path, frame, subjects))
            recorded.append(read_about(path))
            results.append(None)
        except TargetkitError as exc:
            reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
            if exc.row is not None:
                reason = f"row {exc.row}: {reason}"
            results.append(_unreadable(path, reason))
        except Exception as exc:  # one broken file must never stop the batch
            results.append(_unreadable(path, f"unexpected error ({type(exc).__name__}: {exc})"))
    cohorts = [cohort_columns(frame) for _, _, frame, _ in readable]
    try:
        subject_lists = [subjects for *_, subjects in readable]
        policies, expected, notes, benchmarks = _expectations(
            cohorts, subject_lists, recorded, context.benchmark
        )
    except ImportError:
        policies, expected = [None] * len(cohorts), [None] * len(cohorts)
        notes = ["policy checks skipped: set-targets is not available"] * len(cohorts)
        benchmarks = [context.benchmark] * len(cohorts)
    checks = []
    for (position, path, frame, subjects), policy, expect, note, benchmark, about in zip(
        readable, policies, expected, notes, benchmarks, recorded, strict=True
    ):
        try:
            rules = _rules(frame, path, subjects, context, policy, about.conversion)
            rules["benchmark"] = benchmark
        except Exception as exc:  # a file the checks cannot handle is reported, not fatal
            results[position] = _unreadable(path, f"unexpected error ({type(exc).__name__}: {exc})")
            continue
        checks.append(_FileCheck(position, path, frame, note, policy, expect, rules))
    groups: dict[tuple[Any, ...], list[_FileCheck]] = {}
    for check in checks:
        groups.setdefault(check.group_key(), []).append(check)
    for group in groups.values():
        for check, result in zip(group, _check_group(group, context), strict=True):
            results[check.position] = result
    return [r for r in results if r is not None]


@dataclass
class _FileCheck:
    """A readable submission of a chunk, with what it is checked against."""

    position: int
    path: Path
    frame: pd.DataFrame
    note: str
    policy: Any
    expected: pd.DataFrame | None
    rules: dict[str, Any]

    def group_key(self) -> tuple[Any, ...]:
        """Files with equal keys are checked under the same rules, so can be checked together."""
        rules = self.rules
        return (
            rules["scale"].name,
            tuple(rules["subjects"]),
            tuple((s, tuple(t.items())) for s, t in sorted(rules["thresholds"].items())),
            tuple(sorted(rules["prior_columns"].items())),
            rules["key_threshold"],
            rules["benchmark"],
            self.expected is None,
            rules["data_key"],
        )


def _check_group(group: list[_FileCheck], context: _Context) -> list[FileResult]:
    """Check files under the same rules together (`check_schools`: the pupil-level checks run
    once over them all); if that fails, each file on its own, so a file the checks cannot
    handle becomes FILE_UNREADABLE and the others are still checked."""
    try:
        rules = group[0].rules
        checked = check_schools(
            [c.frame for c in group],
            scale=rules["scale"],
            expected=None if group[0].expected is None else [c.expected for c in group],
            thresholds=rules["thresholds"],
            benchmark=rules["benchmark"],
            prior_columns=rules["prior_columns"],
            previous_targets=context.previous_targets,
            previous_results=[c.rules["previous_results"] for c in group],
            subjects=rules["subjects"],
            key_threshold=rules["key_threshold"],
            data=rules["data"],
        )
        return [_file_result(c, result) for c, result in zip(group, checked, strict=True)]
    except Exception:
        return [_check_one(c, context) for c in group]


def _check_one(check: _FileCheck, context: _Context) -> FileResult:
    try:
        rules = check.rules
        checked = check_school(
            check.frame,
            scale=rules["scale"],
            expected=check.expected,
            thresholds=rules["thresholds"],
            benchmark=rules["benchmark"],
            prior_columns=rules["prior_columns"],
            previous_targets=context.previous_targets,
            previous_results=rules["previous_results"],
            subjects=rules["subjects"],
            key_threshold=rules["key_threshold"],
            data=rules["data"],
        )
        return _file_result(check, checked)
    except Exception as exc:  # a file the checks cannot handle is reported, not fatal
        return _unreadable(check.path, f"unexpected error ({type(exc).__name__}: {exc})")


def _unreadable(path: Path, reason: str) -> FileResult:
    record = {
        "school": path.stem,
        "file": str(path),
        "row": None,
        "upn": None,
        "pupil": None,
        "subject": None,
        "group": None,
        "code": "FILE_UNREADABLE",
        "severity": findings.severity("FILE_UNREADABLE"),
        "message": findings.message("FILE_UNREADABLE", file=path.name, reason=reason),
    }
    return FileResult(str(path), path.stem, "unreadable", reason, findings=[record])


def _rules(
    frame: pd.DataFrame,
    path: Path,
    subjects: list[str],
    context: _Context,
    policy: Any,
    conversion: str | None = None,
) -> dict[str, Any]:
    """What one submission is checked against: its school, scale, thresholds and prior columns
    (from its policy), the policy's loaded data (its conversion table: the one the About sheet
    records, else the policy's) and the previous results of its school."""
    from targetkit.scales import load_scale

    school = school_of(frame, path)
    scale = load_scale((policy.submission_scale or policy.target_scale) if policy else "nc")
    thresholds, prior_columns = policy_rules(policy, subjects, scale)
    previous_results = context.previous_results
    if previous_results is not None and "school" in previous_results:
        own = text_column(previous_results["school"], previous_results.index) == school
        previous_results = previous_results[own.fillna(False).to_numpy(dtype=bool)]
    return {
        "school": school,
        "scale": scale,
        "subjects": subjects,
        "thresholds": thresholds,
        "prior_columns": prior_columns,
        "previous_results": previous_results,
        "key_threshold": policy.key_threshold if policy is not None else None,
        "data": _policy_data(policy, conversion),
        "data_key": (policy.name, conversion) if policy is not None else None,
    }


def _policy_data(policy: Any, conversion: str | None) -> PolicyData | None:
    """The policy with its conversion table and prior scale loaded (None without a policy; no
    table when it cannot be loaded: the realism check is then skipped)."""
    from targetkit.scales import load_scale

    if policy is None:
        return None
    table = None
    if conversion or policy.conversion:
        try:
            table = cached_table(conversion or policy.conversion)
        except (TargetkitError, ValueError, OSError):
            table = None
    return PolicyData(policy, table, load_scale(policy.prior_scale))


def _preload(first: Path) -> None:
    """Load here, before the worker processes are forked from this one, the data files every
    worker would otherwise load again (a forked worker starts with its parent's caches): the
    findings catalogue, the column names, the headers in words (~230 patterns, compiled once:
    every worker reads headers in words, and the LA workbook writes them), the GCSE subjects,
    and the policy and conversion table the first submission's About sheet records (usually the
    whole batch's). A head start only: whatever is not loaded here is loaded where it is
    needed."""
    from targetkit.columns import is_known_header
    from targetkit.labels import column_name
    from targetkit.policies import load_policy
    from targetkit.subjects import load_subjects

    findings.catalogue()
    is_known_header("upn")
    column_name("Reading target")
    try:
        load_subjects()
        about = read_about(first)
        if about.policy:
            _policy_data(load_policy(about.policy), about.conversion)
    except Exception:  # nothing is lost: the workers load what they need themselves
        return


def _file_result(check: _FileCheck, checked: SchoolCheck) -> FileResult:
    school = check.rules["school"]
    where = {"school": school, "file": str(check.path)}
    records = [{**where, **record} for record in checked.findings.to_dict("records")]
    return FileResult(
        str(check.path),
        school,
        "checked",
        check.note,
        pupils=len(check.frame),
        policy=check.policy.name if check.policy is not None else "",
        findings=records,
        summary=checked.summary,
    )


# ---------------------------------------------------------------------------------------------
# The batch


def read_previous_targets(source: str | Path) -> pd.DataFrame:
    """Every previous targets file (a file, or a folder searched recursively): `upn` and the
    `<subject>_target` columns. An unreadable file here is an error (exit 2): the check would
    otherwise silently miss lowered targets."""
    files, _ = find_submissions([source])
    frames = []
    for path in files:
        frame = read_submission(path)
        if "upn" not in frame:
            raise InputError("previous targets need a UPN column", file=path)
        frames.append(frame[["upn", *(f"{s}_target" for s in target_subjects(frame))]])
    if not frames:
        raise InputError("no previous targets files found", file=source)
    return pd.concat(frames, ignore_index=True)


def check_ambition(
    submissions: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    previous_results: str | Path | None = None,
    previous_targets: str | Path | None = None,
    benchmark: str = "top25",
    jobs: int | None = None,
    force: bool = False,
    pseudonymise_key: bytes | None = None,
) -> AmbitionOutcome:
    """Check every submission (files or folders); write the LA workbook when `output` is given.

    Raises UsageError (exit 2) when no submission is found; an unreadable submission is a
    FILE_UNREADABLE finding instead, so the rest of the batch is still checked. With
    `pseudonymise_key`, UPNs and pupil names in the findings are keyed pseudonyms (`privacy`).
    """
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    inputs = [Path(p) for p in submissions]
    read = _read_files(inputs, previous_targets, previous_results)
    out = check_output(output, force=force, inputs=read) if output else None
    exclude = [previous_targets] if previous_targets and Path(previous_targets).is_dir() else []
    files, skipped = find_submissions(inputs, exclude=exclude)
    not_submissions = {Path(p).resolve() for p in (previous_targets, out) if p is not None}
    files = [f for f in files if f.resolve() not in not_submissions]
    if not files:
        raise UsageError(
            "no submissions found (CSV files or workbooks)",
            file=", ".join(map(str, inputs)),
            hint="give targets workbooks or folders of them",
        )
    context = _Context(
        benchmark,
        read_previous_targets(previous_targets) if previous_targets else None,
        read_submission(previous_results) if previous_results else None,
        pseudonymise_key,
    )
    jobs = min(jobs or os.cpu_count() or 1, len(files))
    if multiprocessing.get_start_method() == "fork":
        _preload(files[0])
    results = _run(files, context, jobs)
    results += [FileResult(str(p), p.stem, "skipped", why) for p, why in skipped]
    outcome = _outcome(results, benchmark)
    if pseudonymise_key is not None:
        outcome.findings = _pseudonymised(outcome.findings, pseudonymise_key)
        # the LA workbook holds findings, not the submissions' columns: no pupil's text is in it
        outcome.pseudonymised = {"replaced": ["upn", "pupil"], "left_in_clear": []}
    if out is not None:
        from targetkit.presentation.ambition import write_la_workbook

        write_la_workbook(
            outcome,
            la_summary(outcome),
            out,
            force=force,
            illustrative=_illustrative(outcome),
            gaps=subject_gap_table(outcome),
        )
        outcome.output = out
    return outcome


def subject_gap_table(outcome: AmbitionOutcome) -> pd.DataFrame:
    """Per school, the gap between subjects' shares targeted at the key threshold (the pairs in
    each policy's `subject_gaps`): the LA workbook's Subject gaps sheet."""
    from targetkit.policies import load_policy

    schools = outcome.schools
    pairs: dict[str, list[tuple[str, str]]] = {}
    keys: dict[str, str | None] = {}
    names = set(schools["policy"].dropna()) - {""} if "policy" in schools else set()
    for name in names:
        try:
            policy = load_policy(name)
        except TargetkitError:
            continue
        pairs[name], keys[name] = list(policy.subject_gaps), policy.key_threshold
    return subject_gaps(schools, pairs, keys)


def _illustrative(outcome: AmbitionOutcome) -> set[str]:
    """Subjects whose benchmark rates rest on illustrative rows in the conversion tables of
    the policies checked (SPEC §8: illustrative numbers are labelled wherever they are shown)."""
    from targetkit.policies import load_policy

    subjects: set[str] = set()
    files = outcome.files
    checked = files[files["status"].eq("checked")] if "status" in files else files.iloc[:0]
    for name in set(checked["policy"].dropna()) - {""}:
        try:
            policy = load_policy(name)
            table = cached_table(policy.conversion) if policy.conversion else None
        except (TargetkitError, ValueError):
            continue
        if table is None:
            continue
        for subject in policy.subjects:
            table_subject = policy.conversion_subjects.get(subject, subject)
            if table.basis(outcome.benchmark, table_subject) == "illustrative":
                subjects.add(subject)
    return subjects


def _read_files(
    submissions: list[Path],
    previous_targets: str | Path | None,
    previous_results: str | Path | None,
) -> list[Path]:
    """Every file the run reads, whatever the option: none may be the output."""
    files = list(submissions)
    for source in (previous_targets, previous_results):
        if source is not None and Path(source).is_dir():
            files += find_submissions([source])[0]
        elif source is not None:
            files.append(Path(source))
    return files


def _pseudonymised(found: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Findings with UPNs replaced by keyed pseudonyms (the same UPN gets the same pseudonym
    as in every other targetkit file made with the key). Names were replaced as each file was
    read (`pseudonymise_names`), so a pupil is "P-… P-…": the pseudonyms of the forename and
    surname in import's and set-targets' outputs."""
    from targetkit.privacy import pseudonymise

    out = found.copy()
    out["upn"] = pseudonymise(found[["upn"]], key)["upn"].to_numpy(dtype=object)
    return out


# files per worker task: each task pays fixed costs (an engine call, the stacked checks:
# ~0.5 CPU s), so one task a worker where it fits (150 files on 2 workers: 75 and 75, not 38,
# 38, 37, 37); small enough for memory (146 MiB peak at 75 files of 200 pupils). The price: a
# worker slowed by other programs cannot hand half its task to the other (docs/performance.md)
MAX_CHUNK = 80


def _run(files: list[Path], context: _Context, jobs: int) -> list[FileResult]:
    """Check the files in chunks (one worker task each), in order; the result does not depend
    on the chunking, so it is the same for any --jobs.

    A worker that dies (a native reader aborting on a crafted file) breaks the pool and every
    chunk still in it; those chunks' files are then retried one by one in a fresh pool, and a
    file that still fails alone in its own worker is FILE_UNREADABLE: one file's crash never
    ends the batch.
    """
    jobs = min(jobs, len(files))
    chunks = _chunks(files, jobs)
    # --jobs 1 too: the files are read in a worker process, so a reader that aborts kills the
    # worker, not the run (the files are then retried one by one, as for any --jobs).
    results, broken = _in_pool(chunks, context, jobs, progress=True)
    if broken:
        alone = [[path] for chunk in broken for path in chunk]
        retried, broken = _in_pool(alone, context, jobs)
        results.update(retried)
        for (path,) in broken:
            again, crashed = _in_pool([[path]], context, 1)
            results.update(again)
            if crashed:
                reason = "the reader stopped working on this file (the file is damaged or crafted)"
                results[(path,)] = [_unreadable(path, reason)]
    return [r for chunk in chunks for path in chunk for r in _results_for(results, chunk, path)]


def _chunks(files: list[Path], jobs: int) -> list[list[Path]]:
    """The files in chunks of at most MAX_CHUNK, as many as a multiple of `jobs` and of
    sizes differing by one at most, so every worker gets about the same share: 150 files on 2
    workers are 75 and 75; 170 are 43, 43, 42 and 42, not 80, 80 and 10 (workers idle at the
    end)."""
    rounds = -(-len(files) // (MAX_CHUNK * jobs))  # chunks per worker
    count = min(len(files), rounds * jobs)
    size, extra = divmod(len(files), count)
    bounds = list(accumulate([size + 1] * extra + [size] * (count - extra), initial=0))
    return [files[start:stop] for start, stop in pairwise(bounds)]


def _results_for(
    results: dict[tuple[Path, ...], list[FileResult]], chunk: list[Path], path: Path
) -> list[FileResult]:
    """The result of `path`: from its chunk's task (once, at the chunk's first file), else its
    own retry."""
    if tuple(chunk) in results:
        return results[tuple(chunk)] if path == chunk[0] else []
    return results.get((path,), [])


def _in_pool(
    chunks: list[list[Path]], context: _Context, jobs: int, *, progress: bool = False
) -> tuple[dict[tuple[Path, ...], list[FileResult]], list[list[Path]]]:
    """Run `check_files` on each chunk in a fresh pool: the results by chunk, and the chunks
    whose worker died (or that were in the pool when another worker died)."""
    from concurrent.futures.process import BrokenProcessPool

    done: dict[tuple[Path, ...], list[FileResult]] = {}
    broken: list[list[Path]] = []
    pool = ProcessPoolExecutor(
        min(jobs, len(chunks)), initializer=_init_pool_worker, initargs=(context,)
    )
    try:
        with _stop_signals_held():  # the workers start at the first submit
            futures = [pool.submit(check_files, chunk) for chunk in chunks]
        items = console.progress(futures, "Checking submissions") if progress else futures
        for chunk, future in zip(chunks, items, strict=True):
            try:
                done[tuple(chunk)] = future.result()
            except BrokenProcessPool:
                broken.append(chunk)
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()  # Ctrl-C: stop the workers now, not after their chunks
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return done, broken


def _outcome(results: list[FileResult], benchmark: str) -> AmbitionOutcome:
    results = sorted(results, key=lambda r: (r.school.casefold(), r.school, r.file))
    records = [record for r in results for record in r.findings]
    found = pd.DataFrame(records, columns=FINDING_COLUMNS)
    rows = pd.to_numeric(found["row"], errors="coerce").astype("Int64")
    found = found.astype(object).where(found.notna(), None)
    found["row"] = rows.astype(object).where(rows.notna(), None)
    schools = pd.DataFrame(
        [
            {
                "school": r.school,
                "file": r.file,
                "policy": r.policy,
                **r.summary,
                "RAG": rag(r.summary.get("challenges", 0), r.summary.get("warnings", 0)),
            }
            for r in results
            if r.status == "checked"
        ]
    )
    files = pd.DataFrame(
        [
            {
                "file": r.file,
                "school": r.school if r.status == "checked" else None,
                "status": r.status,
                "pupils": r.pupils if r.status == "checked" else None,
                "policy": r.policy or None,
                "reason": r.reason or None,
            }
            for r in results
        ],
        columns=["file", "school", "status", "pupils", "policy", "reason"],
    )
    return AmbitionOutcome(found, schools, files, benchmark)


# ---------------------------------------------------------------------------------------------
# Presenting


def la_summary(outcome: AmbitionOutcome) -> pd.DataFrame:
    """The schools' rows plus an LA total: percentages weighted by pupils, counts summed."""
    schools = outcome.schools
    if schools.empty:
        return schools
    numbers = [c for c in schools.columns if c not in ("school", "file", "policy", "RAG")]
    percent = [c for c in numbers if c not in ("pupils", "challenges", "warnings")]
    total: dict[str, Any] = {"school": "LA total", "file": None, "policy": None}
    pupils = schools["pupils"].astype(float)
    for column in percent:
        values = pd.to_numeric(schools[column], errors="coerce")
        weights = pupils.where(values.notna(), 0)
        total[column] = (
            (values.fillna(0) * weights).sum() / weights.sum() if weights.sum() else None
        )
    for column in ("pupils", "challenges", "warnings"):
        total[column] = int(schools[column].sum())
    unreadable = int((outcome.files["status"] == "unreadable").sum())
    total["challenges"] += unreadable
    total["RAG"] = rag(total["challenges"], total["warnings"])
    return pd.concat([schools, pd.DataFrame([total])], ignore_index=True)


def print_summary_table(outcome: AmbitionOutcome) -> None:
    """One table, a row a school (pupils, challenges, warnings, RAG) and a row an unreadable
    file: what a terminal shows when the details are in the LA workbook (one table instead of
    150 is also most of a batch's printing time)."""
    columns = ["school", "pupils", "challenges", "warnings", "RAG"]
    schools = outcome.schools
    rows = [list(r) for r in schools[columns].itertuples(index=False)] if len(schools) else []
    files = outcome.files
    for file in files.loc[files["status"].eq("unreadable"), "file"]:
        rows.append([Path(file).name, "", 1, 0, "unreadable"])
    title = f"Schools (the findings are in {outcome.output})" if outcome.output else "Schools"
    console.print_table(title, columns, [[str(v) for v in row] for row in rows])


def print_tables(outcome: AmbitionOutcome) -> None:
    """One table a school: each code and subject with its count and an example.

    Counted for every school at once (one groupby, not one per school: an LA batch has 150)."""
    found = outcome.findings
    columns = ["severity", "code", "subject", "count", "example"]
    schools = pd.Series(pd.factorize(found["school"], use_na_sentinel=False)[0], index=found.index)
    grouped = (
        found.assign(subject=found["subject"].fillna(""), school_order=schools)
        .groupby(["school_order", "severity", "code", "subject"], sort=False)
        .agg(school=("school", "first"), count=("code", "size"), example=("message", "first"))
        .reset_index()
    )
    grouped["rank"] = -grouped["severity"].map(findings.SEVERITY_RANK)
    grouped = grouped.sort_values(["school_order", "rank", "code", "subject"], kind="stable")
    for _, rows in grouped.groupby("school_order", sort=True):
        console.print_table(
            str(rows["school"].iloc[0]), columns, rows[columns].itertuples(index=False)
        )
    clean = outcome.schools[outcome.schools["challenges"] == 0] if len(outcome.schools) else []
    for school in getattr(clean, "school", []):
        if school not in set(found["school"]):
            console.result(f"{school}: nothing to challenge.")
