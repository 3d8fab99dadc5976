"""The lifecycle table: which action may move a case from which state to which.

`load_lifecycle` reads `lifecycle.yaml` (format: `lifecycle_spec.py`), expands groups
and `same`, and refuses a file with unknown names, clashing rows or a kind that can
never end; `lifecycle_diagram` draws it for docs/recovery.md.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from complaints.datafiles import Locator, read_yaml, validate
from complaints.recovery.exceptions import LifecycleError
from complaints.recovery.guards import GUARDS
from complaints.recovery.lifecycle_spec import LifecycleSpec, StateSpec
from complaints.schemas.case import ActionName, CaseState
from complaints.schemas.codes import RequestKind

DEFAULT_LIFECYCLE_NAME = "lifecycle.yaml"
_STATE_CODES = {state.value for state in CaseState}
_KIND_CODES = {kind.value for kind in RequestKind}
#: `to: same` in a row: the action keeps the case in its state (a self-loop).
SAME = "same"


@dataclass(frozen=True)
class Transition:
    """One expanded row: in `from_state`, `action` moves a case of a listed kind to `to`."""

    row: int
    from_state: CaseState
    action: ActionName
    to: CaseState
    kinds: frozenset[RequestKind]
    guards: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Lifecycle:
    """A loaded, checked lifecycle: its declarations plus the expanded rows."""

    spec: LifecycleSpec
    transitions: tuple[Transition, ...]
    source: Path | None = None
    _index: dict[tuple[CaseState, ActionName, RequestKind], Transition] = field(
        default_factory=dict, repr=False,
    )

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def states(self) -> frozenset[CaseState]:
        """Every state the table declares: a case is never anywhere else."""
        return frozenset(self.spec.states)

    def transition_for(self, state: CaseState, action: ActionName,
                       kind: RequestKind) -> Transition | None:
        """The row that lets `action` happen in `state` for `kind`, if there is one."""
        return self._index.get((state, action, kind))

    def allowed_actions(self, state: CaseState, kind: RequestKind) -> tuple[ActionName, ...]:
        """Actions with a row from `state` for `kind` (guards not evaluated), file order."""
        return tuple(a for a in self.spec.actions if (state, a, kind) in self._index)

    def ends_case(self, state: CaseState) -> bool:
        return self.spec.states[state].ends_case


def default_lifecycle_path() -> Path:
    """The table shipped inside the package (`complaints/recovery/lifecycle.yaml`)."""
    return Path(__file__).with_name(DEFAULT_LIFECYCLE_NAME)


def load_lifecycle(path: Path | str | None = None) -> Lifecycle:
    """Read and check a lifecycle file (the default one when `path` is None)."""
    path = Path(path) if path is not None else default_lifecycle_path()
    return replace(parse_lifecycle(read_yaml(path, LifecycleError), path.name), source=path)


def parse_lifecycle(raw: Any, file_name: str) -> Lifecycle:
    """Check already parsed YAML; errors name `file_name`, the row and the field."""
    locate = _locator(raw)
    spec = validate(raw, LifecycleSpec, file_name, LifecycleError, locate,
                    "docs/recovery.md",
                    "a lifecycle is a mapping with `states`, `actions`, `transitions` …")
    unknown = _unknown_guards(spec, locate)
    if unknown:  # part of the format: refused before the rows are looked at
        raise LifecycleError("\n".join(f"{file_name}: {p}" for p in unknown))
    transitions, problems = _expand(spec)
    index: dict[tuple[CaseState, ActionName, RequestKind], Transition] = {}
    for t in transitions:
        for kind in sorted(t.kinds):
            key = (t.from_state, t.action, kind)
            if key in index:
                problems.append(
                    f"transitions[{t.row}]: {t.from_state} --{t.action}--> for {kind} is "
                    f"already a row (transitions[{index[key].row}]): one row per "
                    "state, action and kind"
                )
            index[key] = t
    problems += _declaration_problems(spec)
    if not problems:
        problems += _dead_ends(spec, index)
    if problems:
        raise LifecycleError("\n".join(f"{file_name}: {p}" for p in problems))
    return Lifecycle(spec, tuple(transitions), None, index)


def _locator(raw: Any) -> Locator:
    found = raw.get("transitions") if isinstance(raw, dict) else None  # not a mapping: said later
    rows = found if isinstance(found, list) else []

    def locate(loc: list[str | int]) -> tuple[str, list[str | int]]:
        if len(loc) >= 2 and loc[0] == "transitions" and isinstance(loc[1], int):
            row = rows[loc[1]] if loc[1] < len(rows) else None
            label = ""
            if isinstance(row, dict):
                label = f" ({row.get('from')} --{row.get('action')}--> {row.get('to')})"
            return f"transitions[{loc[1]}]{label}: ", loc[2:]
        return "", loc

    return locate


def _unknown_guards(spec: LifecycleSpec, locate: Locator) -> list[str]:
    """Rows naming a guard that does not exist: the first such name of each row."""
    problems = []
    for number, row in enumerate(spec.transitions):
        unknown = [g for g in row.guards if g not in GUARDS]
        if unknown:
            where, _ = locate(["transitions", number, "guards"])
            problems.append(f"{where}guards: unknown guard {unknown[0]!r} "
                            f"(known: {', '.join(sorted(GUARDS))})")
    return problems


def _expand(spec: LifecycleSpec) -> tuple[list[Transition], list[str]]:
    """Rows with groups and `same` resolved to one `Transition` per source state."""
    transitions: list[Transition] = []
    problems: list[str] = []
    every_kind = frozenset(RequestKind)
    for number, row in enumerate(spec.transitions):
        where = f"transitions[{number}] ({row.label()})"
        sources: list[CaseState] = []
        for name in row.sources():
            if name in spec.state_groups:
                sources += spec.state_groups[name]
            elif name in _STATE_CODES:
                sources.append(CaseState(name))
            else:
                problems.append(f"{where}: from: unknown state or state group {name!r}")
        kinds: set[RequestKind] = set()
        for name in row.kinds:
            if name in spec.kind_groups:
                kinds.update(spec.kind_groups[name])
            elif name in _KIND_CODES:
                kinds.add(RequestKind(name))
            else:
                problems.append(f"{where}: kinds: unknown kind or kind group {name!r}")
        if row.to != SAME and row.to not in _STATE_CODES:
            problems.append(f"{where}: to: unknown state {row.to!r} (or `{SAME}`)")
            continue
        for source in sources:
            to = source if row.to == SAME else CaseState(row.to)
            transitions.append(Transition(number, source, row.action, to,
                                          frozenset(kinds) or every_kind, tuple(row.guards)))
    return transitions, problems


def _declaration_problems(spec: LifecycleSpec) -> list[str]:
    """What pydantic cannot see: every state and action declared, names not clashing."""
    problems = [f"states: {s} is missing" for s in CaseState if s not in spec.states]
    problems += [f"actions: {a} is missing" for a in ActionName if a not in spec.actions]
    problems += [
        f"state_groups: {name!r} is also a state name" for name in spec.state_groups
        if name in _STATE_CODES
    ]
    problems += [
        f"kind_groups: {name!r} is also a kind" for name in spec.kind_groups
        if name in _KIND_CODES
    ]
    if spec.states.get(spec.initial, StateSpec(name="?")).ends_case:
        problems.append(f"initial: {spec.initial} ends the case")
    return problems


def _dead_ends(spec: LifecycleSpec,
               index: dict[tuple[CaseState, ActionName, RequestKind], Transition]) -> list[str]:
    """Every kind must be able to reach an ending from the initial state (guards aside)."""
    problems = []
    for kind in RequestKind:
        seen, todo = {spec.initial}, [spec.initial]
        while todo:
            state = todo.pop()
            for (source, _, k), t in index.items():
                if source == state and k == kind and t.to not in seen:
                    seen.add(t.to)
                    todo.append(t.to)
        if not any(spec.states[s].ends_case for s in seen):
            problems.append(f"transitions: a {kind} can never end (no path from "
                            f"{spec.initial} to a state with ends_case)")
    return problems


def lifecycle_diagram(table: Lifecycle) -> str:
    """A Mermaid `stateDiagram-v2` of the rows as written (groups as pseudo-states).

    `docs/recovery.md` carries this text; a test keeps the two equal.
    """
    spec = table.spec
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for name, members in spec.state_groups.items():
        lines.append(f'    state "{name} = {", ".join(members)}" as {name}')
    for row in spec.transitions:
        kinds = f" ({', '.join(row.kinds)})" if row.kinds else ""
        guards = f" [{', '.join(row.guards)}]" if row.guards else ""
        for source in row.sources():
            to = source if row.to == SAME else row.to
            lines.append(f"    {source} --> {to} : {row.action}{kinds}{guards}")
    lines += [f"    {state} --> [*]" for state, s in spec.states.items() if s.ends_case]
    return "\n".join(lines) + "\n"


__all__ = [
    "SAME",
    "Lifecycle",
    "Transition",
    "default_lifecycle_path",
    "lifecycle_diagram",
    "load_lifecycle",
    "parse_lifecycle",
]
