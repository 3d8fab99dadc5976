"""Redis work queues: one per handler queue; a case is claimed by one handler at a time.

Every state change is one Lua script, so it is atomic however many handlers and workers
run: a claim pops the best waiting case *and* records its lease in the same step, and a
case is never both waiting and leased, or leased twice. Key layout (docs/routing.md):

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

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis

from complaints.schemas.codes import Severity
from complaints.schemas.routing import ClaimedCase, QueueItem, QueueStats, RoutingDecision
from complaints.store.redis import RedisBatch, Reply, until_redis_answers

T = TypeVar("T")

#: Weight of the severity rank in a queue score: due_at in ms stays below it until 2286.
_RANK_WEIGHT = 10**13
#: Expired leases returned to the queue per claim (bounds the script's run time).
RECLAIM_PER_CLAIM = 100

# Shared by every script: key names, the server clock, and putting a case back.
_PRELUDE = """
local prefix = ARGV[1]
local function item_key(case) return prefix .. ':item:' .. case end
local function queue_key(q) return prefix .. ':queue:' .. q end
local function since_key(q) return prefix .. ':queue:' .. q .. ':since' end
local function leases_key(q) return prefix .. ':queue:' .. q .. ':leases' end
local function num(x) return string.format('%.0f', x) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- a leased case goes back to its queue, in the place its score and member give it
local function put_back(case, item)
  local f = redis.call('HMGET', item, 'queue', 'score', 'member', 'enqueued_ms')
  redis.call('ZREM', leases_key(f[1]), case)
  redis.call('HSET', item, 'state', 'waiting')
  redis.call('HDEL', item, 'handler', 'lease_expires_ms', 'claimed_ms')
  redis.call('ZADD', queue_key(f[1]), f[2], f[3])
  redis.call('ZADD', since_key(f[1]), f[4], case)
end
local function reclaim(q, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', leases_key(q), '-inf', num(now),
                             'LIMIT', 0, limit)
  for _, case in ipairs(expired) do
    local item = item_key(case)
    if redis.call('HGET', item, 'state') == 'leased' then
      put_back(case, item)
    else
      redis.call('ZREM', leases_key(q), case)
    end
  end
  return #expired
end
-- the item key and queue of a live lease held by `handler`, or nil and why not
local function live_lease(case, handler, now)
  local item = item_key(case)
  local f = redis.call('HMGET', item, 'state', 'handler', 'lease_expires_ms', 'queue')
  if not f[1] then return nil, 'not_found' end
  if f[1] ~= 'leased' then return nil, 'not_leased:' .. f[1] end
  if tonumber(f[3]) <= now then
    put_back(case, item)
    return nil, 'expired:' .. f[2]
  end
  if f[2] ~= handler then return nil, 'held_by:' .. f[2] end
  return item, f[4]
end
"""

# Placing a case (the route stage): put it in its queue, and fold cases under an incident.
_PLACE_FNS = """
-- A case waits in queue q (state 'waiting') or is stored under its incident ('held',
-- expiring with the retention). A case known already is left as it is: → {0, its decision}
local function enqueue(case, q, score, member, enqueued_ms, item_json, decision, state, ttl,
                       incident)
  local item = item_key(case)
  if redis.call('EXISTS', item) == 1 then
    return {0, redis.call('HGET', item, 'decision') or ''}
  end
  redis.call('HSET', item, 'case', case, 'queue', q, 'state', state, 'score', score,
             'member', member, 'enqueued_ms', enqueued_ms, 'claims', 0, 'item', item_json,
             'decision', decision, 'incident', incident)
  redis.call('SADD', prefix .. ':queues', q)
  if state == 'waiting' then
    redis.call('ZADD', queue_key(q), score, member)
    redis.call('ZADD', since_key(q), enqueued_ms, case)
  else
    redis.call('EXPIRE', item, ttl)
  end
  return {1, ''}
end
-- Links each known case of cases[first..last] to the incident; a case still waiting in
-- the incident's own queue leaves it and is held under the incident instead.
-- → how many held
local function hold(incident_id, incident_queue, ttl, cases, first, last)
  local held = 0
  for i = first, last do
    local case = cases[i]
    local item = item_key(case)
    local f = redis.call('HMGET', item, 'state', 'queue', 'member')
    if f[1] then
      redis.call('HSET', item, 'incident', incident_id)
      if f[1] == 'waiting' and f[2] == incident_queue then
        redis.call('ZREM', queue_key(f[2]), f[3])
        redis.call('ZREM', since_key(f[2]), case)
        redis.call('HSET', item, 'state', 'held')
        redis.call('EXPIRE', item, ttl)
        held = held + 1
      end
    end
  end
  return held
end
"""

_ENQUEUE = _PRELUDE + _PLACE_FNS + """
-- ARGV: prefix, case, queue, score, member, enqueued_ms, item, decision, state, ttl, incident
return enqueue(unpack(ARGV, 2, 11))
"""

_PLACE = _PRELUDE + _PLACE_FNS + """
-- ARGV: prefix, then the ops in order, each as its name, how many arguments follow, and
-- those: enqueue case, queue, score, member, enqueued_ms, item, decision, state, ttl,
-- incident | hold incident_id, incident_queue, ttl, case…
-- → JSON [{added, earlier decision} | number held, …]
local out, i = {}, 2
while i <= #ARGV do
  local count = tonumber(ARGV[i + 1])
  if ARGV[i] == 'enqueue' then
    out[#out + 1] = enqueue(unpack(ARGV, i + 2, i + 11))
  else
    out[#out + 1] = hold(ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV, i + 5, i + 1 + count)
  end
  i = i + 2 + count
end
return cjson.encode(out)
"""

_PLACED = _PRELUDE + """
-- ARGV: prefix, JSON [case, …]  → JSON [{1, decision} if the case is known else {0, ''}, …]
local cases, out = cjson.decode(ARGV[2]), {}
for i, case in ipairs(cases) do
  local item = item_key(case)
  if redis.call('EXISTS', item) == 1 then
    out[i] = {1, redis.call('HGET', item, 'decision') or ''}
  else
    out[i] = {0, ''}
  end
end
return cjson.encode(out)
"""

_CLAIM = _PRELUDE + """
-- ARGV: prefix, queue, handler, lease_ms, reclaim_limit
local q, handler, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
reclaim(q, now, tonumber(ARGV[5]))
while true do
  local popped = redis.call('ZPOPMIN', queue_key(q))
  if #popped == 0 then return false end
  local case = string.sub(popped[1], 15)
  redis.call('ZREM', since_key(q), case)
  local item = item_key(case)
  local f = redis.call('HMGET', item, 'state', 'queue')
  if f[1] == 'waiting' and f[2] == q then
    local expires = now + lease
    redis.call('HSET', item, 'state', 'leased', 'handler', handler,
               'lease_expires_ms', num(expires), 'claimed_ms', num(now))
    redis.call('HINCRBY', item, 'claims', 1)
    redis.call('ZADD', leases_key(q), num(expires), case)
    return redis.call('HGETALL', item)
  end
  -- an entry without a waiting item (deleted by hand, or stale): dropped, try the next
end
"""

_RELEASE = _PRELUDE + """
-- ARGV: prefix, case, handler
local item, why = live_lease(ARGV[2], ARGV[3], now_ms())
if not item then return why end
put_back(ARGV[2], item)
return 'ok'
"""

_COMPLETE = _PRELUDE + """
-- ARGV: prefix, case, handler, done_ttl_s
local now = now_ms()
local item, q = live_lease(ARGV[2], ARGV[3], now)
if not item then return q end
redis.call('ZREM', leases_key(q), ARGV[2])
redis.call('HSET', item, 'state', 'done', 'done_ms', num(now))
redis.call('HDEL', item, 'lease_expires_ms')
redis.call('EXPIRE', item, ARGV[4])
return 'ok'
"""

_RENEW = _PRELUDE + """
-- ARGV: prefix, case, handler, lease_ms
local now = now_ms()
local item, q = live_lease(ARGV[2], ARGV[3], now)
if not item then return q end
local expires = num(now + tonumber(ARGV[4]))
redis.call('HSET', item, 'lease_expires_ms', expires)
redis.call('ZADD', leases_key(q), expires, ARGV[2])
return 'ok:' .. expires
"""

_RECLAIM = _PRELUDE + """
-- ARGV: prefix, limit, queue…
local now, total = now_ms(), 0
for i = 3, #ARGV do total = total + reclaim(ARGV[i], now, tonumber(ARGV[2])) end
return total
"""

_STATS = _PRELUDE + """
-- ARGV: prefix, queue…  →  now, then per queue: depth, in_progress, oldest_ms|-1,
-- breaches, expired_leases
local now = now_ms()
local out = {num(now)}
for i = 2, #ARGV do
  local q = ARGV[i]
  local oldest = redis.call('ZRANGE', since_key(q), 0, 0, 'WITHSCORES')
  local breaches = 0
  for rank = 1, 4 do
    local base = rank * 1e13
    breaches = breaches + redis.call('ZCOUNT', queue_key(q), num(base), '(' .. num(base + now))
  end
  table.insert(out, redis.call('ZCARD', queue_key(q)))
  table.insert(out, redis.call('ZCARD', leases_key(q)))
  table.insert(out, oldest[2] or '-1')
  table.insert(out, breaches)
  table.insert(out, redis.call('ZCOUNT', leases_key(q), '-inf', num(now)))
end
return out
"""

_HOLD = _PRELUDE + _PLACE_FNS + """
-- ARGV: prefix, incident_id, incident_queue, ttl_s, case…  → how many were held
return hold(ARGV[2], ARGV[3], ARGV[4], ARGV, 5, #ARGV)
"""


_MOVE = _PRELUDE + """
-- ARGV: prefix, case, queue, score, member, item  → ok | held | done | not_found
-- The recovery stage hands a case to another desk (escalation, reassignment): it ends
-- any lease and waits, in its old age order, in the new queue.
local case, q = ARGV[2], ARGV[3]
local item = item_key(case)
local f = redis.call('HMGET', item, 'state', 'queue', 'member')
if not f[1] then return 'not_found' end
if f[1] == 'done' then return 'done' end
if f[1] == 'waiting' then
  redis.call('ZREM', queue_key(f[2]), f[3])
  redis.call('ZREM', since_key(f[2]), case)
elseif f[1] == 'leased' then
  redis.call('ZREM', leases_key(f[2]), case)
  redis.call('HDEL', item, 'handler', 'lease_expires_ms', 'claimed_ms')
end
redis.call('HSET', item, 'queue', q, 'score', ARGV[4], 'member', ARGV[5], 'item', ARGV[6])
redis.call('SADD', prefix .. ':queues', q)
if f[1] == 'held' then return 'held' end
redis.call('HSET', item, 'state', 'waiting')
redis.call('ZADD', queue_key(q), ARGV[4], ARGV[5])
redis.call('ZADD', since_key(q), redis.call('HGET', item, 'enqueued_ms'), case)
return 'ok'
"""

_FINISH = _PRELUDE + """
-- ARGV: prefix, case, done_ttl_s  → the case ended (closed or terminated): whoever holds
-- it, it leaves its queue for good.
local case = ARGV[2]
local item = item_key(case)
local f = redis.call('HMGET', item, 'state', 'queue', 'member')
if not f[1] or f[1] == 'done' then return 0 end
redis.call('ZREM', queue_key(f[2]), f[3])
redis.call('ZREM', since_key(f[2]), case)
redis.call('ZREM', leases_key(f[2]), case)
redis.call('HSET', item, 'state', 'done', 'done_ms', num(now_ms()))
redis.call('HDEL', item, 'lease_expires_ms')
redis.call('EXPIRE', item, ARGV[3])
return 1
"""

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
        self._enqueue = client.register_script(_ENQUEUE)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._complete = client.register_script(_COMPLETE)
        self._renew = client.register_script(_RENEW)
        self._reclaim = client.register_script(_RECLAIM)
        self._stats = client.register_script(_STATS)
        self._hold = client.register_script(_HOLD)
        self._place = client.register_script(_PLACE)
        self._placed = client.register_script(_PLACED)
        self._move = client.register_script(_MOVE)
        self._finish = client.register_script(_FINISH)

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
        return batch.script(self._placed, [], [self.prefix, _json(list(case_ids))],
                            lambda raw: [_enqueued(r) if r[0] else None
                                         for r in _json_list(raw)])

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
                         for r in _json_list(raw)])

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
            f"{_ms(item.enqueued_at):013d}|{item.case_id}", str(_ms(item.enqueued_at)),
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
                f"{_ms(item.enqueued_at):013d}|{case_id}", item.model_dump_json()]
        return _text(await self._run(lambda: self._move(keys=[], args=args),
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
            "claimed_at": _from_ms(fields["claimed_ms"]),
            "lease_expires_at": _from_ms(fields["lease_expires_ms"]),
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
        return _from_ms(result.removeprefix("ok:"))

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
        return sorted(_text(n) for n in names)

    async def inspect(self, case_id: str) -> WorkItemState | None:
        """Where a case stands, or None if the work queues do not know it."""
        raw = await self._run(lambda: self.client.hgetall(self.item_key(case_id)),
                              f"reading {case_id}")
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return WorkItemState(
            case_id=case_id, state=fields["state"], queue=fields["queue"],
            item=QueueItem.model_validate(_item_payload(fields)),
            handler=fields.get("handler") or None,
            lease_expires_at=_from_ms(fields["lease_expires_ms"])
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
        result = _text(await self._run(lambda: script(keys=[], args=args), f"{verb} {case_id}"))
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
    return rank * _RANK_WEIGHT + min(max(_ms(due_at), 0), _RANK_WEIGHT - 1)


def _enqueued(raw: Any) -> Enqueued:
    added, stored = raw
    earlier = RoutingDecision.model_validate_json(stored) if stored else None
    return Enqueued(added=bool(added), earlier=earlier)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_list(raw: Any) -> list[Any]:
    """A script's JSON array reply (Lua's cjson writes an empty array as `{}`)."""
    value = json.loads(raw)
    return value if isinstance(value, list) else []


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
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: str | int) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


__all__ = [
    "Enqueued",
    "LeaseError",
    "Placements",
    "WorkItemState",
    "WorkQueues",
    "queue_score",
]
