"""Redis-backed memory routing needs: customers' earlier cases, and mass incidents.

Both are idempotent per case id, because the pipeline delivers at least once: a
redelivered event (same case id) is neither its own repeat nor counted twice towards an
incident, and gets the same answer as the first time. Both are single Lua scripts, so
concurrent workers agree: an incident opens exactly once, whoever sees the K-th case.

Key layout (docs/routing.md):

    {prefix}:history:{subject}                ZSET case_id → received ms, per customer
    {prefix}:incident-window:{category}:{area} ZSET case_id → received ms, not yet in an
                                              incident
    {prefix}:incident-open:{category}:{area}  STRING id of the incident taking in cases
    {prefix}:incident:{id}                    HASH incident_id, category, area, status,
                                              queue, severity, lead_case, opened_with,
                                              opened_ms, last_at_ms, closed_ms
    {prefix}:incident:{id}:cases              SET every linked case
    {prefix}:incident:{id}:closed             SET linked cases already closed
    {prefix}:case-incident:{case_id}          STRING the incident a case belongs to
    {prefix}:incidents:open                   ZSET open incident ids → opened ms
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from complaints.routing.decide import IncidentKey, IncidentMembership
from complaints.schemas.codes import Severity
from complaints.schemas.routing import Incident
from complaints.store.encoding import (
    as_text,
    compact_json,
    duration_ms,
    epoch_ms,
    from_epoch_ms,
    json_list,
)
from complaints.store.redis import RedisBatch, Reply, lua_script, until_redis_answers

#: How long incident links are kept (closed incidents, case → incident pointers).
INCIDENT_RETENTION = timedelta(days=90)


class CustomerHistory:
    """Each customer's cases by time, to tell a repeat complaint (重复投诉) from a first."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.prefix = prefix
        self._record = client.register_script(
            lua_script("num", "history_record_fn", "history_record"))
        self._record_many = client.register_script(
            lua_script("num", "history_record_fn", "history_record_many"))

    def key(self, subject: str) -> str:
        return f"{self.prefix}:history:{subject}"

    async def record_case(
        self, subject: str, case_id: str, received_at: datetime, window: timedelta
    ) -> int:
        """Remember the case; return how many OTHER cases the customer had in the
        `window` before it. Recording the same case again changes nothing."""
        args = [case_id, str(epoch_ms(received_at)), str(duration_ms(window))]
        return int(await until_redis_answers(
            lambda: self._record(keys=[self.key(subject)], args=args),
            "recording customer history"))

    def record_cases_in(
        self, batch: RedisBatch, cases: Sequence[tuple[str, str, datetime]], window: timedelta
    ) -> Reply[list[int]] | None:
        """`record_case` for each (subject, case id, received at), in order, as one script
        in a batch of Redis calls; None when there is nothing to record."""
        if not cases:
            return None
        keys = [self.key(subject) for subject, _, _ in cases]
        entries = [[case_id, str(epoch_ms(received_at))] for _, case_id, received_at in cases]
        return batch.script(self._record_many, keys,
                            [str(duration_ms(window)), compact_json(entries)],
                            lambda raw: [int(n) for n in json_list(raw)])


@dataclass(frozen=True)
class Closing:
    """What closing a case did to its incident."""

    incident_id: str
    incident_closed: bool  # True only for the call that closed the incident's last case


class IncidentTracker:
    """Counts complaints per category and area in a sliding window; opens incidents."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.prefix = prefix
        self._observe = client.register_script(
            lua_script("num", "incident_observe_fn", "incident_observe"))
        self._observe_many = client.register_script(
            lua_script("num", "incident_observe_fn", "incident_observe_many"))
        self._close = client.register_script(lua_script("incident_close"))

    async def observe(
        self, key: IncidentKey, case_id: str, received_at: datetime, *, threshold: int,
        window: timedelta, proposed_id: str, queue: str, severity: Severity, now: datetime,
    ) -> IncidentMembership | None:
        """Count the case towards `key`; the incident it belongs to, if any.

        The case that brings the count within `window` to `threshold` opens the
        incident under `proposed_id` with `queue` and `severity` (computed by the pure
        `incident_route`) and takes in the earlier cases; later cases join it while
        they arrive within `window` of its latest case. Exactly once, atomically.
        """
        args = _observe_args(self.prefix, Observation(
            key, case_id, received_at, threshold=threshold, window=window,
            proposed_id=proposed_id, queue=queue, severity=severity, now=now))
        return _membership(await until_redis_answers(
            lambda: self._observe(keys=[], args=args), "counting towards incidents"))

    def observe_many_in(
        self, batch: RedisBatch, observations: Sequence["Observation"]
    ) -> Reply[list[IncidentMembership | None]] | None:
        """`observe` for each observation, in order, as one script in a batch of Redis
        calls; None when there is nothing to observe."""
        if not observations:
            return None
        cases = [_observe_args(self.prefix, o) for o in observations]
        return batch.script(self._observe_many, [], [compact_json(cases)],
                            lambda raw: [_membership(a) for a in json_list(raw)])

    async def close_case(self, case_id: str, now: datetime | None = None) -> Closing | None:
        """Record that a case is closed (for the recovery stage); the incident closes
        with its last open case. None when the case belongs to no incident."""
        moment = now or datetime.now(UTC)
        args = [self.prefix, case_id, str(epoch_ms(moment)),
                str(int(INCIDENT_RETENTION.total_seconds()))]
        raw = await until_redis_answers(lambda: self._close(keys=[], args=args),
                                        f"closing {case_id} in its incident")
        if not raw:
            return None
        incident_id, _, closed_now = (as_text(v) for v in raw)
        return Closing(incident_id=incident_id, incident_closed=closed_now == "1")

    async def incident_of(self, case_id: str) -> str | None:
        """The id of the incident a case belongs to, if any."""
        value = await until_redis_answers(
            lambda: self._client.get(f"{self.prefix}:case-incident:{case_id}"),
            "reading incident link")
        return as_text(value) if value else None

    async def incident(self, incident_id: str) -> Incident | None:
        """One incident with its cases, or None if unknown (or long closed)."""
        base = f"{self.prefix}:incident:{incident_id}"

        async def read() -> tuple[dict[Any, Any], set[Any]]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hgetall(base)
                pipe.smembers(f"{base}:cases")
                fields, cases = await pipe.execute()
            return fields, cases

        raw, cases = await until_redis_answers(read, f"reading incident {incident_id}")
        if not raw:
            return None
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        return Incident(
            incident_id=incident_id, category=fields["category"], area=fields["area"],
            case_ids=sorted(as_text(c) for c in cases), lead_case_id=fields["lead_case"],
            opened_at=from_epoch_ms(fields["opened_ms"]), status=fields["status"],
            closed_at=from_epoch_ms(fields["closed_ms"]) if fields.get("closed_ms") else None,
            queue=fields["queue"], severity=Severity(fields["severity"]),
        )

    async def open_incidents(self, limit: int = 20) -> list[Incident]:
        """The most recently opened incidents that are still open (for operators)."""
        ids = await until_redis_answers(
            lambda: self._client.zrevrange(f"{self.prefix}:incidents:open", 0, limit - 1),
            "listing open incidents")
        found = [await self.incident(as_text(i)) for i in ids]
        return [incident for incident in found if incident is not None]


@dataclass(frozen=True)
class Observation:
    """One case counted towards an incident (the arguments of `IncidentTracker.observe`)."""

    key: IncidentKey
    case_id: str
    received_at: datetime
    threshold: int
    window: timedelta
    proposed_id: str
    queue: str
    severity: Severity
    now: datetime


def _observe_args(prefix: str, o: Observation) -> list[str]:
    return [
        prefix, str(o.key), o.case_id, str(epoch_ms(o.received_at)),
        str(duration_ms(o.window)), str(o.threshold), o.proposed_id, o.queue,
        o.severity.value, str(epoch_ms(o.now)), str(duration_ms(INCIDENT_RETENTION)),
        o.key.category.value, o.key.area,
    ]


def _membership(raw: Any) -> IncidentMembership | None:
    role, incident_id, incident_queue, incident_severity, with_ = (
        as_text(v) if v not in (None, False) else "" for v in raw)
    if role == "none":
        return None
    return IncidentMembership(
        incident_id=incident_id, opened=role == "opened", queue=incident_queue,
        severity=Severity(incident_severity),
        linked_case_ids=tuple(with_.split(",")) if with_ and role == "opened" else (),
    )


__all__ = ["INCIDENT_RETENTION", "Closing", "CustomerHistory", "IncidentTracker", "Observation"]
