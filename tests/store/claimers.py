"""Handler processes for the concurrency tests (run in their own OS processes).

Each writes one line per case it finished — `case_id claim_count` — to its output file,
and a line `FAILED case_id reason` for every completion that was refused.
"""

import asyncio
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

import redis.asyncio as aioredis

from complaints.store.work_queues import LeaseError, WorkQueues


def finish_until_empty(redis_url: str, prefix: str, queue: str, handler: str, out: str,
                       start: Barrier, deadline_s: float) -> None:
    """Claim and complete until the queue is empty and no lease is outstanding."""
    asyncio.run(_finish(redis_url, prefix, queue, handler, Path(out), start, deadline_s))


def abandon(redis_url: str, prefix: str, queue: str, handler: str, out: str,
            start: Barrier, count: int, lease_s: float) -> None:
    """Claim `count` cases with a short lease and walk away, as a crashed desk would."""
    asyncio.run(_abandon(redis_url, prefix, queue, handler, Path(out), start, count, lease_s))


async def _finish(redis_url: str, prefix: str, queue: str, handler: str, out: Path,
                  start: Barrier, deadline_s: float) -> None:
    client = aioredis.Redis.from_url(redis_url)
    work = WorkQueues(client, prefix, patient=False)
    lines = []
    start.wait(timeout=60)
    deadline = time.monotonic() + deadline_s
    try:
        while time.monotonic() < deadline:
            case = await work.claim(queue, handler, lease_s=60)
            if case is None:
                stats = (await work.stats([queue]))[queue]
                if stats.depth == 0 and stats.in_progress == 0:
                    break
                await asyncio.sleep(0.05)  # abandoned leases still running out
                continue
            try:
                await work.complete(case.case_id, handler)
                lines.append(f"{case.case_id} {case.claim_count}")
            except LeaseError as exc:
                lines.append(f"FAILED {case.case_id} {exc.reason}")
    finally:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        await client.aclose()


async def _abandon(redis_url: str, prefix: str, queue: str, handler: str, out: Path,
                   start: Barrier, count: int, lease_s: float) -> None:
    client = aioredis.Redis.from_url(redis_url)
    work = WorkQueues(client, prefix, patient=False)
    taken = []
    start.wait(timeout=60)
    try:
        for _ in range(count):
            case = await work.claim(queue, handler, lease_s=lease_s)
            if case is None:
                break
            taken.append(case.case_id)
    finally:
        out.write_text("\n".join(taken) + "\n", encoding="utf-8")
        await client.aclose()
