"""The DfE's nominal KS2 scaled scores, as data (SPEC §8 "No prior is not a low prior").

A pupil whose KS2 reading or maths outcome is a code below the standard of the test (`N`, a
pre-key stage standard, `BLW`, a P scale) has no scaled score but does have a prior: the DfE's
KS4 accountability guide gives each such outcome a nominal score (59 to 79), so the pupil is in
the lowest KS2 bands and inside Progress 8. The scores are in
`data/conversions/ks2_nominal_scores.yaml`, validated here when first used.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from targetkit.conversion_tables import ConversionTableError, TableSource
from targetkit.datafiles import find_data_file, load_yaml_model

NOMINAL_SCORES_FILE = "ks2_nominal_scores"


class NominalOutcome(BaseModel):
    """One KS2 outcome code and its nominal score by the year the cohort finished KS2."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    meaning: str
    scores: dict[str, float] = Field(min_length=1)
    choice: str = ""  # set where the score is targetkit's choice, not a DfE figure


class NominalScores(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["nominal_scores"]
    title: str
    rule: str
    eras: list[str] = Field(min_length=1)
    used: str
    outcomes: list[NominalOutcome] = Field(min_length=1)
    source: TableSource
    provenance: str
    licence: str

    @model_validator(mode="after")
    def _consistent(self) -> NominalScores:
        if self.used not in self.eras:
            raise ValueError(f"used: {self.used!r} is not one of the eras {self.eras}")
        codes = [o.code.upper() for o in self.outcomes]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once (ignoring case)")
        for outcome in self.outcomes:
            unknown = set(outcome.scores) - set(self.eras)
            if unknown:
                raise ValueError(f"{outcome.code}: {sorted(unknown)} are not eras")
            if not all(0 < s < 80 for s in outcome.scores.values()):
                raise ValueError(f"{outcome.code}: nominal scores lie between 0 and 80")
            if self.score(outcome) is None:
                raise ValueError(f"{outcome.code}: no score for {self.used!r} or an earlier era")
        return self

    def score(self, outcome: NominalOutcome) -> float | None:
        """The outcome's score in the era used, else in the latest earlier era that has one."""
        earlier = self.eras[: self.eras.index(self.used) + 1]
        return next((outcome.scores[e] for e in reversed(earlier) if e in outcome.scores), None)

    def by_code(self) -> dict[str, float]:
        """Upper-case code → the nominal score targetkit applies."""
        return {o.code.upper(): self.score(o) for o in self.outcomes}  # type: ignore[misc]


@cache  # loaded once, before the pipeline runs (SPEC §8 purity); callers never change it
def ks2_nominal_scores() -> NominalScores:
    """The shipped (or user) nominal KS2 scores, validated."""
    path = find_data_file("conversions", NOMINAL_SCORES_FILE)
    return load_yaml_model(path, NominalScores, ConversionTableError)
