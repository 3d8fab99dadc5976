"""Which failures are one event's and which are the infrastructure's — told apart here
and nowhere else.

- **One event's content** made a stage raise (a value no check foresaw, a bug only some
  input reaches): the stage works the batch's events one at a time and dead-letters the
  one that still fails (`processing_error`); the others go on, the worker stays up.
- **The infrastructure** failed (Kafka or Redis unavailable or refusing writes, outputs
  unconfirmed): working events one by one would dead-letter good events, so the failure
  is raised and the agent stops the worker with nothing of the batch acknowledged
  (`agents.acknowledgements`).
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: Failures of what the stages stand on, never of one event. A Redis script error counts
#: here too: the scripts take only values the stages built and checked.
_INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    RedisError, KafkaError, OSError, TimeoutError, MemoryError)
#: Kafka errors that one record causes (an output too large for the broker).
_CAUSED_BY_A_RECORD: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError, RecordTooLargeError)


def is_infrastructure(error: BaseException) -> bool:
    """Whether `error` says the infrastructure failed, not one event's content: then the
    worker must stop unacknowledged rather than dead-letter events."""
    return isinstance(error, _INFRASTRUCTURE) and not isinstance(error, _CAUSED_BY_A_RECORD)


async def isolating_poison(
    stage: str, items: Sequence[T], work: Callable[[Sequence[T]], Awaitable[R]],
    poisoned: Callable[[T, Exception], Awaitable[R]],
) -> list[R]:
    """`work` on all `items` at once; if an item's content makes it raise, `work` on each
    item alone, and `poisoned` (dead-letter it) for each item that still fails.

    Failures of the infrastructure are raised, never blamed on an item. `work` must be
    idempotent: the items of a failed attempt are worked again.
    """
    try:
        return [await work(items)]
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        if len(items) == 1:
            return [await _poisoned(stage, items[0], exc, poisoned)]
        log.error("%s failed on a batch of %d (%s: %s); trying its items one at a time",
                  stage, len(items), type(exc).__name__, exc)
    results = []
    for item in items:
        try:
            results.append(await work([item]))
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            results.append(await _poisoned(stage, item, exc, poisoned))
    return results


async def _poisoned(stage: str, item: T, error: Exception,
                    poisoned: Callable[[T, Exception], Awaitable[R]]) -> R:
    log.error("%s failed on one item (%s: %s); it is dead-lettered as processing_error",
              stage, type(error).__name__, error)
    return await poisoned(item, error)
