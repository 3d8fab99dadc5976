"""Where each case lives between events: a Redis snapshot, its event history, its timer.

The audit trail is `complaints.case-events.v1`; Redis keeps what a worker needs to
decide the next event quickly and to survive restarts:

    {prefix}:case:{id}            STRING the `Case` snapshot (JSON), version of its last event
    {prefix}:case:{id}:events     LIST   every case event (JSON), in version order
    {prefix}:case-timers          ZSET   case id → when its next SLA timer falls due (ms)
    {prefix}:action:{action_id}   STRING the outcome of one handler action (for `act`)
    {prefix}:case-lock:{id}       STRING a short lock: one worker decides for a case at once

A snapshot and its events are written in one MULTI, so they never disagree; a timer is
claimed with a lease, so a crashed worker's timers fire elsewhere, and a fired timer is
recorded in the case, so it never fires twice.
"""

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import redis.asyncio as aioredis

from complaints.pipeline.store import until_redis_answers
from complaints.schemas.case import CASE_EVENT, ActionRejected, Case, CaseEvent

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_CLAIM_TIMERS = """
-- KEYS[1] timers; ARGV: now_ms, lease_ms, limit → case ids now leased to the caller
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, case in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), case)
end
return due
"""
ACTION_OUTCOME_TTL_S = 7 * 86_400
LOCK_TTL_MS = 30_000
TIMER_LEASE_MS = 30_000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class CaseStore:
    """Snapshots, histories, timers and action outcomes of the cases of one pipeline."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.timers_key = f"{prefix}:case-timers"
        self._release = client.register_script(_RELEASE)
        self._claim = client.register_script(_CLAIM_TIMERS)

    def _case_key(self, case_id: str) -> str:
        return f"{self.prefix}:case:{case_id}"

    async def load(self, case_id: str) -> Case | None:
        raw = await until_redis_answers(lambda: self.client.get(self._case_key(case_id)),
                                        f"loading case {case_id}")
        return Case.model_validate_json(raw) if raw else None

    async def history(self, case_id: str) -> list[CaseEvent]:
        raw = await until_redis_answers(
            lambda: self.client.lrange(f"{self._case_key(case_id)}:events", 0, -1),
            f"reading history of {case_id}")
        return [CASE_EVENT.validate_json(item) for item in raw]

    async def commit(self, case: Case, events: Sequence[CaseEvent],
                     next_timer: datetime | None) -> None:
        """Append the events, store the new snapshot, re-arm the timer: all or nothing."""
        outcomes = _outcomes(events)

        async def write() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                if events:
                    pipe.rpush(f"{self._case_key(case.case_id)}:events",
                               *(e.model_dump_json() for e in events))
                pipe.set(self._case_key(case.case_id), case.model_dump_json())
                if next_timer is None:
                    pipe.zrem(self.timers_key, case.case_id)
                else:
                    pipe.zadd(self.timers_key, {case.case_id: _ms(next_timer)})
                for action_id, outcome in outcomes.items():
                    pipe.set(f"{self.prefix}:action:{action_id}", outcome,
                             ex=ACTION_OUTCOME_TTL_S)
                await pipe.execute()

        await until_redis_answers(write, f"saving case {case.case_id}")

    async def rearm(self, case_id: str, next_timer: datetime | None) -> None:
        """Put a claimed timer back when nothing was due after all."""
        if next_timer is None:
            await until_redis_answers(lambda: self.client.zrem(self.timers_key, case_id),
                                      "disarming a timer")
        else:
            await until_redis_answers(
                lambda: self.client.zadd(self.timers_key, {case_id: _ms(next_timer)}),
                "re-arming a timer")

    async def claim_due_timers(self, now: datetime, limit: int = 200) -> list[str]:
        """Cases whose timer is due, leased to this worker for `TIMER_LEASE_MS`."""
        raw = await until_redis_answers(
            lambda: self._claim(keys=[self.timers_key],
                                args=[_ms(now), TIMER_LEASE_MS, limit]),
            "claiming due timers")
        return [item.decode() if isinstance(item, bytes) else str(item) for item in raw]

    async def action_outcome(self, action_id: str) -> dict[str, object] | None:
        raw = await self.client.get(f"{self.prefix}:action:{action_id}")
        return json.loads(raw) if raw else None

    @contextlib.asynccontextmanager
    async def locked(self, case_id: str) -> AsyncIterator[None]:
        """Hold the case's lock (waits while another worker decides for it)."""
        key, token = f"{self.prefix}:case-lock:{case_id}", secrets.token_hex(8)
        while not await until_redis_answers(
                lambda: self.client.set(key, token, nx=True, px=LOCK_TTL_MS),
                f"locking {case_id}"):
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            await until_redis_answers(lambda: self._release(keys=[key], args=[token]),
                                      f"unlocking {case_id}")


def _outcomes(events: Sequence[CaseEvent]) -> dict[str, str]:
    """Per handler action: accepted or rejected, and the events it caused (for `act`)."""
    outcomes: dict[str, list[CaseEvent]] = {}
    for event in events:
        if event.action_id and not event.action_id.startswith("sla:"):
            outcomes.setdefault(event.action_id, []).append(event)
    return {
        action_id: json.dumps({
            "accepted": not any(isinstance(e, ActionRejected) for e in caused),
            "reason": next((e.reason for e in caused if isinstance(e, ActionRejected)), None),
            "state": caused[-1].state_after.value,
            "events": [e.model_dump(mode="json") for e in caused],
        }, ensure_ascii=False)
        for action_id, caused in outcomes.items()
    }
