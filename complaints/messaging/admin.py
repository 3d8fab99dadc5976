"""Kafka clients for the commands, tools and tests: topics, end offsets, reading a topic."""

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from complaints.settings import Settings


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
        await consumer.topics()  # fetches the cluster's metadata afresh
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
