"""Reading the recovery data files and turning validation errors into one line each."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from complaints.recovery.exceptions import RecoveryConfigError

# Friendlier wording for the pydantic errors a policy author meets most.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field (check the spelling against docs/recovery.md)",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "greater_than": "must be > {gt}",
    "less_than": "must be < {lt}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}

#: Turns an error location into `(where, rest)`: `("transitions[3] (fixed --close-->): ",
#: ["guards", 0])`, so messages name the row the way the file's author knows it.
Locator = Callable[[list[str | int]], tuple[str, list[str | int]]]


def read_yaml(path: Path, error: type[RecoveryConfigError]) -> Any:
    """`yaml.safe_load` of a file, with read and syntax errors naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path.name}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path.name}: not valid YAML: {exc}") from exc


def describe(error: ValidationError, file_name: str, locate: Locator) -> str:
    """One line per pydantic error: `file: where: field.path: message`."""
    lines = []
    for detail in error.errors():
        where, rest = locate(list(detail["loc"]))
        template = _MESSAGES.get(detail["type"])
        message = template.format(**detail.get("ctx", {})) if template else detail["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"{file_name}: {where}{field_path(rest)}: {message}")
    return "\n".join(lines)


def field_path(loc: list[str | int]) -> str:
    """('deadlines', 'fix', 'hours') → 'deadlines.fix.hours'; (…, 0) → '…[0]'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"
