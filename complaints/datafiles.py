"""Reading the domain data files — rule packs, routing tables, the case lifecycle, SLA
policies — and turning their validation errors into one line each.

Every message names the file, the entry the author knows (`rule 'power.outage'`,
`transitions[3] (fixed --close-->)`) and the field, because the people who edit these
files are service-centre staff, not the developers who wrote the models.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# Friendlier wording for the pydantic errors a data-file author meets most.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field (check the spelling against {doc})",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "greater_than": "must be > {gt}",
    "less_than": "must be < {lt}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}

#: Turns an error location into `(where, rest)`, e.g. `("rule 'power.outage': ",
#: ["terms", 3, "weight"])`, so messages name entries the way the file's author knows them.
Locator = Callable[[list[str | int]], tuple[str, list[str | int]]]


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """`yaml.safe_load` of a file, with read and syntax errors naming the file."""
    name = path.name or str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{name}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{name}: not valid YAML: {exc}") from exc


def validate(raw: Any, model: type[M], file_name: str, error: type[Exception],
             locate: Locator, doc: str, shape: str) -> M:
    """`model` from parsed YAML, or `error` with one line per problem.

    `shape` says what the top level must look like, for files that are not a mapping.
    """
    if not isinstance(raw, dict):
        raise error(f"{file_name}: {shape}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(describe(exc, file_name, locate, doc)) from exc


def describe(error: ValidationError, file_name: str, locate: Locator, doc: str) -> str:
    """One line per pydantic error: `file: where: field.path: message`."""
    lines = []
    for detail in error.errors():
        where, rest = locate(list(detail["loc"]))
        template = _MESSAGES.get(detail["type"])
        context = {k: f"{v:g}" if isinstance(v, float) else v
                   for k, v in detail.get("ctx", {}).items()}
        message = template.format(doc=doc, **context) if template else detail["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"{file_name}: {where}{field_path(rest)}: {message}")
    return "\n".join(lines)


def field_path(loc: list[str | int]) -> str:
    """('terms', 3, 'weight') → 'terms[3].weight'; pydantic's internal names dropped."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]" and not str(part).startswith("function-"):
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def by_id(raw: Any, key: str, label: str) -> Locator:
    """A locator naming entries of the list `key` by their `id` (`rule 'power.outage': `)."""

    def locate(loc: list[str | int]) -> tuple[str, list[str | int]]:
        if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
            entries = raw.get(key) or [] if isinstance(raw, dict) else []
            entry = entries[loc[1]] if loc[1] < len(entries) else None
            entry_id = entry.get("id") if isinstance(entry, dict) else None
            where = f"{label} {entry_id!r}: " if entry_id else f"{key}[{loc[1]}]: "
            return where, loc[2:]
        return "", loc

    return locate
