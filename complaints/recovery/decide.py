"""What a handler's command causes: one accepted event, one rejection, or nothing.

`decide(case, action, table, now)` looks the action up in the lifecycle table
(`lifecycle.py`) and tries the row's guards; `open_case` is the first event of a case.
Pure: `now` is an argument, so the same case and command always give the same events.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from complaints.recovery.guards import GUARDS
from complaints.recovery.lifecycle import Lifecycle, Transition
from complaints.recovery.lifecycle_spec import LifecycleSpec
from complaints.schemas.case import (
    INTAKE_ACTOR,
    ActionName,
    ActionRejected,
    ApologyRecorded,
    AreaType,
    Case,
    CaseAcknowledged,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReassigned,
    CaseReclassified,
    CaseReopened,
    CaseState,
    CaseTerminated,
    CompensationRecorded,
    FixCompleted,
    FixStarted,
    FollowUpRecorded,
    HandlerAction,
)
from complaints.schemas.codes import Category, RequestKind, Severity


def open_case(
    *,
    case_id: str,
    kind: RequestKind,
    category: Category,
    severity: Severity,
    queue: str,
    opened_at: datetime,
    loss_claim: bool = False,
    priority: int | None = None,
    area_type: AreaType = AreaType.URBAN,
    incident_id: str | None = None,
    incident_held: bool = False,
    actor: str = INTAKE_ACTOR,
) -> CaseOpened:
    """The first event of a case; `loss_claim` comes from the classifier's `loss` signal."""
    return CaseOpened(
        case_id=case_id, version=1, occurred_at=opened_at, actor=actor,
        state_before=None, state_after=CaseState.RECEIVED,
        kind=kind, category=category, severity=severity, queue=queue, priority=priority,
        loss_claim=loss_claim, area_type=area_type, incident_id=incident_id,
        incident_held=incident_held,
    )


def decide(case: Case, action: HandlerAction, table: Lifecycle,
           now: datetime) -> list[CaseEvent]:
    """The events `action` causes: one accepted event, one `ActionRejected`, or none.

    None when the action id was already decided (accepted or rejected): a redelivered
    or re-sent command has no second effect. Guards are tried in row order and the
    first that fails is the reason.
    """
    if action.case_id != case.case_id:
        raise ValueError(f"action {action.action_id} is for case {action.case_id}, "
                         f"not {case.case_id}")
    if action.action_id in case.processed_action_ids:
        return []
    row = table.transition_for(case.state, action.action, case.kind)
    if row is None:
        return [_rejected(case, action, table, now, _no_row_reason(case, action, table))]
    for guard in row.guards:
        failure = GUARDS[guard](case, action, table.spec, now)
        if failure is not None:
            return [_rejected(case, action, table, now, f"{action.action} refused: {failure}",
                              guard)]
    return [_accepted(case, action, row, table.spec, now)]


def _no_row_reason(case: Case, action: HandlerAction, table: Lifecycle) -> str:
    spec = table.spec.actions[action.action]
    hint = f" ({spec.hint})" if spec.hint else ""
    ended = " — the case has ended" if table.ends_case(case.state) else ""
    return (f"{action.action} ({spec.name}) is not allowed in state {case.state} for a "
            f"{case.kind}{ended}{hint}")


def _rejected(case: Case, action: HandlerAction, table: Lifecycle, now: datetime,
              reason: str, guard: str | None = None) -> ActionRejected:
    allowed = table.allowed_actions(case.state, case.kind)
    listed = ", ".join(allowed) if allowed else "nothing"
    return ActionRejected(
        **_common(case, action, case.state, now),
        reason=f"{reason}. Allowed in {case.state}: {listed}.",
        guard=guard, allowed=allowed,
    )


def _common(case: Case, action: HandlerAction, to: CaseState, now: datetime) -> dict[str, Any]:
    """The fields every event decided from an action shares."""
    return {
        "case_id": case.case_id, "version": case.version + 1, "occurred_at": now,
        "actor": action.actor, "action_id": action.action_id, "action": action.action,
        "state_before": case.state, "state_after": to, "note": action.note,
    }


def _accepted(case: Case, action: HandlerAction, row: Transition, spec: LifecycleSpec,
              now: datetime) -> CaseEvent:
    common = _common(case, action, row.to, now)
    match action.action:
        case ActionName.ACKNOWLEDGE:
            return CaseAcknowledged(**common)
        case ActionName.APOLOGIZE:
            return ApologyRecorded(**common)
        case ActionName.START_FIX:
            return FixStarted(**common)
        case ActionName.FIX_DONE:
            return FixCompleted(**common)
        case ActionName.COMPENSATE:
            return CompensationRecorded(**common, amount=action.amount or Decimal("0"),
                                        approved_by=action.approved_by)
        case ActionName.FOLLOW_UP:
            satisfaction = action.satisfaction or 0
            return FollowUpRecorded(
                **common, satisfaction=satisfaction,
                unsatisfied=satisfaction <= spec.follow_up.unsatisfied_at_most,
            )
        case ActionName.CLOSE:
            return CaseClosed(**common)
        case ActionName.ESCALATE:
            return _escalated(case, action, spec, common)
        case ActionName.REOPEN:
            return CaseReopened(**common, round=case.round + 1, reason=action.reason)
        case ActionName.REASSIGN:
            return CaseReassigned(**common, queue_before=case.queue,
                                  queue_after=action.target_queue or case.queue)
        case ActionName.RECLASSIFY:
            return CaseReclassified(
                **common, kind_before=case.kind, kind_after=action.new_kind or case.kind,
                category_before=case.category,
                category_after=action.new_category or case.category, reason=action.reason,
            )
        case ActionName.TERMINATE:
            return CaseTerminated(**common, reason=action.reason or "")
    raise AssertionError(f"no event for action {action.action}")  # pragma: no cover


def _escalated(case: Case, action: HandlerAction, spec: LifecycleSpec,
               common: dict[str, Any]) -> CaseEscalated:
    policy = spec.escalation
    level = case.escalation_level + 1
    priority = case.priority
    if priority is not None:
        priority = min(100, priority + policy.priority_boost)
    return CaseEscalated(
        **common, level=level, queue_before=case.queue,
        queue_after=policy.levels[level - 1].queue, severity_before=case.severity,
        severity_after=raised_severity(case.severity, policy.raise_severity_by,
                                       policy.severity_cap),
        priority_after=priority, reason=action.reason,
    )


def raised_severity(severity: Severity, by: int, cap: Severity) -> Severity:
    """`by` levels more urgent, never past `cap`, never less urgent than before."""
    order = list(Severity)  # P1 … P4
    index = order.index(severity)
    return order[min(index, max(index - by, order.index(cap)))]


__all__ = ["decide", "open_case", "raised_severity"]
