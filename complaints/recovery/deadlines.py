"""A case's deadlines: when each promise falls due, and when the plan must change.

`deadlines(case, policy, calendar)` is the plan for the case as it is now (durations
from `policy.py`, counted on `calendar.py`); `schedule` compares it with the deadlines
the case has and returns a `DeadlinesScheduled` event when they differ. Rules:
docs/recovery.md §3 ("Promises, their clocks and what keeps them").
"""

import datetime as dt
from typing import Any

from complaints.recovery.calendar import WorkingCalendar
from complaints.recovery.policy import AlertHours, Anchor, DeadlineSpec, SlaPolicy, Within
from complaints.schemas.case import (
    SLA_ACTOR,
    Case,
    CaseEvent,
    Deadline,
    DeadlineName,
    DeadlinesScheduled,
    DeadlineStatus,
)

#: Deadline statuses whose clock is still running.
RUNNING = (DeadlineStatus.OPEN, DeadlineStatus.WARNED)


def case_ended(case: Case) -> bool:
    """Closed or terminated: its deadlines stay as they are and no timer fires."""
    return case.closed_at is not None or case.terminated_at is not None


def deadlines(case: Case, policy: SlaPolicy, calendar: WorkingCalendar) -> list[Deadline]:
    """The deadlines the case should have now, all `open` (or `met` if already kept).

    Only deadlines whose clock has started are returned (`follow_up` appears once the
    fix is done). A case held under a mass incident has none of its own.
    """
    if policy.hold_incident_members and case.incident_held:
        return []
    durations, alerts = policy.plan_for(case)
    planned = []
    for name, within in durations.items():
        spec = policy.deadlines[name]
        anchor = _anchor(case, spec.anchor)
        if anchor is None:
            continue
        start, round_ = anchor
        deadline = _deadline(name, round_, start, within, alerts, spec, policy.warn_share,
                             calendar)
        # A re-plan after the fact: a step that keeps the promise already happened.
        kept = [case.action_times[a] for a in spec.met_by
                if a in case.action_times and case.action_times[a] > start]
        if kept:
            deadline = deadline.model_copy(update={"status": DeadlineStatus.MET,
                                                   "met_at": min(kept)})
        planned.append(deadline)
    return planned


def _anchor(case: Case, anchor: Anchor) -> tuple[dt.datetime, int] | None:
    """When the clock of this anchor started for the case, and which round that is."""
    match anchor:
        case Anchor.OPENED:
            return case.reopened_at or case.opened_at, case.round
        case Anchor.FIXED:
            fixed = case.steps.fixed_at
            return (fixed, case.fix_count) if fixed is not None else None
        case Anchor.HANDOVER:
            return case.handover_at or case.opened_at, case.handovers + 1


def _deadline(name: DeadlineName, round_: int, start: dt.datetime, within: Within,
              alerts: AlertHours, spec: DeadlineSpec, share: float,
              calendar: WorkingCalendar) -> Deadline:
    """Due, warn and breach times of one deadline."""
    clock = within.clock
    if clock is None:  # working days: counted in business time from the next opening
        begin = calendar.next_business_moment(start)
        due = calendar.working_days_after(begin, within.working_days or 0)
        warn = calendar.add_business_seconds(
            begin, share * calendar.business_seconds_between(begin, due))
        breach = due
    else:
        start = start.astimezone(calendar.tz)
        due, warn = start + clock, start + clock * share
        breach = due
        if alerts is AlertHours.BUSINESS_HOURS:
            warn, breach = calendar.next_business_moment(warn), calendar.next_business_moment(due)
    return Deadline(name=name, round=round_, starts_at=start, due_at=due, warn_at=warn,
                    breach_at=breach, met_by=tuple(spec.met_by))


def schedule(case: Case, policy: SlaPolicy, calendar: WorkingCalendar,
             now: dt.datetime) -> list[CaseEvent]:
    """A `DeadlinesScheduled` event if the case's deadlines differ from the plan, else [].

    Running deadlines are added, re-timed (keeping whether they already warned) or
    cancelled when the plan no longer has them (an old round, a kind that no longer
    promises it). Met and breached deadlines are history and never change. An ended
    case keeps its deadlines as they are.
    """
    if case_ended(case):
        return []
    planned = {d.key: d for d in deadlines(case, policy, calendar)}
    result: list[Deadline] = []
    changes: list[str] = []
    for current in case.deadlines:
        plan = planned.pop(current.key, None)
        if current.status not in RUNNING:
            result.append(current)
        elif plan is None:
            result.append(current.model_copy(update={"status": DeadlineStatus.CANCELLED}))
            changes.append(f"cancelled {current.key}")
        elif _timing(plan) != _timing(current) or plan.status is DeadlineStatus.MET:
            status = plan.status if plan.status is DeadlineStatus.MET else current.status
            result.append(plan.model_copy(update={"status": status}))
            changes.append(f"re-timed {current.key}: due {_minute(plan.due_at)}")
        else:
            result.append(current)
    for plan in planned.values():
        result.append(plan)
        changes.append(f"added {plan.key}: due {_minute(plan.due_at)}")
    if not changes:
        return []
    return [DeadlinesScheduled(
        case_id=case.case_id, version=case.version + 1, occurred_at=now, actor=SLA_ACTOR,
        state_before=case.state, state_after=case.state, deadlines=tuple(result),
        changes=tuple(changes),
    )]


def _minute(at: dt.datetime) -> str:
    """`2026-11-24 20:11`, as `%Y-%m-%d %H:%M` without strftime (slow; every re-plan)."""
    return at.isoformat(" ", "minutes")[:16]


def _timing(d: Deadline) -> tuple[Any, ...]:
    return d.starts_at, d.due_at, d.warn_at, d.breach_at, d.met_by



__all__ = ["RUNNING", "case_ended", "deadlines", "schedule"]
