"""Redis-backed state of the intake stage: which events were seen, and stage counters.

Redis outages are waited out, not turned into lost events: every operation retries with
backoff until Redis answers, and the batch it belongs to is only acknowledged to Kafka
after it succeeded.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)


async def until_redis_answers(operation: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `operation`, retrying with capped backoff for as long as Redis is away."""
    delay, attempt = 0.1, 0
    while True:
        try:
            return await operation()
        except _TRANSIENT as exc:
            attempt += 1
            if attempt == 1 or attempt % 20 == 0:
                log.warning("redis unavailable while %s (%s); retrying", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def connect(url: str) -> "aioredis.Redis":
    """An asyncio Redis client with short socket timeouts (outages surface as retries)."""
    return aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=15
    )


class SeenEvents:
    """Event ids already turned into complaints, remembered for `ttl_s` seconds."""

    def __init__(self, client: "aioredis.Redis", prefix: str, ttl_s: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s

    def key(self, source: str, event_id: str) -> str:
        return f"{self._prefix}:seen:{source}:{event_id}"

    async def which_seen(self, keys: Sequence[str]) -> list[bool]:
        """For each key, whether its event was already accepted."""
        if not keys:
            return []

        async def read() -> list[bool]:
            values = await self._client.mget(list(keys))
            return [v is not None for v in values]

        return await until_redis_answers(read, "checking seen events")

    async def remember(self, case_by_key: Mapping[str, str]) -> None:
        """Mark events as accepted (after their complaints were published)."""
        if not case_by_key:
            return

        async def write() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, case_id in case_by_key.items():
                    pipe.set(key, case_id, ex=self._ttl_s)
                await pipe.execute()

        await until_redis_answers(write, "remembering seen events")


class StageCounters:
    """Running totals per stage (`intake.read`, `intake.dead_lettered`, …) in one hash.

    Shared by all workers, so `complaints run` and operators see pipeline-wide numbers.
    """

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.key = f"{prefix}:stats"

    async def add(self, counts: Mapping[str, int]) -> None:
        nonzero = {name: n for name, n in counts.items() if n}
        if not nonzero:
            return

        async def write() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                for name, n in nonzero.items():
                    pipe.hincrby(self.key, name, n)
                await pipe.execute()

        await until_redis_answers(write, "updating counters")

    async def read(self) -> dict[str, int]:
        raw = await self._client.hgetall(self.key)
        return {k.decode(): int(v) for k, v in raw.items()}


class RecentCases:
    """The newest case ids, for the operators' dashboard (a capped Redis list)."""

    def __init__(self, client: "aioredis.Redis", prefix: str, keep: int = 50) -> None:
        self._client = client
        self.key = f"{prefix}:recent"
        self._keep = keep

    async def add(self, case_ids: Sequence[str]) -> None:
        if not case_ids:
            return

        async def write() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.lpush(self.key, *case_ids)
                pipe.ltrim(self.key, 0, self._keep - 1)
                await pipe.execute()

        await until_redis_answers(write, "recording recent cases")

    async def read(self, limit: int = 20) -> list[str]:
        values = await self._client.lrange(self.key, 0, limit - 1)
        return [v.decode() for v in values]
