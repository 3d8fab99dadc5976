"""The route stage end to end on the real Redis: decisions, work queues, history, incidents."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
import yaml

from complaints.local.embedded import EmbeddedServices
from complaints.messaging.codec import decode_cloudevent, encode_cloudevent
from complaints.routing.table import RoutingTable, default_table_path, parse_table
from complaints.schemas.codes import Category, CustomerTier, RequestKind, Severity, Signal
from complaints.schemas.envelope import ROUTING_DECIDED_TYPE
from complaints.schemas.routing import RoutingDecision
from complaints.stages.route import RouteDeps, route_complaints
from tests.routing.factories import NOW, make_complaint

pytestmark = pytest.mark.broker
T = TypeVar("T")


def with_stage(services: EmbeddedServices, prefix: str, table: RoutingTable,
               scenario: Callable[[RouteDeps], Awaitable[T]]) -> T:
    async def run() -> T:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            deps = RouteDeps(redis=client, prefix=prefix, table=table)
            return await asyncio.wait_for(scenario(deps), timeout=60)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_each_complaint_is_routed_enqueued_and_its_decision_returned_in_order(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    batch = [make_complaint(category=Category.BILLING),
             make_complaint(category=Category.OUTAGE),
             make_complaint(kind=RequestKind.PRAISE, severity=Severity.P4)]

    async def scenario(deps: RouteDeps) -> tuple[list[RoutingDecision], Any]:
        decisions = await route_complaints(batch, deps)
        claimed = await deps.queues.claim("billing_metering", "wang", 60)
        return decisions, claimed

    decisions, claimed = with_stage(services, prefix, table, scenario)
    assert [d.case_id for d in decisions] == [c.case_id for c in batch]
    assert [d.queue for d in decisions] == ["billing_metering", "outage_repair", "praise"]
    assert claimed is not None and claimed.case_id == batch[0].case_id
    assert "138****5678" in claimed.excerpt


def test_a_redelivered_batch_adds_nothing_and_repeats_its_decisions(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    batch = [make_complaint(customer_id="3100123456"),
             make_complaint(customer_id="3100123456", received_at=NOW + timedelta(days=1))]

    async def scenario(deps: RouteDeps) -> tuple[Any, Any, int]:
        first = await route_complaints(batch, deps)
        again = await route_complaints(batch, deps)
        depth = (await deps.queues.stats(["billing_metering"]))["billing_metering"].depth
        return first, again, depth

    first, again, depth = with_stage(services, prefix, table, scenario)
    assert again == first
    assert [d.repeat_count for d in again] == [0, 1]
    assert depth == 2


def test_a_customers_second_complaint_within_30_days_is_a_repeat(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    first = make_complaint(phone="13812345678")
    second = make_complaint(phone="13812345678", received_at=NOW + timedelta(days=29))
    other = make_complaint(phone="13900000000", received_at=NOW + timedelta(days=29))

    async def scenario(deps: RouteDeps) -> list[RoutingDecision]:
        return [*await route_complaints([first], deps),
                *await route_complaints([second, other], deps)]

    one, two, stranger = with_stage(services, prefix, table, scenario)
    assert (one.repeat_count, one.signals_added) == (0, [])
    assert (two.repeat_count, two.signals_added) == (1, [Signal.REPEAT])
    assert two.priority > one.priority and two.severity == Severity.P2
    assert stranger.repeat_count == 0


def test_fifty_households_losing_power_make_one_incident_not_fifty_tickets(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    area = "浦东新区-金桥-碧云小区"
    calls = [make_complaint("停电了，整栋楼都没电", category=Category.OUTAGE, area=area,
                            received_at=NOW + timedelta(seconds=20 * n)) for n in range(50)]
    calls[30] = make_complaint("停电了，我要找电视台曝光", category=Category.OUTAGE, area=area,
                               signals=[Signal.MEDIA], severity=Severity.P1,
                               received_at=NOW + timedelta(seconds=600))
    k = table.incidents.threshold

    async def scenario(deps: RouteDeps) -> tuple[list[RoutingDecision], Any, Any, Any]:
        decisions = []
        for start in range(0, len(calls), 7):  # as the intake loop's batches would
            decisions += await route_complaints(calls[start:start + 7], deps)
        outage_desk = []
        while (case := await deps.queues.claim("outage_repair", "wang", 60)) is not None:
            outage_desk.append(case)
        legal_desk = await deps.queues.claim("legal_pr", "li", 60)
        lead = next(d for d in decisions if d.incident_role == "lead")
        return decisions, outage_desk, legal_desk, await deps.incidents.incident(lead.incident_id)

    decisions, outage_desk, legal_desk, incident = with_stage(services, prefix, table, scenario)
    assert Counter(d.incident_role for d in decisions) == {
        None: k - 1, "lead": 1, "held": 50 - k - 1, "separate": 1}
    lead = decisions[k - 1]
    assert lead.incident_role == "lead"
    assert (lead.queue, lead.severity) == ("outage_repair", Severity.P1)
    assert sorted(lead.linked_case_ids) == sorted(c.case_id for c in calls[:k - 1])
    # the desk sees one ticket: the lead; the earlier waiting cases were folded into it
    assert [case.case_id for case in outage_desk] == [lead.case_id]
    assert outage_desk[0].incident_id == incident.incident_id
    # the caller who threatened the media keeps a ticket on the legal/PR desk, linked
    assert legal_desk is not None and legal_desk.case_id == calls[30].case_id
    assert legal_desk.incident_id == incident.incident_id
    assert incident.case_ids == sorted(c.case_id for c in calls)
    assert (incident.queue, incident.severity, incident.status) == (
        "outage_repair", Severity.P1, "open")


def test_the_vip_desk_overflows_within_a_batch_once_full(
    services: EmbeddedServices, prefix: str
) -> None:
    raw = yaml.safe_load(default_table_path().read_text(encoding="utf-8"))
    raw["overflow"][0]["max_backlog"] = 2
    small_desk = parse_table(raw, "small.yaml")
    vips = [make_complaint(tier=CustomerTier.VIP) for _ in range(4)]

    async def scenario(deps: RouteDeps) -> list[RoutingDecision]:
        return await route_complaints(vips, deps)

    decisions = with_stage(services, prefix, small_desk, scenario)
    assert [(d.queue, d.overflowed_from) for d in decisions] == [
        ("vip_desk", None), ("vip_desk", None),
        ("billing_metering", "vip_desk"), ("billing_metering", "vip_desk")]


def test_a_decision_travels_as_a_cloudevent(table: RoutingTable) -> None:
    from complaints.routing.decide import RoutingContext, route

    decision = route(make_complaint(), table, RoutingContext(now=NOW))
    raw = encode_cloudevent(ROUTING_DECIDED_TYPE, f"{decision.case_id}.routed", decision,
                            subject=decision.case_id, time=NOW)
    envelope, back = decode_cloudevent(raw, RoutingDecision)
    assert envelope.type == "cn.complaints.routing.decided.v1"
    assert back == decision
