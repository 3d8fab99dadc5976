"""The three decisions the wiring calls: open a case, handle an action, tick the clock.

Each combines the lifecycle (`decide`) with the SLA (`schedule`, `fire_due_timers`) and
returns the events to publish on `complaints.case-events.v1`, in version order. The
caller appends them to the case's history, folds them into the stored case
(`apply_events`), and publishes a resolution when the case ended (`ended_by`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from complaints.recovery.calendar import WorkingCalendar
from complaints.recovery.deadlines import schedule
from complaints.recovery.decide import decide
from complaints.recovery.evolve import apply_events, evolve
from complaints.recovery.lifecycle import Lifecycle, load_lifecycle
from complaints.recovery.policy import SlaPolicy, calendar_of, load_sla
from complaints.recovery.timers import fire_due_timers
from complaints.schemas.case import (
    Case,
    CaseClosed,
    CaseEvent,
    CaseOpened,
    CaseTerminated,
    HandlerAction,
)


@dataclass(frozen=True)
class RecoveryRules:
    """Everything the decisions need: the lifecycle table, the SLA policy, its calendar."""

    lifecycle: Lifecycle
    sla: SlaPolicy
    calendar: WorkingCalendar

    @classmethod
    def load(cls, lifecycle_path: Path | str | None = None,
             sla_path: Path | str | None = None) -> "RecoveryRules":
        """Load both files (the packaged defaults when no path is given)."""
        sla = load_sla(sla_path)
        return cls(load_lifecycle(lifecycle_path), sla, calendar_of(sla))


def start_case(opened: CaseOpened, rules: RecoveryRules) -> list[CaseEvent]:
    """`CaseOpened` followed by its first `DeadlinesScheduled` (none for held cases)."""
    case = evolve(None, opened)
    return [opened, *schedule(case, rules.sla, rules.calendar, opened.occurred_at)]


def handle_action(case: Case, action: HandlerAction, rules: RecoveryRules,
                  now: datetime) -> list[CaseEvent]:
    """The action's event (or rejection, or nothing), then any deadline re-plan."""
    events = decide(case, action, rules.lifecycle, now)
    return events + _replan(case, events, rules, now)


def handle_clock(case: Case, rules: RecoveryRules, now: datetime) -> list[CaseEvent]:
    """Warnings, breaches and the escalation due at `now`, then any deadline re-plan."""
    events = fire_due_timers(case, rules.lifecycle, now)
    return events + _replan(case, events, rules, now)


def _replan(case: Case, events: list[CaseEvent], rules: RecoveryRules,
            now: datetime) -> list[CaseEvent]:
    if not events:
        return []
    return schedule(apply_events(case, events), rules.sla, rules.calendar, now)


def ended_by(events: Sequence[CaseEvent]) -> bool:
    """Whether these events end the case: time to publish its resolution."""
    return any(isinstance(e, CaseClosed | CaseTerminated) for e in events)


__all__ = ["RecoveryRules", "ended_by", "handle_action", "handle_clock", "start_case"]
