"""Customer history and mass incidents on the session's real Redis."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from complaints.local.embedded import EmbeddedServices
from complaints.routing.decide import IncidentKey, IncidentMembership
from complaints.schemas.codes import Category, Severity
from complaints.store.history import CustomerHistory, IncidentTracker

pytestmark = pytest.mark.broker
T = TypeVar("T")
WINDOW = timedelta(days=30)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OUTAGE_HERE = IncidentKey(Category.OUTAGE, "浦东新区-金桥-碧云小区")


def with_redis(services: EmbeddedServices,
               scenario: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    async def run() -> T:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            return await asyncio.wait_for(scenario(client), timeout=30)
        finally:
            await client.aclose()

    return asyncio.run(run())


# --- repeats -----------------------------------------------------------------------------
def test_a_customers_earlier_cases_within_the_window_are_counted(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> list[int]:
        history = CustomerHistory(client, prefix)
        return [
            await history.record_case("id:1", "C1", NOW, WINDOW),
            await history.record_case("id:1", "C2", NOW + timedelta(days=10), WINDOW),
            await history.record_case("id:1", "C3", NOW + timedelta(days=20), WINDOW),
            await history.record_case("id:1", "C4", NOW + timedelta(days=35), WINDOW),
            await history.record_case("id:2", "C5", NOW + timedelta(days=35), WINDOW),
        ]

    assert with_redis(services, scenario) == [0, 1, 2, 2, 0]


def test_a_redelivered_case_is_not_its_own_repeat(services: EmbeddedServices, prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> list[int]:
        history = CustomerHistory(client, prefix)
        first = await history.record_case("id:1", "C1", NOW, WINDOW)
        again = await history.record_case("id:1", "C1", NOW, WINDOW)
        second = await history.record_case("id:1", "C2", NOW + timedelta(hours=1), WINDOW)
        second_again = await history.record_case("id:1", "C2", NOW + timedelta(hours=1), WINDOW)
        first_late = await history.record_case("id:1", "C1", NOW, WINDOW)
        return [first, again, second, second_again, first_late]

    assert with_redis(services, scenario) == [0, 0, 1, 1, 0]


# --- incidents ---------------------------------------------------------------------------
async def observe(tracker: IncidentTracker, case_id: str, minutes: float,
                  key: IncidentKey = OUTAGE_HERE, threshold: int = 5,
                  window_min: int = 30) -> IncidentMembership | None:
    return await tracker.observe(
        key, case_id, NOW + timedelta(minutes=minutes), threshold=threshold,
        window=timedelta(minutes=window_min), proposed_id=f"INC-{case_id}",
        queue="outage_repair", severity=Severity.P1, now=NOW,
    )


def roles(memberships: list[IncidentMembership | None]) -> list[str]:
    return ["none" if m is None else ("opened" if m.opened else "joined") for m in memberships]


def test_an_incident_opens_at_k_complaints_within_w_and_not_at_k_minus_one(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> tuple[list[Any], Any]:
        tracker = IncidentTracker(client, prefix)
        seen = [await observe(tracker, f"C{n}", minutes=n * 5) for n in range(1, 7)]
        return seen, await tracker.incident("INC-C5")

    seen, incident = with_redis(services, scenario)
    assert roles(seen) == ["none", "none", "none", "none", "opened", "joined"]
    opened = seen[4]
    assert opened is not None
    assert opened.incident_id == "INC-C5"
    assert sorted(opened.linked_case_ids) == ["C1", "C2", "C3", "C4"]
    assert (opened.queue, opened.severity) == ("outage_repair", Severity.P1)
    assert seen[5] is not None and seen[5].incident_id == "INC-C5"
    assert incident.case_ids == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert (incident.status, incident.lead_case_id, incident.area) == (
        "open", "C5", "浦东新区-金桥-碧云小区")


def test_an_incident_opens_when_complaints_arrive_out_of_time_order(
    services: EmbeddedServices, prefix: str
) -> None:
    """Partitions and retries deliver late: the newest call may be read first."""

    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        return [await observe(tracker, f"C{n}", minutes=n * 5) for n in range(5, 0, -1)]

    seen = with_redis(services, scenario)
    assert roles(seen) == ["none", "none", "none", "none", "opened"]
    assert sorted(seen[4].linked_case_ids) == ["C2", "C3", "C4", "C5"]


def test_complaints_spread_wider_than_w_open_no_incident(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        return [await observe(tracker, f"C{n}", minutes=n * 10) for n in range(1, 8)]

    assert roles(with_redis(services, scenario)) == ["none"] * 7


def test_other_areas_and_categories_count_separately(
    services: EmbeddedServices, prefix: str
) -> None:
    elsewhere = IncidentKey(Category.OUTAGE, "浦东新区-金桥-别的小区")
    voltage = IncidentKey(Category.POWER_QUALITY, OUTAGE_HERE.area)

    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        seen = []
        for n in range(4):
            seen.append(await observe(tracker, f"A{n}", n))
            seen.append(await observe(tracker, f"B{n}", n, key=elsewhere))
            seen.append(await observe(tracker, f"V{n}", n, key=voltage))
        return seen

    assert roles(with_redis(services, scenario)) == ["none"] * 12


def test_a_redelivered_case_gets_the_same_incident_answer(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        for n in range(1, 6):
            await observe(tracker, f"C{n}", minutes=n)
        again = [await observe(tracker, case, minutes=m) for case, m in [("C5", 5), ("C2", 2)]]
        incident = await tracker.incident("INC-C5")
        return [*again, incident.case_ids if incident else None]

    lead, early, cases = with_redis(services, scenario)
    assert lead.opened and lead.incident_id == "INC-C5"
    assert not early.opened and early.incident_id == "INC-C5"
    assert cases == ["C1", "C2", "C3", "C4", "C5"]


def test_an_incident_opens_exactly_once_when_workers_race(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> tuple[list[Any], Any]:
        clients = [aioredis.Redis.from_url(services.redis_url) for _ in range(8)]
        try:
            trackers = [IncidentTracker(c, prefix) for c in clients]
            seen = await asyncio.gather(*(
                observe(trackers[n % 8], f"C{n:02d}", minutes=0) for n in range(40)))
        finally:
            for c in clients:
                await c.aclose()
        opened = [m for m in seen if m and m.opened]
        incident = await IncidentTracker(client, prefix).incident(opened[0].incident_id)
        return list(seen), incident

    seen, incident = with_redis(services, scenario)
    assert Counter(roles(seen)) == {"none": 4, "opened": 1, "joined": 35}
    assert {m.incident_id for m in seen if m} == {incident.incident_id}
    assert len(incident.case_ids) == 40


def test_an_incident_stops_taking_in_cases_w_after_its_latest(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        for n in range(1, 6):
            await observe(tracker, f"C{n}", minutes=n)
        return [await observe(tracker, "C6", minutes=30),   # within W of C5: joins
                await observe(tracker, "C7", minutes=61)]   # W after C6: a fresh count

    joined, fresh = with_redis(services, scenario)
    assert joined is not None and joined.incident_id == "INC-C5"
    assert fresh is None


def test_an_incident_closes_with_its_last_case(services: EmbeddedServices, prefix: str) -> None:
    async def scenario(client: aioredis.Redis) -> list[Any]:
        tracker = IncidentTracker(client, prefix)
        for n in range(1, 6):
            await observe(tracker, f"C{n}", minutes=n)
        listed_open = [i.incident_id for i in await tracker.open_incidents()]
        closings = [await tracker.close_case(f"C{n}") for n in range(1, 6)]
        listed_after = await tracker.open_incidents()
        again = await tracker.close_case("C5")
        unrelated = await tracker.close_case("not-in-any-incident")
        incident = await tracker.incident("INC-C5")
        after = await observe(tracker, "C6", minutes=6)  # does not join a closed incident
        return [closings, again, unrelated, incident, after, listed_open, listed_after]

    closings, again, unrelated, incident, after, listed_open, listed_after = with_redis(
        services, scenario)
    assert listed_open == ["INC-C5"]
    assert listed_after == []
    assert [c.incident_closed for c in closings] == [False, False, False, False, True]
    assert {c.incident_id for c in closings} == {"INC-C5"}
    assert again is not None and not again.incident_closed
    assert unrelated is None
    assert incident.status == "closed" and incident.closed_at is not None
    assert after is None
