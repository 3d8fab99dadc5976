"""Which intake events count as seen: remembered in Redis, or on their way there.

The intake agent classifies and routes the next batch while the previous one waits for
the broker and Redis; a repeat of an event of that batch must still be dropped.
"""

import asyncio
import uuid

from complaints.pipeline.embedded import EmbeddedServices
from complaints.pipeline.store import SeenEvents, connect


def _scenario(services: EmbeddedServices) -> list[list[bool]]:
    async def run() -> list[list[bool]]:
        client = connect(services.redis_url)
        seen = SeenEvents(client, f"t{uuid.uuid4().hex[:8]}", ttl_s=60)
        first, second, third = (seen.key("web", f"W-{n}") for n in (1, 2, 3))
        answers = [await seen.which_seen([first, second, third])]
        seen.publishing([first, second])
        answers.append(await seen.which_seen([first, second, third]))
        await seen.remember({first: "C1"})
        seen.published([first, second])  # first remembered; second given up
        answers.append(await seen.which_seen([first, second, third]))
        await client.aclose()
        return answers

    return asyncio.run(run())


def test_an_event_on_its_way_counts_as_seen_until_remembered_or_given_up(
        services: EmbeddedServices) -> None:
    before, publishing, after = _scenario(services)
    assert before == [False, False, False]
    assert publishing == [True, True, False]
    # Remembered: Redis says seen. Given up (its batch failed): seen no more, so its
    # redelivery makes the complaint.
    assert after == [True, False, False]
