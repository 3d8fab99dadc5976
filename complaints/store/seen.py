"""Which intake events were already turned into complaints (at-least-once delivery).

Kafka redelivers after a crash or a rebalance; the intake stage drops an event it has
seen, but not an event id reused with other content, so each remembered event carries a
hash of its content.

    {prefix}:seen:{source}:{event_id}   STRING "case-id content-hash", expiring after ttl_s
"""

from collections.abc import Iterable, Mapping, Sequence

import redis.asyncio as aioredis

from complaints.store.encoding import compact_json
from complaints.store.redis import RedisBatch, lua_script, until_redis_answers


class SeenEvents:
    """Event ids already turned into complaints, with a hash of their content, remembered
    for `ttl_s` seconds: a redelivery is dropped, a reused id with other content is not."""

    def __init__(self, client: "aioredis.Redis", prefix: str, ttl_s: int) -> None:
        self.client = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._remember = client.register_script(lua_script("seen_remember"))
        #: Events of batches published but not yet remembered, with their content hash:
        #: seen, for the next batch.
        self._publishing: dict[str, str] = {}

    def key(self, source: str, event_id: str) -> str:
        return f"{self._prefix}:seen:{source}:{event_id}"

    def publishing(self, contents: Mapping[str, str]) -> None:
        """These events' complaints are on their way: count them as seen (with these
        content hashes) until `published`, so a repeat in the next batch is dropped."""
        self._publishing.update(contents)

    def published(self, keys: Iterable[str]) -> None:
        """Remembered in Redis (or given up, to be redelivered): Redis answers again."""
        for key in keys:
            self._publishing.pop(key, None)

    async def earlier(self, keys: Sequence[str]) -> list[str | None]:
        """For each key, None if its event was never accepted, else the content hash it
        was accepted with ("" when remembered without one)."""
        if not keys:
            return []

        async def read() -> list[str | None]:
            values = await self.client.mget(list(keys))
            return [self._publishing.get(k, _content_of(v))
                    for k, v in zip(keys, values, strict=True)]

        return await until_redis_answers(read, "checking seen events")

    async def remember(self, accepted: Mapping[str, tuple[str, str]]) -> None:
        """Mark events as accepted (after their complaints were published)."""
        batch = RedisBatch(self.client)
        self.remember_in(batch, accepted)
        await batch.run("remembering seen events")

    def remember_in(self, batch: RedisBatch, accepted: Mapping[str, tuple[str, str]]) -> None:
        """`remember`, as part of a batch of Redis calls: one command for all events.
        `accepted`: seen key → (case id, content hash)."""
        if accepted:
            pairs = compact_json([[key, f"{case_id} {content}"]
                                  for key, (case_id, content) in accepted.items()])
            batch.script(self._remember, [], [str(self._ttl_s), pairs])


def _content_of(value: bytes | None) -> str | None:
    """The content hash of a remembered event ("case-id hash"; "" for a bare case id,
    as events were remembered before content hashes)."""
    if value is None:
        return None
    return value.partition(b" ")[2].decode()
