"""The resolution of a case: what was done, how long it took, which promises were kept.

`resolution_of(case, events)` is published once per ending on
`complaints.resolutions.v1` (its `resolution_id` is the idempotency key); it feeds the
operators' measures (domain §9): on-time rate, satisfaction, first-contact times.
"""

from collections.abc import Sequence
from datetime import datetime

from complaints.schemas.case import (
    ActionRejected,
    ApologyRecorded,
    Case,
    CaseAcknowledged,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseReopened,
    CaseTerminated,
    Deadline,
    DeadlineOutcome,
    DeadlineResult,
    DeadlineStatus,
    FixCompleted,
    FollowUpRecorded,
    Resolution,
    ResolutionDurations,
    ResolutionStep,
)


def resolution_of(case: Case, events: Sequence[CaseEvent]) -> Resolution:
    """The resolution of an ended case from its state and its full history.

    Raises `ValueError` for a case that has not ended (closed or terminated).
    """
    if case.closed_at is None and case.terminated_at is None:
        raise ValueError(f"case {case.case_id} has not ended (state {case.state})")
    history = sorted((e for e in events if e.case_id == case.case_id
                      and e.version <= case.version), key=lambda e: e.version)
    endings = [e for e in history if isinstance(e, CaseClosed | CaseTerminated)]
    if not endings:
        raise ValueError(f"case {case.case_id}: the events hold no CaseClosed/CaseTerminated")
    end = endings[-1]
    history = [e for e in history if e.version <= end.version]
    opened_at = case.opened_at
    ended_at = end.occurred_at
    first_contact = next((e.occurred_at for e in history
                          if isinstance(e, CaseAcknowledged | ApologyRecorded)), None)
    fixes = [e.occurred_at for e in history if isinstance(e, FixCompleted)]
    answers = [e.satisfaction for e in history if isinstance(e, FollowUpRecorded)]
    results = tuple(_result(d, ended_at) for d in case.deadlines)
    return Resolution(
        resolution_id=f"{case.case_id}:r{case.round}",
        case_id=case.case_id,
        outcome="terminated" if isinstance(end, CaseTerminated) else "closed",
        round=case.round, kind=case.kind, category=case.category, severity=case.severity,
        queue=case.queue, handler=case.handler, opened_at=opened_at, ended_at=ended_at,
        steps=tuple(
            ResolutionStep(action=e.action, event_type=e.event_type, at=e.occurred_at,
                           actor=e.actor, state_after=e.state_after, note=e.note)
            for e in history if e.action is not None and not isinstance(e, ActionRejected)
        ),
        compensation_total=case.compensation_total,
        satisfaction=answers[-1] if answers else None,
        termination_reason=case.termination_reason,
        escalations=sum(isinstance(e, CaseEscalated) for e in history),
        reopens=sum(isinstance(e, CaseReopened) for e in history),
        rejected_actions=sum(isinstance(e, ActionRejected) for e in history),
        deadlines=results,
        deadlines_met=sum(r.met for r in results),
        deadlines_missed=sum(r.outcome in ("met_late", "missed") for r in results),
        durations=ResolutionDurations(
            to_first_contact_s=_seconds(opened_at, first_contact),
            to_fix_s=_seconds(opened_at, fixes[-1] if fixes else None),
            total_s=(ended_at - opened_at).total_seconds(),
        ),
    )


def _result(deadline: Deadline, ended_at: datetime) -> DeadlineResult:
    """Met on time or late, missed, cancelled, or not yet due when the case ended."""
    outcome: DeadlineOutcome
    if deadline.met_at is not None:
        outcome = "met_on_time" if deadline.met_at <= deadline.due_at else "met_late"
    elif deadline.status is DeadlineStatus.CANCELLED:
        outcome = "cancelled"
    elif deadline.status is DeadlineStatus.BREACHED or deadline.due_at <= ended_at:
        outcome = "missed"
    else:
        outcome = "not_due"
    return DeadlineResult(key=deadline.key, name=deadline.name, due_at=deadline.due_at,
                          met_at=deadline.met_at, outcome=outcome,
                          met=outcome == "met_on_time")


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


__all__ = ["resolution_of"]
