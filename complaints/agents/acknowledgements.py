"""When a stage's inputs count as done: only after their outputs are safe.

Faust acknowledges the events of `take_events` when the agent asks for the next batch —
and also when the agent raises, as the batch generator is closed: the offsets of a batch
that failed half-way are committed and its events are never seen again (seen on Tansu:
the committed offset passed the failed batch). The stages therefore hold each batch
(`hold`: one more reference on each message, so Faust's own acknowledgement is not the
last) and let it go (`release`) once its outputs are confirmed.

Failures are of two kinds, told apart here and nowhere else (`is_infrastructure`):

- **one event's content** made a stage raise (a value no check foresaw, a bug that only
  some input reaches): the stages try the batch's events one at a time and dead-letter
  the one that still fails (`processing_error`); the others go on, the worker stays up.
- **the infrastructure** failed (Kafka or Redis unavailable or refusing writes, outputs
  unconfirmed): trying events one by one would dead-letter good events, so the worker
  stops at once (`stop_unacknowledged`), as a crash would: nothing of the batch is
  acknowledged, a supervisor restarts the worker, and the batch is delivered again. A
  graceful stop would wait for the held batch forever, and carrying on would commit
  later offsets past it.
"""

import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn, TypeVar

import faust
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: The worker's exit status when a stage stopped it (EX_SOFTWARE).
STAGE_FAILED_EXIT = 70


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


def hold(batch: Sequence[faust.EventT]) -> None:
    """Keep the batch's messages unacknowledged until `release`, whatever the stream does."""
    for event in batch:
        event.message.incref()


async def release(stream: faust.StreamT, batch: Sequence[faust.EventT]) -> None:
    """The batch's outputs are safe: its messages may be committed."""
    for event in batch:
        await stream.ack(event)


def stop_unacknowledged(stage: str, batch_size: int, error: BaseException) -> NoReturn:
    """Stop the worker now, leaving the failed batch (and any held one) unacknowledged."""
    log.critical("%s stage failed on a batch of %d events; stopping the worker without "
                 "acknowledging it, so it is delivered again after a restart: %r",
                 stage, batch_size, error, exc_info=error)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(STAGE_FAILED_EXIT)
