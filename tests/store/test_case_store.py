"""The case store on a real Redis: locks, loads and commits of many cases at once."""

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from complaints.local.embedded import EmbeddedServices
from complaints.recovery import RecoveryRules, apply_events, open_case, start_case
from complaints.schemas.codes import Category, RequestKind, Severity
from complaints.store import cases
from complaints.store.cases import CaseChange, CaseStore

pytestmark = pytest.mark.broker

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def store_env(services: EmbeddedServices, request: pytest.FixtureRequest) -> Iterator[str]:
    yield f"store-{request.node.name[-40:]}"


def run(services: EmbeddedServices, prefix: str, scenario: Any) -> Any:
    async def go() -> Any:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            await client.delete(*(await client.keys(f"{prefix}:*")) or [f"{prefix}:none"])
            return await scenario(CaseStore(client, prefix), client)
        finally:
            await client.aclose()
    return asyncio.run(go())


def opened(case_id: str) -> CaseChange:
    events = start_case(open_case(
        case_id=case_id, kind=RequestKind.COMPLAINT, category=Category.BILLING,
        severity=Severity.P3, queue="billing", opened_at=T0), RecoveryRules.load())
    case = apply_events(None, events)
    return CaseChange(case, events, T0 + timedelta(hours=1))


def test_lock_and_load_takes_only_free_locks_and_unlock_leaves_a_lock_taken_since(
    services: EmbeddedServices, store_env: str,
) -> None:
    async def scenario(store: CaseStore, client: aioredis.Redis) -> None:
        await store.commit([opened("a")])
        await client.set(f"{store_env}:case-lock:b", "someone-else")
        tokens, cases = await store.lock_and_load(["a", "b", "c", "a"])
        assert set(tokens) == set(cases) == {"a", "c"}
        assert cases["a"] == opened("a").case and cases["c"] is None
        assert (await store.lock_and_load(["a", "c"]))[0] == {}, "held locks not taken twice"
        await client.set(f"{store_env}:case-lock:c", "after-expiry")  # expired, retaken
        await store.unlock(tokens)
        assert await client.get(f"{store_env}:case-lock:a") is None
        assert await client.get(f"{store_env}:case-lock:c") == b"after-expiry"
        assert await client.get(f"{store_env}:case-lock:b") == b"someone-else"

    run(services, store_env, scenario)


def test_lock_and_load_with_wait_takes_the_lock_once_it_is_free(
    services: EmbeddedServices, store_env: str,
) -> None:
    async def scenario(store: CaseStore, client: aioredis.Redis) -> None:
        await client.set(f"{store_env}:case-lock:a", "someone-else", px=300)
        tokens, cases = await store.lock_and_load(["a"], wait=True)
        assert set(tokens) == {"a"} and cases == {"a": None}
        assert await client.get(f"{store_env}:case-lock:a") == tokens["a"].encode()

    run(services, store_env, scenario)


def test_commit_saves_every_case_of_a_batch_with_history_and_timer(
    services: EmbeddedServices, store_env: str,
) -> None:
    async def scenario(store: CaseStore, client: aioredis.Redis) -> None:
        changes = [opened(f"CASE-{n}") for n in range(3)]
        rearmed = T0 + timedelta(hours=5)
        tokens, _ = await store.lock_and_load(["CASE-0", "CASE-1", "CASE-2"])
        await store.commit(changes, rearm={"CASE-OLD": rearmed, "CASE-GONE": None},
                           release=tokens)
        assert not await client.keys(f"{store_env}:case-lock:*"), "locks released"
        await client.zadd(store.timers_key, {"CASE-GONE": 1})
        await store.commit([], rearm={"CASE-GONE": None})

        loaded = await store.load_many(["CASE-0", "CASE-1", "CASE-2", "CASE-9"])
        assert loaded["CASE-9"] is None
        for change in changes:
            assert loaded[change.case.case_id] == change.case
            assert await store.history(change.case.case_id) == list(change.events)
            assert await client.get(f"{store_env}:case:{change.case.case_id}") == \
                change.case.model_dump_json().encode()
            assert await client.zscore(store.timers_key, change.case.case_id) == \
                change.next_timer.timestamp() * 1000
        assert await client.zscore(store.timers_key, "CASE-OLD") == rearmed.timestamp() * 1000
        assert await client.zscore(store.timers_key, "CASE-GONE") is None

    run(services, store_env, scenario)



def test_a_commit_retried_after_its_reply_was_lost_appends_and_counts_nothing_twice(
    services: EmbeddedServices, store_env: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_until_redis_answers = cases.until_redis_answers

    async def reply_lost_once(operation: Any, what: str) -> Any:
        await operation()  # Redis ran the script; the worker never saw the answer
        return await real_until_redis_answers(operation, what)  # so it tries again

    async def scenario(store: CaseStore, client: aioredis.Redis) -> None:
        change = opened("CASE-R")
        tokens, _ = await store.lock_and_load(["CASE-R"])
        monkeypatch.setattr(cases, "until_redis_answers", reply_lost_once)
        await store.commit([change], release=tokens, counts={"recovery.opened": 1})
        monkeypatch.setattr(cases, "until_redis_answers", real_until_redis_answers)

        assert await store.history("CASE-R") == list(change.events)
        assert await client.hget(f"{store_env}:stats", "recovery.opened") == b"1"
        assert (await store.load_many(["CASE-R"]))["CASE-R"] == change.case
        assert not await client.keys(f"{store_env}:case-lock:*"), "the lock is released"

    run(services, store_env, scenario)
