"""The case lifecycle: a transition table in data, and the pure functions that use it.

`lifecycle.yaml` says which action moves a case from which state to which, for which
kinds, under which guards. This module loads and checks it (`load_lifecycle`) and
holds the event-sourced core of service recovery:

- `decide(case, action, table, now)`: a handler's command → the events it causes: one
  accepted event, one `ActionRejected` (with the reason and what is allowed), or
  nothing when the action id was already decided;
- `evolve(case, event)`: one event applied to the case, nothing else;
- `open_case(...)` and `rebuild(events)`: the first event, and a case from its history.

Nothing here reads clocks or talks to brokers: `now` is an argument, so the same
history always gives the same case.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from complaints.datafiles import read_yaml, validate
from complaints.recovery.exceptions import LifecycleError
from complaints.recovery.guards import GUARDS
from complaints.schemas.case import (
    INTAKE_ACTOR,
    ActionName,
    ActionRejected,
    ApologyRecorded,
    AreaType,
    Case,
    CaseAcknowledged,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReassigned,
    CaseReclassified,
    CaseReopened,
    CaseState,
    CaseSteps,
    CaseTerminated,
    CompensationRecorded,
    Deadline,
    DeadlineBreached,
    DeadlinesScheduled,
    DeadlineStatus,
    DeadlineWarned,
    FixCompleted,
    FixStarted,
    FollowUpRecorded,
    HandlerAction,
)
from complaints.schemas.codes import Category, RequestKind, Severity

DEFAULT_LIFECYCLE_NAME = "lifecycle.yaml"
_STATE_CODES = {state.value for state in CaseState}
_KIND_CODES = {kind.value for kind in RequestKind}
#: `to: same` in a row: the action keeps the case in its state (a self-loop).
SAME = "same"


# ------------------------------------------------------------------ the file format


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StateSpec(_Spec):
    """A state with its Chinese name; `ends_case` states end a case (resolution)."""

    name: str = Field(min_length=1, examples=["已道歉"])
    description: str = ""
    ends_case: bool = False


class ActionSpec(_Spec):
    """An action with its Chinese name and the hint shown when it is refused."""

    name: str = Field(min_length=1, examples=["真诚道歉"])
    hint: str = ""


class CompensationPolicy(_Spec):
    """Parameters of the compensation guards."""

    approval_limit_cny: Decimal = Field(ge=0, description="Above this, approved_by is needed.")
    policy_categories: list[Category] = Field(
        default_factory=list, description="Compensated by policy without a loss claim.",
    )


class FollowUpPolicy(_Spec):
    """Where "unsatisfied" starts on the 1–5 return-visit scale."""

    unsatisfied_at_most: int = Field(default=2, ge=1, le=4)


class ReopenPolicy(_Spec):
    """How long after closing a repeat complaint reopens the case."""

    within_days: int = Field(default=30, ge=0, le=3650)


class EscalationLevel(_Spec):
    """One step up the escalation ladder: a queue that is alerted and takes over."""

    queue: str = Field(min_length=1, examples=["supervisor"])
    name: str = Field(min_length=1, examples=["班组长/值班长"])


class EscalationPolicy(_Spec):
    """What an escalation does to the case."""

    levels: list[EscalationLevel] = Field(min_length=1)
    raise_severity_by: int = Field(default=1, ge=0, le=3)
    severity_cap: Severity = Field(
        default=Severity.P2, description="Escalation never raises severity above this.",
    )
    priority_boost: int = Field(default=10, ge=0, le=100)


class RowSpec(_Spec):
    """One row as written in the file (`from` may name several states or a group)."""

    from_states: str | list[str] = Field(alias="from")
    action: ActionName
    to: str
    kinds: list[str] = Field(default_factory=list, description="Kinds or kind groups.")
    guards: list[str] = Field(default_factory=list)
    note: str = ""

    @field_validator("guards")
    @classmethod
    def _known_guards(cls, guards: list[str]) -> list[str]:
        unknown = [g for g in guards if g not in GUARDS]
        if unknown:
            raise ValueError(f"unknown guard {unknown[0]!r} (known: {', '.join(sorted(GUARDS))})")
        return guards

    def sources(self) -> list[str]:
        return [self.from_states] if isinstance(self.from_states, str) else self.from_states

    def label(self) -> str:
        """`fixed --close--> closed`, for error messages."""
        return f"{', '.join(self.sources())} --{self.action}--> {self.to}"


class LifecycleSpec(_Spec):
    """A whole lifecycle file."""

    version: str = Field(min_length=1, examples=["2026.1"])
    description: str = ""
    initial: CaseState = CaseState.RECEIVED
    states: dict[CaseState, StateSpec]
    state_groups: dict[str, list[CaseState]] = Field(default_factory=dict)
    kind_groups: dict[str, list[RequestKind]] = Field(default_factory=dict)
    actions: dict[ActionName, ActionSpec]
    compensation: CompensationPolicy
    follow_up: FollowUpPolicy = Field(default_factory=FollowUpPolicy)
    reopen: ReopenPolicy = Field(default_factory=ReopenPolicy)
    escalation: EscalationPolicy
    transitions: list[RowSpec] = Field(min_length=1)


# --------------------------------------------------------------- the loaded table


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
    spec = validate(raw, LifecycleSpec, file_name, LifecycleError, _locator(raw),
                    "docs/recovery.md",
                    "a lifecycle is a mapping with `states`, `actions`, `transitions` …")
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


def _locator(raw: dict[str, Any]) -> Any:
    rows = raw.get("transitions") if isinstance(raw.get("transitions"), list) else []

    def locate(loc: list[str | int]) -> tuple[str, list[str | int]]:
        if len(loc) >= 2 and loc[0] == "transitions" and isinstance(loc[1], int):
            row = rows[loc[1]] if loc[1] < len(rows) else None
            label = ""
            if isinstance(row, dict):
                label = f" ({row.get('from')} --{row.get('action')}--> {row.get('to')})"
            return f"transitions[{loc[1]}]{label}: ", loc[2:]
        return "", loc

    return locate


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


# ------------------------------------------------------------------------- decide


def open_case(
    *,
    case_id: str,
    kind: RequestKind,
    category: Category,
    severity: Severity,
    queue: str,
    opened_at: datetime,
    loss_claim: bool = False,
    priority: int | None = None,
    area_type: AreaType = AreaType.URBAN,
    incident_id: str | None = None,
    incident_held: bool = False,
    actor: str = INTAKE_ACTOR,
) -> CaseOpened:
    """The first event of a case; `loss_claim` comes from the classifier's `loss` signal."""
    return CaseOpened(
        case_id=case_id, version=1, occurred_at=opened_at, actor=actor,
        state_before=None, state_after=CaseState.RECEIVED,
        kind=kind, category=category, severity=severity, queue=queue, priority=priority,
        loss_claim=loss_claim, area_type=area_type, incident_id=incident_id,
        incident_held=incident_held,
    )


def decide(case: Case, action: HandlerAction, table: Lifecycle,
           now: datetime) -> list[CaseEvent]:
    """The events `action` causes: one accepted event, one `ActionRejected`, or none.

    None when the action id was already decided (accepted or rejected): a redelivered
    or re-sent command has no second effect. Guards are tried in row order and the
    first that fails is the reason.
    """
    if action.case_id != case.case_id:
        raise ValueError(f"action {action.action_id} is for case {action.case_id}, "
                         f"not {case.case_id}")
    if action.action_id in case.processed_action_ids:
        return []
    row = table.transition_for(case.state, action.action, case.kind)
    if row is None:
        return [_rejected(case, action, table, now, _no_row_reason(case, action, table))]
    for guard in row.guards:
        failure = GUARDS[guard](case, action, table.spec, now)
        if failure is not None:
            return [_rejected(case, action, table, now, f"{action.action} refused: {failure}",
                              guard)]
    return [_accepted(case, action, row, table.spec, now)]


def _no_row_reason(case: Case, action: HandlerAction, table: Lifecycle) -> str:
    spec = table.spec.actions[action.action]
    hint = f" ({spec.hint})" if spec.hint else ""
    ended = " — the case has ended" if table.ends_case(case.state) else ""
    return (f"{action.action} ({spec.name}) is not allowed in state {case.state} for a "
            f"{case.kind}{ended}{hint}")


def _rejected(case: Case, action: HandlerAction, table: Lifecycle, now: datetime,
              reason: str, guard: str | None = None) -> ActionRejected:
    allowed = table.allowed_actions(case.state, case.kind)
    listed = ", ".join(allowed) if allowed else "nothing"
    return ActionRejected(
        **_common(case, action, case.state, now),
        reason=f"{reason}. Allowed in {case.state}: {listed}.",
        guard=guard, allowed=allowed,
    )


def _common(case: Case, action: HandlerAction, to: CaseState, now: datetime) -> dict[str, Any]:
    """The fields every event decided from an action shares."""
    return {
        "case_id": case.case_id, "version": case.version + 1, "occurred_at": now,
        "actor": action.actor, "action_id": action.action_id, "action": action.action,
        "state_before": case.state, "state_after": to, "note": action.note,
    }


def _accepted(case: Case, action: HandlerAction, row: Transition, spec: LifecycleSpec,
              now: datetime) -> CaseEvent:
    common = _common(case, action, row.to, now)
    match action.action:
        case ActionName.ACKNOWLEDGE:
            return CaseAcknowledged(**common)
        case ActionName.APOLOGIZE:
            return ApologyRecorded(**common)
        case ActionName.START_FIX:
            return FixStarted(**common)
        case ActionName.FIX_DONE:
            return FixCompleted(**common)
        case ActionName.COMPENSATE:
            return CompensationRecorded(**common, amount=action.amount or Decimal("0"),
                                        approved_by=action.approved_by)
        case ActionName.FOLLOW_UP:
            satisfaction = action.satisfaction or 0
            return FollowUpRecorded(
                **common, satisfaction=satisfaction,
                unsatisfied=satisfaction <= spec.follow_up.unsatisfied_at_most,
            )
        case ActionName.CLOSE:
            return CaseClosed(**common)
        case ActionName.ESCALATE:
            return _escalated(case, action, spec, common)
        case ActionName.REOPEN:
            return CaseReopened(**common, round=case.round + 1, reason=action.reason)
        case ActionName.REASSIGN:
            return CaseReassigned(**common, queue_before=case.queue,
                                  queue_after=action.target_queue or case.queue)
        case ActionName.RECLASSIFY:
            return CaseReclassified(
                **common, kind_before=case.kind, kind_after=action.new_kind or case.kind,
                category_before=case.category,
                category_after=action.new_category or case.category, reason=action.reason,
            )
        case ActionName.TERMINATE:
            return CaseTerminated(**common, reason=action.reason or "")
    raise AssertionError(f"no event for action {action.action}")  # pragma: no cover


def _escalated(case: Case, action: HandlerAction, spec: LifecycleSpec,
               common: dict[str, Any]) -> CaseEscalated:
    policy = spec.escalation
    level = case.escalation_level + 1
    priority = case.priority
    if priority is not None:
        priority = min(100, priority + policy.priority_boost)
    return CaseEscalated(
        **common, level=level, queue_before=case.queue,
        queue_after=policy.levels[level - 1].queue, severity_before=case.severity,
        severity_after=raised_severity(case.severity, policy.raise_severity_by,
                                       policy.severity_cap),
        priority_after=priority, reason=action.reason,
    )


def raised_severity(severity: Severity, by: int, cap: Severity) -> Severity:
    """`by` levels more urgent, never past `cap`, never less urgent than before."""
    order = list(Severity)  # P1 … P4
    index = order.index(severity)
    return order[min(index, max(index - by, order.index(cap)))]


# ------------------------------------------------------------------------- evolve

_STEP_FIELDS = {
    ActionName.ACKNOWLEDGE: "acknowledged_at",
    ActionName.APOLOGIZE: "apologized_at",
    ActionName.START_FIX: "fix_started_at",
    ActionName.FIX_DONE: "fixed_at",
    ActionName.COMPENSATE: "compensated_at",
    ActionName.FOLLOW_UP: "followed_up_at",
}
_HANDOVERS = {ActionName.ESCALATE, ActionName.REASSIGN, ActionName.RECLASSIFY}


def evolve(case: Case | None, event: CaseEvent) -> Case:
    """`case` with `event` applied. Refuses events out of order or for another case."""
    if isinstance(event, CaseOpened):
        if case is not None:
            raise ValueError(f"case {case.case_id} is already open")
        return _opened(event)
    if case is None:
        raise ValueError(f"the first event of case {event.case_id} must be CaseOpened")
    if event.case_id != case.case_id:
        raise ValueError(f"event for case {event.case_id} applied to case {case.case_id}")
    if event.version != case.version + 1:
        raise ValueError(f"case {case.case_id}: event version {event.version} after "
                         f"version {case.version}")
    if event.state_before != case.state:
        raise ValueError(f"case {case.case_id}: event expects state {event.state_before}, "
                         f"case is {case.state}")
    updates: dict[str, Any] = {"version": event.version, "state": event.state_after}
    if event.action_id is not None and event.action_id not in case.processed_action_ids:
        updates["processed_action_ids"] = (*case.processed_action_ids, event.action_id)
    updates |= _changes(case, event)
    if event.action is not None and not isinstance(event, ActionRejected):
        updates |= _action_bookkeeping(case, event, updates)
    return case.model_copy(update=updates)


def _opened(event: CaseOpened) -> Case:
    return Case(
        case_id=event.case_id, kind=event.kind, category=event.category,
        severity=event.severity, state=event.state_after, version=event.version,
        queue=event.queue, priority=event.priority, area_type=event.area_type,
        loss_claim=event.loss_claim, incident_id=event.incident_id,
        incident_held=event.incident_held, opened_at=event.occurred_at,
    )


def _changes(case: Case, event: CaseEvent) -> dict[str, Any]:
    """What each kind of event changes besides version, state and action bookkeeping."""
    at = event.occurred_at
    match event:
        case FixCompleted():
            return {"fix_count": case.fix_count + 1}
        case CompensationRecorded():
            return {"compensation_total": case.compensation_total + event.amount}
        case FollowUpRecorded():
            return {"steps": case.steps.model_copy(update={"satisfaction": event.satisfaction})}
        case CaseClosed():
            return {"closed_at": at}
        case CaseEscalated():
            return {"escalation_level": event.level, "queue": event.queue_after,
                    "severity": event.severity_after, "priority": event.priority_after}
        case CaseReopened():
            return {"round": event.round, "reopened_at": at, "steps": CaseSteps(),
                    "closed_at": None}
        case CaseReassigned():
            return {"queue": event.queue_after}
        case CaseReclassified():
            return {"kind": event.kind_after, "category": event.category_after}
        case CaseTerminated():
            return {"terminated_at": at, "termination_reason": event.reason}
        case ActionRejected():
            return {"rejections": case.rejections + 1}
        case DeadlineWarned():
            return {"deadlines": _set_status(case, event.deadline_key, DeadlineStatus.WARNED)}
        case DeadlineBreached():
            return {"deadlines": _set_status(case, event.deadline_key, DeadlineStatus.BREACHED)}
        case DeadlinesScheduled():
            return {"deadlines": event.deadlines}
    return {}


def _set_status(case: Case, key: str, status: DeadlineStatus) -> tuple[Any, ...]:
    return tuple(d.model_copy(update={"status": status}) if d.key == key else d
                 for d in case.deadlines)


def _action_bookkeeping(case: Case, event: CaseEvent, updates: dict[str, Any]) -> dict[str, Any]:
    """Step times, ownership, hand-overs and deadlines met by an accepted action."""
    assert event.action is not None
    at = event.occurred_at
    result: dict[str, Any] = {"action_times": {**case.action_times, event.action: at}}
    steps = updates.get("steps", case.steps)
    if event.action in _STEP_FIELDS:
        result["steps"] = steps.model_copy(update={_STEP_FIELDS[event.action]: at})
    if event.action in _HANDOVERS:
        result |= {"handler": None, "handovers": case.handovers + 1, "handover_at": at}
    elif event.action is not ActionName.REOPEN:  # a reopened case stays with its handler
        result["handler"] = event.actor
    deadlines = updates.get("deadlines", case.deadlines)
    latest = {d.name: d.round for d in sorted(deadlines, key=lambda d: d.round)}
    result["deadlines"] = tuple(
        _kept(d, at) if event.action in d.met_by and d.round == latest[d.name] else d
        for d in deadlines
    )
    return result


def _kept(deadline: Deadline, at: datetime) -> Deadline:
    """A promise of the current round kept at `at`: met, or met late after a breach."""
    if deadline.status in _RUNNING:
        return deadline.model_copy(update={"met_at": at, "status": DeadlineStatus.MET})
    if deadline.status is DeadlineStatus.BREACHED and deadline.met_at is None:
        return deadline.model_copy(update={"met_at": at})
    return deadline


_RUNNING = (DeadlineStatus.OPEN, DeadlineStatus.WARNED)


def rebuild(events: Iterable[CaseEvent]) -> Case:
    """The case its events add up to (in version order, starting with `CaseOpened`)."""
    case: Case | None = None
    for event in events:
        case = evolve(case, event)
    if case is None:
        raise ValueError("no events: a case starts with CaseOpened")
    return case


def apply_events(case: Case, events: Iterable[CaseEvent]) -> Case:
    """`case` with each of `events` applied in order."""
    for event in events:
        case = evolve(case, event)
    return case


# ------------------------------------------------------------------------ diagram


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
    "LifecycleError",
    "LifecycleSpec",
    "Transition",
    "apply_events",
    "decide",
    "default_lifecycle_path",
    "evolve",
    "lifecycle_diagram",
    "load_lifecycle",
    "open_case",
    "parse_lifecycle",
    "raised_severity",
    "rebuild",
]
