"""Redis work queues on the session's real Redis: order, idempotence, leases, stats."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from complaints.local.embedded import EmbeddedServices
from complaints.schemas.codes import Category, Channel, Industry, RequestKind, Severity
from complaints.schemas.routing import QueueItem
from complaints.store.work_queues import LeaseError, WorkQueues, queue_score

pytestmark = pytest.mark.broker
T = TypeVar("T")


def item(case_id: str, *, queue: str = "billing_metering", severity: Severity = Severity.P3,
         due_in: timedelta = timedelta(hours=1), waited: timedelta = timedelta(0),
         incident_id: str | None = None) -> QueueItem:
    now = datetime.now(UTC)
    return QueueItem(
        case_id=case_id, queue=queue, priority=50, severity=severity, due_at=now + due_in,
        enqueued_at=now - waited, incident_id=incident_id, kind=RequestKind.COMPLAINT,
        category=Category.BILLING, industry=Industry.POWER, channel=Channel.HOTLINE,
        excerpt="电费多扣了",
    )


def with_queues(services: EmbeddedServices, prefix: str,
                scenario: Callable[[WorkQueues], Awaitable[T]]) -> T:
    """Run an async scenario against work queues under `prefix` on the real Redis."""
    async def run() -> T:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            return await asyncio.wait_for(scenario(WorkQueues(client, prefix)), timeout=30)
        finally:
            await client.aclose()

    return asyncio.run(run())


async def claim_all(work: WorkQueues, queue: str, handler: str = "h") -> list[str]:
    claimed = []
    while (case := await work.claim(queue, handler, lease_s=60)) is not None:
        claimed.append(case.case_id)
    return claimed


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_claims_come_by_severity_then_due_time_then_age(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[str]:
        for queued in [
            item("p3-newer", due_in=timedelta(minutes=10), waited=timedelta(seconds=1)),
            item("p2-later", severity=Severity.P2, due_in=timedelta(minutes=5)),
            item("p1-late-due", severity=Severity.P1, due_in=timedelta(hours=5)),
            item("p3-older", due_in=timedelta(minutes=10), waited=timedelta(seconds=30)),
            item("p2-sooner", severity=Severity.P2, due_in=timedelta(minutes=1)),
            item("p4-overdue", severity=Severity.P4, due_in=-timedelta(hours=1)),
        ]:
            await work.enqueue(queued.model_copy(update={"due_at": queued.due_at.replace(
                microsecond=0)}))
        return await claim_all(work, "billing_metering")

    order = with_queues(services, prefix, scenario)
    assert order == ["p1-late-due", "p2-sooner", "p2-later", "p3-older", "p3-newer",
                     "p4-overdue"]


def test_same_severity_and_due_time_are_served_oldest_first(
    services: EmbeddedServices, prefix: str
) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)

    async def scenario(work: WorkQueues) -> list[str]:
        for name, waited in [("b", 5), ("c", 1), ("a", 9)]:
            await work.enqueue(item(name, waited=timedelta(seconds=waited)).model_copy(
                update={"due_at": due}))
        return await claim_all(work, "billing_metering")

    assert with_queues(services, prefix, scenario) == ["a", "b", "c"]


def test_enqueuing_the_same_case_twice_leaves_one_item(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> tuple[list[bool], int, list[str]]:
        added = [(await work.enqueue(item("C1"))).added, (await work.enqueue(item("C1"))).added]
        depth = (await work.stats(["billing_metering"]))["billing_metering"].depth
        return added, depth, await claim_all(work, "billing_metering")

    added, depth, claimed = with_queues(services, prefix, scenario)
    assert added == [True, False]
    assert depth == 1
    assert claimed == ["C1"]


def test_a_case_claimed_or_completed_is_not_enqueued_again(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[Any]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", 60)
        while_leased = (await work.enqueue(item("C1"))).added
        await work.complete("C1", "wang")
        after_done = (await work.enqueue(item("C1"))).added
        return [while_leased, after_done, await work.claim("billing_metering", "li", 60)]

    assert with_queues(services, prefix, scenario) == [False, False, None]


def test_claiming_from_an_empty_queue_gives_nothing(
    services: EmbeddedServices, prefix: str
) -> None:
    assert with_queues(services, prefix, lambda w: w.claim("general", "h", 60)) is None


def test_a_claim_records_who_holds_the_lease_and_until_when(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> Any:
        await work.enqueue(item("C1", incident_id="INC-1"))
        return await work.claim("billing_metering", "zhang.wei", lease_s=120)

    before = datetime.now(UTC)
    case = with_queues(services, prefix, scenario)
    assert case.case_id == "C1" and case.handler == "zhang.wei" and case.claim_count == 1
    assert case.incident_id == "INC-1" and case.excerpt == "电费多扣了"
    lease = (case.lease_expires_at - case.claimed_at).total_seconds()
    assert lease == pytest.approx(120, abs=0.01)
    assert abs((case.claimed_at - before).total_seconds()) < 5


def test_an_expired_lease_returns_the_case_to_the_queue(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> tuple[Any, Any, Any]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "absent", lease_s=0.3)
        while_held = await work.claim("billing_metering", "other", lease_s=60)
        again: list[Any] = []

        async def reclaimed() -> bool:
            again.append(await work.claim("billing_metering", "other", lease_s=60))
            return again[-1] is not None

        await wait_until(reclaimed)
        with pytest.raises(LeaseError) as too_late:
            await work.complete("C1", "absent")
        return while_held, again[-1], too_late.value.reason

    while_held, again, reason = with_queues(services, prefix, scenario)
    assert while_held is None
    assert (again.case_id, again.handler, again.claim_count) == ("C1", "other", 2)
    assert reason == "held_by_other"


def test_release_puts_the_case_back_in_its_old_place(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[Any]:
        await work.enqueue(item("urgent", severity=Severity.P1))
        await work.enqueue(item("ordinary"))
        first = await work.claim("billing_metering", "wang", 60)
        assert first is not None
        await work.release(first.case_id, "wang")
        again = await work.claim("billing_metering", "li", 60)
        assert again is not None
        return [first.case_id, again.case_id, again.claim_count]

    assert with_queues(services, prefix, scenario) == ["urgent", "urgent", 2]


def test_complete_ends_the_lease_for_good(services: EmbeddedServices, prefix: str) -> None:
    async def scenario(work: WorkQueues) -> tuple[Any, Any, str]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", 60)
        await work.complete("C1", "wang")
        stats = (await work.stats(["billing_metering"]))["billing_metering"]
        state = await work.inspect("C1")
        with pytest.raises(LeaseError) as again:
            await work.release("C1", "wang")
        return stats, state, again.value.reason

    stats, state, reason = with_queues(services, prefix, scenario)
    assert (stats.depth, stats.in_progress) == (0, 0)
    assert state is not None and state.state == "done"
    assert reason == "not_leased"


def test_only_the_holder_can_release_complete_or_renew(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[str]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", 60)
        reasons = []
        for attempt in (work.release("C1", "li"), work.complete("C1", "li"),
                        work.renew("C1", "li", 60)):
            with pytest.raises(LeaseError) as refused:
                await attempt
            reasons.append(refused.value.reason)
        with pytest.raises(LeaseError) as unknown:
            await work.release("nope", "wang")
        return [*reasons, unknown.value.reason]

    assert with_queues(services, prefix, scenario) == [
        "held_by_other", "held_by_other", "held_by_other", "not_found"]


def test_renewing_keeps_the_case_past_its_first_expiry(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> tuple[Any, Any, datetime]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", lease_s=0.5)
        until = await work.renew("C1", "wang", lease_s=30)
        await asyncio.sleep(0.7)
        return await work.claim("billing_metering", "li", 60), await work.inspect("C1"), until

    other, state, until = with_queues(services, prefix, scenario)
    assert other is None
    assert state is not None and state.state == "leased" and state.handler == "wang"
    assert until == state.lease_expires_at
    assert until > datetime.now(UTC) + timedelta(seconds=20)


def test_an_expired_lease_cannot_be_renewed_and_the_case_is_back(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> tuple[str, int]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", lease_s=0.2)
        await asyncio.sleep(0.3)
        with pytest.raises(LeaseError) as refused:
            await work.renew("C1", "wang", 60)
        depth = (await work.stats(["billing_metering"]))["billing_metering"].depth
        return refused.value.reason, depth

    assert with_queues(services, prefix, scenario) == ("expired", 1)


def test_expired_leases_can_be_returned_without_a_claim(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> tuple[int, int, int]:
        await work.enqueue(item("C1"))
        await work.claim("billing_metering", "wang", lease_s=0.2)
        await asyncio.sleep(0.3)
        expired = (await work.stats())["billing_metering"].expired_leases
        returned = await work.reclaim_expired()
        depth = (await work.stats(["billing_metering"]))["billing_metering"].depth
        return expired, returned, depth

    assert with_queues(services, prefix, scenario) == (1, 1, 1)


def test_stats_report_depth_in_progress_oldest_wait_and_breaches(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[Any]:
        await work.enqueue(item("overdue", due_in=-timedelta(minutes=5),
                                waited=timedelta(seconds=120)))
        await work.enqueue(item("fresh", waited=timedelta(seconds=10)))
        await work.enqueue(item("low", severity=Severity.P4, due_in=timedelta(days=1)))
        before = (await work.stats(["billing_metering", "general"]))
        await work.claim("billing_metering", "wang", 60)
        after = (await work.stats(["billing_metering"]))["billing_metering"]
        return [before["billing_metering"], before["general"], after]

    before, empty, after = with_queues(services, prefix, scenario)
    assert (before.depth, before.in_progress, before.breaches) == (3, 0, 1)
    assert before.oldest_wait_s == pytest.approx(120, abs=5)
    assert (empty.depth, empty.oldest_wait_s, empty.breaches) == (0, None, 0)
    assert (after.depth, after.in_progress, after.breaches) == (2, 1, 0)
    assert after.oldest_wait_s == pytest.approx(10, abs=5)


def test_held_cases_wait_under_their_incident_and_are_never_claimed(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[Any]:
        await work.enqueue(item("lead", queue="outage_repair", incident_id="INC-1"))
        await work.enqueue(item("held", queue="outage_repair", incident_id="INC-1"), held=True)
        claimed = await claim_all(work, "outage_repair")
        state = await work.inspect("held")
        return [claimed, state.state if state else None]

    assert with_queues(services, prefix, scenario) == [["lead"], "held"]


def test_an_opening_incident_takes_waiting_cases_off_its_own_desk_only(
    services: EmbeddedServices, prefix: str
) -> None:
    async def scenario(work: WorkQueues) -> list[Any]:
        await work.enqueue(item("taken", queue="outage_repair", due_in=timedelta(minutes=5)))
        await work.enqueue(item("waiting", queue="outage_repair"))
        await work.enqueue(item("media", queue="legal_pr"))
        taken = await work.claim("outage_repair", "wang", 60)
        assert taken is not None and taken.case_id == "taken"
        await work.enqueue(item("unrelated", queue="outage_repair"))
        held = await work.hold_under_incident(["taken", "waiting", "media", "unknown"],
                                              "INC-1", "outage_repair")
        states = {c: await work.inspect(c) for c in ("taken", "waiting", "media")}
        return [held, {c: (s.state, s.incident_id) for c, s in states.items() if s},
                await claim_all(work, "outage_repair"), await claim_all(work, "legal_pr")]

    held, states, outage_left, legal_left = with_queues(services, prefix, scenario)
    assert held == 1
    assert states == {"taken": ("leased", "INC-1"), "waiting": ("held", "INC-1"),
                      "media": ("waiting", "INC-1")}
    assert outage_left == ["unrelated"]
    assert legal_left == ["media"]


def test_queue_scores_order_severity_before_due_time() -> None:
    soon, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
    assert queue_score(Severity.P1, late) < queue_score(Severity.P2, soon)
    assert queue_score(Severity.P2, soon) < queue_score(Severity.P2, late)
