"""Routing end to end: events published to Kafka end up in the right Redis work queues.

A real worker process consumes the intake topic, classifies and routes; the test reads
`complaints.routed.v1` and the work queues, as downstream systems and handler desks do.
"""

import asyncio
import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from complaints.routing import default_table_path
from complaints.store.work_queues import WorkQueues
from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

@functools.cache
def start() -> datetime:
    """When the events begin: when the tests first ask (not when the suite was collected),
    so no deadline falls due while they run — a mass outage is P1, whose 15-minute
    dispatch deadline, once breached, escalates the lead to another desk."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)


def web_event(event_id: str, body: str, *, customer: str, minutes: int = 0,
              tier: str = "standard", area: str | None = None) -> tuple[bytes, bytes]:
    event = {
        "event_id": event_id, "form_id": f"F-{event_id}", "body": body,
        "occurred_at": (start() + timedelta(minutes=minutes)).isoformat(),
        "customer": {"customer_id": customer, "tier": tier, **({"area": area} if area else {})},
    }
    return event_id.encode(), json.dumps(event, ensure_ascii=False).encode()


def decisions(pipeline: PipelineUnderTest) -> dict[str, dict]:
    """Routing decisions by source text, from complaints.routed.v1."""
    complaints = {c["data"]["case_id"]: c["data"]["source_event_ids"][0]
                  for c in pipeline.read_json(pipeline.topics.classified)}
    return {complaints[d["data"]["case_id"]]: d["data"]
            for d in pipeline.read_json(pipeline.topics.routed)}


def routes_with_small_vip_desk(tmp_path: Path, max_backlog: int) -> Path:
    table = yaml.safe_load(default_table_path().read_text(encoding="utf-8"))
    for overflow in table["overflow"]:
        if overflow["from"] == "vip_desk":
            overflow["max_backlog"] = max_backlog
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    return path


def test_five_categories_reach_their_desks_and_the_vip_desk_overflows_at_its_limit(
    pipeline: PipelineUnderTest, tmp_path: Path,
) -> None:
    pipeline.start_worker(COMPLAINTS_ROUTES_PATH=str(routes_with_small_vip_desk(tmp_path, 2)))
    expected = {
        "cat-outage": ("客户反映小区停电三个小时了还没来电", "outage_repair"),
        "cat-billing": ("这个月电费多扣了两百元，要求退费", "billing_metering"),
        "cat-network": ("手机信号差，在家经常掉线", "network_ops"),
        "cat-delivery": ("快递丢件一周了没人处理", "logistics"),
        "cat-medical": ("护士扎针扎了三次都没扎进去", "nursing"),
    }
    events = [web_event(eid, text, customer=f"cust-{eid}") for eid, (text, _) in
              expected.items()]
    pipeline.produce(pipeline.topics.intake_web, events)
    pipeline.wait_read(len(events))

    vip = [web_event(f"vip-{n}", "这个月电费多扣了两百元，要求退费", customer=f"vip-{n}",
                     tier="vip") for n in range(2)]
    pipeline.produce(pipeline.topics.intake_web, vip)
    pipeline.wait_read(len(events) + 2)
    routed = decisions(pipeline)
    assert [routed[f"vip-{n}"]["queue"] for n in range(2)] == ["vip_desk", "vip_desk"]
    assert all(routed[f"vip-{n}"]["overflowed_from"] is None for n in range(2))

    pipeline.produce(pipeline.topics.intake_web, [web_event(
        "vip-2", "这个月电费多扣了两百元，要求退费", customer="vip-2", tier="vip")])
    pipeline.wait_read(len(events) + 3)
    routed = decisions(pipeline)
    assert routed["vip-2"]["queue"] == "billing_metering"
    assert routed["vip-2"]["overflowed_from"] == "vip_desk"

    for event_id, (_, queue) in expected.items():
        assert routed[event_id]["queue"] == queue, (event_id, routed[event_id])
    waiting = asyncio.run(_queue_members(pipeline))
    for event_id, (_, queue) in expected.items():
        assert routed[event_id]["case_id"] in waiting[queue]
    assert len(waiting["vip_desk"]) == 2


async def _queue_members(pipeline: PipelineUnderTest) -> dict[str, set[str]]:
    from complaints.store.redis import connect

    client = connect(pipeline.services.redis_url)
    try:
        queues = WorkQueues(client, pipeline.prefix)
        members: dict[str, set[str]] = {}
        for queue in await queues.known_queues():
            raw = await client.zrange(f"{pipeline.prefix}:queue:{queue}", 0, -1)
            members[queue] = {m.decode().split("|", 1)[1] for m in raw}
        return members
    finally:
        await client.aclose()


def test_repeat_complaints_and_a_mass_outage_are_recognised_end_to_end(
    pipeline: PipelineUnderTest,
) -> None:
    pipeline.start_worker()
    first = web_event("rep-1", "这个月电费多扣了两百元", customer="C-42")
    pipeline.produce(pipeline.topics.intake_web, [first])
    pipeline.wait_read(1)
    pipeline.produce(pipeline.topics.intake_web, [
        first,  # redelivered: not a repeat, not a new case
        web_event("rep-2", "电费又多扣了，上次反映的问题一直没解决", customer="C-42", minutes=60),
    ])
    pipeline.wait_read(3)

    area = "杭州市西湖区-文三路-学院小区"
    households = [web_event(f"mass-{n}", "我家停电了，什么时候来电？", customer=f"H-{n}",
                            minutes=n * 3, area=area) for n in range(6)]
    pipeline.produce(pipeline.topics.intake_web, households)
    pipeline.wait_read(9)

    routed = decisions(pipeline)
    assert "repeat" not in routed["rep-1"]["signals"]
    assert routed["rep-1"]["repeat_count"] == 0
    assert "repeat" in routed["rep-2"]["signals"]
    assert routed["rep-2"]["repeat_count"] == 1
    assert routed["rep-2"]["priority"] > routed["rep-1"]["priority"]

    mass = [routed[f"mass-{n}"] for n in range(6)]
    incident_ids = {d["incident_id"] for d in mass if d["incident_id"]}
    assert len(incident_ids) == 1, mass
    leads = [d for d in mass if d["incident_role"] == "lead"]
    assert len(leads) == 1
    assert leads[0]["severity"] == "P1"
    assert leads[0]["queue"] == "outage_repair"
    waiting = asyncio.run(_queue_members(pipeline))["outage_repair"]
    mass_case_ids = {d["case_id"] for d in mass}
    assert waiting & mass_case_ids == {leads[0]["case_id"]}, "one ticket for the incident"
