"""The deadline clock: which warnings and breaches are due, and the events they cause.

A warning alerts the case's queue; a breach alerts the next escalation level and
escalates the case once, through the lifecycle table like a handler's escalation.
What fired is recorded on the case (deadline status), so asking again with the
updated case never fires anything twice. Rules: docs/recovery.md §3 ("When warnings
and breaches fire").
"""

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from complaints.recovery.deadlines import RUNNING, case_ended
from complaints.recovery.decide import decide
from complaints.recovery.evolve import evolve
from complaints.recovery.lifecycle import Lifecycle
from complaints.schemas.case import (
    SLA_ACTOR,
    ActionName,
    Case,
    CaseEscalated,
    CaseEvent,
    Deadline,
    DeadlineBreached,
    DeadlineStatus,
    DeadlineWarned,
    HandlerAction,
)


@dataclass(frozen=True)
class TimerFiring:
    """A warning or breach that is due and has not fired yet."""

    deadline: Deadline
    kind: Literal["warn", "breach"]
    at: dt.datetime


def due_timers(case: Case, now: dt.datetime) -> list[TimerFiring]:
    """Warnings and breaches due at `now` that the case has not recorded, in time order.

    A deadline whose breach is due is not warned any more: one breach, no late warning.
    """
    if case_ended(case):
        return []
    firings = []
    for d in case.deadlines:
        if d.status not in RUNNING:
            continue
        if now >= d.breach_at:
            firings.append(TimerFiring(d, "breach", d.breach_at))
        elif d.status is DeadlineStatus.OPEN and now >= d.warn_at:
            firings.append(TimerFiring(d, "warn", d.warn_at))
    return sorted(firings, key=lambda f: (f.at, f.deadline.key))


def next_timer_at(case: Case) -> dt.datetime | None:
    """When the case next needs `fire_due_timers`: the earliest unfired warn or breach."""
    if case_ended(case):
        return None
    times = [d.warn_at if d.status is DeadlineStatus.OPEN else d.breach_at
             for d in case.deadlines if d.status in RUNNING]
    return min(times, default=None)


def fire_due_timers(case: Case, table: Lifecycle, now: dt.datetime) -> list[CaseEvent]:
    """The events of the timers due at `now`: warnings, breaches, at most one escalation.

    Breaches due together escalate the case once (one alert, not one per deadline);
    the escalation is decided by the lifecycle table like a handler's, and is left out
    when the table refuses it (at the top level, say): the breaches still stand.
    """
    events: list[CaseEvent] = []
    current = case
    breached: list[str] = []
    levels = table.spec.escalation.levels
    for firing in due_timers(case, now):
        d = firing.deadline
        common = {
            "case_id": case.case_id, "version": current.version + 1, "occurred_at": now,
            "actor": SLA_ACTOR, "action_id": f"sla:{d.key}:{firing.kind}",
            "state_before": current.state, "state_after": current.state,
            "deadline": d.name, "deadline_key": d.key, "due_at": d.due_at,
        }
        event: CaseEvent
        if firing.kind == "warn":
            event = DeadlineWarned(**common, alert_queue=current.queue)
        else:
            supervisor = levels[min(current.escalation_level, len(levels) - 1)].queue
            event = DeadlineBreached(**common, alert_queue=supervisor,
                                     incident_id=current.incident_id)
            breached.append(d.key)
        events.append(event)
        current = evolve(current, event)
    if breached:
        escalate = HandlerAction(
            action_id=f"sla:{breached[0]}:escalate", case_id=case.case_id,
            action=ActionName.ESCALATE, actor=SLA_ACTOR, issued_at=now,
            reason=f"deadline breached: {', '.join(breached)}",
        )
        decided = decide(current, escalate, table, now)
        if decided and isinstance(decided[0], CaseEscalated):
            events.append(decided[0].model_copy(update={"breached": tuple(breached)}))
    return events


__all__ = ["TimerFiring", "due_timers", "fire_due_timers", "next_timer_at"]
