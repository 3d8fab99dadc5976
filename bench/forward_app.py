"""The baseline: a Faust agent that only forwards each event to another topic.

It is the ceiling one pipeline worker is compared against — the same broker, the same
Faust and aiokafka, the same raw byte topics and batching, but no work per event.

    python -m complaints_bench.forward_app   (reads KAFKA_BOOTSTRAP_SERVERS, BENCH_*)
"""

import os

import faust


def build_forwarder(bootstrap: str, source: str, target: str, group: str,
                    partitions: int) -> faust.App:
    app = faust.App(group, broker=f"kafka://{bootstrap}", store="memory://",
                    topic_partitions=partitions, web_enabled=False,
                    broker_session_timeout=10, broker_heartbeat_interval=2.5,
                    broker_commit_interval=1.0, consumer_auto_offset_reset="earliest",
                    producer_acks=-1, producer_linger_ms=5)
    inbound = app.topic(source, key_type=bytes, value_type=bytes, key_serializer="raw",
                        value_serializer="raw", partitions=partitions)
    outbound = app.topic(target, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=partitions)

    @app.agent(inbound, name="forward")
    async def forward(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await outbound.send(key=event.message.key, value=event.value)

    return app


def main() -> None:
    app = build_forwarder(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["BENCH_SOURCE"],
                          os.environ["BENCH_TARGET"], os.environ["BENCH_GROUP"],
                          int(os.environ.get("BENCH_PARTITIONS", "4")))
    faust.Worker(app, loglevel="warn", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
