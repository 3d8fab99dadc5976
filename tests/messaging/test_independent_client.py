"""An upstream/downstream system with its own Kafka client (librdkafka) can use the pipeline."""

import json
import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")

from tests.harness import PipelineUnderTest  # noqa: E402

pytestmark = pytest.mark.broker


def test_confluent_kafka_client_feeds_a_worker_and_reads_its_complaints(
    pipeline: PipelineUnderTest,
) -> None:
    pipeline.start_worker()
    bootstrap = pipeline.services.bootstrap_servers
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for n in range(5):
        event = {"event_id": f"rdk-{n}", "occurred_at": "2026-11-24T08:30:00+08:00",
                 "call_id": f"CALL-{n}", "service_line": "95598",
                 "summary": f"客户反映{n}号楼停电两小时，冰箱里的东西都坏了"}
        producer.produce(pipeline.topics.intake_callcenter, key=f"rdk-{n}",
                         value=json.dumps(event, ensure_ascii=False).encode())
    assert producer.flush(30) == 0

    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{pipeline.prefix}",
        "enable.auto.commit": False,
    })
    partitions = consumer.list_topics(pipeline.topics.classified, timeout=10).topics[
        pipeline.topics.classified].partitions
    consumer.assign([confluent_kafka.TopicPartition(pipeline.topics.classified, p, 0)
                     for p in partitions])
    received: list[dict] = []
    deadline = time.monotonic() + 90
    while len(received) < 5 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received.append(json.loads(message.value()))
    consumer.close()
    assert sorted(r["data"]["source_event_ids"][0] for r in received) == [
        f"rdk-{n}" for n in range(5)]
    assert all(r["data"]["classification"]["category"] == "outage" for r in received)
