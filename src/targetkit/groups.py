"""The pupil groups, defined once (`data/groups/groups.yaml`) for every command.

report compares each group with the other pupils, set-targets summarises targets by group
column, check-ambition checks each group for lower expectations: each takes its groups from
here (its list in the file), so a group changed in the file changes for every command. A
school's report settings may add groups of its own (an intervention group) with the same fields.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from targetkit.datafiles import find_data_file, load_yaml_model


class GroupDefinition(BaseModel):
    """A pupil group: a yes/no column (`flag`), a column's listed values, or `each` value."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    column: str = Field(min_length=1)
    kind: Literal["flag", "values", "each"]
    values: list[str] = []


class GroupsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    source: str = Field(min_length=1)
    groups: list[GroupDefinition] = Field(min_length=1)
    report: list[str] = []
    set_targets: list[str] = []
    check_ambition: list[str] = []

    @model_validator(mode="after")
    def _known_keys(self) -> GroupsFile:
        keys = [g.key for g in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError("group keys must be unique")
        for command in ("report", "set_targets", "check_ambition"):
            unknown = sorted(set(getattr(self, command)) - set(keys))
            if unknown:
                raise ValueError(f"{command} lists groups that are not defined: {unknown}")
        return self


@cache
def load_groups() -> GroupsFile:
    """The groups file (a user's copy in TARGETKIT_DATA_DIR/groups/ overrides it)."""
    return load_yaml_model(find_data_file("groups", "groups"), GroupsFile)


def definitions(keys: list[str], groups: GroupsFile | None = None) -> list[GroupDefinition]:
    """The definitions of `keys`, in that order."""
    by_key = {g.key: g for g in (groups or load_groups()).groups}
    return [by_key[k] for k in keys]


def command_groups(
    command: Literal["report", "set_targets", "check_ambition"],
) -> list[GroupDefinition]:
    """The groups one command uses, in the file's order for it."""
    groups = load_groups()
    return definitions(getattr(groups, command), groups)


def group_columns(command: Literal["report", "set_targets", "check_ambition"]) -> tuple[str, ...]:
    """The columns one command's groups are read from, each once, in order."""
    return tuple(dict.fromkeys(g.column for g in command_groups(command)))


def flag_columns() -> frozenset[str]:
    """The columns read as yes/no (a `flag` group's column)."""
    return frozenset(g.column for g in load_groups().groups if g.kind == "flag")
