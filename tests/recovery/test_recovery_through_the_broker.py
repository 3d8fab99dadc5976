"""Service recovery end to end: events in, handler actions through `complaints act`, case
events and one resolution out — on the real broker and Redis, with a controllable clock.

The worker runs with `COMPLAINTS_CLOCK=redis`, so the test moves the pipeline's time by
writing `{prefix}:clock`; everything else is the production code path.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaints.messaging.codec import encode_cloudevent
from complaints.normalise import case_id_for
from complaints.schemas.case import HandlerAction
from complaints.schemas.envelope import HANDLER_ACTION_TYPE
from complaints.store.work_queues import WorkQueues
from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)  # a Tuesday morning


def complaint_event(event_id: str, body: str, customer: str = "C-1") -> bytes:
    return json.dumps({
        "event_id": event_id, "form_id": f"F-{event_id}", "occurred_at": T0.isoformat(),
        "body": body, "customer": {"customer_id": customer},
    }, ensure_ascii=False).encode()


class Recovery:
    """Drives one pipeline under test: its clock, its cases, its output topics."""

    def __init__(self, pipeline: PipelineUnderTest) -> None:
        self.pipeline = pipeline

    def set_clock(self, moment: datetime) -> None:
        self.pipeline.redis.set(f"{self.pipeline.prefix}:clock", moment.isoformat())

    def start_worker(self) -> None:
        self.pipeline.start_worker(COMPLAINTS_CLOCK="redis")

    def open(self, event_id: str, body: str, customer: str = "C-1") -> str:
        self.pipeline.produce(self.pipeline.topics.intake_web,
                              [(event_id.encode(), complaint_event(event_id, body, customer))])
        case_id = case_id_for("web", event_id, T0)
        self.pipeline.wait_for(lambda: self.case(case_id) is not None, 90, f"case {case_id}")
        return case_id

    def case(self, case_id: str) -> dict | None:
        raw = self.pipeline.redis.get(f"{self.pipeline.prefix}:case:{case_id}")
        return json.loads(raw) if raw else None

    def act(self, case_id: str, action: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "complaints", "act", case_id, action, "--actor", "zhang.wei",
             "--json", *args],
            env={**os.environ, **self.pipeline.env()}, capture_output=True, text=True,
            timeout=90, check=False)

    def events(self, case_id: str | None = None) -> list[dict]:
        found = [e["data"] for e in self.pipeline.read_json(self.pipeline.topics.case_events)]
        return [e for e in found if case_id is None or e["case_id"] == case_id]

    def resolutions(self) -> list[dict]:
        return [e["data"] for e in self.pipeline.read_json(self.pipeline.topics.resolutions)]


@pytest.fixture
def recovery(pipeline: PipelineUnderTest) -> Recovery:
    return Recovery(pipeline)


def test_handler_actions_drive_a_complaint_to_closed_with_one_resolution(
    recovery: Recovery,
) -> None:
    recovery.set_clock(T0 + timedelta(minutes=1))
    recovery.start_worker()
    case_id = recovery.open("rec-1", "小区停电三个小时了，冰箱里的东西都坏了，要求赔偿")
    assert recovery.case(case_id)["state"] == "received"

    early = recovery.act(case_id, "close")
    assert early.returncode == 1, early.stdout + early.stderr
    verdict = json.loads(early.stdout)
    assert not verdict["accepted"] and verdict["reason"]
    assert recovery.case(case_id)["state"] == "received"

    steps = [
        (timedelta(minutes=10), "acknowledge", [], "acknowledged"),
        (timedelta(minutes=20), "apologize", ["--note", "电话致歉"], "apologized"),
        (timedelta(minutes=30), "start_fix", [], "fixing"),
        (timedelta(hours=2), "fix_done", ["--note", "更换熔断器，已复电"], "fixed"),
        (timedelta(hours=2, minutes=10), "compensate", ["--amount", "50"], "compensated"),
        (timedelta(hours=5), "follow_up", ["--satisfaction", "5"], "followed_up"),
        (timedelta(hours=5, minutes=1), "close", [], "closed"),
    ]
    for offset, action, options, state in steps:
        recovery.set_clock(T0 + offset)
        result = recovery.act(case_id, action, *options)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["state"] == state

    recovery.pipeline.wait_for(lambda: len(recovery.resolutions()) >= 1, 30, "a resolution")
    time.sleep(2)  # a second resolution would have arrived by now
    resolutions = recovery.resolutions()
    assert len(resolutions) == 1
    resolution = resolutions[0]
    assert resolution["outcome"] == "closed"
    assert resolution["durations"]["to_first_contact_s"] == 600
    assert resolution["durations"]["to_fix_s"] == 2 * 3600
    assert resolution["durations"]["total_s"] == 5 * 3600 + 60
    assert resolution["satisfaction"] == 5
    assert float(resolution["compensation_total"]) == 50
    assert [s["action"] for s in resolution["steps"]] == [a for _, a, _, _ in steps]
    assert all(d["met"] for d in resolution["deadlines"] if d["name"] in ("fix", "apology"))

    history = recovery.events(case_id)
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    assert [e["event_type"] for e in history].count("ActionRejected") == 1
    shown = subprocess.run([sys.executable, "-m", "complaints", "case", case_id, "--json"],
                           env={**os.environ, **recovery.pipeline.env()}, capture_output=True,
                           text=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["case"]["state"] == "closed"
    assert view["work_item"]["state"] == "done"
    assert len(view["history"]) == len(history)


def test_deadline_warns_once_at_80_percent_and_breach_escalates_once_across_restarts(
    recovery: Recovery,
) -> None:
    recovery.set_clock(T0 + timedelta(minutes=1))
    recovery.start_worker()
    case_id = recovery.open("sla-1", "我家停电了，快点来修")  # fix due 3 h: warns at 2 h 24 min

    def count(event_type: str) -> int:
        return sum(e["event_type"] == event_type and e.get("deadline") == "fix"
                   for e in recovery.events(case_id))

    recovery.set_clock(T0 + timedelta(hours=2, minutes=20))
    time.sleep(3)
    assert count("DeadlineWarned") == 0

    recovery.set_clock(T0 + timedelta(hours=2, minutes=25))
    recovery.pipeline.wait_for(lambda: count("DeadlineWarned") == 1, 30, "one warning")
    recovery.pipeline.workers[-1].stop()
    recovery.start_worker()
    time.sleep(8)  # the new worker has joined and ticked several times
    assert count("DeadlineWarned") == 1

    recovery.set_clock(T0 + timedelta(hours=3, minutes=1))
    recovery.pipeline.wait_for(lambda: count("DeadlineBreached") == 1, 30, "one breach")
    recovery.pipeline.workers[-1].kill()
    recovery.start_worker()
    time.sleep(8)
    assert count("DeadlineWarned") == 1
    assert count("DeadlineBreached") == 1
    escalations = [e for e in recovery.events(case_id) if e["event_type"] == "CaseEscalated"]
    assert len(escalations) == 1
    assert escalations[0]["queue_after"] == "supervisor"
    assert recovery.case(case_id)["queue"] == "supervisor"
    work = asyncio.run(_work_item(recovery.pipeline, case_id))
    assert (work.state, work.queue) == ("waiting", "supervisor")


async def _work_item(pipeline: PipelineUnderTest, case_id: str):  # type: ignore[no-untyped-def]
    from complaints.store.redis import connect

    client = connect(pipeline.services.redis_url)
    try:
        return await WorkQueues(client, pipeline.prefix).inspect(case_id)
    finally:
        await client.aclose()


def test_a_worker_killed_mid_case_loses_nothing_and_doubles_nothing(
    recovery: Recovery,
) -> None:
    recovery.set_clock(T0 + timedelta(minutes=1))
    recovery.start_worker()
    pipeline = recovery.pipeline
    cases = [f"kill-{n}" for n in range(20)]
    pipeline.produce(pipeline.topics.intake_web, [
        (event_id.encode(), complaint_event(event_id, "宽带断网两天了没人管", f"K-{n}"))
        for n, event_id in enumerate(cases)])
    case_ids = [case_id_for("web", event_id, T0) for event_id in cases]
    pipeline.wait_for(lambda: all(recovery.case(c) for c in case_ids), 90, "cases opened")

    script = ["acknowledge", "apologize", "start_fix", "fix_done", "follow_up", "close"]
    actions = []
    for case_id in case_ids:
        for step, name in enumerate(script):
            command = HandlerAction(
                action_id=f"{case_id}-{step}", case_id=case_id, action=name, actor="li.na",
                satisfaction=4 if name == "follow_up" else None,
                issued_at=T0 + timedelta(minutes=5))
            actions.append((case_id.encode(), encode_cloudevent(
                HANDLER_ACTION_TYPE, command.action_id, command)))
    recovery.set_clock(T0 + timedelta(minutes=30))
    pipeline.produce(pipeline.topics.actions, actions)
    pipeline.wait_for(lambda: sum(bool(recovery.case(c)["version"] > 3) for c in case_ids) > 2,
                      60, "some actions applied")
    pipeline.workers[-1].kill()
    recovery.start_worker()
    pipeline.wait_for(lambda: all(recovery.case(c)["state"] == "closed" for c in case_ids),
                      120, "every case closed")
    time.sleep(2)

    published = recovery.events()
    by_identity: dict[tuple[str, int], set[str]] = {}
    for event in published:
        by_identity.setdefault((event["case_id"], event["version"]), set()).add(
            event["event_type"])
    assert all(len(types) == 1 for types in by_identity.values()), "same version, same event"
    for case_id in case_ids:
        versions = sorted(v for c, v in by_identity if c == case_id)
        assert versions == list(range(1, len(versions) + 1)), "no event lost"
        history = json.loads(subprocess.run(
            [sys.executable, "-m", "complaints", "case", case_id, "--json"],
            env={**os.environ, **pipeline.env()}, capture_output=True, text=True, timeout=60,
            check=True).stdout)["history"]
        types = Counter(e["event_type"] for e in history)
        assert types["CaseClosed"] == 1 and types["ActionRejected"] == 0, types
    resolution_ids = Counter(r["resolution_id"] for r in recovery.resolutions())
    assert set(resolution_ids) == {f"{c}:r1" for c in case_ids}


def test_a_case_locked_elsewhere_opens_once_its_lock_is_free_and_exactly_once(
    recovery: Recovery,
) -> None:
    """Cases are opened a batch at a time, under their locks: one whose lock another
    worker holds is not touched until the lock is free, and then opened once."""
    recovery.set_clock(T0 + timedelta(minutes=1))
    pipeline = recovery.pipeline
    cases = [f"batch-{n}" for n in range(30)]
    case_ids = [case_id_for("web", event_id, T0) for event_id in cases]
    held = case_ids[7]
    lock_key = f"{pipeline.prefix}:case-lock:{held}"
    pipeline.redis.set(lock_key, "another-worker", px=120_000)
    recovery.start_worker()
    pipeline.produce(pipeline.topics.intake_web, [
        (event_id.encode(), complaint_event(event_id, "电费突然翻倍，要求核查", f"B-{n}"))
        for n, event_id in enumerate(cases)])
    pipeline.wait_for(lambda: pipeline.counters().get("route.routed") == 30, 90, "routing")
    time.sleep(2)
    assert recovery.case(held) is None, "opened although another worker held its lock"

    pipeline.redis.delete(lock_key)
    pipeline.wait_for(lambda: all(recovery.case(c) for c in case_ids), 60, "every case")
    time.sleep(1)
    opened = Counter(e["case_id"] for e in recovery.events() if e["event_type"] == "CaseOpened")
    assert opened == Counter(case_ids), "every case opened exactly once"
    assert not pipeline.redis.keys(f"{pipeline.prefix}:case-lock:*"), "no lock left behind"
