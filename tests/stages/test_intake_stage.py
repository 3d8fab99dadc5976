"""The intake stage without Faust: records in, a batch to confirm out, on the real Redis and
the real broker (the stage's own producer, no worker process)."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from complaints.classifier import PackReloader, default_pack_path
from complaints.local.embedded import EmbeddedServices
from complaints.messaging import admin
from complaints.messaging.records import InboundRecord, OutboundRecords
from complaints.routing import load_table
from complaints.schemas.topics import Topics
from complaints.settings import Settings
from complaints.stages.intake import IntakeDeps, PublishedBatch, publish_events
from complaints.stages.route import RouteDeps
from complaints.store.counters import RecentCases, StageCounters
from complaints.store.redis import connect
from complaints.store.seen import SeenEvents

pytestmark = pytest.mark.broker
T = TypeVar("T")
NOW = datetime.now(UTC).isoformat()


def _record(topic: str, offset: int, payload: object) -> InboundRecord:
    value = payload if isinstance(payload, bytes) else json.dumps(
        payload, ensure_ascii=False).encode()
    return InboundRecord(topic, 0, offset, f"k{offset}".encode(), value)


def with_stage(services: EmbeddedServices,
               scenario: Callable[[IntakeDeps, Topics, Settings], Awaitable[T]]) -> T:
    """Run `scenario` with an intake stage wired to the real servers, nothing else."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap_servers=services.bootstrap_servers,
                        redis_url=services.redis_url, topic_prefix=prefix)
    topics = Topics.for_prefix(prefix)

    async def run() -> T:
        await admin.create_topics(settings, topics.all())
        redis = connect(services.redis_url)
        producer = admin.producer(settings)
        await producer.start()

        async def outbound() -> OutboundRecords:
            return OutboundRecords(producer)

        try:
            deps = IntakeDeps(
                classified=topics.classified, routed=topics.routed,
                dead_letter=topics.dead_letter, source_by_topic=topics.intake(),
                seen=SeenEvents(redis, prefix, ttl_s=600),
                counters=StageCounters(redis, prefix),
                reloader=PackReloader(default_pack_path()),
                route=RouteDeps(redis=redis, prefix=prefix, table=load_table(None)),
                recent=RecentCases(redis, prefix), outbound=outbound)
            return await asyncio.wait_for(scenario(deps, topics, settings), timeout=120)
        finally:
            await producer.stop()
            await redis.aclose()

    return asyncio.run(run())


def test_a_batch_becomes_complaints_and_dead_letters_and_counts_once_confirmed(
    services: EmbeddedServices,
) -> None:
    async def scenario(deps: IntakeDeps, topics: Topics,
                       settings: Settings) -> tuple[PublishedBatch, dict[str, int], list]:
        web = topics.intake_web
        batch = [
            _record(web, 0, {"event_id": "a", "occurred_at": NOW, "form_id": "F",
                             "body": "停电三天了还没来电"}),
            _record(web, 1, b"[" * 5_000 + b"]" * 5_000),
            _record(web, 2, {"event_id": "b", "occurred_at": NOW, "form_id": "F",
                             "body": "<p>&nbsp;</p>"}),
            _record(web, 3, {"event_id": "a", "occurred_at": NOW, "form_id": "F",
                             "body": "停电三天了还没来电"}),  # an identical repeat
            _record(web, 4, {"event_id": "a", "occurred_at": NOW, "form_id": "F",
                             "body": "另一件事"}),  # the same id, other content
        ]
        published = await publish_events(batch, deps)
        await published.confirm(deps)
        letters = await admin.read_all(settings, topics.dead_letter)
        return published, await deps.counters.read(), [json.loads(v) for _, v in letters]

    published, counts, letters = with_stage(services, scenario)
    assert [c.source_event_ids for c in published.complaints] == [["a"]]
    assert len(published.decisions) == 1
    assert sorted(letter["data"]["reason"] for letter in letters) == [
        "conflicting_duplicate", "empty_text", "too_deep"]
    # Each dead letter's id names its input's offset: a redelivery writes the same id.
    assert sorted(letter["id"].rsplit(":", 1)[1] for letter in letters) == ["1", "2", "4"]
    assert counts["intake.read"] == 5
    assert counts["intake.complaints"] == 1
    assert counts["intake.duplicate"] == 1
    assert counts["intake.dead_lettered"] == 3


def test_an_event_whose_content_makes_a_step_raise_is_dead_lettered_alone(
    services: EmbeddedServices,
) -> None:
    from datetime import timedelta

    async def scenario(deps: IntakeDeps, topics: Topics,
                       settings: Settings) -> tuple[PublishedBatch, list]:
        deps.time_window = timedelta(days=3_660_000)  # lets a date at the calendar's end in
        web = topics.intake_web
        batch = [_record(web, n, {"event_id": f"ok-{n}", "occurred_at": NOW, "form_id": "F",
                                  "body": "电费突然翻倍"}) for n in range(3)]
        batch.insert(1, _record(web, 9, {"event_id": "end", "form_id": "F", "body": "停电",
                                         "occurred_at": "9999-12-31T23:59:59+00:00"}))
        published = await publish_events(batch, deps)
        await published.confirm(deps)
        letters = await admin.read_all(settings, topics.dead_letter)
        return published, [json.loads(v)["data"] for _, v in letters]

    published, letters = with_stage(services, scenario)
    assert [c.source_event_ids[0] for c in published.complaints] == ["ok-0", "ok-1", "ok-2"]
    assert [(d["reason"], d["stage"], d["exception_type"]) for d in letters] == [
        ("processing_error", "intake", "OverflowError")]
