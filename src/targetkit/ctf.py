"""Read a Common Transfer File (CTF): the DfE's XML of pupils and their stage assessments.

Every MIS exports CTFs and the KS2 results arrive as one. This module reads one safely
(`defusedxml`: no DTD, no entities, no network; a size limit) into a `SourceTable` whose
columns carry the names `import` already knows (`UPN`, `Surname`, `NCyearActual`, ...) plus one
column per assessment result (`reading_ks2`, ...), so the CTF goes through the same checks as
any export. Which result feeds which column is data (`data/ctf/results.yaml`); every result
no rule takes, and every earlier result a later one replaces, is listed on 'Data issues'.
The row of a pupil is the line of its `<Pupil>` element in the file.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from targetkit.datafiles import load_yaml_model
from targetkit.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from targetkit.pipeline.importing import SourceTable

MAX_CTF_BYTES = 256 << 20  # an LA's whole KS2 CTF is tens of megabytes
_XML_START = re.compile(rb"^\s*<(?:\?xml|!--|!DOCTYPE|[A-Za-z_])")
_PUPIL_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?Pupil(?=[\s/>])")
# What a non-CTF XML file is, by its root element (lower case), to name it when refusing it.
_KNOWN_ROOTS = {
    "atfile": "an Admissions Transfer File (ATF), not a CTF",
    "workbook": "an Excel 2003 XML spreadsheet: save it as .xlsx and import that",
    "html": "a web page (HTML): save the table as .xlsx or CSV",
    "svg": "an SVG picture",
    "message": "a DfE data collection return (a COLLECT/school census message), not a CTF",
    "schoolcensus": "a school census return, not a CTF",
    "worksheet": "a part of a spreadsheet file, not a CTF",
}
RESULT_FIELDS = ("stage", "subject", "method", "component", "qualifier")


class ResultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: list[str] = []
    subject: list[str] = []
    method: list[str] = []
    component: list[str] = []
    qualifier: list[str] = []
    column: str = Field(min_length=1)


class Framework(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_year: int
    last_year: int
    areas: dict[str, list[int]]


class Eyfs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[str]
    source: str = Field(min_length=1)
    frameworks: list[Framework]


class ResultMap(BaseModel):
    """`data/ctf/results.yaml`, validated when loaded."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    results: list[ResultRule]
    eyfs: Eyfs


@cache
def result_map() -> ResultMap:
    path = resources.files("targetkit").joinpath("data/ctf/results.yaml")
    return load_yaml_model(path, ResultMap)  # type: ignore[arg-type]


def looks_like_xml(path: str | Path) -> bool:
    """Whether a file is XML (by its first bytes, whatever its name says)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(512)
    except OSError:
        return False
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if start.startswith(bom):
            start = start[len(bom) :]
            if bom != codecs.BOM_UTF8:
                start = start.decode(
                    "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be", "ignore"
                ).encode()
            break
    return bool(_XML_START.match(start))


def read_ctf(path: str | Path) -> SourceTable:
    """The pupils of a CTF as a source table for `import`; anything else is refused."""
    import pandas as pd

    from targetkit.pipeline.importing import SourceTable

    path = Path(path)
    data = _read(path)
    root = _parse(path, data)
    if _local(root.tag).lower() != "ctfile":
        name = _local(root.tag)
        what = _KNOWN_ROOTS.get(name.lower(), f"its root element is <{name}>")
        raise InputError(
            f"this XML file is not a Common Transfer File (CTF): {what}",
            file=path,
            hint="export a CTF (root element <CTfile>) from your MIS, or a CSV/XLSX report",
        )
    header = _child(root, "Header")
    when = _file_date(header)
    pupils = [p for p in root.iter() if _local(p.tag) == "Pupil"]
    lines = _pupil_lines(data, len(pupils))
    details = pd.DataFrame([_details(p, when) for p in pupils], index=lines, dtype=object)
    if "FSM Ever 6" in details:  # the file has FSM histories: a pupil without one was never FSM
        details[["FSM", "FSM Ever 6"]] = details[["FSM", "FSM Ever 6"]].fillna("N")
    results = _results(pupils, lines)
    columns, notes = results_to_columns(results, lines)
    frame = pd.concat([details, columns], axis=1)
    frame = frame.dropna(axis=1, how="all") if len(frame) else frame
    frame.index = pd.Index(lines, name="source_row", dtype="int64")
    return SourceTable(path.name, frame, header_row=1, notes=notes)


# ---------------------------------------------------------------------------------------------
# Reading the XML safely


def _read(path: Path) -> bytes:
    """The file's bytes (the readers' checks), refusing what is too large to be a CTF."""
    from targetkit.io import _read_bytes

    if path.is_file() and path.stat().st_size > MAX_CTF_BYTES:
        raise InputError(
            "the XML file is too large to be a Common Transfer File "
            f"({path.stat().st_size / 2**20:.0f} MiB)",
            file=path,
            hint="split it, or check it is the right file",
        )
    return _read_bytes(path)


def _parse(path: Path, data: bytes) -> Any:
    """The root element; DTDs, entities and external references are refused (defusedxml)."""
    import defusedxml.ElementTree as safe
    from defusedxml import DefusedXmlException

    try:
        return safe.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(
            "the XML file declares a DTD or entities, which a Common Transfer File never does; "
            "refused (they can make a reader fetch files or exhaust memory)",
            file=path,
            hint="export the CTF again from your MIS",
        ) from exc
    except safe.ParseError as exc:
        line = getattr(exc, "position", (None,))[0]
        raise InputError(
            f"the XML is not well formed ({str(exc).split(':')[0]})",
            file=path,
            row=line,
            hint="export the CTF again; do not edit it in a word processor",
        ) from exc


def _pupil_lines(data: bytes, count: int) -> list[int]:
    """The line of each `<Pupil>` start tag; pupil numbers 1..n if they cannot be found."""
    text = data.decode("utf-8", errors="replace")
    starts = [m.start() for m in _PUPIL_TAG.finditer(text)]
    if len(starts) != count:
        return list(range(1, count + 1))
    lines, line, position = [], 1, 0
    for start in starts:
        line += text.count("\n", position, start)
        position = start
        lines.append(line)
    return lines


def _local(tag: object) -> str:
    """An element's name without its namespace (CTFs normally have none)."""
    text = str(tag)
    return text.rsplit("}", 1)[-1] if "}" in text else text


def _child(element: Any, name: str) -> Any:
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: Any, name: str) -> str | None:
    found = _child(element, name)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _descendants(pupil: Any) -> list[Any]:
    """A pupil's elements outside its stage assessments (whose codes would be confused)."""
    found = []
    stack = [c for c in pupil if _local(c.tag) != "StageAssessments"]
    while stack:
        element = stack.pop(0)
        found.append(element)
        stack[:0] = list(element)
    return found


def _first(elements: list[Any], *names: str) -> str | None:
    for element in elements:
        if _local(element.tag) in names and (element.text or "").strip():
            return element.text.strip()
    return None


def _file_date(header: Any) -> dt.date:
    text = _text(header, "DateTime") or ""
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return dt.date.today()


# ---------------------------------------------------------------------------------------------
# Pupil details


def _details(pupil: Any, when: dt.date) -> dict[str, object]:
    """A pupil's details under the header names `import` recognises."""
    elements = _descendants(pupil)
    row: dict[str, object] = {
        "UPN": _text(pupil, "UPN") or _first(elements, "UPN"),
        "Surname": _text(pupil, "Surname") or _first(elements, "Surname", "LegalSurname"),
        "Forename": _text(pupil, "Forename") or _first(elements, "Forename", "LegalForename"),
        "DOB": _text(pupil, "DOB") or _first(elements, "DOB"),
        "Gender": _first(elements, "Gender", "Sex"),
        "NCyearActual": _first(elements, "NCyearActual"),
        "Ethnicity": _first(elements, "Ethnicity"),
        "FirstLanguage": _first_language(elements),
        "SENprovision": _latest_sen(elements),
        "InCare": _first(elements, "InCare"),
        "PreferredSurname": _first(elements, "PreferredSurname"),
        "PreferredForename": _first(elements, "PreferredForename"),
        "MiddleNames": _first(elements, "MiddleNames"),
        "FormerSurname": _first(elements, "FormerSurname"),
        "FormerUPN": _first(elements, "FormerUPN"),
    }
    row.update(_fsm(elements, when))
    return row


def _first_language(elements: list[Any]) -> str | None:
    for element in elements:
        if _local(element.tag) in ("Type", "Language") and len(element):
            kind = (_text(element, "LanguageType") or "").upper()
            if kind in ("FIRST", "F", "FIRST LANGUAGE"):
                return _text(element, "Language")
    return _first(elements, "FirstLanguage", "Language")


def _latest_sen(elements: list[Any]) -> str | None:
    """The SEN provision of the latest SEN record (by start date), else the first given."""
    records = [
        (_text(e, "StartDate") or "", _text(e, "SENprovision"))
        for e in elements
        if _local(e.tag) == "SEN" and _text(e, "SENprovision")
    ]
    if records:
        return max(records, key=lambda r: r[0])[1]
    return _first(elements, "SENprovision", "SENProvision")


def _fsm(elements: list[Any], when: dt.date) -> dict[str, object]:
    """Current FSM and ever-6 FSM from the FSM history (periods with start and end dates).

    A period with no end date is open. A pupil with no FSM period is not FSM (the CTF lists
    every period of eligibility); a file with no FSM data at all gives no FSM columns.
    """
    flag = _first(elements, "FSMeligible", "FSM")
    periods: list[tuple[dt.date | None, dt.date | None]] = []
    for element in elements:
        if _local(element.tag) == "FSMinstance":
            start = _date(_text(element, "FSMstartDate"))
            end = _date(_text(element, "FSMendDate"))
            periods.append((start, end))
    if not periods:
        return {"FSM": flag}
    six_years_ago = dt.date(when.year - 6, when.month, min(when.day, 28))
    current = any((s is None or s <= when) and (e is None or e >= when) for s, e in periods)
    ever6 = any(e is None or e >= six_years_ago for _, e in periods)
    return {"FSM": "Y" if current else "N", "FSM Ever 6": "Y" if ever6 else "N"}


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Stage assessments


def _results(pupils: list[Any], lines: list[int]) -> pd.DataFrame:
    """One row per `<StageAssessment>`: the pupil's row and the result's codes, in file order."""
    import pandas as pd

    rows = []
    for pupil, line in zip(pupils, lines, strict=True):
        for block in (c for c in pupil if _local(c.tag) == "StageAssessments"):
            for key_stage in block:
                stage_code = _text(key_stage, "Stage")
                for stage in key_stage.iter():
                    if _local(stage.tag) != "StageAssessment":
                        continue
                    fields = {_local(c.tag): (c.text or "").strip() or None for c in stage}
                    rows.append(
                        {
                            "row": line,
                            "stage": fields.get("Stage") or stage_code,
                            "subject": fields.get("Subject"),
                            "method": fields.get("Method"),
                            "component": fields.get("Component"),
                            "qualifier": fields.get("ResultQualifier"),
                            "result": fields.get("Result"),
                            "year": fields.get("Year"),
                            "date": fields.get("ResultDate"),
                        }
                    )
    columns = ["row", *RESULT_FIELDS, "result", "year", "date"]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for field in RESULT_FIELDS:
        frame[field] = frame[field].fillna("").astype(str).str.strip().str.upper()
    frame["order"] = range(len(frame))
    return frame


def results_to_columns(
    results: pd.DataFrame, rows: list[int]
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Results as columns (one per rule's column, EYFS areas by the lowest goal) and the notes.

    Needs `_results`' frame. Returns a frame indexed by the pupils' rows and the issues listing
    every result not used: no rule takes it (one note per pupil), a later result replaced it,
    or an EYFS area misses a goal.
    """
    import numpy as np
    import pandas as pd

    rules = result_map()
    column = pd.Series(None, index=results.index, dtype=object)
    for rule in rules.results:
        match = column.isna()
        for field in RESULT_FIELDS:
            wanted = [code.upper() for code in getattr(rule, field)]
            if wanted:
                match &= results[field].isin(wanted)
        column[match] = rule.column
    eyfs = results["stage"].isin([s.upper() for s in rules.eyfs.stages]) & column.isna()
    areas, eyfs_used, eyfs_notes = _eyfs_areas(results[eyfs], rows)
    used = column.notna()
    taken = results[used].assign(column=column[used])
    taken = taken.assign(
        year_key=pd.to_numeric(taken["year"], errors="coerce").fillna(-1),
        date_key=taken["date"].fillna(""),
    ).sort_values(["row", "column", "year_key", "date_key", "order"], kind="stable")
    latest = ~taken.duplicated(["row", "column"], keep="last")
    wide = (
        taken[latest].pivot(index="row", columns="column", values="result")
        if latest.any()
        else pd.DataFrame()
    )
    wide = wide.reindex(index=rows).astype(object)
    wide.columns.name = None
    if len(areas.columns):
        wide = pd.concat([wide, areas], axis=1)
    notes = [_earlier_notes(taken[~latest], taken[latest]), *eyfs_notes]
    unused = results[~used & ~(eyfs & results.index.isin(eyfs_used))]
    notes.append(_unused_notes(unused))
    wide.index = pd.Index(rows, dtype="int64")
    return wide.where(wide.notna(), np.nan).astype(object), [n for n in notes if len(n)]


def _describe(results: pd.DataFrame) -> pd.Series:
    """`KS2 ENG TT GPS SS 2019` for each result, its codes as the CTF gives them."""
    parts = results[[*RESULT_FIELDS, "year"]].fillna("").astype(str)
    return parts.apply(lambda r: " ".join(v for v in r if v), axis=1)


def _note_frame(rows: object, code: str, column: object, value: object, **quotes: object):
    """One catalogue note per row, built as import builds every issue row (pandas loads only
    when a CTF is read)."""
    from targetkit.pipeline.importing import _row_issues

    return _row_issues(rows, code, column, value, **quotes)


def _earlier_notes(earlier: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    if earlier.empty:
        return earlier.iloc[:0]
    return _note_frame(
        earlier["row"].to_numpy(),
        "CTF_EARLIER_RESULT",
        earlier["column"].to_numpy(),
        earlier["result"].fillna("").to_numpy(),
        result=_describe(earlier).to_numpy(),
    )


def _unused_notes(unused: pd.DataFrame) -> pd.DataFrame:
    """One note per pupil listing the results no column takes, with their codes and values."""
    if unused.empty:
        return unused.iloc[:0]
    text = _describe(unused) + " = " + unused["result"].fillna("(blank)")
    listed = text.groupby(unused["row"], sort=True).agg("; ".join)
    counts = unused.groupby("row", sort=True).size()
    results = counts.astype(str) + counts.map({1: " CTF result"}).fillna(" CTF results")
    return _note_frame(
        listed.index.to_numpy(),
        "CTF_RESULT_NOT_USED",
        "StageAssessments",
        "",
        results=results.to_numpy(),
        listed=listed.to_numpy(),
    )


def _eyfs_areas(
    goals: pd.DataFrame, rows: list[int]
) -> tuple[pd.DataFrame, list[int], list[pd.DataFrame]]:
    """EYFS areas from per-goal results: the lowest outcome of the area's goals (see the data
    file); an area with a goal missing is left blank with a note."""
    import pandas as pd

    rules = result_map().eyfs
    number = pd.to_numeric(goals["component"].str.extract(r"(\d+)\s*$")[0], errors="coerce")
    year = pd.to_numeric(goals["year"], errors="coerce")
    pieces = []
    for framework in rules.frameworks:
        era = year.between(framework.first_year, framework.last_year) | (
            year.isna() & (framework is rules.frameworks[-1])
        )
        for area, wanted in framework.areas.items():
            member = era & number.isin(wanted)
            pieces.append(goals[member].assign(area=area, goal=number[member], needed=len(wanted)))
    if not pieces or not any(len(p) for p in pieces):
        return pd.DataFrame(index=rows), [], []
    found = pd.concat(pieces)
    found = found.sort_values("order").drop_duplicates(["row", "area", "goal"], keep="last")
    outcome = pd.to_numeric(found["result"], errors="coerce")
    found = found.assign(
        outcome=outcome, coded=outcome.isna(), code=found["result"].where(outcome.isna())
    )
    grouped = found.groupby(["row", "area"], sort=True)
    summary = grouped.agg(
        goals=("goal", "nunique"),
        needed=("needed", "first"),
        lowest=("outcome", "min"),
        coded=("coded", "any"),
        code=("code", "first"),
    ).reset_index()
    complete = summary["goals"] == summary["needed"]
    value = summary["lowest"].astype("Int64").astype(str).where(~summary["coded"], summary["code"])
    summary["value"] = value.where(complete, None)
    areas = summary.pivot(index="row", columns="area", values="value").reindex(index=rows)
    areas.columns.name = None
    incomplete = summary[~complete]
    notes = []
    if len(incomplete):
        notes.append(
            _note_frame(
                incomplete["row"].to_numpy(),
                "EYFS_AREA_INCOMPLETE",
                incomplete["area"].to_numpy(),
                "",
                goals=incomplete["goals"].astype(str).to_numpy(),
                needed=incomplete["needed"].astype(str).to_numpy(),
            )
        )
    return areas.astype(object), list(found.index), notes
