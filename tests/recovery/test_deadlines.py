"""Deadlines with a controllable clock: one warning, one breach, never twice."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from complaints.recovery import due_timers, next_timer_at, rebuild
from complaints.schemas.case import CASE_EVENT, AreaType, CaseState, DeadlineStatus
from complaints.schemas.codes import Category, RequestKind, Severity
from tests.recovery.conftest import T0, Story, at, names

StoryFactory = Callable[..., Story]


def test_one_warning_at_80_percent_and_one_breach_at_the_deadline(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)  # P2: alerts at any hour
    contact = s.case.deadline("first_contact#1")
    assert contact is not None
    assert (contact.due_at, contact.warn_at) == (T0 + timedelta(hours=24),
                                                 T0 + timedelta(hours=19, minutes=12))

    before_warning = s.tick(T0 + timedelta(hours=19, minutes=11))
    warning = s.tick(T0 + timedelta(hours=19, minutes=12))
    warning_again = s.tick(T0 + timedelta(hours=23))
    breach = s.tick(T0 + timedelta(hours=24))
    breach_again = s.tick(T0 + timedelta(hours=30))

    assert before_warning == []
    assert names(warning) == ["DeadlineWarned", "DeadlineWarned"]  # first_contact, apology
    assert {e.deadline_key for e in warning} == {"first_contact#1", "apology#1"}
    assert warning_again == []
    assert names(breach) == ["DeadlineBreached", "DeadlineBreached", "CaseEscalated"]
    assert breach_again == []


def test_asking_again_with_the_updated_case_fires_nothing(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)
    s.tick(T0 + timedelta(hours=24))

    assert due_timers(s.case, T0 + timedelta(hours=24)) == []


def test_a_breach_escalates_raises_priority_and_alerts_the_supervisor_queue(
        story: StoryFactory) -> None:
    s = story(severity=Severity.P3, priority=50, queue="billing_metering")

    then = s.tick(at("2026-03-11", "10:00"))

    breaches = [e for e in then if e.event_type == "DeadlineBreached"]
    assert {e.alert_queue for e in breaches} == {"supervisor"}
    escalation = then[len(breaches)]
    assert escalation.event_type == "CaseEscalated"
    assert escalation.actor == "sla"
    assert set(escalation.breached) == {"first_contact#1", "apology#1"}
    assert (s.case.state, s.case.queue) == (CaseState.ESCALATED, "supervisor")
    assert (s.case.severity, s.case.priority) == (Severity.P2, 60)


def test_office_work_never_alerts_at_night_or_on_weekends(story: StoryFactory) -> None:
    s = story(severity=Severity.P3, opened_at=at("2026-03-13", "20:00"))  # Friday evening
    contact = s.case.deadline("first_contact#1")
    assert contact is not None
    assert contact.due_at == at("2026-03-14", "20:00")      # the promise stays exact
    assert contact.breach_at == at("2026-03-16", "08:00")   # the alert waits for Monday

    weekend = [s.tick(at("2026-03-13", "20:00") + timedelta(hours=h)) for h in range(59)]
    monday = s.tick(at("2026-03-16", "08:00"))

    assert all(events == [] for events in weekend)
    assert "DeadlineWarned" not in names(monday)  # no late warning next to the breach
    assert names(monday).count("CaseEscalated") == 1


def test_meeting_a_deadline_stops_its_clock(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)
    s.given("acknowledge", after=timedelta(hours=1))

    warning = s.tick(T0 + timedelta(hours=20))

    assert [e.deadline_key for e in warning] == ["apology#1"]
    contact = s.case.deadline("first_contact#1")
    assert contact is not None
    assert (contact.status, contact.met_at) == (DeadlineStatus.MET, T0 + timedelta(hours=1))


def test_a_step_after_the_breach_is_recorded_as_late(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)
    s.tick(T0 + timedelta(hours=24))

    s.when("apologize", after=timedelta(hours=2))

    apology = s.case.deadline("apology#1")
    assert apology is not None
    assert apology.status is DeadlineStatus.BREACHED
    assert apology.met_at == T0 + timedelta(hours=26)


def test_a_step_in_a_new_round_does_not_keep_the_old_rounds_promise(
        story: StoryFactory) -> None:
    s = story(severity=Severity.P2).given("acknowledge")
    s.tick(T0 + timedelta(hours=24))  # apology#1 breached; the case is escalated
    s.given("start_fix", "fix_done")
    s.given("follow_up", satisfaction=1)
    s.given("reopen")

    s.given("acknowledge", "apologize")

    old, new = s.case.deadline("apology#1"), s.case.deadline("apology#2")
    assert old is not None and (old.status, old.met_at) == (DeadlineStatus.BREACHED, None)
    assert new is not None and new.status is DeadlineStatus.MET


def test_fired_timers_stay_fired_after_a_restart(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)
    s.tick(T0 + timedelta(hours=20))
    stored = [CASE_EVENT.dump_json(e) for e in s.events]  # what the event log keeps

    restarted = rebuild([CASE_EVENT.validate_json(raw) for raw in stored])

    assert restarted == s.case
    assert due_timers(restarted, T0 + timedelta(hours=20)) == []
    assert [f.kind for f in due_timers(restarted, T0 + timedelta(hours=24))] == ["breach"] * 2


def test_next_timer_is_the_earliest_unfired_alert(story: StoryFactory) -> None:
    s = story(severity=Severity.P2)
    assert next_timer_at(s.case) == T0 + timedelta(hours=19, minutes=12)

    s.tick(T0 + timedelta(hours=19, minutes=12))

    assert next_timer_at(s.case) == T0 + timedelta(hours=24)


def test_an_ended_case_has_no_timers(story: StoryFactory) -> None:
    s = story(kind=RequestKind.INQUIRY).given("acknowledge", "close")

    assert next_timer_at(s.case) is None
    assert s.tick(T0 + timedelta(days=30)) == []


@pytest.mark.parametrize(("area", "minutes"), [(AreaType.URBAN, 45), (AreaType.RURAL, 90),
                                               (AreaType.REMOTE, 120)])
def test_repair_crews_are_due_on_site_by_area_type(story: StoryFactory, area: AreaType,
                                                   minutes: int) -> None:
    s = story(kind=RequestKind.REPAIR, category=Category.OUTAGE, area_type=area,
              queue="outage_repair")

    on_site = s.case.deadline("on_site#1")

    assert on_site is not None
    assert on_site.due_at == T0 + timedelta(minutes=minutes)


def test_repairs_alert_round_the_clock(story: StoryFactory) -> None:
    s = story(kind=RequestKind.REPAIR, category=Category.OUTAGE, severity=Severity.P3,
              opened_at=at("2026-03-14", "23:00"))

    then = s.tick(at("2026-03-14", "23:45"))

    assert "DeadlineBreached" in names(then)


def test_p1_cases_hop_every_15_minutes_until_the_top_level(story: StoryFactory) -> None:
    s = story(severity=Severity.P1, category=Category.SAFETY, queue="safety_emergency")

    hops = [s.tick(T0 + timedelta(minutes=15 * n)) for n in range(1, 7)]

    assert [names(h).count("CaseEscalated") for h in hops] == [1, 1, 1, 0, 0, 0]
    assert s.case.escalation_level == 3
    assert [d.key for d in s.case.deadlines if d.name == "dispatch"] == [
        "dispatch#1", "dispatch#2", "dispatch#3", "dispatch#4"]
    assert s.case.severity is Severity.P1


def test_acting_on_a_p1_case_meets_the_current_hop(story: StoryFactory) -> None:
    s = story(severity=Severity.P1, category=Category.SAFETY)

    s.given("acknowledge", after=timedelta(minutes=5))

    dispatch = s.case.deadline("dispatch#1")
    assert dispatch is not None and dispatch.status is DeadlineStatus.MET
    assert "CaseEscalated" not in names(s.tick(T0 + timedelta(minutes=30)))


def test_reclassifying_re_times_the_running_deadlines(story: StoryFactory) -> None:
    s = story(category=Category.BILLING, severity=Severity.P2)
    fix = s.case.deadline("fix#1")
    assert fix is not None and fix.due_at == at("2026-03-17")  # 5 working days

    then = s.when("reclassify", new_category=Category.OUTAGE, after=timedelta(hours=1))

    assert names(then) == ["CaseReclassified", "DeadlinesScheduled"]
    fix = s.case.deadline("fix#1")
    assert fix is not None and fix.due_at == T0 + timedelta(hours=3)  # supply restored


def test_the_return_visit_is_due_after_the_fix(story: StoryFactory) -> None:
    s = story()
    assert s.case.deadline("follow_up#1") is None

    s.given("acknowledge", "apologize", "start_fix", "fix_done")

    follow_up = s.case.deadline("follow_up#1")
    assert follow_up is not None
    assert follow_up.starts_at == s.case.steps.fixed_at


def test_a_reopened_case_gets_a_new_round_of_promises(story: StoryFactory) -> None:
    s = story().given("acknowledge", "apologize", "start_fix", "fix_done")
    s.given("follow_up", satisfaction=1)

    s.given("reopen")

    keys = {d.key: d.status for d in s.case.deadlines}
    assert keys["first_contact#1"] is DeadlineStatus.MET
    assert keys["first_contact#2"] is DeadlineStatus.OPEN
    assert keys["fix#2"] is DeadlineStatus.OPEN


def test_cases_held_under_a_mass_incident_have_no_deadlines_of_their_own(
        story: StoryFactory) -> None:
    s = story(category=Category.OUTAGE, incident_id="INC-1", incident_held=True)

    assert s.case.deadlines == ()
    assert s.tick(T0 + timedelta(days=10)) == []
