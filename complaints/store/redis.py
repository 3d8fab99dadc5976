"""The Redis client every store adapter shares: connecting, batching, retrying, scripts.

Redis outages are waited out, not turned into lost events: every operation retries with
backoff until Redis answers, and the batch it belongs to is only acknowledged to Kafka
after it succeeded. The adapters' Lua scripts live in `lua/` as files of their own
(`lua_script` joins them), so they read and diff as Lua.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
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

    The asyncio client packs every argument in Python, which adds up: the pipeline's
    scripts take a batch's cases as arguments, a few dozen per complaint (measured in
    docs/benchmarks.md). Whatever hiredis does not take (a bool, a memoryview) goes the
    usual way, which encodes it or says why not.
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


@functools.cache
def lua_script(*names: str) -> str:
    """The Lua source made of `complaints/store/lua/{name}.lua` for each name, in order.

    Scripts that share functions are composed here rather than in Lua, because Redis
    runs each script alone (no `require`): the shared blocks (`num`, `queues_prelude`,
    …) come first, then the body that calls them. Each composition is read once.
    """
    folder = resources.files("complaints.store").joinpath("lua")
    return "\n".join(folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
                     for name in names)
