"""Records as the stages see them: what came in (with where it came from, for dead
letters and logs) and what goes out (packed into one batch per partition)."""

import random
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One consumed record: the stages need its bytes and, to dead-letter it, its origin."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class OutboundRecords:
    """The records one agent batch writes, packed into one record batch per partition.

    aiokafka's `send` pays a metadata check, the partitioner and a future per record;
    appending to a per-partition batch and sending whole batches costs about half
    (docs/benchmarks.md). The partition of a keyed record is the one Kafka's default
    partitioner picks (murmur2 of the key), so every record of a case lands where `send`
    would have put it, in order; an unkeyed record goes to a random partition.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        #: The producer the records go out through (its `client` serves `/ready`).
        self.producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._sent: list[Awaitable[Any]] = []  # batches that filled up and went out
        self._partitions: dict[str, list[int]] = {}
        self._hashes: dict[bytes, int] = {}

    async def add(self, name: str, key: bytes | None, value: bytes) -> None:
        """Queue one record for topic `name` (a batch it fills goes out at once)."""
        partitions = self._partitions.get(name) or await self._partitions_of(name)
        if key is None:
            partition = random.choice(partitions)
        else:
            hashed = self._hashes.get(key)
            if hashed is None:  # a case's records share its key: hash it once
                hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
            partition = partitions[hashed % len(partitions)]
        batch = self._open.get((name, partition))
        if batch is None:
            batch = self._open[(name, partition)] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is not None:
            return
        self._sent.append(await self.producer.send_batch(batch, name, partition=partition))
        batch = self._open[(name, partition)] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            raise ValueError(f"a record of {len(value)} bytes does not fit a batch")

    async def send(self) -> list[Awaitable[Any]]:
        """Send every batch still open; awaitables, one per batch sent since the last
        call, that resolve once the broker has them."""
        open_batches, self._open = self._open, {}
        for (name, partition), batch in open_batches.items():
            if batch.record_count():
                self._sent.append(await self.producer.send_batch(batch, name,
                                                                  partition=partition))
        sent, self._sent = self._sent, []
        return sent

    async def _partitions_of(self, name: str) -> list[int]:
        found = self._partitions[name] = sorted(await self.producer.partitions_for(name))
        if not found:
            raise RuntimeError(f"topic {name} has no partitions")
        return found
