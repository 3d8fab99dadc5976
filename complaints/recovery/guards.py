"""Named guards of the lifecycle table: small checks a row can require.

Each guard looks at the case, the action and the table's parameters and returns `None`
when the action may go ahead, or a sentence saying why not. Rows name them in
`lifecycle.yaml`; their numbers (limits, windows, marks) live there too, so this module
holds only the shape of each rule, never a policy value.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from complaints.recovery.lifecycle_spec import LifecycleSpec
from complaints.schemas.case import Case, HandlerAction

#: A guard: `None` to allow, otherwise the reason for the refusal.
Guard = Callable[[Case, HandlerAction, LifecycleSpec, datetime], str | None]


def requires_follow_up_result(case: Case, action: HandlerAction, spec: LifecycleSpec,
                              now: datetime) -> str | None:
    """闭环管理: a case closes on a recorded return visit, not on the handler's word."""
    if case.steps.satisfaction is None:
        return "no follow-up result (回访) recorded in this round: record follow_up first"
    return None


def requires_satisfied_follow_up(case: Case, action: HandlerAction, spec: LifecycleSpec,
                                 now: datetime) -> str | None:
    """An unsatisfied customer is not a closed case: reopen (or escalate, terminate)."""
    mark = spec.follow_up.unsatisfied_at_most
    if case.steps.satisfaction is not None and case.steps.satisfaction <= mark:
        return (f"the return visit was unsatisfied ({case.steps.satisfaction} <= {mark}): "
                "reopen, escalate or terminate instead")
    return None


def requires_unsatisfied_follow_up(case: Case, action: HandlerAction, spec: LifecycleSpec,
                                   now: datetime) -> str | None:
    """Reopening an open case is only for an unsatisfied return visit."""
    mark = spec.follow_up.unsatisfied_at_most
    if case.steps.satisfaction is None or case.steps.satisfaction > mark:
        return f"reopen needs an unsatisfied return visit (satisfaction <= {mark})"
    return None


def requires_satisfaction(case: Case, action: HandlerAction, spec: LifecycleSpec,
                          now: datetime) -> str | None:
    """A return visit without the customer's answer proves nothing."""
    if action.satisfaction is None:
        return "follow_up needs the customer's satisfaction (1-5)"
    return None


def requires_loss_claim_or_policy(case: Case, action: HandlerAction, spec: LifecycleSpec,
                                  now: datetime) -> str | None:
    """Compensation only for a clear loss (domain §7), or where policy grants it."""
    if case.loss_claim or case.category in spec.compensation.policy_categories:
        return None
    return ("compensation needs a loss claim (the complaint carried no `loss` signal) "
            f"or a category with policy compensation, and '{case.category}' has none")


def requires_amount(case: Case, action: HandlerAction, spec: LifecycleSpec,
                    now: datetime) -> str | None:
    """A compensation without a value cannot be audited."""
    if action.amount is None or action.amount <= 0:
        return "compensate needs an amount above 0 (CNY)"
    return None


def supervisor_approval_above_limit(case: Case, action: HandlerAction, spec: LifecycleSpec,
                                    now: datetime) -> str | None:
    """Symbolic means small: larger amounts need someone else's approval."""
    limit = spec.compensation.approval_limit_cny
    if action.amount is None or action.amount <= limit:
        return None
    if action.approved_by is None:
        return (f"{action.amount} CNY is above the {limit} CNY limit: "
                "needs approved_by (a supervisor)")
    if action.approved_by == action.actor:
        return "the approver must be someone other than the handler"
    return None


def requires_reason(case: Case, action: HandlerAction, spec: LifecycleSpec,
                    now: datetime) -> str | None:
    """服务终止 must be justified (demands beyond regulation after lawful handling)."""
    if not (action.reason and action.reason.strip()):
        return "terminate needs a reason"
    return None


def requires_target_queue(case: Case, action: HandlerAction, spec: LifecycleSpec,
                          now: datetime) -> str | None:
    """A reassignment names where the case goes, and it is somewhere else."""
    if not action.target_queue:
        return "reassign needs target_queue"
    if action.target_queue == case.queue:
        return f"the case is already in queue '{case.queue}'"
    return None


def requires_new_classification(case: Case, action: HandlerAction, spec: LifecycleSpec,
                                now: datetime) -> str | None:
    """Reclassifying must change the kind or the category."""
    kind = action.new_kind or case.kind
    category = action.new_category or case.category
    if (kind, category) == (case.kind, case.category):
        return (f"reclassify needs a new_kind or new_category different from "
                f"{case.kind}/{case.category}")
    return None


def within_reopen_window(case: Case, action: HandlerAction, spec: LifecycleSpec,
                         now: datetime) -> str | None:
    """A complaint again soon after closing belongs to the same case."""
    days = spec.reopen.within_days
    if case.closed_at is None or now - case.closed_at > timedelta(days=days):
        return f"closed more than {days} days ago: open a new case instead"
    return None


def below_top_escalation_level(case: Case, action: HandlerAction, spec: LifecycleSpec,
                               now: datetime) -> str | None:
    """Escalation has a top; above it there is nobody left to pass the case to."""
    top = len(spec.escalation.levels)
    if case.escalation_level >= top:
        return f"already at the top escalation level ({spec.escalation.levels[-1].name})"
    return None


def requires_no_contact_yet(case: Case, action: HandlerAction, spec: LifecycleSpec,
                            now: datetime) -> str | None:
    """After a hand-over, acknowledge only if nobody has contacted the customer yet."""
    if case.steps.acknowledged_at or case.steps.apologized_at:
        return "the customer was already contacted in this round: continue with the next step"
    return None


def requires_contact(case: Case, action: HandlerAction, spec: LifecycleSpec,
                     now: datetime) -> str | None:
    """An answer is given to a customer someone has contacted."""
    if case.steps.acknowledged_at is None and case.steps.apologized_at is None:
        return "nobody has contacted the customer in this round: acknowledge first"
    return None


def requires_no_apology_yet(case: Case, action: HandlerAction, spec: LifecycleSpec,
                            now: datetime) -> str | None:
    """After a hand-over, one apology per round; a repeat would undo recorded progress."""
    if case.steps.apologized_at is not None:
        return "already apologised in this round: continue with the next step"
    return None


def requires_fix_not_started(case: Case, action: HandlerAction, spec: LifecycleSpec,
                             now: datetime) -> str | None:
    """After a hand-over, the fix starts once per round."""
    if case.steps.fix_started_at is not None:
        return "the fix already started in this round: record fix_done when it is done"
    return None


def requires_fix_started(case: Case, action: HandlerAction, spec: LifecycleSpec,
                         now: datetime) -> str | None:
    """A fix is done only after it started (and not twice)."""
    if case.steps.fix_started_at is None:
        return "the fix has not started in this round: start_fix first"
    if case.steps.fixed_at is not None:
        return "the fix is already done in this round"
    return None


def requires_fix_done(case: Case, action: HandlerAction, spec: LifecycleSpec,
                      now: datetime) -> str | None:
    """Compensation, return visit and closing of worked cases follow the fix."""
    if case.steps.fixed_at is None:
        return "the fix is not done in this round: fix_done first"
    return None


#: Every guard a row may name, by name.
GUARDS: dict[str, Guard] = {
    guard.__name__: guard
    for guard in (
        requires_follow_up_result,
        requires_satisfied_follow_up,
        requires_unsatisfied_follow_up,
        requires_satisfaction,
        requires_loss_claim_or_policy,
        requires_amount,
        supervisor_approval_above_limit,
        requires_reason,
        requires_target_queue,
        requires_new_classification,
        within_reopen_window,
        below_top_escalation_level,
        requires_no_contact_yet,
        requires_contact,
        requires_no_apology_yet,
        requires_fix_not_started,
        requires_fix_started,
        requires_fix_done,
    )
}

__all__ = ["GUARDS", "Guard"]
