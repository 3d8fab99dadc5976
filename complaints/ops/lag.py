"""Consumer lag per group, topic and partition: is the pipeline keeping up?

Reads committed offsets with a consumer's `committed()` (without joining the group) and
end offsets with `end_offsets()` checked against the last batch — calls that work on
Apache Kafka and on the embedded Tansu broker alike (its admin offset listing does
not). The pipeline's groups and the topics they consume are known from its topology,
so no group listing is needed either.
"""

from dataclasses import asdict, dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from complaints.messaging.admin import end_offsets
from complaints.schemas.topics import Topics
from complaints.settings import Settings


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        """Messages not yet processed (all of them when nothing was committed)."""
        return self.end - (self.committed or 0)

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "lag": self.lag}


def pipeline_groups(settings: Settings) -> dict[str, list[str]]:
    """Consumer group → the topics it consumes."""
    topics = Topics.for_prefix(settings.topic_prefix)
    return {settings.app_id: [topics.intake_callcenter, topics.intake_web, topics.routed,
                              topics.actions]}


async def measure_lag(settings: Settings) -> list[PartitionLag]:
    """Committed and end offsets for every partition every pipeline group consumes."""
    rows: list[PartitionLag] = []
    for group, topic_names in pipeline_groups(settings).items():
        consumer = AIOKafkaConsumer(
            group_id=group, enable_auto_commit=False,
            bootstrap_servers=settings.bootstrap_list(), **settings.kafka_client_options())
        try:  # stopped however it ends: a command that gives up cancels it mid-start
            await consumer.start()
            await consumer.topics()  # fetches the cluster's metadata afresh
            partitions = [
                TopicPartition(topic, p)
                for topic in topic_names
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            ends = await end_offsets(consumer, partitions) if partitions else {}
            for tp in partitions:
                rows.append(PartitionLag(group, tp.topic, tp.partition,
                                         await consumer.committed(tp), ends[tp]))
        finally:
            await consumer.stop()
    return rows


def totals(rows: list[PartitionLag]) -> dict[str, dict[str, int]]:
    """Lag summed per group and per `group/topic`."""
    summary: dict[str, dict[str, int]] = {"groups": {}, "topics": {}}
    for row in rows:
        summary["groups"][row.group] = summary["groups"].get(row.group, 0) + row.lag
        key = f"{row.group}/{row.topic}"
        summary["topics"][key] = summary["topics"].get(key, 0) + row.lag
    return summary
