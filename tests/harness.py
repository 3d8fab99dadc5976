"""Test harness: a pipeline under test on the shared embedded broker and Redis.

Each `PipelineUnderTest` has its own topic prefix and consumer group, so tests share
the session's servers without seeing each other's events.
"""

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from complaints.local.embedded import EmbeddedServices
from complaints.local.generator import GeneratedEvent
from complaints.local.runner import WorkerProcess, worker_env
from complaints.messaging import admin as kafka
from complaints.messaging.codec import Decoded, decode_intake
from complaints.normalise import case_id_for
from complaints.schemas.topics import Topics
from complaints.settings import Settings

REPO = Path(__file__).resolve().parent.parent
_counter = itertools.count()


class PipelineUnderTest:
    """A topic prefix of its own on the shared servers, with helpers to drive it."""

    def __init__(self, services: EmbeddedServices, workdir: Path) -> None:
        self.services = services
        self.workdir = workdir
        self.prefix = f"t{next(_counter)}{uuid.uuid4().hex[:6]}"
        self.settings = Settings(
            kafka_bootstrap_servers=services.bootstrap_servers,
            redis_url=services.redis_url,
            topic_prefix=self.prefix,
            app_id=f"complaints-{self.prefix}",
        )
        self.topics = Topics.for_prefix(self.prefix)
        self.workers: list[WorkerProcess] = []
        self.redis = redis.Redis.from_url(services.redis_url)
        asyncio.run(kafka.create_topics(self.settings, self.topics.all()))

    def env(self) -> dict[str, str]:
        env = worker_env(self.services.bootstrap_servers, self.services.redis_url,
                         self.settings)
        env["COMPLAINTS_APP_ID"] = self.settings.app_id
        env["COMPLAINTS_DATA_DIR"] = str(self.workdir / "data")
        env["COMPLAINTS_LOG_LEVEL"] = "info"
        return env

    def start_worker(self, **extra_env: str) -> WorkerProcess:
        index = len(self.workers)
        proc = WorkerProcess({**self.env(), **extra_env}, self.workdir / f"worker-{index}.log")
        self.workers.append(proc.start())
        return proc

    def worker_logs(self) -> str:
        return "\n".join(p.log_path.read_text(errors="replace")[-4000:]
                         for p in self.workers if p.log_path.exists())

    def produce(self, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
        async def send() -> None:
            producer = kafka.producer(self.settings)
            await producer.start()
            try:
                for key, value in messages:
                    await producer.send(topic, key=key, value=value)
                await producer.flush()
            finally:
                await producer.stop()

        asyncio.run(send())

    def produce_events(self, events: list[GeneratedEvent]) -> None:
        """Generated events, each to its source's intake topic."""
        for source, topic in self.intake_topics().items():
            self.produce(topic, [(e.key, e.value) for e in events if e.source == source])

    def intake_topics(self) -> dict[str, str]:
        return {"callcenter": self.topics.intake_callcenter, "web": self.topics.intake_web}

    def read(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        return asyncio.run(kafka.read_all(self.settings, topic))

    def read_json(self, topic: str) -> list[dict]:
        return [json.loads(value) for _, value in self.read(topic)]

    def counters(self) -> dict[str, int]:
        raw = self.redis.hgetall(f"{self.prefix}:stats")
        return {k.decode(): int(v) for k, v in raw.items()}

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 90,
                 what: str = "condition") -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            if self.workers and not any(w.alive() for w in self.workers):
                raise AssertionError(f"workers died while waiting for {what}:\n"
                                     + self.worker_logs())
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; counters={self.counters()}\n"
                             + self.worker_logs())

    def wait_read(self, total: int, timeout_s: float = 90) -> None:
        """Until the workers have read `total` intake events."""
        self.wait_for(lambda: self.counters().get("intake.read", 0) >= total, timeout_s,
                      f"{total} intake events read")

    def stop(self) -> None:
        for proc in self.workers:
            proc.stop()
        self.redis.close()


@contextlib.contextmanager
def pipeline_on_own_servers(workdir: Path) -> Iterator[PipelineUnderTest]:
    """A pipeline on a broker and Redis of its own, for tests that stop or reconfigure
    them; everything is stopped afterwards."""
    with EmbeddedServices(workdir / "own-servers") as services:
        pipeline = PipelineUnderTest(services, workdir)
        try:
            yield pipeline
        finally:
            pipeline.stop()


def expected_cases(events: list[GeneratedEvent]) -> set[str]:
    cases = set()
    for event in events:
        decoded = decode_intake(event.value, event.source)  # type: ignore[arg-type]
        if isinstance(decoded, Decoded):
            cases.add(case_id_for(decoded.source, decoded.event.event_id,
                                  decoded.event.occurred_at))
    return cases


def publish_in_background(pipeline: PipelineUnderTest, events: list[GeneratedEvent],
                          rate: float) -> threading.Thread:
    topic = pipeline.intake_topics()

    async def paced() -> None:
        producer = kafka.producer(pipeline.settings)
        await producer.start()
        try:
            started = time.monotonic()
            for index, event in enumerate(events):
                if (delay := started + index / rate - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                await producer.send(topic[event.source], key=event.key, value=event.value)
            await producer.flush()
        finally:
            await producer.stop()

    thread = threading.Thread(target=lambda: asyncio.run(paced()), daemon=True)
    thread.start()
    return thread


def ids_by_case(pipeline: PipelineUnderTest, topic: str) -> dict[str, set[str]]:
    """case id → the CloudEvents ids seen for it on `topic`."""
    seen: dict[str, set[str]] = defaultdict(set)
    for envelope in pipeline.read_json(topic):
        seen[envelope["subject"]].add(envelope["id"])
    return seen


def assert_exactly_once_by_id(pipeline: PipelineUnderTest, expected: set[str]) -> None:
    for topic in (pipeline.topics.classified, pipeline.topics.routed):
        seen = ids_by_case(pipeline, topic)
        assert set(seen) == expected, f"{topic}: lost or invented cases"
        assert all(len(ids) == 1 for ids in seen.values()), f"{topic}: a duplicate changed id"
    versions: dict[tuple[str, int], set[str]] = defaultdict(set)
    for envelope in pipeline.read_json(pipeline.topics.case_events):
        event = envelope["data"]
        versions[(event["case_id"], event["version"])].add(event["event_type"])
    assert {case for case, _ in versions} == expected, "every case was opened"
    assert all(len(types) == 1 for types in versions.values()), "a case event was doubled"


def opened_cases(pipeline: PipelineUnderTest) -> set[str]:
    """Cases the recovery stage has opened (their Redis snapshots)."""
    keys = (key.decode() for key in pipeline.redis.keys(f"{pipeline.prefix}:case:*"))
    return {key.split(":", 2)[2] for key in keys if not key.endswith(":events")}


def wait_for_cases(pipeline: PipelineUnderTest, expected: set[str], timeout_s: float) -> None:
    """Until every expected case went through intake, routing and case opening."""
    pipeline.wait_for(lambda: opened_cases(pipeline) >= expected, timeout_s,
                      f"{len(expected)} opened cases")
