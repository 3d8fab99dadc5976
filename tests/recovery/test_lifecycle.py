"""Given/when/then stories of the case lifecycle (the rows of lifecycle.yaml)."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from complaints.recovery import decide, rebuild
from complaints.schemas.case import ActionRejected, CaseState
from complaints.schemas.codes import Category, RequestKind, Severity
from tests.recovery.conftest import Story, names

StoryFactory = Callable[..., Story]
RECOVERY = ("acknowledge", "apologize", "start_fix", "fix_done")


def test_a_complaint_goes_through_all_four_steps_to_closed(story: StoryFactory) -> None:
    s = story(loss_claim=True).given(*RECOVERY)
    s.given("compensate", amount=Decimal("50"))
    s.given("follow_up", satisfaction=5)

    then = s.when("close")

    assert names(then) == ["CaseClosed"]
    assert s.case.state is CaseState.CLOSED
    assert s.case.compensation_total == Decimal("50")
    assert [e.state_after for e in s.events if e.action] == [
        "acknowledged", "apologized", "fixing", "fixed", "compensated", "followed_up",
        "closed",
    ]


def test_most_complaints_need_only_apology_and_fix_before_the_return_visit(
        story: StoryFactory) -> None:
    s = story().given(*RECOVERY)
    s.given("follow_up", satisfaction=4)

    then = s.when("close")

    assert names(then) == ["CaseClosed"]
    assert not any(e.event_type == "CompensationRecorded" for e in s.events)


def test_compensation_without_a_loss_claim_is_rejected(story: StoryFactory) -> None:
    s = story(loss_claim=False).given(*RECOVERY)

    then = s.when("compensate", amount=Decimal("50"))

    assert names(then) == ["ActionRejected"]
    assert then[0].guard == "requires_loss_claim_or_policy"
    assert "loss claim" in then[0].reason
    assert s.case.state is CaseState.FIXED


def test_compensation_with_a_loss_claim_is_recorded(story: StoryFactory) -> None:
    s = story(loss_claim=True).given(*RECOVERY)

    then = s.when("compensate", amount=Decimal("80"), note="赠送电费充值卡")

    assert names(then) == ["CompensationRecorded"]
    assert then[0].amount == Decimal("80")
    assert s.case.state is CaseState.COMPENSATED


def test_policy_categories_are_compensated_without_a_loss_claim(story: StoryFactory) -> None:
    s = story(category=Category.DELIVERY, loss_claim=False).given(*RECOVERY)

    assert names(s.when("compensate", amount=Decimal("20"))) == ["CompensationRecorded"]


def test_compensation_above_the_limit_without_approval_is_rejected(
        story: StoryFactory) -> None:
    s = story(loss_claim=True).given(*RECOVERY)

    then = s.when("compensate", amount=Decimal("500"))

    assert names(then) == ["ActionRejected"]
    assert then[0].guard == "supervisor_approval_above_limit"
    assert "200" in then[0].reason
    assert s.case.state is CaseState.FIXED


def test_compensation_above_the_limit_needs_someone_elses_approval(
        story: StoryFactory) -> None:
    s = story(loss_claim=True).given(*RECOVERY)

    self_approved = s.when("compensate", amount=Decimal("500"), approved_by="zhang.wei")
    approved = s.when("compensate", amount=Decimal("500"), approved_by="li.supervisor")

    assert names(self_approved) == ["ActionRejected"]
    assert names(approved) == ["CompensationRecorded"]
    assert approved[0].approved_by == "li.supervisor"


def test_an_early_close_is_rejected_with_its_reason_and_the_state_stays(
        story: StoryFactory) -> None:
    s = story().given("acknowledge", "apologize")
    before = s.case

    then = s.when("close")

    assert names(then) == ["ActionRejected"]
    rejected = then[0]
    assert isinstance(rejected, ActionRejected)
    assert rejected.state_before == rejected.state_after == CaseState.APOLOGIZED
    assert "回访" in rejected.reason and "start_fix" in rejected.reason
    assert "start_fix" in rejected.allowed and "close" not in rejected.allowed
    assert s.case.state is before.state
    assert s.case.version == before.version + 1
    assert s.case.rejections == 1


def test_closing_without_a_follow_up_result_is_refused_by_its_guard(
        story: StoryFactory) -> None:
    s = story().given(*RECOVERY).given("escalate")

    then = s.when("close")

    assert names(then) == ["ActionRejected"]
    assert then[0].guard == "requires_follow_up_result"


def test_a_repeated_action_id_has_no_second_effect(story: StoryFactory) -> None:
    s = story()
    acknowledge = s.action("acknowledge", action_id="act-same")
    first = s.when(acknowledge)
    version = s.case.version

    again = s.when(acknowledge)

    assert names(first) == ["CaseAcknowledged"]
    assert again == []
    assert s.case.version == version


def test_a_repeated_rejected_action_is_not_rejected_twice(story: StoryFactory) -> None:
    s = story()
    close = s.action("close", action_id="act-close")

    assert names(s.when(close)) == ["ActionRejected"]
    assert s.when(close) == []
    assert s.case.rejections == 1


def test_an_unsatisfied_return_visit_cannot_close_and_reopens_the_case(
        story: StoryFactory) -> None:
    s = story().given(*RECOVERY)
    s.given("follow_up", satisfaction=2)

    close = s.when("close")
    reopen = s.when("reopen", reason="客户对处理结果不满意")

    assert names(close) == ["ActionRejected"]
    assert close[0].guard == "requires_satisfied_follow_up"
    assert names(reopen)[0] == "CaseReopened"
    assert s.case.state is CaseState.REOPENED
    assert s.case.round == 2
    assert s.case.steps.satisfaction is None
    assert s.case.deadline("first_contact#2") is not None


def test_a_satisfied_return_visit_cannot_reopen(story: StoryFactory) -> None:
    s = story().given(*RECOVERY)
    s.given("follow_up", satisfaction=4)

    then = s.when("reopen")

    assert then[0].guard == "requires_unsatisfied_follow_up"


def test_a_complaint_again_within_the_window_reopens_the_closed_case(
        story: StoryFactory) -> None:
    s = story().given(*RECOVERY)
    s.given("follow_up", satisfaction=4)
    s.given("close")

    within = s.when("reopen", after=timedelta(days=29), actor="intake")

    assert names(within)[0] == "CaseReopened"
    assert s.case.handler == "zhang.wei"


def test_a_closed_case_is_not_reopened_after_the_window(story: StoryFactory) -> None:
    s = story().given(*RECOVERY)
    s.given("follow_up", satisfaction=4)
    s.given("close")

    then = s.when("reopen", after=timedelta(days=31))

    assert then[0].guard == "within_reopen_window"
    assert s.case.state is CaseState.CLOSED


def test_terminate_needs_a_reason(story: StoryFactory) -> None:
    s = story().given("acknowledge")

    without = s.when("terminate")
    with_reason = s.when("terminate", reason="诉求超出政策规定，已依法依规处理")

    assert without[0].guard == "requires_reason"
    assert names(with_reason) == ["CaseTerminated"]
    assert s.case.state is CaseState.TERMINATED
    assert s.case.termination_reason == "诉求超出政策规定，已依法依规处理"


def test_nothing_happens_to_a_terminated_case(story: StoryFactory) -> None:
    s = story().given("acknowledge")
    s.given("terminate", reason="服务终止")

    for action in ("acknowledge", "escalate", "reopen", "close"):
        then = s.when(action)
        assert names(then) == ["ActionRejected"]
        assert "the case has ended" in then[0].reason
    assert s.case.state is CaseState.TERMINATED


@pytest.mark.parametrize("kind", [RequestKind.INQUIRY, RequestKind.SUGGESTION,
                                  RequestKind.PRAISE])
def test_answered_kinds_close_right_after_contact(story: StoryFactory,
                                                  kind: RequestKind) -> None:
    s = story(kind=kind).given("acknowledge")

    assert names(s.when("close")) == ["CaseClosed"]


@pytest.mark.parametrize("kind", [RequestKind.REPORT, RequestKind.REPAIR])
def test_reports_and_repairs_close_after_the_work_without_apology(
        story: StoryFactory, kind: RequestKind) -> None:
    s = story(kind=kind, category=Category.OUTAGE).given("acknowledge", "start_fix", "fix_done")

    assert names(s.when("close")) == ["CaseClosed"]
    assert not any(e.event_type == "ApologyRecorded" for e in s.events)


@pytest.mark.parametrize("kind", [RequestKind.INQUIRY, RequestKind.REPAIR])
def test_non_complaints_are_not_apologised_for_or_compensated(
        story: StoryFactory, kind: RequestKind) -> None:
    s = story(kind=kind, loss_claim=True).given("acknowledge")

    assert names(s.when("apologize")) == ["ActionRejected"]
    assert names(s.when("compensate", amount=Decimal("10"))) == ["ActionRejected"]


def test_escalation_raises_severity_priority_and_hands_over_to_the_supervisor(
        story: StoryFactory) -> None:
    s = story(severity=Severity.P3, priority=50).given("acknowledge")

    then = s.when("escalate", reason="客户情绪激动")

    assert names(then)[0] == "CaseEscalated"
    assert s.case.state is CaseState.ESCALATED
    assert (s.case.severity, s.case.priority, s.case.queue) == (Severity.P2, 60, "supervisor")
    assert s.case.handler is None


def test_lateness_never_makes_a_case_p1_and_escalation_stops_at_the_top(
        story: StoryFactory) -> None:
    s = story(severity=Severity.P3).given("escalate", "escalate", "escalate")

    top = s.when("escalate")

    assert s.case.severity is Severity.P2
    assert (s.case.escalation_level, s.case.queue) == (3, "leadership")
    assert top[0].guard == "below_top_escalation_level"


def test_an_escalated_case_continues_from_its_recorded_progress(story: StoryFactory) -> None:
    s = story().given("acknowledge", "apologize", "start_fix", "escalate")

    again = s.when("apologize")
    done = s.when("fix_done", actor="li.supervisor")

    assert again[0].guard == "requires_no_apology_yet"
    assert names(done)[0] == "FixCompleted"
    assert (s.case.state, s.case.handler) == (CaseState.FIXED, "li.supervisor")


def test_reclassify_changes_kind_and_category_and_the_new_desk_continues(
        story: StoryFactory) -> None:
    s = story(category=Category.METERING).given("acknowledge")

    then = s.when("reclassify", new_kind=RequestKind.REPORT, reason="核实为窃电")

    assert names(then)[0] == "CaseReclassified"
    assert (s.case.kind, s.case.state) == (RequestKind.REPORT, CaseState.RECLASSIFIED)
    assert s.case.deadline("apology#1").status == "cancelled"
    assert names(s.when("start_fix"))[0] == "FixStarted"


def test_reclassify_must_change_something(story: StoryFactory) -> None:
    s = story(category=Category.BILLING)

    assert s.when("reclassify", new_category=Category.BILLING)[0].guard == (
        "requires_new_classification")


def test_reassign_moves_the_case_to_another_queue_in_the_same_state(
        story: StoryFactory) -> None:
    s = story(queue="general").given("acknowledge")

    same = s.when("reassign", target_queue="general")
    moved = s.when("reassign", target_queue="billing_metering")

    assert same[0].guard == "requires_target_queue"
    assert names(moved)[0] == "CaseReassigned"
    assert (s.case.queue, s.case.state) == ("billing_metering", CaseState.ACKNOWLEDGED)


def test_decide_only_proposes_events_and_leaves_the_case_alone(story: StoryFactory) -> None:
    s = story()
    before = s.case.model_copy()

    events = decide(s.case, s.action("acknowledge"), s.rules.lifecycle, s.now)

    assert names(events) == ["CaseAcknowledged"]
    assert s.case == before


def test_the_case_is_rebuilt_from_its_events(story: StoryFactory) -> None:
    s = story(loss_claim=True).given(*RECOVERY)
    s.when("close")
    s.given("compensate", amount=Decimal("30"))

    assert rebuild(s.events) == s.case
