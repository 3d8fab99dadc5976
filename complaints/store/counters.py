"""Pipeline-wide numbers in Redis: stage counters and the newest cases.

Shared by all workers, so `complaints run` and operators see the whole pipeline, not
one worker. Both are written as part of a stage's `RedisBatch`, which is sent again
when its reply is lost; so both are idempotent per batch.

    {prefix}:stats            HASH   counter name → total
    {prefix}:counted:{id}     STRING an addition already counted (expires)
    {prefix}:recent           LIST   newest case ids first (capped)
"""

import secrets
from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis

from complaints.store.redis import RedisBatch, lua_script

#: How long an addition's id is remembered: longer than any retry of one batch lasts.
COUNTED_ID_TTL_S = 3_600


class StageCounters:
    """Running totals per stage (`intake.read`, `intake.dead_lettered`, …) in one hash.

    Each addition carries an id: when a batch is sent again because its reply was lost,
    Redis finds the id and counts nothing twice.
    """

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.key = f"{prefix}:stats"
        self._prefix = prefix
        self._count = client.register_script(lua_script("counters_count_once"))

    async def add(self, counts: Mapping[str, int]) -> None:
        batch = RedisBatch(self._client)
        self.add_in(batch, counts)
        await batch.run("updating counters")

    def add_in(self, batch: RedisBatch, counts: Mapping[str, int],
               addition_id: str | None = None) -> None:
        """`add`, as part of a batch of Redis calls; `addition_id` names this addition
        (a fresh one when not given)."""
        pairs = [part for name, n in counts.items() if n for part in (name, n)]
        if pairs:
            once = f"{self._prefix}:counted:{addition_id or secrets.token_hex(8)}"
            batch.script(self._count, [self.key, once], [COUNTED_ID_TTL_S, *pairs])

    async def read(self) -> dict[str, int]:
        raw = await self._client.hgetall(self.key)
        return {k.decode(): int(v) for k, v in raw.items()}


class RecentCases:
    """The newest case ids, for the operators' dashboard (a capped Redis list)."""

    def __init__(self, client: "aioredis.Redis", prefix: str, keep: int = 50) -> None:
        self._client = client
        self.key = f"{prefix}:recent"
        self._keep = keep
        self._push = client.register_script(lua_script("counters_push_recent"))

    async def add(self, case_ids: Sequence[str]) -> None:
        batch = RedisBatch(self._client)
        self.add_in(batch, case_ids)
        await batch.run("recording recent cases")

    def add_in(self, batch: RedisBatch, case_ids: Sequence[str]) -> None:
        """`add`, as part of a batch of Redis calls; a case already listed moves to the
        front, so a batch sent again lists nothing twice."""
        if case_ids:
            batch.script(self._push, [self.key], [self._keep, *case_ids[-self._keep:]])

    async def read(self, limit: int = 20) -> list[str]:
        values = await self._client.lrange(self.key, 0, limit - 1)
        return [v.decode() for v in values]
