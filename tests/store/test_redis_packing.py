"""The worker's Redis client packs commands with hiredis, byte for byte as redis-py would."""

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from complaints.store.redis import connect

ARGS = ("EVALSHA", "a" * 40, 3, "k:1", b"k:2", "库:3", 0.1, 1e20, 2.0, -7,
        12345678901234567890, "place", "x" * 10_000, memoryview(b"view"), bytearray(b"arr"))


def _packed(*args: object) -> bytes:
    connection = connect("redis://127.0.0.1:1/0").connection_pool.connection_class()
    return b"".join(connection.pack_command(*args))


def test_commands_are_packed_exactly_as_redis_py_packs_them() -> None:
    assert _packed(*ARGS) == b"".join(Connection().pack_command(*ARGS))
    assert _packed("CONFIG GET", "maxmemory") == b"".join(
        Connection().pack_command("CONFIG GET", "maxmemory"))


def test_an_argument_redis_cannot_take_is_refused_as_redis_py_refuses_it() -> None:
    with pytest.raises(DataError, match="bool"):
        _packed("SET", "k", True)


@pytest.mark.parametrize(("url", "base"), [
    ("redis://127.0.0.1:6379/0", Connection),
    ("rediss://127.0.0.1:6379/0", SSLConnection),
    ("unix:///tmp/redis.sock", UnixDomainSocketConnection),
])
def test_tls_and_unix_socket_connections_keep_their_own_class(url: str, base: type) -> None:
    assert issubclass(connect(url).connection_pool.connection_class, base)
