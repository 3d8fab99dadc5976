"""What a person at the terminal sees when something is wrong: one line, never a
traceback. Names they give are checked before anything is sent, and every talk with
Redis or Kafka gives up after `COMPLAINTS_CLI_TIMEOUT_S` with a line that says where."""

import asyncio
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import urlsplit

from complaints.ops.logs import visible

if TYPE_CHECKING:
    from complaints.settings import Settings

T = TypeVar("T")


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


# --- who acts: `--actor`, `--handler`, `--approved-by` ---------------------------------
def checked_name(value: str, option: str) -> str:
    """`value` if it is a valid handler name (`HandlerAction.actor`'s pattern), else a
    `UserError` naming `option`: refused here, before anything is sent."""
    from complaints.schemas.case import ACTOR_PATTERN

    if re.fullmatch(ACTOR_PATTERN, value):
        return value
    raise UserError(f"{option} must be 1-64 letters, digits or . _ @ - "
                    f"(a login like zhang.wei), not {value!r}")


# --- talking to Redis and Kafka: an answer in time, or one clear line ------------------
Service = Literal["redis", "kafka"]


async def answered(settings: "Settings", service: Service, work: Awaitable[T]) -> T:
    """`work`, which talks to Redis or Kafka, within `COMPLAINTS_CLI_TIMEOUT_S`.

    The pipeline's Redis calls wait outages out (right for a worker, endless for a
    person at a terminal): no answer in time, a refused connection or a broken one end
    the command with one line that says where and what to check.
    """
    from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    timeout = settings.cli_timeout_s
    try:
        return await asyncio.wait_for(work, timeout)
    except (TimeoutError, RedisTimeoutError, KafkaTimeoutError):
        where, variable = address(settings, service)
        raise UserError(f"{where} did not answer within {timeout:g} s; check {variable}"
                        ) from None
    except (RedisConnectionError, KafkaConnectionError, OSError) as exc:
        where, variable = address(settings, service)
        detail = f" ({visible(str(exc))})" if service == "redis" and str(exc) else ""
        raise UserError(f"cannot reach {where}{detail}; check {variable}") from None
    except KafkaError as exc:
        where, _ = address(settings, service)
        raise UserError(f"{where}: {type(exc).__name__}: {visible(str(exc))}") from None


def address(settings: "Settings", service: Service) -> tuple[str, str]:
    """("Redis at host:port", "REDIS_URL"): where the command looked, without secrets."""
    if service == "kafka":
        return f"Kafka at {settings.kafka_bootstrap_servers}", "KAFKA_BOOTSTRAP_SERVERS"
    url = urlsplit(settings.redis_dsn())
    place = url.path if url.scheme == "unix" else f"{url.hostname}:{url.port or 6379}"
    return f"Redis at {place}", "REDIS_URL"


def talk(settings: "Settings", service: Service, work: Awaitable[T]) -> T:
    """`asyncio.run` of `answered(settings, service, work)`."""
    return asyncio.run(answered(settings, service, work))


