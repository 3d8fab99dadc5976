"""Kafka clients for the commands (the stream agents use Faust's own)."""

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from complaints.pipeline.settings import Settings

log = logging.getLogger(__name__)


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


async def read_all(
    settings: Settings, topic: str, idle_s: float = 1.0
) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) on `topic` up to its current end; for tools and tests."""
    consumer = reader(settings)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[tuple[bytes | None, bytes]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000))
            if not batch:
                break
            for tp, messages in batch.items():
                records.extend((m.key, m.value) for m in messages)
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def run(coro):  # type: ignore[no-untyped-def]
    """asyncio.run, for the synchronous CLI."""
    return asyncio.run(coro)
