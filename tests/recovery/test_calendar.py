"""The working-day calendar: weekends, public holidays and 调休 make-up days."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaints.recovery import WorkingCalendar, calendar_of, load_sla
from tests.recovery.conftest import SHANGHAI, at


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return calendar_of(load_sla())


@pytest.mark.parametrize(("day", "working"), [
    ("2026-03-10", True),   # an ordinary Tuesday
    ("2026-03-14", False),  # Saturday
    ("2026-03-15", False),  # Sunday
    ("2026-01-01", False),  # 元旦, a Thursday
    ("2026-01-04", True),   # 元旦调休: a Sunday that works
    ("2026-02-14", True),   # 春节调休: Saturday
    ("2026-02-16", False),  # 春节, a Monday
    ("2026-02-28", True),   # 春节调休: Saturday
    ("2026-04-06", False),  # 清明, Monday
    ("2026-05-05", False),  # 劳动节, Tuesday
    ("2026-05-09", True),   # 劳动节调休: Saturday
    ("2026-09-20", True),   # 国庆调休: Sunday
    ("2026-10-07", False),  # 国庆, Wednesday
    ("2026-10-10", True),   # 国庆调休: Saturday
])
def test_working_days_follow_weekends_holidays_and_make_up_days(
        calendar: WorkingCalendar, day: str, working: bool) -> None:
    assert calendar.is_working_day(dt.date.fromisoformat(day)) is working


def test_a_working_day_after_friday_is_monday(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at("2026-03-13"), 1) == at("2026-03-16")


def test_the_national_day_week_is_skipped(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at("2026-09-30"), 1) == at("2026-10-08")


def test_a_make_up_sunday_counts_as_a_working_day(calendar: WorkingCalendar) -> None:
    # Wednesday 31 Dec 2025 → 1–3 Jan are 元旦 → Sunday 4 Jan is worked (调休).
    assert calendar.add_working_days(at("2025-12-31"), 1) == at("2026-01-04")


def test_spring_festival_make_up_saturday_then_nine_days_off(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at("2026-02-13"), 1) == at("2026-02-14")
    assert calendar.add_working_days(at("2026-02-13"), 2) == at("2026-02-24")


def test_counting_starts_at_the_next_opening_after_hours(calendar: WorkingCalendar) -> None:
    # Friday 19:00 → counts from Monday 08:00 → one working day later is Tuesday 08:00.
    assert calendar.add_working_days(at("2026-03-13", "19:00"), 1) == at("2026-03-17", "08:00")
    # Tuesday 06:30 → counts from Tuesday 08:00.
    assert calendar.add_working_days(at("2026-03-10", "06:30"), 1) == at("2026-03-11", "08:00")


def test_business_seconds_skip_nights_weekends_and_holidays(calendar: WorkingCalendar) -> None:
    hours = calendar.business_seconds_between(at("2026-03-13", "16:00"),
                                              at("2026-03-16", "09:00")) / 3600
    assert hours == 3  # Friday 16–18, Monday 8–9
    over_holiday = calendar.business_seconds_between(at("2026-09-30", "17:00"),
                                                     at("2026-10-08", "09:00")) / 3600
    assert over_holiday == 2


def test_a_calendar_without_holidays_only_skips_weekends() -> None:
    plain = WorkingCalendar(tz=SHANGHAI)
    assert plain.add_working_days(at("2026-09-30"), 1) == at("2026-10-01")


moments = st.datetimes(min_value=dt.datetime(2025, 12, 1), max_value=dt.datetime(2026, 12, 1),
                       timezones=st.just(SHANGHAI))


@settings(max_examples=200, deadline=None)
@given(start=moments, days=st.integers(1, 15))
def test_working_day_deadlines_land_in_business_hours_of_a_working_day(
        calendar: WorkingCalendar, start: dt.datetime, days: int) -> None:
    due = calendar.add_working_days(start, days)

    assert calendar.is_working_day(due.date())
    assert dt.time(8) <= due.time() < dt.time(18)
    assert due > start


@settings(max_examples=200, deadline=None)
@given(start=moments, seconds=st.integers(0, 30 * 36_000))
def test_adding_business_seconds_is_undone_by_measuring_them(
        calendar: WorkingCalendar, start: dt.datetime, seconds: int) -> None:
    end = calendar.add_business_seconds(start, seconds)

    measured = calendar.business_seconds_between(calendar.next_business_moment(start), end)

    assert measured == pytest.approx(seconds)


def _business_seconds_day_by_day(cal: WorkingCalendar, start: dt.datetime,
                                 end: dt.datetime) -> float:
    """The definition, walked one day at a time (what the calendar's shortcuts keep)."""
    start, end = start.astimezone(cal.tz), end.astimezone(cal.tz)
    total, day = 0.0, start.date()
    while day <= end.date():
        if cal.is_working_day(day):
            lo = max(start, dt.datetime.combine(day, cal.business_start, tzinfo=cal.tz))
            hi = min(end, dt.datetime.combine(day, cal.business_end, tzinfo=cal.tz))
            total += max(0.0, (hi - lo).total_seconds())
        day += dt.timedelta(days=1)
    return total


def _add_business_seconds_day_by_day(cal: WorkingCalendar, start: dt.datetime,
                                     seconds: float) -> dt.datetime:
    at_ = cal.next_business_moment(start)
    while True:
        closing = dt.datetime.combine(at_.date(), cal.business_end, tzinfo=cal.tz)
        available = (closing - at_).total_seconds()
        if seconds <= available:
            return at_ + dt.timedelta(seconds=seconds)
        seconds -= available
        at_ = dt.datetime.combine(cal.next_working_day(at_.date()), cal.business_start,
                                  tzinfo=cal.tz)


@settings(max_examples=400, deadline=None)
@given(start=st.datetimes(min_value=dt.datetime(2025, 12, 1), max_value=dt.datetime(2027, 1, 31),
                          timezones=st.just(SHANGHAI)),
       span=st.timedeltas(min_value=dt.timedelta(days=-1), max_value=dt.timedelta(days=45)),
       seconds=st.floats(min_value=0, max_value=40 * 36_000, allow_nan=False))
def test_business_time_shortcuts_give_exactly_the_day_by_day_answers(
        calendar: WorkingCalendar, start: dt.datetime, span: dt.timedelta,
        seconds: float) -> None:
    assert calendar.business_seconds_between(start, start + span) == \
        _business_seconds_day_by_day(calendar, start, start + span)
    assert calendar.add_business_seconds(start, seconds) == \
        _add_business_seconds_day_by_day(calendar, start, seconds)
    assert calendar.add_business_seconds(start, 36_000.0 * (seconds // 36_000)) == \
        _add_business_seconds_day_by_day(calendar, start, 36_000.0 * (seconds // 36_000))
