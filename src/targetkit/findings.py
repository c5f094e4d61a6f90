"""The findings catalogue: every code any command emits, with its severity and wording (SPEC §5).

Kept as data (`data/findings.yaml`) so an LA can read every code in one place and the commands
agree on wording: import's data issues (`kind: data`, severities error / warning / info, which
`import --strict` relies on) and the findings about targets and progress that set-targets,
check-ambition and report raise (`kind: target`, severities challenge / warning / info). Both
sit on one ordered scale, `SEVERITY_RANK`, where error and challenge rank together.

A message is the entry's `template` (or one of its named `variants`) with `{placeholders}`
filled in by `fill`, the one filler: a scalar fills every row, a Series fills row by row, so a
thousand findings cost a few array operations, not a thousand `str.format` calls. A finding is
a plain dict or frame row, so `--format json` prints exactly what the library returns.

Adding a code is one entry in `data/findings.yaml` (see docs/findings.md).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["error", "challenge", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2, "challenge": 2}
# The words each kind of finding uses (SPEC §7 "Import severities"; SPEC §5 for the checks).
KIND_SEVERITIES: dict[str, tuple[str, ...]] = {
    "data": ("error", "warning", "info"),
    "target": ("challenge", "warning", "info"),
}
BLANK = "(blank)"  # what a missing value reads as in a message
_RESERVED = {"variant", "index"}  # keyword names of `message`, never placeholders


def placeholders(template: str) -> list[str]:
    """The `{names}` a template needs, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


class FindingType(BaseModel):
    """One entry of `data/findings.yaml`, validated when loaded."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    kind: Literal["data", "target"] = "target"
    severity: Severity
    title: str = Field(min_length=1)
    template: str = Field(min_length=1)
    variants: dict[str, str] = {}  # other wordings of the same finding, by name
    suggestion: str = ""  # what to do about it (import's `suggestion` column); may hold {names}
    suggestion_if_blank: str = ""  # the suggestion when a value it quotes is blank
    description: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> FindingType:
        if self.severity not in KIND_SEVERITIES[self.kind]:
            words = " / ".join(KIND_SEVERITIES[self.kind])
            raise ValueError(f"{self.code}: a {self.kind} finding's severity is one of {words}")
        for text in (self.template, *self.variants.values(), self.suggestion):
            reserved = _RESERVED.intersection(placeholders(text))
            if reserved:
                raise ValueError(f"{self.code}: {sorted(reserved)} cannot be a placeholder name")
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[FindingType]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        codes = [item.code for item in self.findings]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"codes listed twice: {', '.join(repeated)}")
        return self


@cache
def catalogue() -> dict[str, FindingType]:
    """Every finding type by code, validated on load."""
    from targetkit.datafiles import load_yaml_model

    path = resources.files("targetkit").joinpath("data/findings.yaml")
    loaded = load_yaml_model(path, Catalogue)  # type: ignore[arg-type]
    return {item.code: item for item in loaded.findings}


def severity(code: str) -> Severity:
    return catalogue()[code].severity


def fill(
    template: str,
    values: Mapping[str, object],
    index: pd.Index | None = None,
    *,
    if_blank: str | None = None,
) -> pd.Series | str:
    """`template` with its `{placeholders}` filled from `values`, for many rows at once.

    A scalar fills every row (with the placeholder's format spec, e.g. `{rate:.0%}`); a Series
    fills row by row, by position, each distinct value formatted once; a missing value reads
    `(blank)`. The rows are `index` when given, else the first Series' index; with neither,
    the answer is one string. With `if_blank`, a row where a Series value is blank or empty
    gets `if_blank` instead (a suggestion that has nothing to quote).
    """
    series = [v for v in values.values() if _is_series(v)]
    if index is None and not series:
        quoted = [values[name] for name in placeholders(template)]
        if if_blank is not None and any(v is None or not str(v).strip() for v in quoted):
            return if_blank
        return template.format_map(dict(values))
    import numpy as np
    import pandas as pd

    rows = index if index is not None else series[0].index  # type: ignore[union-attr]
    text = np.full(len(rows), "", dtype=object)
    empty = np.zeros(len(rows), dtype=bool)
    for literal, name, spec, conversion in string.Formatter().parse(template):
        text = text + literal
        if name is None:
            continue
        value = values[name]
        if _is_series(value):
            formatted, blank = _format_column(value, spec or "", conversion)  # type: ignore[arg-type]
            text = text + formatted
            empty |= blank
        else:
            text = text + _format_one(value, spec or "", conversion)
    if if_blank is not None:
        text = np.where(empty, if_blank, text).astype(object)
    return pd.Series(text, index=rows, dtype=object)


def message(
    code: str, /, *, variant: str | None = None, index: pd.Index | None = None, **values: object
) -> pd.Series | str:
    """The catalogue sentence for a finding (one string, or a Series for many; see `fill`)."""
    kind = catalogue()[code]
    template = kind.variants[variant] if variant else kind.template
    return fill(template, values, index)


def suggestion(code: str, /, *, index: pd.Index | None = None, **values: object) -> pd.Series | str:
    """What to do about a finding, filled like `message`; `suggestion_if_blank` where a value
    it quotes is blank."""
    kind = catalogue()[code]
    return fill(kind.suggestion, values, index, if_blank=kind.suggestion_if_blank)


def _is_series(value: object) -> bool:
    return hasattr(value, "to_numpy") and hasattr(value, "index")


def _format_one(value: object, spec: str, conversion: str | None) -> str:
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    return format(value, spec)


def _format_column(values: pd.Series, spec: str, conversion: str | None) -> tuple[object, object]:
    """Each value as text (each distinct value formatted once) and where it is blank."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    texts = [_format_one(u, spec, conversion) for u in uniques]
    formatted = np.array([*texts, BLANK], dtype=object)[codes]
    blank = (codes == -1) | np.isin(codes, [i for i, t in enumerate(texts) if not t.strip()])
    return formatted, blank
