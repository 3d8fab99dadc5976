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

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from complaints.routing.decide import IncidentKey, IncidentMembership
from complaints.schemas.codes import Severity
from complaints.schemas.routing import Incident
from complaints.store.redis import RedisBatch, Reply, until_redis_answers

#: How long incident links are kept (closed incidents, case → incident pointers).
INCIDENT_RETENTION = timedelta(days=90)

_NUM = "local function num(x) return string.format('%.0f', x) end\n"

_RECORD_FN = """
-- the OTHER cases of the customer within the window before the case (first delivery's time)
local function record(key, case, at_ms, window_ms)
  local window = tonumber(window_ms)
  redis.call('ZADD', key, 'NX', at_ms, case)
  local at = tonumber(redis.call('ZSCORE', key, case))  -- first delivery's time
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(at - 2 * window))
  redis.call('PEXPIRE', key, num(2 * window))
  return redis.call('ZCOUNT', key, num(at - window), num(at)) - 1
end
"""

_RECORD = _NUM + _RECORD_FN + """
-- KEYS: history.  ARGV: case, at_ms, window_ms.  → the OTHER cases within the window
return record(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
"""

_RECORD_MANY = _NUM + _RECORD_FN + """
-- KEYS: one history per case.  ARGV: window_ms, JSON [[case, at_ms], …]
-- → JSON [count, …]: `record` for each case, in order
local cases, out = cjson.decode(ARGV[2]), {}
for i, c in ipairs(cases) do out[i] = record(KEYS[i], c[1], c[2], ARGV[1]) end
return cjson.encode(out)
"""

_OBSERVE_FN = """
-- prefix, where (category:area), case, at_ms, window_ms, threshold, proposed id,
-- queue, severity, now_ms, retention_ms, category, area
-- → {role (opened|joined|none), id, queue, severity, opened_with (comma-separated)}
local function observe(prefix, where, case, at_ms, window_ms, threshold, proposed_id,
                       queue, severity, now_ms, retention, category, area)
  local at, window, k = tonumber(at_ms), tonumber(window_ms), tonumber(threshold)
  local member_key = prefix .. ':case-incident:' .. case
  local function incident_key(id) return prefix .. ':incident:' .. id end
  local function answer(id, role)
    local f = redis.call('HMGET', incident_key(id), 'queue', 'severity', 'opened_with')
    return {role, id, f[1], f[2], f[3] or ''}
  end

  -- a redelivered case: the same answer as the first time
  local known = redis.call('GET', member_key)
  if known then
    local lead = redis.call('HGET', incident_key(known), 'lead_case')
    return answer(known, lead == case and 'opened' or 'joined')
  end

  -- an open incident here takes in cases up to W after its latest one
  local open_key = prefix .. ':incident-open:' .. where
  local open = redis.call('GET', open_key)
  if open then
    local inc = incident_key(open)
    local f = redis.call('HMGET', inc, 'status', 'last_at_ms')
    if f[1] == 'open' and at <= tonumber(f[2]) + window then
      redis.call('SADD', inc .. ':cases', case)
      if at > tonumber(f[2]) then redis.call('HSET', inc, 'last_at_ms', num(at)) end
      redis.call('SET', member_key, open, 'PX', retention)
      return answer(open, 'joined')
    end
    redis.call('DEL', open_key)
  end

  -- count this case and its peers of the last W minutes
  local window_key = prefix .. ':incident-window:' .. where
  redis.call('ZADD', window_key, 'NX', num(at), case)
  redis.call('ZREMRANGEBYSCORE', window_key, '-inf', '(' .. num(at - 2 * window))
  redis.call('PEXPIRE', window_key, num(2 * window))
  -- events arrive out of order (partitions, retries): find the fullest W-long window
  -- that contains this case, among the cases up to W before and after it
  local near = redis.call('ZRANGEBYSCORE', window_key, num(at - window), num(at + window),
                          'WITHSCORES')
  local times = {}
  for i = 2, #near, 2 do table.insert(times, tonumber(near[i])) end
  local recent, last = 0, 1
  for first = 1, #times do
    if times[first] > at then break end
    if last < first then last = first end
    while last + 1 <= #times and times[last + 1] <= times[first] + window do last = last + 1 end
    if times[last] >= at and last - first + 1 > recent then recent = last - first + 1 end
  end
  if recent < k then return {'none', '', '', '', tostring(recent)} end

  -- the K-th case: open the incident; it takes in every case within W of this one
  local id = proposed_id
  local inc = incident_key(id)
  local peers = {}
  for i = 1, #near, 2 do table.insert(peers, near[i]) end
  local others = {}
  for _, peer in ipairs(peers) do
    redis.call('SADD', inc .. ':cases', peer)
    redis.call('SET', prefix .. ':case-incident:' .. peer, id, 'PX', retention)
    if peer ~= case then table.insert(others, peer) end
  end
  redis.call('DEL', window_key)
  local opened_with = table.concat(others, ',')
  redis.call('HSET', inc, 'incident_id', id, 'category', category, 'area', area,
             'status', 'open', 'queue', queue, 'severity', severity, 'lead_case', case,
             'opened_with', opened_with, 'opened_ms', now_ms, 'last_at_ms', num(at))
  redis.call('SET', open_key, id, 'PX', retention)
  redis.call('ZADD', prefix .. ':incidents:open', now_ms, id)
  return {'opened', id, queue, severity, opened_with}
end
"""

_OBSERVE = _NUM + _OBSERVE_FN + """
-- ARGV: the arguments of `observe`, in its order
return observe(unpack(ARGV))
"""

_OBSERVE_MANY = _NUM + _OBSERVE_FN + """
-- ARGV: JSON [[the arguments of `observe`], …]  → JSON [answer, …]: each case in order
local cases, out = cjson.decode(ARGV[1]), {}
for i, c in ipairs(cases) do out[i] = observe(unpack(c)) end
return cjson.encode(out)
"""

_CLOSE = """
-- ARGV: prefix, case, now_ms, retention_s  → {incident id, status after} or false
local prefix, case = ARGV[1], ARGV[2]
local id = redis.call('GET', prefix .. ':case-incident:' .. case)
if not id then return false end
local inc = prefix .. ':incident:' .. id
redis.call('SADD', inc .. ':closed', case)
if redis.call('HGET', inc, 'status') ~= 'open' then return {id, 'closed', '0'} end
if #redis.call('SDIFF', inc .. ':cases', inc .. ':closed') > 0 then return {id, 'open', '0'} end
redis.call('HSET', inc, 'status', 'closed', 'closed_ms', ARGV[3])
redis.call('ZREM', prefix .. ':incidents:open', id)
local f = redis.call('HMGET', inc, 'category', 'area')
local open_key = prefix .. ':incident-open:' .. f[1] .. ':' .. f[2]
if redis.call('GET', open_key) == id then redis.call('DEL', open_key) end
for _, key in ipairs({inc, inc .. ':cases', inc .. ':closed'}) do
  redis.call('EXPIRE', key, ARGV[4])
end
return {id, 'closed', '1'}
"""


class CustomerHistory:
    """Each customer's cases by time, to tell a repeat complaint (重复投诉) from a first."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.prefix = prefix
        self._record = client.register_script(_RECORD)
        self._record_many = client.register_script(_RECORD_MANY)

    def key(self, subject: str) -> str:
        return f"{self.prefix}:history:{subject}"

    async def record_case(
        self, subject: str, case_id: str, received_at: datetime, window: timedelta
    ) -> int:
        """Remember the case; return how many OTHER cases the customer had in the
        `window` before it. Recording the same case again changes nothing."""
        args = [case_id, str(_ms(received_at)), str(int(window.total_seconds() * 1000))]
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
        entries = [[case_id, str(_ms(received_at))] for _, case_id, received_at in cases]
        return batch.script(self._record_many, keys,
                            [str(int(window.total_seconds() * 1000)), _json(entries)],
                            lambda raw: [int(n) for n in _json_list(raw)])


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
        self._observe = client.register_script(_OBSERVE)
        self._observe_many = client.register_script(_OBSERVE_MANY)
        self._close = client.register_script(_CLOSE)

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
        return batch.script(self._observe_many, [], [_json(cases)],
                            lambda raw: [_membership(a) for a in _json_list(raw)])

    async def close_case(self, case_id: str, now: datetime | None = None) -> Closing | None:
        """Record that a case is closed (for the recovery stage); the incident closes
        with its last open case. None when the case belongs to no incident."""
        moment = now or datetime.now(UTC)
        args = [self.prefix, case_id, str(_ms(moment)),
                str(int(INCIDENT_RETENTION.total_seconds()))]
        raw = await until_redis_answers(lambda: self._close(keys=[], args=args),
                                        f"closing {case_id} in its incident")
        if not raw:
            return None
        incident_id, _, closed_now = (_text(v) for v in raw)
        return Closing(incident_id=incident_id, incident_closed=closed_now == "1")

    async def incident_of(self, case_id: str) -> str | None:
        """The id of the incident a case belongs to, if any."""
        value = await until_redis_answers(
            lambda: self._client.get(f"{self.prefix}:case-incident:{case_id}"),
            "reading incident link")
        return _text(value) if value else None

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
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return Incident(
            incident_id=incident_id, category=fields["category"], area=fields["area"],
            case_ids=sorted(_text(c) for c in cases), lead_case_id=fields["lead_case"],
            opened_at=_from_ms(fields["opened_ms"]), status=fields["status"],
            closed_at=_from_ms(fields["closed_ms"]) if fields.get("closed_ms") else None,
            queue=fields["queue"], severity=Severity(fields["severity"]),
        )

    async def open_incidents(self, limit: int = 20) -> list[Incident]:
        """The most recently opened incidents that are still open (for operators)."""
        ids = await until_redis_answers(
            lambda: self._client.zrevrange(f"{self.prefix}:incidents:open", 0, limit - 1),
            "listing open incidents")
        found = [await self.incident(_text(i)) for i in ids]
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
        prefix, str(o.key), o.case_id, str(_ms(o.received_at)),
        str(int(o.window.total_seconds() * 1000)), str(o.threshold), o.proposed_id, o.queue,
        o.severity.value, str(_ms(o.now)), str(int(INCIDENT_RETENTION.total_seconds() * 1000)),
        o.key.category.value, o.key.area,
    ]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_list(raw: Any) -> list[Any]:
    """A script's JSON array reply (Lua's cjson writes an empty array as `{}`)."""
    value = json.loads(raw)
    return value if isinstance(value, list) else []


def _membership(raw: Any) -> IncidentMembership | None:
    role, incident_id, incident_queue, incident_severity, with_ = (
        _text(v) if v not in (None, False) else "" for v in raw)
    if role == "none":
        return None
    return IncidentMembership(
        incident_id=incident_id, opened=role == "opened", queue=incident_queue,
        severity=Severity(incident_severity),
        linked_case_ids=tuple(with_.split(",")) if with_ and role == "opened" else (),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


__all__ = ["INCIDENT_RETENTION", "Closing", "CustomerHistory", "IncidentTracker", "Observation"]
