"""Where each case lives between events: a Redis snapshot, its event history, its timer.

The audit trail is `complaints.case-events.v1`; Redis keeps what a worker needs to
decide the next event quickly and to survive restarts:

    {prefix}:case:{id}            STRING the `Case` snapshot (JSON), version of its last event
    {prefix}:case:{id}:events     LIST   every case event (JSON), in version order
    {prefix}:case-timers          ZSET   case id → when its next SLA timer falls due (ms)
    {prefix}:action:{action_id}   STRING the outcome of one handler action (for `act`)
    {prefix}:case-lock:{id}       STRING a short lock: one worker decides for a case at once

A snapshot and its events are written by one script, so they never disagree; a timer is
claimed with a lease, so a crashed worker's timers fire elsewhere, and a fired timer is
recorded in the case, so it never fires twice. Cases are locked and loaded many at a time
in one round trip, and saved and unlocked in another, because the recovery stage opens a
case for every routed complaint and must keep up with intake.
"""

import asyncio
import functools
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from complaints.schemas.case import CASE_EVENT, ActionRejected, Case, CaseEvent
from complaints.store.encoding import as_text, epoch_ms
from complaints.store.redis import lua_script, until_redis_answers

#: How long a handler action's outcome is kept, for `act` to read what became of it.
ACTION_OUTCOME_TTL_S = 7 * 86_400
#: How long a commit id is remembered: longer than any retry of one commit lasts.
COMMIT_ID_TTL_S = 3_600
#: A case lock frees itself after this, should its worker die while deciding.
LOCK_TTL_MS = 30_000
#: A claimed timer fires elsewhere after this, should its worker die before recording it.
TIMER_LEASE_MS = 30_000


@dataclass(frozen=True)
class CaseChange:
    """One case's decision, to be saved: its new snapshot, the events that made it and
    when its next SLA timer falls due (None: no timer)."""

    case: Case
    events: Sequence[CaseEvent]
    next_timer: datetime | None

    @functools.cached_property
    def events_json(self) -> list[bytes]:
        """The events as JSON, made once for both the topic and the case's history."""
        return [e.__pydantic_serializer__.to_json(e) for e in self.events]


class CaseStore:
    """Snapshots, histories, timers and action outcomes of the cases of one pipeline."""

    def __init__(self, client: "aioredis.Redis", prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.timers_key = f"{prefix}:case-timers"
        self._lock_and_load = client.register_script(lua_script("cases_lock_and_load"))
        self._release = client.register_script(lua_script("cases_release"))
        self._commit = client.register_script(lua_script("cases_commit"))
        self._claim = client.register_script(lua_script("cases_claim_timers"))

    def _case_key(self, case_id: str) -> str:
        return f"{self.prefix}:case:{case_id}"

    async def load(self, case_id: str) -> Case | None:
        return (await self.load_many([case_id]))[case_id]

    async def load_many(self, case_ids: Sequence[str]) -> dict[str, Case | None]:
        """The snapshots of `case_ids` (None for a case not opened yet), in one MGET."""
        if not case_ids:
            return {}
        raw = await until_redis_answers(
            lambda: self.client.mget([self._case_key(c) for c in case_ids]),
            f"loading {len(case_ids)} case(s)")
        return {case_id: Case.model_validate_json(item) if item else None
                for case_id, item in zip(case_ids, raw, strict=True)}

    async def history(self, case_id: str) -> list[CaseEvent]:
        raw = await until_redis_answers(
            lambda: self.client.lrange(f"{self._case_key(case_id)}:events", 0, -1),
            f"reading history of {case_id}")
        return [CASE_EVENT.validate_json(item) for item in raw]

    async def commit(self, changes: Sequence[CaseChange],
                     rearm: Mapping[str, datetime | None] | None = None,
                     release: Mapping[str, str] | None = None,
                     counts: Mapping[str, int] | None = None) -> None:
        """Append each case's events, store its snapshot and arm its timer; set the timers
        in `rearm` (claimed, but nothing was due after all); add `counts` to the stage
        counters (`{prefix}:stats`, as `StageCounters`); release the locks in `release`
        — in one script, so a worker that dies while committing leaves the whole batch
        saved or none of it, no reader sees a snapshot that disagrees with its history,
        and a count is made once with what it counts. A retry after a lost reply is
        recognised by its commit id and appends nothing twice."""
        commit_id = secrets.token_hex(8)  # the same in every retry of this commit
        args: list[Any] = [self.prefix, ACTION_OUTCOME_TTL_S, commit_id, COMMIT_ID_TTL_S,
                           len(release or {})]
        for case_id, token in (release or {}).items():
            args += [case_id, token]
        args.append(len(changes) + len(rearm or {}))
        for change in changes:
            outcomes = _outcomes(change.events)
            args += [change.case.case_id, change.case.model_dump_json(), len(change.events),
                     *change.events_json, _timer_arg(change.next_timer), len(outcomes),
                     *(item for pair in outcomes.items() for item in pair)]
        for case_id, next_timer in (rearm or {}).items():
            args += [case_id, "", 0, _timer_arg(next_timer), 0]
        args.append(len(counts or {}))
        args += [item for pair in (counts or {}).items() for item in pair]
        await until_redis_answers(lambda: self._commit(args=args),
                                  f"saving {len(changes)} case(s)")

    async def claim_due_timers(self, now: datetime, limit: int = 200) -> list[str]:
        """Cases whose timer is due, leased to this worker for `TIMER_LEASE_MS`."""
        raw = await until_redis_answers(
            lambda: self._claim(keys=[self.timers_key],
                                args=[epoch_ms(now), TIMER_LEASE_MS, limit]),
            "claiming due timers")
        return [as_text(item) for item in raw]

    async def action_outcome(self, action_id: str) -> dict[str, object] | None:
        raw = await self.client.get(f"{self.prefix}:action:{action_id}")
        return json.loads(raw) if raw else None

    async def lock_and_load(self, case_ids: Sequence[str], wait: bool = False,
                            ) -> tuple[dict[str, str], dict[str, Case | None]]:
        """Take the locks of those cases that are free and load their snapshots, in one
        round trip: (case id → lock token, case id → snapshot or None). With `wait`,
        retry until every lock is ours (for a single case)."""
        tokens = {case_id: secrets.token_hex(8) for case_id in dict.fromkeys(case_ids)}
        args = [self.prefix, LOCK_TTL_MS, *(item for pair in tokens.items() for item in pair)]
        while True:
            found = await until_redis_answers(lambda: self._lock_and_load(args=args),
                                              f"locking {len(tokens)} case(s)")
            if not wait or all(item is not None for item in found):
                break
            await asyncio.sleep(0.01)
        held: dict[str, str] = {}
        cases: dict[str, Case | None] = {}
        for (case_id, token), snapshot in zip(tokens.items(), found, strict=True):
            if snapshot is not None:
                held[case_id] = token
                cases[case_id] = Case.model_validate_json(snapshot) if snapshot else None
        return held, cases

    async def unlock(self, tokens: Mapping[str, str]) -> None:
        """Release locks taken by `lock_and_load`; one that expired and was taken since
        by another worker stays."""
        if tokens:
            args = [self.prefix, *(item for pair in tokens.items() for item in pair)]
            await until_redis_answers(lambda: self._release(args=args),
                                      f"unlocking {len(tokens)} case(s)")


def _timer_arg(next_timer: datetime | None) -> int | str:
    return "" if next_timer is None else epoch_ms(next_timer)


def _outcomes(events: Sequence[CaseEvent]) -> dict[str, str]:
    """Per handler action: accepted or rejected, and the events it caused (for `act`)."""
    outcomes: dict[str, list[CaseEvent]] = {}
    for event in events:
        if event.action_id and not event.action_id.startswith("sla:"):
            outcomes.setdefault(event.action_id, []).append(event)
    return {
        action_id: json.dumps({
            "accepted": not any(isinstance(e, ActionRejected) for e in caused),
            "reason": next((e.reason for e in caused if isinstance(e, ActionRejected)), None),
            "state": caused[-1].state_after.value,
            "events": [e.model_dump(mode="json") for e in caused],
        }, ensure_ascii=False)
        for action_id, caused in outcomes.items()
    }
