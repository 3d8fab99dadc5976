"""The time the recovery stage decides by.

`SystemClock` in production. `RedisClock` (setting `COMPLAINTS_CLOCK=redis`) reads the
time from `{prefix}:clock` when that key is set — so tests and demos can move a whole
pipeline, across worker restarts, to "80 % of a deadline" without waiting for it.
"""

from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis


class Clock(Protocol):
    async def now(self) -> datetime: ...


class SystemClock:
    async def now(self) -> datetime:
        return datetime.now(UTC)


class RedisClock:
    """The time stored in Redis (ISO 8601), or the system time when none is stored."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.key = f"{prefix}:clock"

    async def now(self) -> datetime:
        raw = await self._client.get(self.key)
        return datetime.fromisoformat(raw.decode()) if raw else datetime.now(UTC)

    async def set(self, moment: datetime) -> None:
        await self._client.set(self.key, moment.isoformat())
