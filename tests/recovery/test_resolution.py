"""The resolution published once a case ends."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from complaints.recovery import ended_by, resolution_of
from complaints.schemas.case import Resolution
from complaints.schemas.codes import RequestKind, Severity
from tests.recovery.conftest import T0, Story

StoryFactory = Callable[..., Story]


def closed_complaint(story: StoryFactory) -> Story:
    """Contact after 1 h, apology 30 min later, fix done 6 h after opening, closed at 50 h."""
    s = story(loss_claim=True, severity=Severity.P2)
    s.given("acknowledge", after=timedelta(hours=1))
    s.given("apologize", after=timedelta(minutes=30))
    s.given("start_fix", after=timedelta(minutes=30))
    s.given("fix_done", after=timedelta(hours=4))
    s.given("compensate", after=timedelta(hours=1), amount=Decimal("50"))
    s.given("follow_up", after=timedelta(hours=19), satisfaction=4)
    s.when("close", after=timedelta(hours=24))
    return s


def test_durations_are_measured_from_opening(story: StoryFactory) -> None:
    s = closed_complaint(story)

    resolution = resolution_of(s.case, s.events)

    assert resolution.durations.to_first_contact_s == 3600
    assert resolution.durations.to_fix_s == 6 * 3600
    assert resolution.durations.total_s == 50 * 3600
    assert resolution.ended_at == T0 + timedelta(hours=50)


def test_a_resolution_lists_steps_compensation_satisfaction_and_deadlines(
        story: StoryFactory) -> None:
    s = closed_complaint(story)

    resolution = resolution_of(s.case, s.events)

    assert resolution.outcome == "closed"
    assert resolution.resolution_id == f"{s.case.case_id}:r1"
    assert [step.action for step in resolution.steps] == [
        "acknowledge", "apologize", "start_fix", "fix_done", "compensate", "follow_up", "close"]
    assert (resolution.compensation_total, resolution.satisfaction) == (Decimal("50"), 4)
    outcomes = {d.key: d.outcome for d in resolution.deadlines}
    assert outcomes == {"first_contact#1": "met_on_time", "apology#1": "met_on_time",
                        "fix#1": "met_on_time", "reply#1": "met_on_time",
                        "follow_up#1": "met_on_time"}
    assert (resolution.deadlines_met, resolution.deadlines_missed) == (5, 0)


def test_a_resolution_round_trips_through_json(story: StoryFactory) -> None:
    s = closed_complaint(story)
    resolution = resolution_of(s.case, s.events)

    assert Resolution.model_validate_json(resolution.model_dump_json()) == resolution


def test_a_terminated_case_resolves_with_its_reason_and_stopped_clocks(
        story: StoryFactory) -> None:
    s = story().given("acknowledge")
    then = s.when("terminate", reason="诉求超出政策规定")

    resolution = resolution_of(s.case, s.events)

    assert ended_by(then)
    assert (resolution.outcome, resolution.termination_reason) == ("terminated", "诉求超出政策规定")
    outcomes = {d.key: d.outcome for d in resolution.deadlines}
    assert outcomes["first_contact#1"] == "met_on_time"
    assert outcomes["fix#1"] == "not_due"


def test_a_missed_deadline_counts_as_missed(story: StoryFactory) -> None:
    s = story(kind=RequestKind.INQUIRY, severity=Severity.P2)
    s.tick(T0 + timedelta(hours=25))
    s.given("acknowledge")
    s.given("close")

    resolution = resolution_of(s.case, s.events)

    assert {d.key: d.outcome for d in resolution.deadlines}["first_contact#1"] == "met_late"
    assert resolution.escalations == 1


def test_a_case_that_reopens_and_ends_again_resolves_as_round_two(story: StoryFactory) -> None:
    s = closed_complaint(story)
    s.given("reopen", after=timedelta(days=2), actor="intake")
    s.given("terminate", reason="重复诉求，已依法依规处理")

    resolution = resolution_of(s.case, s.events)

    assert (resolution.resolution_id, resolution.round) == (f"{s.case.case_id}:r2", 2)
    assert resolution.reopens == 1


def test_an_open_case_has_no_resolution(story: StoryFactory) -> None:
    s = story().given("acknowledge")

    with pytest.raises(ValueError, match="has not ended"):
        resolution_of(s.case, s.events)
