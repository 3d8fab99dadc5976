"""Service recovery (服务补救): the case lifecycle, its deadlines, and its resolution.

Pure decisions next to the data files that parameterise them (`lifecycle.yaml`,
`sla.yaml`); the wiring (Kafka, Redis, CLI) lives elsewhere. See `docs/recovery.md`.
"""

from complaints.recovery.exceptions import LifecycleError, RecoveryConfigError, SlaPolicyError
from complaints.recovery.handling import (
    RecoveryRules,
    ended_by,
    handle_action,
    handle_clock,
    start_case,
)
from complaints.recovery.lifecycle import (
    Lifecycle,
    Transition,
    apply_events,
    decide,
    evolve,
    lifecycle_diagram,
    load_lifecycle,
    open_case,
    rebuild,
)
from complaints.recovery.resolution import resolution_of
from complaints.recovery.sla import (
    SlaPolicy,
    TimerFiring,
    WorkingCalendar,
    calendar_of,
    deadlines,
    due_timers,
    fire_due_timers,
    load_sla,
    next_timer_at,
    schedule,
)

__all__ = [
    "Lifecycle",
    "LifecycleError",
    "RecoveryConfigError",
    "RecoveryRules",
    "SlaPolicy",
    "SlaPolicyError",
    "TimerFiring",
    "Transition",
    "WorkingCalendar",
    "apply_events",
    "calendar_of",
    "deadlines",
    "decide",
    "due_timers",
    "ended_by",
    "evolve",
    "fire_due_timers",
    "handle_action",
    "handle_clock",
    "lifecycle_diagram",
    "load_lifecycle",
    "load_sla",
    "next_timer_at",
    "open_case",
    "rebuild",
    "resolution_of",
    "schedule",
    "start_case",
]
