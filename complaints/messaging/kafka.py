"""Kafka clients for the commands, and the agents' shortcut to Faust's producer."""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Iterable
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from faust.types import TopicT

from complaints.settings import Settings

log = logging.getLogger(__name__)


class OutboundRecords:
    """The records one agent batch writes, packed into one record batch per partition.

    aiokafka's `send` costs ~12 µs of CPU per record (a metadata check, the partitioner,
    one future each); appending to a per-partition batch and sending whole batches costs
    ~6.7 (docs/benchmarks.md). The partition of a keyed record is the one Kafka's default
    partitioner picks (murmur2 of the key), so every record of a case lands where `send`
    would have put it, in order; an unkeyed record goes to a random partition.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._sent: list[Awaitable[Any]] = []  # batches that filled up and went out
        self._partitions: dict[str, list[int]] = {}
        self._hashes: dict[bytes, int] = {}

    @classmethod
    def of(cls, app: faust.App) -> "OutboundRecords":
        """Records for the worker's own producer (Faust's is a thin layer over aiokafka's
        and has no batch API of its own)."""
        return cls(app.producer._ensure_producer())

    async def add(self, topic: str | TopicT, key: bytes | None, value: bytes) -> None:
        """Queue one record (a batch it fills goes out at once)."""
        name = topic if isinstance(topic, str) else topic.get_topic_name()
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
            batch = self._open[(name, partition)] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is not None:
            return
        self._sent.append(await self._producer.send_batch(batch, name, partition=partition))
        batch = self._open[(name, partition)] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            raise ValueError(f"a record of {len(value)} bytes does not fit a batch")

    async def send(self) -> list[Awaitable[Any]]:
        """Send every batch still open; awaitables, one per batch sent since the last
        call, that resolve once the broker has them."""
        open_batches, self._open = self._open, {}
        for (name, partition), batch in open_batches.items():
            if batch.record_count():
                self._sent.append(await self._producer.send_batch(batch, name,
                                                                  partition=partition))
        sent, self._sent = self._sent, []
        return sent

    async def _partitions_of(self, name: str) -> list[int]:
        await self._producer.client._wait_on_metadata(name)
        found = self._partitions[name] = sorted(
            self._producer.client.cluster.partitions_for_topic(name) or ())
        if not found:
            raise RuntimeError(f"topic {name} has no partitions")
        return found


def _common(settings: Settings) -> dict[str, object]:
    return {"bootstrap_servers": settings.bootstrap_list(), **settings.kafka_client_options()}


async def create_topics(settings: Settings, names: Iterable[str]) -> None:
    """Create topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(**_common(settings))
    await admin.start()
    try:
        for name in names:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(
                    name, settings.partitions, settings.replication_factor)])
    finally:
        await admin.close()


def producer(settings: Settings, **options: object) -> AIOKafkaProducer:
    """An idempotence-free, acks=all producer (Tansu has no transactions)."""
    return AIOKafkaProducer(acks="all", linger_ms=5, **_common(settings), **options)


def reader(settings: Settings, **options: object) -> AIOKafkaConsumer:
    """A group-less consumer for reading topics from the start (tests, demo, tools)."""
    return AIOKafkaConsumer(
        auto_offset_reset="earliest", enable_auto_commit=False, **_common(settings), **options
    )


async def end_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition.

    Kafka's ListOffsets answer is trusted, then checked by reading the last batch: the
    embedded Tansu 0.6 broker reports the *base* offset of the last batch plus one, which
    undercounts whenever a producer sent several records in one batch. On Apache Kafka
    the check finds nothing new. Leaves `consumer` assigned to `tps`.
    """
    reported = await consumer.end_offsets(tps)
    ends = dict(reported)
    consumer.assign(tps)
    probing = {tp for tp in tps if reported[tp] > 0}
    for tp in probing:
        consumer.seek(tp, reported[tp] - 1)
    deadline = asyncio.get_running_loop().time() + 5
    while probing and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(*probing, timeout_ms=500)
        for tp, messages in batch.items():
            if messages:
                ends[tp] = max(ends[tp], messages[-1].offset + 1)
                probing.discard(tp)
    return ends


async def read_all(
    settings: Settings, topic: str, idle_s: float = 1.0
) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) on `topic` up to its current end; for tools and tests."""
    consumer = reader(settings)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        ends = await end_offsets(consumer, tps)
        await consumer.seek_to_beginning(*tps)
        records: list[tuple[bytes | None, bytes]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=int(idle_s * 1000))
            if not batch:
                break
            for tp, messages in batch.items():
                records.extend((m.key, m.value) for m in messages if m.offset < ends[tp])
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def run(coro):  # type: ignore[no-untyped-def]
    """asyncio.run, for the synchronous CLI."""
    return asyncio.run(coro)
