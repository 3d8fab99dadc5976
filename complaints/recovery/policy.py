"""The SLA policy (`sla.yaml`): which promises a case gets, and how long each may take.

`load_sla` reads and checks the file; `SlaPolicy.plan_for(case)` applies its matching
rules in order and gives the case's deadline durations and alert hours. Where the
clocks start and when alerts fire is `deadlines.py` and `timers.py`. Format and
defaults: docs/recovery.md §3.
"""

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from complaints.datafiles import Locator, read_yaml, validate
from complaints.recovery.calendar import CalendarSpec, WorkingCalendar, calendar_problems
from complaints.recovery.exceptions import SlaPolicyError
from complaints.schemas.case import ActionName, AreaType, Case, DeadlineName
from complaints.schemas.codes import Category, RequestKind, Severity

DEFAULT_SLA_NAME = "sla.yaml"
#: Plans a policy remembers. What a plan depends on (kind, category, severity, area
#: type) has fewer combinations than this, so in practice every plan is computed once.
PLAN_MEMO_SIZE = 2048


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Anchor(StrEnum):
    """When a deadline's clock starts."""

    OPENED = "opened"      # opening, or the latest reopen (a new round)
    FIXED = "fixed"        # the fix of the current round
    HANDOVER = "handover"  # opening, or the latest escalate / reassign / reclassify


class AlertHours(StrEnum):
    """When alerts of clock deadlines may fire."""

    ANY_TIME = "any_time"
    BUSINESS_HOURS = "business_hours"


class Within(_Spec):
    """A duration: exactly one of minutes, hours (clock time) or working days."""

    minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    hours: int | None = Field(default=None, ge=1, le=24 * 60)
    working_days: int | None = Field(default=None, ge=1, le=60)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Within":
        given = [v for v in (self.minutes, self.hours, self.working_days) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minutes, hours, working_days")
        return self

    @property
    def clock(self) -> dt.timedelta | None:
        """The clock duration, or None for working days."""
        if self.minutes is not None:
            return dt.timedelta(minutes=self.minutes)
        if self.hours is not None:
            return dt.timedelta(hours=self.hours)
        return None


class DeadlineSpec(_Spec):
    """What a promise is: when its clock starts and which actions keep it."""

    anchor: Anchor
    met_by: list[ActionName] = Field(min_length=1)
    description: str = ""


class SlaMatch(_Spec):
    """Conditions of a rule; every listed field must match, an empty one matches all."""

    kinds: list[RequestKind] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    area_types: list[AreaType] = Field(default_factory=list)

    def matches(self, kind: RequestKind, category: Category, severity: Severity,
                area_type: AreaType) -> bool:
        return all(
            not allowed or value in allowed
            for allowed, value in (
                (self.kinds, kind), (self.categories, category),
                (self.severities, severity), (self.area_types, area_type),
            )
        )


class SlaRule(_Spec):
    """If the case matches, these deadlines (and alert hours) apply, over earlier rules."""

    id: str = Field(min_length=1, examples=["repair.urban"])
    description: str = ""
    match: SlaMatch = Field(default_factory=SlaMatch)
    deadlines: dict[DeadlineName, Within | None] = Field(
        default_factory=dict, description="`null` removes a deadline an earlier rule set.",
    )
    alerts: AlertHours | None = None


#: A case's deadline durations by name, and when their alerts may fire.
Plan = tuple[dict[DeadlineName, Within], AlertHours]


class SlaPolicy(_Spec):
    """A whole SLA policy file."""

    version: str = Field(min_length=1)
    description: str = ""
    warn_share: float = Field(default=0.8, gt=0, lt=1)
    hold_incident_members: bool = True
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    deadlines: dict[DeadlineName, DeadlineSpec]
    rules: list[SlaRule]
    _plans: Callable[[RequestKind, Category, Severity, AreaType], Plan] = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        self._plans = lru_cache(maxsize=PLAN_MEMO_SIZE)(self._plan)

    def plan_for(self, case: Case) -> Plan:
        """Deadline durations and alert hours for the case: matching rules in order.

        Remembered by what the rules match on (a loaded policy never changes); the
        caller must not change the durations it gets.
        """
        return self._plans(case.kind, case.category, case.severity, case.area_type)

    def _plan(self, kind: RequestKind, category: Category, severity: Severity,
              area_type: AreaType) -> Plan:
        durations: dict[DeadlineName, Within] = {}
        alerts = AlertHours.ANY_TIME
        for rule in self.rules:
            if not rule.match.matches(kind, category, severity, area_type):
                continue
            for name, within in rule.deadlines.items():
                if within is None:
                    durations.pop(name, None)
                else:
                    durations[name] = within
            alerts = rule.alerts or alerts
        return durations, alerts


def default_sla_path() -> Path:
    """The policy shipped inside the package (`complaints/recovery/sla.yaml`)."""
    return Path(__file__).with_name(DEFAULT_SLA_NAME)


def load_sla(path: Path | str | None = None) -> SlaPolicy:
    """Read and check an SLA policy file (the default one when `path` is None)."""
    path = Path(path) if path is not None else default_sla_path()
    return parse_sla(read_yaml(path, SlaPolicyError), path.name)


def parse_sla(raw: Any, file_name: str) -> SlaPolicy:
    """Check already parsed YAML; errors name `file_name`, the rule id and the field."""
    policy = validate(raw, SlaPolicy, file_name, SlaPolicyError, _locator(raw),
                      "docs/recovery.md",
                      "an SLA policy is a mapping with `calendar`, `deadlines`, `rules` …")
    problems = _policy_problems(policy)
    if problems:
        raise SlaPolicyError("\n".join(f"{file_name}: {p}" for p in problems))
    return policy


def _locator(raw: Any) -> Locator:
    found = raw.get("rules") if isinstance(raw, dict) else None  # not a mapping: said later
    rules = found if isinstance(found, list) else []

    def locate(loc: list[str | int]) -> tuple[str, list[str | int]]:
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rule = rules[loc[1]] if loc[1] < len(rules) else None
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            return (f"rule {rule_id!r}: " if rule_id else f"rules[{loc[1]}]: "), loc[2:]
        return "", loc

    return locate


def _policy_problems(policy: SlaPolicy) -> list[str]:
    """What pydantic cannot see: ids, declared deadlines, calendar consistency."""
    problems: list[str] = []
    seen: set[str] = set()
    for rule in policy.rules:
        if rule.id in seen:
            problems.append(f"rule {rule.id!r}: id: duplicate rule id")
        seen.add(rule.id)
        problems += [
            f"rule {rule.id!r}: deadlines.{name}: not declared under `deadlines`"
            for name in rule.deadlines if name not in policy.deadlines
        ]
    return problems + calendar_problems(policy.calendar)


def calendar_of(policy: SlaPolicy) -> WorkingCalendar:
    """The working calendar a policy declares."""
    return WorkingCalendar.from_spec(policy.calendar)


__all__ = [
    "PLAN_MEMO_SIZE",
    "AlertHours",
    "Anchor",
    "DeadlineSpec",
    "Plan",
    "SlaMatch",
    "SlaPolicy",
    "SlaRule",
    "Within",
    "calendar_of",
    "default_sla_path",
    "load_sla",
    "parse_sla",
]
