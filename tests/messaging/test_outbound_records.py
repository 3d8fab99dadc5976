"""Record batches per partition put every record where aiokafka's own `send` puts it."""

import asyncio
import uuid

import pytest
from aiokafka import TopicPartition

from complaints.local.embedded import EmbeddedServices
from complaints.messaging import admin as kafka
from complaints.messaging.records import OutboundRecords
from complaints.settings import Settings

pytestmark = pytest.mark.broker


async def partitions_by_key(settings: Settings, topic: str) -> dict[bytes, list[tuple[int, bytes]]]:
    """key → [(partition, value)] in the order read from each partition."""
    consumer = kafka.reader(settings)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: dict[bytes, list[tuple[int, bytes]]] = {}
        while batch := await consumer.getmany(timeout_ms=1500):
            for tp, messages in batch.items():
                for m in messages:
                    found.setdefault(m.key or b"", []).append((tp.partition, m.value))
        return found
    finally:
        await consumer.stop()


def test_batched_records_land_on_the_partitions_send_picks_in_order(
    services: EmbeddedServices,
) -> None:
    prefix = f"out{uuid.uuid4().hex[:6]}"
    settings = Settings(kafka_bootstrap_servers=services.bootstrap_servers,
                        topic_prefix=prefix)
    batched, sent = f"{prefix}.batched", f"{prefix}.sent"
    keys = [f"WEB-20261124-{n:06d}".encode() for n in range(300)]

    async def scenario() -> None:
        await kafka.create_topics(settings, [batched, sent])
        producer = kafka.producer(settings, max_batch_size=16 * 1024)  # forces full batches
        await producer.start()
        try:
            out = OutboundRecords(producer)
            waits = []
            for step in range(3):  # three records per key: their order must hold
                for key in keys:
                    value = key + b":" + str(step).encode() + b"x" * 400
                    await out.add(batched, key, value)
                    waits.append(await producer.send(sent, value, key=key))
            waits += await out.send()
            await asyncio.gather(*waits)
        finally:
            await producer.stop()

    asyncio.run(scenario())
    by_batches = asyncio.run(partitions_by_key(settings, batched))
    by_send = asyncio.run(partitions_by_key(settings, sent))
    assert set(by_batches) == set(keys)
    assert by_batches == by_send, "same partition, same values, same order per key"
    assert len({p for records in by_batches.values() for p, _ in records}) > 1
