"""Recovery stage: routing decisions and handler actions in; case events and resolutions out.

Each routing decision opens its case; each handler command (acknowledge, apologize,
start_fix, …) is decided on its case; due deadlines fire. Writes every accepted or
rejected transition and every SLA warning and breach to `complaints.case-events.v1`, and
one resolution per case round to `complaints.resolutions.v1`. Invalid commands,
unreadable routing decisions and inputs whose content makes the stage raise
(`processing_error`, `stages.failures`) go to `complaints.dlq.v1`.

For each case, under its Redis lock: load the snapshot, call the pure decision
(`start_case`, `handle_action`, `handle_clock`), publish the events and wait for the
broker, apply their effect on the work queues, then commit snapshot + history + timer in
one Redis script; only then may the agent acknowledge the inputs. A crash before the
commit redelivers the input; the decision is made again and its events carry the same
`(case id, version)`, so consumers drop repeats. Every firing of a deadline is recorded
in the case, so it never fires twice, also across restarts.

Routing decisions and due timers are decided a batch at a time (locks, snapshots and the
commit each in one Redis round trip): every routed complaint opens a case, and a stage
that falls behind stops the worker's consumer for every agent (docs/benchmarks.md).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from complaints.messaging.codec import (
    Rejection,
    dead_letter,
    dead_letter_id,
    dead_letter_key,
    decode_cloudevent,
    encode_cloudevent,
    json_depth,
)
from complaints.messaging.records import InboundRecord, OutboundRecords
from complaints.recovery import (
    RecoveryRules,
    apply_events,
    ended_by,
    handle_action,
    handle_clock,
    next_timer_at,
    open_case,
    resolution_of,
    start_case,
)
from complaints.routing import RoutingTable, reroute
from complaints.schemas.case import (
    ActionName,
    Case,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReassigned,
    CaseReclassified,
    CaseTerminated,
    DeadlineBreached,
    DeadlineWarned,
    HandlerAction,
    Resolution,
)
from complaints.schemas.codes import Signal
from complaints.schemas.dead_letter import RejectReason
from complaints.schemas.envelope import (
    DEAD_LETTER_TYPE,
    RESOLUTION_TYPE,
    CloudEvent,
    case_event_type,
)
from complaints.schemas.intake import MAX_EVENT_BYTES, MAX_JSON_DEPTH
from complaints.schemas.routing import QueueItem, RoutingDecision
from complaints.stages.failures import isolating_poison
from complaints.stages.metrics import (
    CASE_EVENTS,
    DEAD_LETTERED,
    RESOLUTIONS,
    SLA_BREACHES,
    SLA_WARNINGS,
    STAGE_EVENTS,
)
from complaints.store.cases import CaseChange, CaseStore
from complaints.store.clock import Clock
from complaints.store.history import IncidentTracker
from complaints.store.work_queues import WorkQueues

log = logging.getLogger(__name__)

Decision = Callable[[Case | None, datetime], list[CaseEvent]]


@dataclass
class RecoveryDeps:
    """What the recovery stage talks to; built once per worker by `pipeline.app`."""

    #: Output topic names.
    case_events: str
    resolutions: str
    dead_letter: str
    store: CaseStore
    queues: WorkQueues
    incidents: IncidentTracker
    rules: RecoveryRules
    routes: RoutingTable
    clock: Clock
    #: The worker's producer, as records packed per partition.
    outbound: Callable[[], Awaitable[OutboundRecords]]


async def fire_deadlines(deps: "RecoveryDeps") -> None:
    """Fire every due deadline. Due deadlines stay in Redis until a firing is committed
    (a claim is a lease that runs out), so a tick that fails loses nothing: the next one
    tries again. A case whose deadline cannot be decided does not hold up the others'."""
    now = await deps.clock.now()
    due = await deps.store.claim_due_timers(now)
    await isolating_poison("deadline timer", due,
                           lambda cases: decide_many(dict.fromkeys(cases, _clock(deps)), deps),
                           _unfired)


async def apply_action_isolated(record: InboundRecord, deps: "RecoveryDeps") -> None:
    """`apply_action`, dead-lettering the command if its content makes the stage raise."""
    await isolating_poison("recovery", [record], lambda records: apply_action(records[0], deps),
                           lambda record, error: _poisoned(record, error, deps))


async def _unfired(case_id: str, error: Exception) -> dict[str, list[CaseEvent]]:
    """A case whose due deadline raised: its claim runs out and the next ticks try
    again, each failure logged (rate-limited) until the cause is fixed."""
    log.error("deadline of case %s could not be decided (%s: %s); it stays due",
              case_id, type(error).__name__, error)
    return {}


async def open_cases_of(batch: Sequence[InboundRecord], deps: RecoveryDeps) -> None:
    """Open the case of each routing decision in a batch. An unreadable decision, or one
    whose content makes the stage raise, is dead-lettered; the others go on."""
    decided: list[tuple[InboundRecord, RoutingDecision]] = []
    for record in batch:
        try:
            decided.append((record, decode_cloudevent(record.value or b"", RoutingDecision)[1]))
        except ValidationError as exc:
            await _dead_letter(record, Rejection(
                RejectReason.INVALID_SHAPE, f"routing decision: {exc}", stage="recovery"), deps)
    await isolating_poison(
        "recovery", decided, lambda pairs: open_cases([d for _, d in pairs], deps),
        lambda pair, error: _poisoned(pair[0], error, deps))


async def _poisoned(record: InboundRecord, error: Exception, deps: RecoveryDeps) -> None:
    await _dead_letter(record, Rejection.of_failure("recovery", error), deps)


async def apply_action(record: InboundRecord, deps: RecoveryDeps) -> None:
    """Decide a handler's command on its case, or dead-letter it with the reason."""
    action = await _valid_action(record, deps)
    if action is None:
        return
    work = await deps.queues.inspect(action.case_id)  # the desk's view, to re-route
    await decide_many({action.case_id: _action(action, deps, work.item if work else None)},
                      deps)


async def open_cases(decisions: Sequence[RoutingDecision], deps: RecoveryDeps) -> None:
    """Open the case of each routing decision; a case already open is left as it is (a
    redelivered batch decides again and finds it)."""
    await decide_many({d.case_id: _opening(d, deps) for d in decisions}, deps)


async def decide_many(decisions: Mapping[str, Decision],
                      deps: RecoveryDeps) -> dict[str, list[CaseEvent]]:
    """Decide for each case under its lock; the events each decision made, by case id.

    The free cases are decided together. A case whose lock is held (a handler's action
    or a timer on another worker) is decided afterwards on its own, once the lock is
    free — so a batch never waits while holding locks, and two batches cannot deadlock.
    """
    tokens, cases = await deps.store.lock_and_load(list(decisions))
    made = await _decide_locked({c: decisions[c] for c in tokens}, cases, tokens, deps)
    for case_id in [c for c in decisions if c not in tokens]:
        tokens, cases = await deps.store.lock_and_load([case_id], wait=True)
        made.update(await _decide_locked({case_id: decisions[case_id]}, cases, tokens, deps))
    return made


async def _decide_locked(decisions: Mapping[str, Decision], cases: Mapping[str, Case | None],
                         tokens: Mapping[str, str],
                         deps: RecoveryDeps) -> dict[str, list[CaseEvent]]:
    """Decide, publish, apply side effects, commit and unlock — for cases we hold."""
    try:
        now = await deps.clock.now()
        made = {case_id: decide(cases[case_id], now) for case_id, decide in decisions.items()}
        changes: list[CaseChange] = []
        rearm: dict[str, datetime | None] = {}
        for case_id, events in made.items():
            case = cases[case_id]
            if events:
                after = apply_events(case, events)
                changes.append(CaseChange(after, events, next_timer_at(after)))
            elif case is not None:  # nothing to do: put a claimed timer back where it was
                rearm[case_id] = next_timer_at(case)
        out = await deps.outbound()
        resolutions: list[Resolution] = []
        for change in changes:
            await _publish_case_events(change, out, deps)
            if ended_by(change.events):
                history = [*await deps.store.history(change.case.case_id), *change.events]
                resolutions.append(resolution_of(change.case, history))
                await _publish_resolution(resolutions[-1], out, deps)
        await asyncio.gather(*await out.send())  # the broker has every event first
        for change in changes:
            await _work_queue_effects(change.case, change.events, deps)
        opened = sum(isinstance(change.events[0], CaseOpened) for change in changes)
        await deps.store.commit(changes, rearm, release=tokens,
                                counts={"recovery.opened": opened} if opened else None)
    except BaseException:
        await asyncio.shield(deps.store.unlock(tokens))
        raise
    STAGE_EVENTS.labels("recovery", "out").inc(opened)
    for change in changes:
        _count(change.events)
    for resolution in resolutions:
        RESOLUTIONS.labels(resolution.outcome).inc()
    return made


async def _publish_case_events(change: CaseChange, out: OutboundRecords,
                               deps: RecoveryDeps) -> None:
    case_id = change.case.case_id
    for event, payload in zip(change.events, change.events_json, strict=True):
        await out.add(
            deps.case_events, case_id.encode(),
            encode_cloudevent(case_event_type(event.event_type), f"{case_id}:v{event.version}",
                              payload, subject=case_id, time=event.occurred_at))


async def _publish_resolution(resolution: Resolution, out: OutboundRecords,
                              deps: RecoveryDeps) -> None:
    await out.add(
        deps.resolutions, resolution.case_id.encode(),
        encode_cloudevent(RESOLUTION_TYPE, resolution.resolution_id, resolution,
                          subject=resolution.case_id, time=resolution.ended_at))


def _count(events: Sequence[CaseEvent]) -> None:
    for event in events:
        CASE_EVENTS.labels(event.event_type).inc()
        if isinstance(event, DeadlineWarned):
            SLA_WARNINGS.labels(event.deadline).inc()
        elif isinstance(event, DeadlineBreached):
            SLA_BREACHES.labels(event.deadline).inc()


# -- the three decisions --------------------------------------------------------------
def _opening(decision: RoutingDecision, deps: RecoveryDeps) -> Decision:
    def decide(case: Case | None, now: datetime) -> list[CaseEvent]:
        if case is not None:  # a redelivered routing decision: the case is open already
            return []
        opened = open_case(
            case_id=decision.case_id, kind=decision.kind, category=decision.category,
            severity=decision.severity, queue=decision.queue, opened_at=decision.received_at,
            loss_claim=Signal.LOSS in decision.signals, priority=decision.priority,
            incident_id=decision.incident_id,
            incident_held=decision.incident_role == "held",
        )
        return start_case(opened, deps.rules)

    return decide


def _action(action: HandlerAction, deps: RecoveryDeps, item: QueueItem | None) -> Decision:
    def decide(case: Case | None, now: datetime) -> list[CaseEvent]:
        if case is None:
            return []
        events = handle_action(case, action, deps.rules, now)
        if item is None:
            return events
        return events + _reroute_after_reclassify(case, events, action, item, deps, now)

    return decide


def _clock(deps: RecoveryDeps) -> Decision:
    def decide(case: Case | None, now: datetime) -> list[CaseEvent]:
        return handle_clock(case, deps.rules, now) if case is not None else []

    return decide


def _reroute_after_reclassify(case: Case, events: list[CaseEvent], action: HandlerAction,
                              item: QueueItem, deps: RecoveryDeps,
                              now: datetime) -> list[CaseEvent]:
    """A category change re-routes the case: the routing table picks the new desk."""
    if not any(isinstance(e, CaseReclassified) for e in events):
        return []
    after = apply_events(case, events)
    queue = reroute(item, after.kind, after.category, after.severity, deps.routes)
    if queue == after.queue:
        return []
    move = HandlerAction(action_id=f"{action.action_id}:reroute", case_id=case.case_id,
                         action=ActionName.REASSIGN, actor="routing", target_queue=queue,
                         note=f"re-routed after reclassification to {after.category}",
                         issued_at=now)
    return handle_action(after, move, deps.rules, now)


async def _work_queue_effects(case: Case, events: Sequence[CaseEvent],
                              deps: RecoveryDeps) -> None:
    """Keep the handlers' work queues in step with the case (all idempotent)."""
    for event in events:
        if isinstance(event, CaseEscalated | CaseReassigned):
            await deps.queues.move(case.case_id, event.queue_after, severity=case.severity,
                                   priority=case.priority)
        elif isinstance(event, CaseClosed | CaseTerminated):
            await deps.queues.finish(case.case_id)
            await deps.incidents.close_case(case.case_id, event.occurred_at)


# -- decoding inputs ------------------------------------------------------------------
async def _valid_action(record: InboundRecord, deps: RecoveryDeps) -> HandlerAction | None:
    """The handler command, or None after dead-lettering it with the reason."""
    raw: bytes | None = record.value
    too_large = len(raw or b"") > MAX_EVENT_BYTES or json_depth(raw or b"") > MAX_JSON_DEPTH
    if too_large:
        await _dead_letter(record, Rejection(
            RejectReason.TOO_LARGE, f"handler action larger than {MAX_EVENT_BYTES} bytes or "
            f"nested deeper than {MAX_JSON_DEPTH} levels", stage="recovery"), deps)
        return None
    try:
        action = _parse_action(raw or b"")
    except (ValidationError, ValueError) as exc:
        reason = RejectReason.INVALID_SHAPE
        await _dead_letter(record, Rejection(reason, f"handler action: {exc}",
                                            stage="recovery"), deps)
        return None
    if await deps.store.load(action.case_id) is None:
        await _dead_letter(record, Rejection(RejectReason.UNKNOWN_CASE,
                                            f"no case {action.case_id}", action.action_id,
                                            stage="recovery"), deps)
        return None
    return action


def _parse_action(raw: bytes) -> HandlerAction:
    """Bare JSON or a CloudEvents envelope around it."""
    if b'"specversion"' in raw:
        envelope = CloudEvent.model_validate_json(raw)
        payload: Any = envelope.data
        return HandlerAction.model_validate(payload)
    return HandlerAction.model_validate_json(raw)


async def _dead_letter(record: InboundRecord, rejection: Rejection,
                       deps: RecoveryDeps) -> None:
    letter = dead_letter(rejection, record.value, record.key, record.topic,
                         record.partition, record.offset)
    log.warning("dead-lettered %s:%s@%s: %s (%s)", record.topic, record.partition,
                record.offset, rejection.reason, rejection.error)
    DEAD_LETTERED.labels(rejection.reason.value).inc()
    out = await deps.outbound()
    await out.add(deps.dead_letter, dead_letter_key(record.key),
                  encode_cloudevent(DEAD_LETTER_TYPE, dead_letter_id(record), letter))
    await asyncio.gather(*await out.send())
