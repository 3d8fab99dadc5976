"""Intake bookkeeping in Redis: which events count as seen (remembered, or on their way
there), and counters and recent cases that a batch sent again does not double.

The intake agent classifies and routes the next batch while the previous one waits for
the broker and Redis; a repeat of an event of that batch must still be dropped.
"""

import asyncio
import uuid
from collections import Counter
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaError

from complaints.local.embedded import EmbeddedServices
from complaints.stages.intake import PublishedBatch
from complaints.store.counters import RecentCases, StageCounters
from complaints.store.redis import RedisBatch, connect
from complaints.store.seen import SeenEvents


def _scenario(services: EmbeddedServices) -> list[list[str | None]]:
    async def run() -> list[list[str | None]]:
        client = connect(services.redis_url)
        seen = SeenEvents(client, f"t{uuid.uuid4().hex[:8]}", ttl_s=60)
        first, second, third = (seen.key("web", f"W-{n}") for n in (1, 2, 3))
        answers = [await seen.earlier([first, second, third])]
        seen.publishing({first: "h1", second: "h2"})
        answers.append(await seen.earlier([first, second, third]))
        await seen.remember({first: ("C1", "h1")})
        seen.published([first, second])  # first remembered; second given up
        answers.append(await seen.earlier([first, second, third]))
        await client.aclose()
        return answers

    return asyncio.run(run())


def test_an_event_on_its_way_counts_as_seen_until_remembered_or_given_up(
        services: EmbeddedServices) -> None:
    before, publishing, after = _scenario(services)
    assert before == [None, None, None]
    assert publishing == ["h1", "h2", None]  # seen, with the content they were taken with
    # Remembered: Redis says seen, with its content hash. Given up (its batch failed):
    # seen no more, so its redelivery makes the complaint.
    assert after == ["h1", None, None]


def test_an_event_remembered_before_content_hashes_counts_as_seen_with_unknown_content(
        services: EmbeddedServices) -> None:
    async def run() -> list[str | None]:
        client = connect(services.redis_url)
        seen = SeenEvents(client, f"t{uuid.uuid4().hex[:8]}", ttl_s=60)
        key = seen.key("web", "W-old")
        await client.set(key, "C20261101-ABCDEF")  # how earlier versions remembered it
        answer = await seen.earlier([key])
        await client.aclose()
        return answer

    assert asyncio.run(run()) == [""]  # seen; its content cannot be compared


def test_an_intake_batch_sent_again_after_a_lost_reply_counts_and_lists_nothing_twice(
        services: EmbeddedServices) -> None:
    async def run() -> tuple[dict[str, int], list[str]]:
        client = connect(services.redis_url)
        prefix = f"t{uuid.uuid4().hex[:8]}"
        counters, recent = StageCounters(client, prefix), RecentCases(client, prefix, keep=3)
        await recent.add(["C0"])
        for _ in range(2):  # the same batch, as `until_redis_answers` sends it again
            batch = RedisBatch(client)
            counters.add_in(batch, {"intake.read": 5, "intake.duplicate": 0}, "batch-1")
            recent.add_in(batch, ["C1", "C2", "C3"])
            await batch.run("test")
        counters.add_in(batch := RedisBatch(client), {"intake.read": 2})  # another batch
        await batch.run("test")
        answer = await counters.read(), await recent.read()
        await client.aclose()
        return answer

    counts, listed = asyncio.run(run())
    assert counts == {"intake.read": 7}
    assert listed == ["C3", "C2", "C1"]  # newest first, each once, three kept


def test_a_batch_the_broker_does_not_confirm_is_not_remembered_and_its_events_come_again(
        services: EmbeddedServices) -> None:
    async def run() -> tuple[list[str | None], list[str | None]]:
        client = connect(services.redis_url)
        seen = SeenEvents(client, f"t{uuid.uuid4().hex[:8]}", ttl_s=60)
        key = seen.key("web", "W-9")
        refused: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        refused.set_exception(KafkaError("broker refused the batch"))
        seen.publishing({key: "h9"})
        published = PublishedBatch([refused], {key: ("C9", "h9")}, [], [], Counter())
        during = await seen.earlier([key])
        with pytest.raises(KafkaError):
            await published.confirm(SimpleNamespace(seen=seen))  # type: ignore[arg-type]
        after = await seen.earlier([key])
        await client.aclose()
        return during, after

    during, after = asyncio.run(run())
    assert during == ["h9"]
    assert after == [None]  # redelivered, it makes its complaint
