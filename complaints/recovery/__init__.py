"""Service recovery (服务补救): the case lifecycle, its deadlines, and its resolution.

Pure decisions next to the data files that parameterise them; the wiring (Kafka,
Redis, CLI) lives elsewhere. Modules, each depending only on those before it:

- `exceptions`; `lifecycle_spec`, `guards`, `lifecycle`: `lifecycle.yaml` and its table;
- `decide`, `evolve`: what a handler's action causes, and what a case becomes;
- `calendar`, `policy`, `deadlines`, `timers`: `sla.yaml`, due dates and alerts;
- `handling`, `resolution`: what the wiring calls, and the outcome of an ended case.

Other packages import from here only. See docs/recovery.md.
"""

from complaints.recovery.calendar import WorkingCalendar
from complaints.recovery.deadlines import deadlines, schedule
from complaints.recovery.decide import decide, open_case
from complaints.recovery.evolve import apply_events, evolve, rebuild
from complaints.recovery.exceptions import LifecycleError, RecoveryConfigError, SlaPolicyError
from complaints.recovery.handling import (
    RecoveryRules,
    ended_by,
    handle_action,
    handle_clock,
    start_case,
)
from complaints.recovery.lifecycle import Lifecycle, Transition, lifecycle_diagram, load_lifecycle
from complaints.recovery.policy import SlaPolicy, calendar_of, load_sla
from complaints.recovery.resolution import resolution_of
from complaints.recovery.timers import TimerFiring, due_timers, fire_due_timers, next_timer_at

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
