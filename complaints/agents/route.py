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

from complaints.pipeline.history import CustomerHistory, IncidentTracker
from complaints.pipeline.work_queues import WorkQueues
from complaints.routing.decide import (
    IncidentMembership,
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
    """Route and enqueue each classified complaint; the decisions, in input order."""
    if not complaints:
        return []
    now = deps.clock()
    loads = await deps.queues.stats([o.from_queue for o in deps.table.overflow])
    decisions = []
    for complaint in complaints:
        context = RoutingContext(
            now=now,
            repeat_count=await _repeat_count(complaint, deps),
            incident=await _incident(complaint, deps, now),
            queue_stats=loads,
        )
        decision = route(complaint, deps.table, context)
        placed = await deps.queues.enqueue(work_item(complaint, decision), decision=decision,
                                           held=decision.incident_role == "held")
        if placed.added:
            _count_waiting(loads, decision)
        else:
            decision = placed.earlier or decision  # a redelivery keeps its first decision
        if decision.incident_role == "lead" and decision.incident_id:  # idempotent
            await deps.queues.hold_under_incident(
                decision.linked_case_ids, decision.incident_id, decision.queue)
        decisions.append(decision)
    return decisions


async def _repeat_count(complaint: Complaint, deps: RouteDeps) -> int:
    subject = repeat_subject(complaint, deps.table)
    if subject is None:
        return 0
    window = timedelta(days=deps.table.repeat.window_days)
    return await deps.history.record_case(subject, complaint.case_id, complaint.received_at,
                                          window)


async def _incident(
    complaint: Complaint, deps: RouteDeps, now: datetime
) -> IncidentMembership | None:
    key = incident_key(complaint, deps.table)
    if key is None:
        return None
    spec = deps.table.incidents
    queue, severity = incident_route(complaint, deps.table)
    return await deps.incidents.observe(
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
