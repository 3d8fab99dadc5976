"""Factories for recovery tests: a case story told with a controllable clock.

`story(...)` opens a case (given), `story.when(action, ...)` decides an action at the
story's clock, `story.tick(to)` lets the deadline clock run; every event is kept, so a
test can check what happened (then) and rebuild the case from its history.
"""

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from complaints.recovery import (
    RecoveryRules,
    apply_events,
    handle_action,
    handle_clock,
    open_case,
    rebuild,
    start_case,
)
from complaints.schemas.case import AreaType, Case, CaseEvent, HandlerAction
from complaints.schemas.codes import Category, RequestKind, Severity

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A Tuesday in an ordinary working week, 10:00 Beijing time.
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)


def at(day: str, time: str = "10:00") -> datetime:
    """`at("2026-03-13", "19:00")`: a Beijing-time moment, for readable tests."""
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SHANGHAI)


def names(events: list[CaseEvent]) -> list[str]:
    """Event types, for `assert names(then) == [...]`."""
    return [e.event_type for e in events]


class Story:
    """One case and everything that happened to it, with a clock the test moves."""

    _ids = itertools.count(1)

    def __init__(self, rules: RecoveryRules, opened_at: datetime, **opening: Any) -> None:
        self.rules = rules
        self.now = opened_at
        self.events: list[CaseEvent] = start_case(
            open_case(opened_at=opened_at, **opening), rules)
        self.case: Case = rebuild(self.events)

    def action(self, action: str, **fields: Any) -> HandlerAction:
        """A new command for this case (a fresh action id unless one is given)."""
        fields.setdefault("action_id", f"act-{next(self._ids)}")
        fields.setdefault("actor", "zhang.wei")
        return HandlerAction(case_id=self.case.case_id, action=action,
                             issued_at=self.now, **fields)

    def when(self, action: str | HandlerAction, after: timedelta = timedelta(minutes=10),
             **fields: Any) -> list[CaseEvent]:
        """Decide an action `after` the previous moment; returns the new events."""
        self.now += after
        command = action if isinstance(action, HandlerAction) else self.action(action, **fields)
        return self._record(handle_action(self.case, command, self.rules, self.now))

    def given(self, *actions: str, **fields: Any) -> "Story":
        """Actions that must all be accepted (the story so far)."""
        for action in actions:
            events = self.when(action, **fields)
            assert events and events[0].event_type != "ActionRejected", events
        return self

    def tick(self, to: datetime) -> list[CaseEvent]:
        """Let the deadline clock run to `to`; returns the timer events."""
        self.now = to
        return self._record(handle_clock(self.case, self.rules, to))

    def _record(self, events: list[CaseEvent]) -> list[CaseEvent]:
        self.case = apply_events(self.case, events)
        self.events += events
        return events


@pytest.fixture(scope="session")
def rules() -> RecoveryRules:
    return RecoveryRules.load()


@pytest.fixture
def story(rules: RecoveryRules) -> Callable[..., Story]:
    """`story(kind=..., severity=..., loss_claim=...)`: a freshly opened case."""
    counter = itertools.count(1)

    def new_story(
        *,
        kind: RequestKind = RequestKind.COMPLAINT,
        category: Category = Category.BILLING,
        severity: Severity = Severity.P3,
        loss_claim: bool = False,
        area_type: AreaType = AreaType.URBAN,
        queue: str = "billing_metering",
        priority: int | None = 50,
        opened_at: datetime = T0,
        **more: Any,
    ) -> Story:
        return Story(rules, opened_at, case_id=f"C20260310-{next(counter):04d}", kind=kind,
                     category=category, severity=severity, loss_claim=loss_claim,
                     area_type=area_type, queue=queue, priority=priority, **more)

    return new_story
