"""Route stage: classified complaints in; routing decisions and work-queue items out.

Runs inside the intake agent's loop, right after classification (no extra topic hop).
For each complaint it gathers the context routing needs from Redis — the customer's
earlier cases, the mass incident the case belongs to, how full the overflowing desks
are — calls the pure `route`, and places the case in its Redis work queue. The
decisions it returns are published by the intake agent to `complaints.routed.v1`
(CloudEvents type `cn.complaints.routing.decided.v1`, keyed by case id).

Mass incidents (docs/routing.md): the case that brings an incident to K opens it and
is its lead — enqueued once, on the owning desk, with the incident's raised severity.
Earlier cases still waiting on that desk leave it and are held under the incident;
later cases join it and are held too (stored, never claimable on their own). A case
whose own facts send it to another desk (a media threat, a VIP) keeps its own ticket
there and is only linked to the incident.

Idempotent under redelivery: history and incident membership are per case id, and a
case already placed keeps its first decision, which is returned again.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from complaints.routing.decide import (
    RoutingContext,
    incident_id_for,
    incident_key,
    incident_route,
    repeat_subject,
    route,
    work_item,
)
from complaints.routing.table import RoutingTable
from complaints.schemas.complaint import Complaint
from complaints.schemas.routing import QueueStats, RoutingDecision
from complaints.store.history import CustomerHistory, IncidentTracker, Observation
from complaints.store.redis import RedisBatch
from complaints.store.work_queues import Enqueued, WorkQueues


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RouteDeps:
    """What the route stage talks to; built once per worker by `pipeline.app`."""

    redis: "aioredis.Redis"
    prefix: str
    table: RoutingTable
    clock: Callable[[], datetime] = _utc_now
    queues: WorkQueues = field(init=False)
    history: CustomerHistory = field(init=False)
    incidents: IncidentTracker = field(init=False)

    def __post_init__(self) -> None:
        retention = self.table.done_retention_days * 86_400
        self.queues = WorkQueues(self.redis, self.prefix, done_ttl_s=retention)
        self.history = CustomerHistory(self.redis, self.prefix)
        self.incidents = IncidentTracker(self.redis, self.prefix)


async def route_complaints(
    complaints: Sequence[Complaint], deps: RouteDeps
) -> list[RoutingDecision]:
    """Route and enqueue each classified complaint; the decisions, in input order.

    Three steps and two round trips to Redis, however large the batch: (1) one batch
    reads the overflow desks' load and, for every complaint in order, records it in its
    customer's history, counts it towards its incident and looks up whether it was
    placed before; (2) the pure `route` decides each complaint in order, counting the
    desks' backlog as it goes; (3) one script enqueues the new cases and folds the
    waiting cases under each new incident lead, in order. Each step does per case what
    the single calls (`record_case`, `observe`, `enqueue`, `hold_under_incident`) do,
    and nothing step 1 reads is written by step 3, so the decisions are those of
    routing the complaints one at a time.
    """
    if not complaints:
        return []
    now = deps.clock()
    table = deps.table
    repeat_window = timedelta(days=table.repeat.window_days)
    subjects = [repeat_subject(c, table) for c in complaints]
    observations = [_observation(c, table, now) for c in complaints]

    context = RedisBatch(deps.redis)
    loads_reply = deps.queues.stats_in(context, [o.from_queue for o in table.overflow])
    repeats_reply = deps.history.record_cases_in(
        context, [(subject, c.case_id, c.received_at)
                  for subject, c in zip(subjects, complaints, strict=True) if subject],
        repeat_window)
    incidents_reply = deps.incidents.observe_many_in(
        context, [o for o in observations if o is not None])
    placed_reply = deps.queues.placed_in(context, [c.case_id for c in complaints])
    await context.run("gathering routing context")
    loads = loads_reply.value if loads_reply is not None else {}
    repeats = iter(repeats_reply.value if repeats_reply is not None else ())
    incidents = iter(incidents_reply.value if incidents_reply is not None else ())
    placed = placed_reply.value if placed_reply is not None else []

    decisions: list[RoutingDecision] = []
    first_in_batch: dict[str, int] = {}
    placements = deps.queues.placements()
    enqueued: list[tuple[int, int]] = []  # (decision index, answer index)
    for index, complaint in enumerate(complaints):
        decision = route(complaint, table, RoutingContext(
            now=now, repeat_count=next(repeats) if subjects[index] else 0,
            incident=next(incidents) if observations[index] else None, queue_stats=loads))
        earlier = placed[index]
        if earlier is not None:  # placed before this batch: a redelivery
            decision = earlier.earlier or decision
        elif complaint.case_id in first_in_batch:  # twice in one batch: placed just now
            decision = decisions[first_in_batch[complaint.case_id]]
        else:
            first_in_batch[complaint.case_id] = index
            enqueued.append((index, placements.enqueue(
                work_item(complaint, decision), decision=decision,
                held=decision.incident_role == "held")))
            _count_waiting(loads, decision)
        if decision.incident_role == "lead" and decision.incident_id:  # idempotent
            placements.hold(decision.linked_case_ids, decision.incident_id, decision.queue)
        decisions.append(decision)
    placing = RedisBatch(deps.redis)
    answers_reply = deps.queues.place_in(placing, placements)
    await placing.run("placing cases in their queues")
    answers = answers_reply.value if answers_reply is not None else []

    # Placed by someone else between the two steps (another worker; or this script, sent
    # again after Redis went away mid-way): the first decision stands, as with `enqueue`.
    for index, answer in enqueued:
        outcome = answers[answer]
        assert isinstance(outcome, Enqueued)
        if not outcome.added and outcome.earlier is not None \
                and outcome.earlier != decisions[index]:
            decisions[index] = outcome.earlier
            if outcome.earlier.incident_role == "lead" and outcome.earlier.incident_id:
                await deps.queues.hold_under_incident(
                    outcome.earlier.linked_case_ids, outcome.earlier.incident_id,
                    outcome.earlier.queue)
    return decisions


def _observation(complaint: Complaint, table: RoutingTable, now: datetime) -> Observation | None:
    """What the incident tracker is told about a complaint (None: it cannot be part of a
    mass incident)."""
    key = incident_key(complaint, table)
    if key is None:
        return None
    spec = table.incidents
    queue, severity = incident_route(complaint, table)
    return Observation(
        key, complaint.case_id, complaint.received_at, threshold=spec.threshold,
        window=timedelta(minutes=spec.window_min),
        proposed_id=incident_id_for(key, complaint.case_id, now),
        queue=queue, severity=severity, now=now,
    )


def _count_waiting(loads: dict[str, QueueStats], decision: RoutingDecision) -> None:
    """Keep the overflow desks' backlog current within a batch (one read per batch)."""
    load = loads.get(decision.queue)
    if load is not None and decision.incident_role != "held":
        loads[decision.queue] = load.model_copy(update={"depth": load.depth + 1})


__all__ = ["RouteDeps", "route_complaints"]
