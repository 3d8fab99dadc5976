"""Many handler processes claiming from one queue at once: every case exactly once.

Each handler is its own OS process with its own Redis connection, started together
behind a barrier, so claims really race on the server.
"""

import asyncio
import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from complaints.local.embedded import EmbeddedServices
from complaints.schemas.codes import Category, Channel, Industry, RequestKind, Severity
from complaints.schemas.routing import QueueItem
from complaints.store.work_queues import WorkQueues
from tests.store import claimers

pytestmark = pytest.mark.broker

CASES = 1000
QUEUE = "outage_repair"


def fill_queue(redis_url: str, prefix: str, count: int) -> set[str]:
    """`count` cases of mixed severity and due time in one queue."""
    now = datetime.now(UTC)

    async def fill() -> set[str]:
        client = aioredis.Redis.from_url(redis_url)
        work = WorkQueues(client, prefix)
        ids = set()
        try:
            for n in range(count):
                case_id = f"C20261124-{n:010d}"
                await work.enqueue(QueueItem(
                    case_id=case_id, queue=QUEUE, priority=50,
                    severity=list(Severity)[n % 4], due_at=now + timedelta(minutes=n % 97),
                    enqueued_at=now, kind=RequestKind.COMPLAINT, category=Category.OUTAGE,
                    industry=Industry.POWER, channel=Channel.HOTLINE, excerpt="停电了",
                ))
                ids.add(case_id)
            return ids
        finally:
            await client.aclose()

    return asyncio.run(fill())


def queue_stats(redis_url: str, prefix: str) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        client = aioredis.Redis.from_url(redis_url)
        try:
            stats = (await WorkQueues(client, prefix).stats([QUEUE]))[QUEUE]
            return stats.depth, stats.in_progress
        finally:
            await client.aclose()

    return asyncio.run(read())


def run_processes(processes: list[multiprocessing.process.BaseProcess],
                  timeout_s: float = 120) -> None:
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(timeout=timeout_s)
        stuck = [p.name for p in processes if p.is_alive()]
        assert not stuck, f"handler processes did not finish in time: {stuck}"
        assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def read_finished(paths: list[Path]) -> tuple[list[str], dict[str, int], list[str]]:
    finished, claim_counts, failures = [], {}, []
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.startswith("FAILED"):
                failures.append(line)
            elif line:
                case_id, count = line.split()
                finished.append(case_id)
                claim_counts[case_id] = int(count)
    return finished, claim_counts, failures


def test_concurrent_handlers_claim_every_case_exactly_once(
    services: EmbeddedServices, prefix: str, tmp_path: Path
) -> None:
    expected = fill_queue(services.redis_url, prefix, CASES)
    spawn = multiprocessing.get_context("spawn")
    handlers = 6
    start = spawn.Barrier(handlers)
    outputs = [tmp_path / f"handler-{n}.txt" for n in range(handlers)]
    run_processes([
        spawn.Process(target=claimers.finish_until_empty, name=f"handler-{n}",
                      args=(services.redis_url, prefix, QUEUE, f"handler-{n}", str(out),
                            start, 90.0))
        for n, out in enumerate(outputs)
    ])

    finished, claim_counts, failures = read_finished(outputs)
    assert failures == []
    duplicates = [case for case, n in Counter(finished).items() if n > 1]
    assert duplicates == []
    assert set(finished) == expected
    assert set(claim_counts.values()) == {1}
    assert sum(1 for out in outputs if out.read_text().strip()) > 1, "no real race happened"
    assert queue_stats(services.redis_url, prefix) == (0, 0)


def test_cases_whose_leases_expire_are_handed_out_again_and_finished_once(
    services: EmbeddedServices, prefix: str, tmp_path: Path
) -> None:
    expected = fill_queue(services.redis_url, prefix, CASES)
    spawn = multiprocessing.get_context("spawn")
    finishers, abandoners, abandoned_each, lease_s = 4, 2, 40, 3.0
    # first two desks take cases and crash (their leases keep running) …
    abandoned_out = [tmp_path / f"abandoner-{n}.txt" for n in range(abandoners)]
    start = spawn.Barrier(abandoners)
    run_processes([
        spawn.Process(target=claimers.abandon, name=f"abandoner-{n}",
                      args=(services.redis_url, prefix, QUEUE, f"abandoner-{n}", str(out),
                            start, abandoned_each, lease_s))
        for n, out in enumerate(abandoned_out)
    ])
    # … then four desks work the queue, and get the abandoned cases once the leases expire
    finished_out = [tmp_path / f"finisher-{n}.txt" for n in range(finishers)]
    start = spawn.Barrier(finishers)
    run_processes([
        spawn.Process(target=claimers.finish_until_empty, name=f"finisher-{n}",
                      args=(services.redis_url, prefix, QUEUE, f"finisher-{n}", str(out),
                            start, 90.0))
        for n, out in enumerate(finished_out)
    ])

    abandoned = {line for out in abandoned_out
                 for line in out.read_text(encoding="utf-8").split("\n") if line}
    finished, claim_counts, failures = read_finished(finished_out)
    assert len(abandoned) == abandoners * abandoned_each
    assert failures == []
    assert sorted(finished) == sorted(expected)  # each case finished exactly once
    assert all(claim_counts[case] == 2 for case in abandoned)
    assert all(claim_counts[case] == 1 for case in expected - abandoned)
    assert queue_stats(services.redis_url, prefix) == (0, 0)
