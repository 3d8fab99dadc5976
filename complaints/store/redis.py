"""Redis-backed state of the intake stage: which events were seen, and stage counters.

Redis outages are waited out, not turned into lost events: every operation retries with
backoff until Redis answers, and the batch it belongs to is only acknowledged to Kafka
after it succeeded.
"""

import asyncio
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
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


class Reply(Generic[T]):
    """The answer to one command of a `RedisBatch`, readable once the batch has run."""

    __slots__ = ("_parse", "_value")

    def __init__(self, parse: Callable[[Any], T]) -> None:
        self._parse = parse
        self._value: Any = _UNSET

    @property
    def value(self) -> T:
        if self._value is _UNSET:
            raise RuntimeError("the batch this reply belongs to has not run yet")
        return self._value


_UNSET = object()


def _as_is(raw: Any) -> Any:
    return raw


class RedisBatch:
    """Commands and Lua scripts sent to Redis together, in one round trip.

    A non-transactional pipeline: Redis runs them in the order they were added, each
    script atomic on its own exactly as if it were called alone, so batching changes how
    many round trips a stage costs, not what any one call guarantees. When Redis goes away
    mid-batch the whole batch is sent again (`until_redis_answers`), so calls must be
    idempotent (counters carry an id for that).
    """

    def __init__(self, client: "aioredis.Redis") -> None:
        self._client = client
        self._calls: list[tuple[Any, tuple[Any, ...], Reply[Any]]] = []

    def __len__(self) -> int:
        return len(self._calls)

    def script(self, script: Any, keys: Sequence[Any], args: Sequence[Any],
               parse: Callable[[Any], T] = _as_is) -> Reply[T]:
        """Run a registered script (`client.register_script(...)`) with `keys`, `args`."""
        reply: Reply[T] = Reply(parse)
        self._calls.append((script, (list(keys), list(args)), reply))
        return reply

    def command(self, *args: Any, parse: Callable[[Any], T] = _as_is) -> Reply[T]:
        """Run one plain command, e.g. `batch.command("HGET", key, field)`."""
        reply: Reply[T] = Reply(parse)
        self._calls.append((None, args, reply))
        return reply

    async def run(self, what: str) -> None:
        """Send everything; afterwards each `Reply.value` holds its parsed answer."""
        if not self._calls:
            return

        async def send() -> list[Any]:
            if len(self._calls) == 1:  # one call: no pipeline (and no script check)
                script, args, _ = self._calls[0]
                if script is None:
                    return [await self._client.execute_command(*args)]
                return [await script(keys=args[0], args=args[1])]
            async with self._client.pipeline(transaction=False) as pipe:
                for script, args, _ in self._calls:
                    if script is None:
                        pipe.execute_command(*args)
                    else:
                        keys, argv = args
                        await script(keys=keys, args=argv, client=pipe)
                return await pipe.execute()

        raw = await until_redis_answers(send, what)
        for (_, _, reply), answer in zip(self._calls, raw, strict=True):
            reply._value = reply._parse(answer)
        self._calls.clear()


def connect(url: str) -> "aioredis.Redis":
    """An asyncio Redis client with short socket timeouts (outages surface as retries),
    whose commands hiredis packs."""
    client = aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=15
    )
    pool = client.connection_pool
    pool.connection_class = _packed_by_hiredis(pool.connection_class)
    return client


class _HiredisPacking(AbstractConnection):
    """Commands packed by hiredis in C, as redis-py's blocking client already does.

    The asyncio client packs every argument in Python (~0.6 µs each), and the pipeline's
    scripts take a batch's cases as arguments: a few dozen per complaint. Whatever
    hiredis does not take (a bool, a memoryview) goes the usual way, which encodes it or
    says why not.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if isinstance(name, str):
            args = (*name.encode().split(), *args[1:])
        elif b" " in name:
            args = (*name.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            return super().pack_command(*args)


@functools.cache
def _packed_by_hiredis(connection_class: type) -> type:
    """`connection_class` (plain, TLS or Unix socket) with `_HiredisPacking` on top."""
    return type(f"Packed{connection_class.__name__}", (_HiredisPacking, connection_class), {})


class SeenEvents:
    """Event ids already turned into complaints, with a hash of their content, remembered
    for `ttl_s` seconds: a redelivery is dropped, a reused id with other content is not."""

    def __init__(self, client: "aioredis.Redis", prefix: str, ttl_s: int) -> None:
        self.client = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._remember = client.register_script(_REMEMBER)
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
            pairs = json.dumps([[key, f"{case_id} {content}"]
                                for key, (case_id, content) in accepted.items()],
                               ensure_ascii=False, separators=(",", ":"))
            batch.script(self._remember, [], [str(self._ttl_s), pairs])


def _content_of(value: bytes | None) -> str | None:
    """The content hash of a remembered event ("case-id hash"; "" for a bare case id)."""
    if value is None:
        return None
    return value.partition(b" ")[2].decode()


# ARGV: ttl_s, JSON [[seen key, "case-id content-hash"], …]: SET each, expiring.
_REMEMBER = """
for _, pair in ipairs(cjson.decode(ARGV[2])) do
  redis.call('SET', pair[1], pair[2], 'EX', ARGV[1])
end
return 0
"""


class StageCounters:
    """Running totals per stage (`intake.read`, `intake.dead_lettered`, …) in one hash.

    Shared by all workers, so `complaints run` and operators see pipeline-wide numbers.
    Each addition carries an id: when a batch is sent again because its reply was lost,
    Redis finds the id and counts nothing twice.
    """

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self._client = client
        self.key = f"{prefix}:stats"
        self._prefix = prefix
        self._count = client.register_script(_COUNT_ONCE)

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


#: How long an addition's id is remembered: longer than any retry of one batch lasts.
COUNTED_ID_TTL_S = 3_600
# KEYS: stats hash, the addition's id; ARGV: id ttl s, then (name, increment) pairs.
_COUNT_ONCE = """
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


class RecentCases:
    """The newest case ids, for the operators' dashboard (a capped Redis list)."""

    def __init__(self, client: "aioredis.Redis", prefix: str, keep: int = 50) -> None:
        self._client = client
        self.key = f"{prefix}:recent"
        self._keep = keep
        self._push = client.register_script(_PUSH_RECENT)

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


# KEYS: the list; ARGV: how many to keep, then the case ids, oldest first.
_PUSH_RECENT = """
for i = 2, #ARGV do
  redis.call('LREM', KEYS[1], 0, ARGV[i])
  redis.call('LPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], 0, ARGV[1] - 1)
return 0
"""
