"""The working-day calendar: which days are worked, and business time between moments.

Weekends and public holidays rest, 调休 make-up days work; business hours bound the
day. `sla.yaml`'s `calendar` section is `CalendarSpec`; `WorkingCalendar` answers from
it, in its own time zone. Rules: docs/recovery.md §3 ("Calendar").
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ONE_DAY = dt.timedelta(days=1)
#: Entries each memo of a calendar keeps: years of dates, where the deadlines of a
#: day walk a few weeks. Least recently used go first, so the memo stays this size.
MEMO_SIZE = 2048


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def iso(self) -> int:
        """1 for Monday … 7 for Sunday, as `date.isoweekday()`."""
        return list(Weekday).index(self) + 1


class Holiday(_Spec):
    """Public holiday days off, one day or a range (weekends inside included)."""

    name: str = Field(min_length=1, examples=["春节"])
    first: dt.date = Field(alias="from")
    last: dt.date | None = Field(default=None, alias="to")

    def days(self) -> list[dt.date]:
        last = self.last or self.first
        return [self.first + dt.timedelta(days=n) for n in range((last - self.first).days + 1)]


class MakeupDay(_Spec):
    """调休: a weekend day that is a working day."""

    day: dt.date = Field(alias="date")
    name: str = ""


class BusinessHours(_Spec):
    """Opening hours of the office desks, local time."""

    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(18, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 08:00 as the number 480 (base 60), which would
        # otherwise pass as 00:08:00.
        if isinstance(value, int):
            raise ValueError('write times in quotes, e.g. "08:00"')
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "BusinessHours":
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class CalendarSpec(_Spec):
    """The `calendar` section of `sla.yaml`."""

    timezone: str = "Asia/Shanghai"
    weekend: list[Weekday] = Field(default_factory=lambda: [Weekday.SAT, Weekday.SUN])
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    holidays: list[Holiday] = Field(default_factory=list)
    makeup_workdays: list[MakeupDay] = Field(default_factory=list)


def calendar_problems(spec: CalendarSpec) -> list[str]:
    """What pydantic cannot see: a known time zone, ranges in order, no day both ways."""
    problems: list[str] = []
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"calendar.timezone: unknown time zone {spec.timezone!r}")
    holidays = {day for h in spec.holidays for day in h.days()}
    for index, holiday in enumerate(spec.holidays):
        if holiday.last is not None and holiday.last < holiday.first:
            problems.append(f"calendar.holidays[{index}] ({holiday.name}): to is before from")
    for index, makeup in enumerate(spec.makeup_workdays):
        if makeup.day in holidays:
            problems.append(f"calendar.makeup_workdays[{index}]: {makeup.day} is also a holiday")
    return problems


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days (weekends and holidays off, 调休 days on) and business hours.

    Everything is computed in the calendar's time zone; results are aware datetimes
    in that zone.
    """

    tz: dt.tzinfo
    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()
    business_start: dt.time = dt.time(8, 0)
    business_end: dt.time = dt.time(18, 0)

    #: Answers already given (bounded, see `MEMO_SIZE`): a calendar never changes, and
    #: every deadline walks the same few weeks of dates.
    _working: Callable[[dt.date], bool] = field(init=False, repr=False, compare=False)
    _next_working: Callable[[dt.date], dt.date] = field(init=False, repr=False,
                                                       compare=False)
    _within: Callable[[dt.date, dt.date], int] = field(init=False, repr=False,
                                                      compare=False)
    _moment: Callable[[dt.date, dt.time], dt.datetime] = field(init=False, repr=False,
                                                              compare=False)
    #: Business seconds of a whole working day (wall-clock, as aware times subtract).
    _day_seconds: float = field(default=0.0, init=False, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> "WorkingCalendar":
        return cls(
            tz=ZoneInfo(spec.timezone),
            weekend=frozenset(day.iso for day in spec.weekend),
            holidays=frozenset(day for h in spec.holidays for day in h.days()),
            makeup_workdays=frozenset(m.day for m in spec.makeup_workdays),
            business_start=spec.business_hours.start,
            business_end=spec.business_hours.end,
        )

    def __post_init__(self) -> None:
        memo = lru_cache(maxsize=MEMO_SIZE)
        object.__setattr__(self, "_working", memo(self._is_working_day))
        object.__setattr__(self, "_next_working", memo(self._next_working_day))
        object.__setattr__(self, "_within", memo(self._count_working_days_within))
        object.__setattr__(self, "_moment", memo(self._combine))
        day = dt.date(2000, 1, 3)
        object.__setattr__(self, "_day_seconds", (
            self._moment(day, self.business_end) - self._moment(day, self.business_start)
        ).total_seconds())

    def is_working_day(self, day: dt.date) -> bool:
        """A 调休 day works even on a weekend; a holiday rests even on a weekday."""
        return self._working(day)

    def _is_working_day(self, day: dt.date) -> bool:
        return day in self.makeup_workdays or (
            day.isoweekday() not in self.weekend and day not in self.holidays)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        return self._next_working(day)

    def _next_working_day(self, day: dt.date) -> dt.date:
        following = day + _ONE_DAY
        while not self._working(following):
            following += _ONE_DAY
        return following

    def _combine(self, day: dt.date, time: dt.time) -> dt.datetime:
        """`day` at `time` (the opening or closing hour: remembered, like the dates)."""
        return dt.datetime.combine(day, time, tzinfo=self.tz)

    def next_business_moment(self, at: dt.datetime) -> dt.datetime:
        """`at` if it is within business hours of a working day, else the next opening."""
        local = at.astimezone(self.tz)
        day = local.date()
        if self._working(day):
            if local.time() < self.business_start:
                return self._moment(day, self.business_start)
            if local.time() < self.business_end:
                return local
        return self._moment(self._next_working(day), self.business_start)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """`days` working days after `start`, at the same time of day.

        The count starts at the next business moment: a complaint on Friday evening
        counts from Monday 08:00, so its deadline never falls at night or on a weekend.
        """
        return self.working_days_after(self.next_business_moment(start), days)

    def working_days_after(self, begin: dt.datetime, days: int) -> dt.datetime:
        """`add_working_days` from a moment that is already a business moment."""
        day = begin.date()
        for _ in range(days):
            day = self._next_working(day)
        return dt.datetime.combine(day, begin.time(), tzinfo=self.tz)

    def business_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds of business hours on working days between two moments."""
        start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        first, last = start.date(), end.date()
        if first > last:
            return 0.0
        total = self._seconds_on(first, start, end)
        if first < last:
            whole = max(0.0, self._day_seconds)
            for _ in range(self._within(first, last)):  # in day order, as a
                total += whole  # day-by-day sum would add them: the same float result
            total += self._seconds_on(last, start, end)
        return total

    def _seconds_on(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds of `day` between `start` and `end`."""
        if not self._working(day):
            return 0.0
        lo = max(start, self._moment(day, self.business_start))
        hi = min(end, self._moment(day, self.business_end))
        return max(0.0, (hi - lo).total_seconds())

    def _count_working_days_within(self, first: dt.date, last: dt.date) -> int:
        """How many working days lie strictly between two dates."""
        count, day = 0, first + _ONE_DAY
        while day < last:
            count += self._working(day)
            day += _ONE_DAY
        return count

    def add_business_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The moment `seconds` of business time after `start` (a day's end if exact)."""
        at = self.next_business_moment(start)
        available = (self._moment(at.date(), self.business_end) - at).total_seconds()
        if seconds <= available:
            return at + dt.timedelta(seconds=seconds)
        seconds -= available
        day, whole = self._next_working(at.date()), self._day_seconds
        while seconds > whole:  # whole working days in between
            seconds -= whole
            day = self._next_working(day)
        return self._moment(day, self.business_start) + dt.timedelta(seconds=seconds)


__all__ = [
    "MEMO_SIZE",
    "BusinessHours",
    "CalendarSpec",
    "Holiday",
    "MakeupDay",
    "Weekday",
    "WorkingCalendar",
    "calendar_problems",
]
