"""Redis work queues: one per handler queue; a case is claimed by one handler at a time.

Every state change is one Lua script (`lua/queues_*.lua`), so it is atomic however many
handlers and workers run: a claim pops the best waiting case *and* records its lease in
the same step, and a case is never both waiting and leased, or leased twice. Key layout
(docs/routing.md):

    {prefix}:queue:{name}          ZSET waiting cases. score = severity rank · 10¹³ + due_at
                                   in ms, member = "{enqueued_ms:013d}|{case_id}" — so the
                                   lowest entry is the most severe, then the earliest due,
                                   then (same score: members compare as strings) the oldest.
    {prefix}:queue:{name}:since    ZSET case_id → enqueued ms (oldest wait, for stats).
    {prefix}:queue:{name}:leases   ZSET case_id → lease expiry ms (in-progress cases).
    {prefix}:item:{case_id}        HASH state (waiting|leased|held|done), queue, score,
                                   member, enqueued_ms, handler, lease_expires_ms,
                                   claimed_ms, claims, incident, item (QueueItem JSON),
                                   decision (RoutingDecision JSON).
    {prefix}:queues                SET of every queue name that has had a case.

Lease times use the Redis server clock (`TIME`), one clock for every handler machine, so
clock skew between desks cannot hand a live lease to someone else. Expired leases go back
to the queue inside every claim (and through `reclaim_expired`), in their old place.

The scripts build key names from the prefix, so all keys must live on one Redis node
(no Redis Cluster). Pipeline-side calls wait out Redis outages (`until_redis_answers`);
the handler CLI passes `patient=False` and gets the error at once.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis

from complaints.schemas.codes import Severity
from complaints.schemas.routing import ClaimedCase, QueueItem, QueueStats, RoutingDecision
from complaints.store.encoding import as_text, compact_json, epoch_ms, from_epoch_ms, json_list
from complaints.store.redis import RedisBatch, Reply, lua_script, until_redis_answers

T = TypeVar("T")

#: Weight of the severity rank in a queue score: due_at in ms stays below it until 2286.
_RANK_WEIGHT = 10**13
#: Expired leases returned to the queue per claim (bounds the script's run time).
RECLAIM_PER_CLAIM = 100


class LeaseError(Exception):
    """A release, completion or renewal that is refused; `reason` says why.

    Reasons: `not_found` (no such case), `not_leased` (waiting, held or done),
    `expired` (the lease ran out: the case is back in its queue), `held_by_other`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Enqueued:
    """Outcome of an enqueue: `added` is False when the case was placed before."""

    added: bool
    earlier: RoutingDecision | None = None  # the decision stored by the first enqueue


@dataclass(frozen=True)
class WorkItemState:
    """Where a case stands in the work queues (for `complaints case`, tests, operators)."""

    case_id: str
    state: str  # waiting | leased | held | done
    queue: str
    item: QueueItem
    handler: str | None
    lease_expires_at: datetime | None
    claim_count: int
    incident_id: str | None


class Placements:
    """Enqueues and holds to run together, in this order (`WorkQueues.place_in`)."""

    def __init__(self, queues: "WorkQueues") -> None:
        self._queues = queues
        self.count = 0
        #: The ops as the script reads them: name, number of arguments, the arguments.
        self.args: list[str] = []

    def enqueue(self, item: QueueItem, *, decision: RoutingDecision | None = None,
                held: bool = False) -> int:
        """As `WorkQueues.enqueue`; returns the index of its answer."""
        return self._add("enqueue", self._queues._enqueue_args(item, decision, held)[1:])

    def hold(self, case_ids: Sequence[str], incident_id: str, incident_queue: str) -> None:
        """As `WorkQueues.hold_under_incident`."""
        if case_ids:
            self._add("hold", [incident_id, incident_queue, str(self._queues.done_ttl_s),
                               *case_ids])

    def _add(self, op: str, args: list[str]) -> int:
        self.args += [op, str(len(args)), *args]
        self.count += 1
        return self.count - 1


class WorkQueues:
    """The handler queues of one pipeline (one key prefix) in Redis."""

    def __init__(
        self, client: "aioredis.Redis", prefix: str, *, done_ttl_s: int = 14 * 86_400,
        patient: bool = True,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._done_ttl_s = done_ttl_s
        self._patient = patient
        self._enqueue = client.register_script(_queue_script("enqueue", places=True))
        self._claim = client.register_script(_queue_script("claim"))
        self._release = client.register_script(_queue_script("release"))
        self._complete = client.register_script(_queue_script("complete"))
        self._renew = client.register_script(_queue_script("renew"))
        self._reclaim = client.register_script(_queue_script("reclaim"))
        self._stats = client.register_script(_queue_script("stats"))
        self._hold = client.register_script(_queue_script("hold", places=True))
        self._place = client.register_script(_queue_script("place", places=True))
        self._placed = client.register_script(_queue_script("placed"))
        self._move = client.register_script(_queue_script("move"))
        self._finish = client.register_script(_queue_script("finish"))

    # --- keys -------------------------------------------------------------------------
    def queue_key(self, queue: str) -> str:
        return f"{self.prefix}:queue:{queue}"

    def item_key(self, case_id: str) -> str:
        return f"{self.prefix}:item:{case_id}"

    # --- the pipeline side --------------------------------------------------------------
    async def enqueue(
        self, item: QueueItem, *, decision: RoutingDecision | None = None, held: bool = False,
    ) -> Enqueued:
        """Put a case in its queue (or, `held`, store it under its incident, unclaimable).

        Idempotent: a case already known — waiting, leased, held or done within the
        retention — is left as it is, and the decision stored with it is returned.
        """
        args = self._enqueue_args(item, decision, held)
        return _enqueued(await self._run(lambda: self._enqueue(keys=[], args=args),
                                         f"enqueueing {item.case_id}"))

    def placed_in(self, batch: RedisBatch,
                  case_ids: Sequence[str]) -> Reply[list[Enqueued | None]] | None:
        """For each case, what `enqueue` would answer if it is placed already (None: not
        placed yet), as one script in a batch. Only a look: `enqueue` itself decides."""
        if not case_ids:
            return None
        return batch.script(self._placed, [], [self.prefix, compact_json(list(case_ids))],
                            lambda raw: [_enqueued(r) if r[0] else None
                                         for r in json_list(raw)])

    def place_in(self, batch: RedisBatch,
                 placements: "Placements") -> Reply[list[Enqueued | int]] | None:
        """Run the enqueues and holds of `placements`, in their order, as one script in a
        batch: each one as `enqueue` / `hold_under_incident` would. The answers, in
        order: an `Enqueued` per enqueue, the number of cases held per hold."""
        if not placements.count:
            return None
        return batch.script(
            self._place, [], [self.prefix, *placements.args],
            lambda raw: [_enqueued(r) if isinstance(r, list) else int(r)
                         for r in json_list(raw)])

    @property
    def done_ttl_s(self) -> int:
        return self._done_ttl_s

    def placements(self) -> Placements:
        """An empty set of enqueues and holds for `place_in`."""
        return Placements(self)

    def _enqueue_args(self, item: QueueItem, decision: RoutingDecision | None,
                      held: bool) -> list[str]:
        return [
            self.prefix, item.case_id, item.queue, str(queue_score(item.severity, item.due_at)),
            f"{epoch_ms(item.enqueued_at):013d}|{item.case_id}", str(epoch_ms(item.enqueued_at)),
            item.model_dump_json(), decision.model_dump_json() if decision else "",
            "held" if held else "waiting", str(self._done_ttl_s), item.incident_id or "",
        ]

    async def hold_under_incident(
        self, case_ids: Sequence[str], incident_id: str, incident_queue: str
    ) -> int:
        """Link cases to an incident; those still waiting in its queue are held under it.

        Cases on other desks or already claimed keep their ticket (they are only linked).
        Returns how many cases left the queue.
        """
        if not case_ids:
            return 0
        args = [self.prefix, incident_id, incident_queue, str(self._done_ttl_s), *case_ids]
        return int(await self._run(lambda: self._hold(keys=[], args=args),
                                   f"holding cases under {incident_id}"))

    # --- the handler side ----------------------------------------------------------------
    async def move(self, case_id: str, queue: str, *, severity: Severity,
                   priority: int | None) -> str:
        """Hand a case to another desk (recovery's escalation or reassignment).

        Any lease ends; the case waits in `queue` at its new severity, keeping its age.
        Returns `ok`, `held` (under an incident: only its desk is recorded), `done`
        or `not_found`. Idempotent.
        """
        state = await self.inspect(case_id)
        if state is None:
            return "not_found"
        update: dict[str, object] = {"queue": queue, "severity": severity}
        if priority is not None:
            update["priority"] = priority
        item = state.item.model_copy(update=update)
        args = [self.prefix, case_id, queue, str(queue_score(severity, item.due_at)),
                f"{epoch_ms(item.enqueued_at):013d}|{case_id}", item.model_dump_json()]
        return as_text(await self._run(lambda: self._move(keys=[], args=args),
                                     f"moving {case_id} to {queue}"))

    async def finish(self, case_id: str) -> bool:
        """The case ended: it leaves its queue whoever holds it. Idempotent."""
        args = [self.prefix, case_id, str(self._done_ttl_s)]
        return bool(await self._run(lambda: self._finish(keys=[], args=args),
                                    f"finishing {case_id}"))

    async def claim(self, queue: str, handler: str, lease_s: float) -> ClaimedCase | None:
        """The best waiting case of `queue`, now leased to `handler`; None when empty."""
        args = [self.prefix, queue, handler, str(int(lease_s * 1000)), str(RECLAIM_PER_CLAIM)]
        raw = await self._run(lambda: self._claim(keys=[], args=args), f"claiming from {queue}")
        if not raw:
            return None
        fields = _as_dict(raw)
        return ClaimedCase.model_validate({
            **_item_payload(fields),
            "handler": fields["handler"],
            "claimed_at": from_epoch_ms(fields["claimed_ms"]),
            "lease_expires_at": from_epoch_ms(fields["lease_expires_ms"]),
            "claim_count": int(fields["claims"]),
        })

    async def release(self, case_id: str, handler: str) -> None:
        """Give a claimed case back: it returns to its queue, in its old place."""
        await self._lease_call(self._release, [self.prefix, case_id, handler], case_id, "release")

    async def complete(self, case_id: str, handler: str) -> None:
        """End the lease for good: the case leaves the queue (kept `done` for a while)."""
        await self._lease_call(self._complete, [self.prefix, case_id, handler,
                                                str(self._done_ttl_s)], case_id, "complete")

    async def renew(self, case_id: str, handler: str, lease_s: float) -> datetime:
        """Extend a live lease by `lease_s` from now; returns the new expiry."""
        result = await self._lease_call(
            self._renew, [self.prefix, case_id, handler, str(int(lease_s * 1000))],
            case_id, "renew")
        return from_epoch_ms(result.removeprefix("ok:"))

    async def reclaim_expired(self, queues: Sequence[str] | None = None,
                              limit: int = 10_000) -> int:
        """Return every expired lease of `queues` (default: all) to its queue."""
        names = list(queues) if queues is not None else await self.known_queues()
        if not names:
            return 0
        args = [self.prefix, str(limit), *names]
        return int(await self._run(lambda: self._reclaim(keys=[], args=args),
                                   "reclaiming expired leases"))

    # --- looking --------------------------------------------------------------------------
    async def stats(self, queues: Sequence[str] | None = None) -> dict[str, QueueStats]:
        """Depth, in-progress, oldest wait and breaches per queue (default: all known)."""
        names = list(queues) if queues is not None else await self.known_queues()
        if not names:
            return {}
        args = [self.prefix, *names]
        raw = await self._run(lambda: self._stats(keys=[], args=args), "reading queue stats")
        return _queue_stats(names, raw)

    def stats_in(self, batch: RedisBatch,
                 queues: Sequence[str]) -> Reply[dict[str, QueueStats]] | None:
        """`stats` of the named queues, as part of a batch of Redis calls."""
        names = list(queues)
        if not names:
            return None
        return batch.script(self._stats, [], [self.prefix, *names],
                            lambda raw: _queue_stats(names, raw))

    async def known_queues(self) -> list[str]:
        """Every queue that has ever held a case under this prefix, sorted."""
        names = await self._run(lambda: self.client.smembers(f"{self.prefix}:queues"),
                                "listing queues")
        return sorted(as_text(n) for n in names)

    async def inspect(self, case_id: str) -> WorkItemState | None:
        """Where a case stands, or None if the work queues do not know it."""
        raw = await self._run(lambda: self.client.hgetall(self.item_key(case_id)),
                              f"reading {case_id}")
        if not raw:
            return None
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        return WorkItemState(
            case_id=case_id, state=fields["state"], queue=fields["queue"],
            item=QueueItem.model_validate(_item_payload(fields)),
            handler=fields.get("handler") or None,
            lease_expires_at=from_epoch_ms(fields["lease_expires_ms"])
            if fields.get("lease_expires_ms") else None,
            claim_count=int(fields.get("claims", 0)),
            incident_id=fields.get("incident") or None,
        )

    # --- plumbing -------------------------------------------------------------------------
    async def _run(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        if self._patient:
            return await until_redis_answers(operation, what)
        return await operation()

    async def _lease_call(self, script: Any, args: list[str], case_id: str, verb: str) -> str:
        result = as_text(await self._run(lambda: script(keys=[], args=args), f"{verb} {case_id}"))
        if result.startswith("ok"):
            return result
        reason, _, detail = result.partition(":")
        messages = {
            "not_found": f"case {case_id} is not in any work queue",
            "not_leased": f"case {case_id} is not claimed (it is {detail}); claim it first",
            "expired": f"the lease on case {case_id} held by {detail} expired; it is back "
                       "in its queue — claim it again",
            "held_by": f"case {case_id} is claimed by {detail}, not by you",
        }
        code = "held_by_other" if reason == "held_by" else reason
        raise LeaseError(code, f"cannot {verb}: " + messages.get(reason, result))


def queue_score(severity: Severity, due_at: datetime) -> int:
    """Score of a waiting case: severity rank first, then due time (lowest first)."""
    rank = int(severity.value.removeprefix("P"))
    return rank * _RANK_WEIGHT + min(max(epoch_ms(due_at), 0), _RANK_WEIGHT - 1)


def _queue_script(name: str, *, places: bool = False) -> str:
    """Work-queue script `name`: the shared prelude (and, for the scripts that place
    cases, `enqueue` and `hold`) first, then its body (`lua/queues_{name}.lua`)."""
    shared = ("num", "queues_prelude", *(("queues_place_fns",) if places else ()))
    return lua_script(*shared, f"queues_{name}")


def _enqueued(raw: Any) -> Enqueued:
    added, stored = raw
    earlier = RoutingDecision.model_validate_json(stored) if stored else None
    return Enqueued(added=bool(added), earlier=earlier)


def _queue_stats(names: Sequence[str], raw: Any) -> dict[str, QueueStats]:
    now_ms = int(raw[0])
    result = {}
    for index, name in enumerate(names):
        depth, in_progress, oldest, breaches, expired = raw[1 + 5 * index: 6 + 5 * index]
        oldest_ms = int(float(oldest))
        result[name] = QueueStats(
            queue=name, depth=int(depth), in_progress=int(in_progress),
            oldest_wait_s=max(0.0, (now_ms - oldest_ms) / 1000) if oldest_ms >= 0 else None,
            breaches=int(breaches), expired_leases=int(expired),
        )
    return result


def _item_payload(fields: dict[str, str]) -> dict[str, Any]:
    """The stored QueueItem, with the incident link added after enqueueing, if any."""
    payload = QueueItem.model_validate_json(fields["item"]).model_dump()
    if fields.get("incident"):
        payload["incident_id"] = fields["incident"]
    return payload


def _as_dict(flat: list[Any]) -> dict[str, str]:
    return {as_text(flat[i]): as_text(flat[i + 1]) for i in range(0, len(flat), 2)}


__all__ = [
    "Enqueued",
    "LeaseError",
    "Placements",
    "WorkItemState",
    "WorkQueues",
    "queue_score",
]
