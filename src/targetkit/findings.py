"""The flag catalogue: stable codes with a severity, a title and a message template (SPEC §5).

Kept as data (`data/findings.yaml`) so an LA can read every code in one place and the
commands agree on wording. A finding is a plain dict, so `--format json` prints exactly what
the library returns.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["challenge", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "challenge": 2}


class FindingType(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    severity: Severity
    title: str
    template: str
    description: str


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[FindingType]


@cache
def catalogue() -> dict[str, FindingType]:
    """Every finding type by code, validated on load."""
    import yaml

    text = resources.files("targetkit").joinpath("data/findings.yaml").read_text("utf-8")
    loaded = Catalogue.model_validate(yaml.safe_load(text))
    return {item.code: item for item in loaded.findings}


def message(code: str, **values: object) -> str:
    """The sentence for one finding, filled in from its template."""
    return catalogue()[code].template.format(**values)


def severity(code: str) -> Severity:
    return catalogue()[code].severity
