"""When a stage's inputs count as done: only after their outputs are safe.

Faust acknowledges the events of `take_events` when the agent asks for the next batch —
and also when the agent raises, as the batch generator is closed: the offsets of a batch
that failed half-way are committed and its events are never seen again (seen on Tansu:
the committed offset passed the failed batch). The stages therefore hold each batch
(`hold`: one more reference on each message, so Faust's own acknowledgement is not the
last) and let it go (`release`) once its outputs are confirmed.

A failure of the infrastructure (`stages.failures`; one event's content never gets
here) stops the worker at once (`stop_unacknowledged`), as a crash would: nothing of the
batch is acknowledged, a supervisor restarts the worker, and the batch is delivered
again. A graceful stop would wait for the held batch forever, and carrying on would
commit later offsets past it.
"""

import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import faust

from complaints.messaging.records import InboundRecord

log = logging.getLogger(__name__)

#: The worker's exit status when a stage stopped it (EX_SOFTWARE).
STAGE_FAILED_EXIT = 70


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


def inbound(batch: Sequence[faust.EventT]) -> list[InboundRecord]:
    """The batch's records as the stages take them (no Faust types past the agents)."""
    return [InboundRecord(e.message.topic, e.message.partition, e.message.offset,
                          e.message.key, e.value) for e in batch]
