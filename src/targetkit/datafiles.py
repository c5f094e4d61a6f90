"""Finding and validating the domain data files: scales, grade maps, conversion tables, policies,
and the lookups beside the conversion tables (KS2 bands, Attainment 8 estimates).

Shipped files live in `targetkit/data/<kind>/`. Users add their own by putting files in
`<dir>/<kind>/` and pointing `TARGETKIT_DATA_DIR` at `<dir>` (several dirs separated by the
OS path separator), or by passing a file path wherever a name is accepted. A user file with
the same name as a shipped one wins.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from targetkit.errors import DataFileError

Model = TypeVar("Model", bound=BaseModel)
# A data file's kind in a sentence ("unknown policy 'ks5'"), from its folder's name.
KIND_NAMES = {
    "policies": "policy",
    "scales": "scale",
    "grade_maps": "grade map",
    "conversions": "conversion table",
}


def data_dirs(kind: str) -> list[Path]:
    """Folders searched for data files of one kind, user folders first."""
    dirs = [
        Path(entry) / kind
        for entry in os.environ.get("TARGETKIT_DATA_DIR", "").split(os.pathsep)
        if entry
    ]
    dirs.append(Path(str(resources.files("targetkit").joinpath("data", kind))))
    return dirs


def find_data_file(kind: str, name: str, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> Path:
    """The file for `name` (a shipped/user name or a path), or a DataFileError listing choices."""
    as_path = Path(name)
    if as_path.suffix in suffixes or as_path.suffix == ".csv":
        if as_path.is_file():
            return as_path
        raise DataFileError(
            f"no {KIND_NAMES.get(kind, kind)} file here", file=name, hint="check the path"
        )
    for folder in data_dirs(kind):
        for suffix in suffixes:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    choices = ", ".join(sorted(available(kind, suffixes))) or "none"
    raise DataFileError(f"unknown {KIND_NAMES.get(kind, kind)} {name!r}; choose one of: {choices}")


def available(kind: str, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> dict[str, Path]:
    """Every data file of a kind by name; user folders override shipped files."""
    found: dict[str, Path] = {}
    for folder in reversed(data_dirs(kind)):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix in suffixes:
                    found[path.stem] = path
    return found


def load_yaml_model(
    path: Path, model: type[Model], error: type[DataFileError] = DataFileError
) -> Model:
    """Load a YAML file into a pydantic model; errors name the file, the line and the field.

    `error`: the DataFileError subclass to raise (conversion tables raise their own)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        raw = safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:  # one line naming the place, not PyYAML's four
            raise error(
                f"cannot read this YAML file: line {mark.line + 1}, column {mark.column + 1}: "
                f"{getattr(exc, 'problem', None) or 'not valid YAML'}",
                file=path,
            ) from exc
        raise error(f"cannot read this YAML file: {exc}", file=path) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        line = _line_of(yaml.compose(text), first["loc"])
        where = f"line {line}, " if line else ""
        raise error(f"{where}field {field}: {first['msg']}", file=path) from exc


def safe_load(text: str) -> object:
    """`yaml.safe_load`, through libyaml when PyYAML has it (5-10x faster: set-targets parses
    every policy and table description). A file libyaml refuses is parsed again in Python, so
    the error (its line, column and problem) is the one PyYAML always gave."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=loader)  # the C build of the safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _line_of(node: object, loc: tuple[object, ...]) -> int | None:
    """The 1-based line of a YAML node at a pydantic error location, where it can be found."""
    import yaml

    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(part)]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
