"""What a case becomes: one event applied (`evolve`), or a whole history (`rebuild`).

The only place a `Case` changes. Events are checked before they apply (right case,
next version, expected state), so a gap or a replay out of order is refused, and the
same history always gives the same case.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from complaints.schemas.case import (
    ActionName,
    ActionRejected,
    Case,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReassigned,
    CaseReclassified,
    CaseReopened,
    CaseSteps,
    CaseTerminated,
    CompensationRecorded,
    Deadline,
    DeadlineBreached,
    DeadlinesScheduled,
    DeadlineStatus,
    DeadlineWarned,
    FixCompleted,
    FollowUpRecorded,
)

_STEP_FIELDS = {
    ActionName.ACKNOWLEDGE: "acknowledged_at",
    ActionName.APOLOGIZE: "apologized_at",
    ActionName.START_FIX: "fix_started_at",
    ActionName.FIX_DONE: "fixed_at",
    ActionName.COMPENSATE: "compensated_at",
    ActionName.FOLLOW_UP: "followed_up_at",
}
_HANDOVERS = {ActionName.ESCALATE, ActionName.REASSIGN, ActionName.RECLASSIFY}
#: Deadline statuses whose clock is still running (an action can still keep them).
_RUNNING = (DeadlineStatus.OPEN, DeadlineStatus.WARNED)


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


__all__ = ["apply_events", "evolve", "rebuild"]
