"""The pure routing decision, rule by rule, against the default routing table."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from complaints.routing.decide import (
    RULE_LOOKUPS_REMEMBERED,
    Facts,
    IncidentKey,
    IncidentMembership,
    RoutingContext,
    _remembered_match,
    _scan_rules,
    choose_queue,
    incident_id_for,
    incident_key,
    incident_route,
    repeat_subject,
    route,
    work_item,
)
from complaints.routing.table import RoutingTable, default_table_path, parse_table
from complaints.schemas.codes import (
    Category,
    Channel,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)
from complaints.schemas.routing import QueueStats
from tests.routing.factories import NOW, make_complaint

K = RequestKind
C = Category

# rule id → a complaint only that rule (and none before it) matches → expected queue
RULE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("safety.signal", {"category": C.OUTAGE, "signals": [Signal.SAFETY]}, "safety_emergency"),
    ("safety.category", {"category": C.SAFETY}, "safety_emergency"),
    ("report.inspection", {"kind": K.REPORT, "category": C.OTHER}, "inspection"),
    ("kind.inquiry", {"kind": K.INQUIRY, "severity": Severity.P4}, "inquiry"),
    ("kind.suggestion", {"kind": K.SUGGESTION, "severity": Severity.P4}, "suggestion"),
    ("kind.praise", {"kind": K.PRAISE, "severity": Severity.P4}, "praise"),
    ("legal.regulator-channel", {"channel": Channel.REGULATOR}, "legal_pr"),
    ("legal.signals", {"signals": [Signal.MEDIA], "severity": Severity.P1}, "legal_pr"),
    ("vip.desk", {"tier": CustomerTier.KEY_ACCOUNT}, "vip_desk"),
    ("repair.telecom", {"kind": K.REPAIR, "industry": Industry.TELECOM,
                        "category": C.NETWORK}, "network_ops"),
    ("repair.request", {"kind": K.REPAIR, "category": C.OUTAGE}, "outage_repair"),
    ("critical.supervision", {"category": C.OTHER, "severity": Severity.P1,
                              "signals": [Signal.MASS]}, "service_quality"),
    ("outage.repair", {"category": C.POWER_QUALITY}, "outage_repair"),
    ("billing.metering", {"category": C.METERING}, "billing_metering"),
    ("connection.new", {"category": C.CONNECTION}, "connection"),
    ("network.telecom", {"category": C.NETWORK, "industry": Industry.TELECOM}, "network_ops"),
    ("service.conduct", {"category": C.STAFF_CONDUCT}, "service_quality"),
    ("insurance.claims", {"category": C.CLAIMS, "industry": Industry.INSURANCE},
     "insurance_claims"),
    ("healthcare.nursing", {"category": C.MEDICAL, "industry": Industry.HEALTHCARE}, "nursing"),
    ("logistics.delivery", {"category": C.DELIVERY, "industry": Industry.LOGISTICS},
     "logistics"),
    ("logistics.product", {"category": C.PRODUCT_QUALITY, "industry": Industry.LOGISTICS},
     "logistics"),
    ("privacy.leak", {"category": C.PRIVACY}, "legal_pr"),
    ("banking.general", {"category": C.BANKING, "industry": Industry.BANKING}, "general"),
]


def decide(table: RoutingTable, **facts: Any) -> Any:
    context = facts.pop("context", None) or RoutingContext(now=NOW)
    return route(make_complaint(**facts), table, context)


def table_with(**changes: Any) -> RoutingTable:
    """The default table with top-level sections replaced."""
    raw = yaml.safe_load(default_table_path().read_text(encoding="utf-8"))
    return parse_table({**raw, **changes}, "variant.yaml")


@pytest.mark.parametrize(("rule_id", "facts", "queue"), RULE_CASES,
                         ids=[case[0] for case in RULE_CASES])
def test_each_default_rule_sends_its_cases_to_its_queue(
    table: RoutingTable, rule_id: str, facts: dict[str, Any], queue: str
) -> None:
    decision = decide(table, **facts)
    assert (decision.rule_id, decision.queue) == (rule_id, queue)
    assert rule_id in decision.reason


def test_every_default_rule_has_a_case_above(table: RoutingTable) -> None:
    assert [rule.id for rule in table.rules] == [case[0] for case in RULE_CASES]


@pytest.mark.parametrize(
    ("category", "industry", "queue"),
    [
        (C.OUTAGE, Industry.POWER, "outage_repair"),
        (C.BILLING, Industry.TELECOM, "billing_metering"),
        (C.CONNECTION, Industry.POWER, "connection"),
        (C.PROCESS, Industry.BANKING, "service_quality"),
        (C.DELIVERY, Industry.LOGISTICS, "logistics"),
    ],
)
def test_categories_go_to_the_desk_the_table_names(
    table: RoutingTable, category: Category, industry: Industry, queue: str
) -> None:
    named_by_table = next(r.queue for r in table.rules if category in r.match.categories)
    decision = decide(table, category=category, industry=industry)
    assert decision.queue == named_by_table == queue


def test_a_complaint_no_rule_matches_goes_to_the_default_queue(table: RoutingTable) -> None:
    decision = decide(table, category=C.PRODUCT_QUALITY, industry=Industry.POWER)
    assert (decision.queue, decision.rule_id) == ("general", "default")
    assert "default queue" in decision.reason


@pytest.mark.parametrize(
    ("kind", "queue"),
    [(K.INQUIRY, "inquiry"), (K.SUGGESTION, "suggestion"), (K.PRAISE, "praise"),
     (K.REPORT, "inspection"), (K.REPAIR, "outage_repair")],
)
def test_work_orders_that_are_not_complaints_go_to_their_own_queues(
    table: RoutingTable, kind: RequestKind, queue: str
) -> None:
    assert decide(table, kind=kind, category=C.OUTAGE).queue == queue


def test_praise_mentioning_a_journalist_is_still_praise(table: RoutingTable) -> None:
    decision = decide(table, kind=K.PRAISE, signals=[Signal.MEDIA], severity=Severity.P4)
    assert decision.queue == "praise"


def test_first_matching_rule_wins_over_later_ones(table: RoutingTable) -> None:
    # a VIP's media threat about a bill matches legal.signals, vip.desk and billing.metering
    decision = decide(table, tier=CustomerTier.VIP, signals=[Signal.MEDIA])
    assert decision.rule_id == "legal.signals"


def test_due_at_is_received_time_plus_the_severitys_response_time(table: RoutingTable) -> None:
    for severity in Severity:
        decision = decide(table, severity=severity)
        minutes = table.severities[severity].respond_within_min
        assert decision.due_at == NOW + timedelta(minutes=minutes)
        assert decision.routed_at == NOW


def test_priority_is_the_severity_base_plus_the_rules_boost(table: RoutingTable) -> None:
    plain = decide(table, category=C.BILLING)
    vip = decide(table, tier=CustomerTier.VIP)
    assert plain.priority == table.severities[Severity.P3].priority
    assert vip.priority == plain.priority + 5


# --- VIP overflow ---------------------------------------------------------------------------
def vip_load(table: RoutingTable, depth: int = 0, oldest_wait_s: float | None = None) -> Any:
    stats = QueueStats(queue="vip_desk", depth=depth, in_progress=0,
                       oldest_wait_s=oldest_wait_s, breaches=0)
    return RoutingContext(now=NOW, queue_stats={"vip_desk": stats})


def test_vip_desk_overflows_when_its_backlog_reaches_the_limit(table: RoutingTable) -> None:
    limit = table.overflow_for("vip_desk").max_backlog  # type: ignore[union-attr]
    below = decide(table, tier=CustomerTier.VIP, context=vip_load(table, depth=limit - 1))
    at = decide(table, tier=CustomerTier.VIP, context=vip_load(table, depth=limit))
    assert (below.queue, below.overflowed_from) == ("vip_desk", None)
    assert (at.queue, at.overflowed_from) == ("billing_metering", "vip_desk")
    assert at.rule_id == "vip.desk"
    assert "overflowed to" in at.reason


def test_vip_desk_overflows_when_its_oldest_case_waited_the_limit(table: RoutingTable) -> None:
    limit = table.overflow_for("vip_desk").max_oldest_wait_s  # type: ignore[union-attr]
    below = decide(table, tier=CustomerTier.VIP, category=C.STAFF_CONDUCT,
                   context=vip_load(table, depth=1, oldest_wait_s=limit - 1))
    at = decide(table, tier=CustomerTier.VIP, category=C.STAFF_CONDUCT,
                context=vip_load(table, depth=1, oldest_wait_s=limit))
    assert below.queue == "vip_desk"
    assert (at.queue, at.overflowed_from) == ("service_quality", "vip_desk")


def test_vip_overflow_to_a_fixed_queue(table: RoutingTable) -> None:
    fixed = table_with(overflow=[{"from": "vip_desk", "to": "general", "max_backlog": 3,
                                  "max_oldest_wait_s": 60}])
    decision = decide(fixed, tier=CustomerTier.VIP, context=vip_load(fixed, depth=3))
    assert (decision.queue, decision.overflowed_from) == ("general", "vip_desk")


def test_a_full_vip_desk_does_not_affect_ordinary_customers(table: RoutingTable) -> None:
    decision = decide(table, context=vip_load(table, depth=10_000))
    assert (decision.queue, decision.overflowed_from) == ("billing_metering", None)


# --- repeats ---------------------------------------------------------------------------------
def test_earlier_complaints_make_a_repeat_with_higher_priority_and_severity(
    table: RoutingTable,
) -> None:
    first = decide(table, context=RoutingContext(now=NOW, repeat_count=0))
    again = decide(table, context=RoutingContext(now=NOW, repeat_count=2))
    assert first.signals_added == [] and first.severity == Severity.P3
    assert again.signals_added == [Signal.REPEAT]
    assert again.repeat_count == 2
    assert again.severity == table.repeat.severity_at_least
    assert again.priority == (table.severities[again.severity].priority
                              + table.repeat.priority_boost)
    assert again.priority > first.priority
    assert "repeat: 2 earlier" in again.reason


def test_a_repeat_never_lowers_severity(table: RoutingTable) -> None:
    decision = decide(table, severity=Severity.P1, signals=[Signal.SAFETY],
                      context=RoutingContext(now=NOW, repeat_count=1))
    assert decision.severity == Severity.P1


def test_praise_is_never_a_repeat(table: RoutingTable) -> None:
    decision = decide(table, kind=K.PRAISE, severity=Severity.P4,
                      context=RoutingContext(now=NOW, repeat_count=5))
    assert decision.signals_added == [] and decision.severity == Severity.P4


def test_a_repeat_signal_the_text_already_had_is_not_added_again(table: RoutingTable) -> None:
    decision = decide(table, signals=[Signal.REPEAT], severity=Severity.P2,
                      context=RoutingContext(now=NOW, repeat_count=1))
    assert decision.signals == [Signal.REPEAT] and decision.signals_added == []


# --- mass incidents ---------------------------------------------------------------------------
def membership(opened: bool, queue: str = "outage_repair",
               linked: tuple[str, ...] = ()) -> IncidentMembership:
    return IncidentMembership(incident_id="INC-20261124-ABCDEF0123", opened=opened,
                              queue=queue, severity=Severity.P1, linked_case_ids=linked)


def outage(table: RoutingTable, incident: IncidentMembership, **facts: Any) -> Any:
    facts = {"category": C.OUTAGE, "area": "碧云小区", **facts}
    return decide(table, context=RoutingContext(now=NOW, incident=incident), **facts)


def test_the_case_that_opens_an_incident_leads_it_with_raised_severity(
    table: RoutingTable,
) -> None:
    decision = outage(table, membership(True, linked=("C1", "C2")))
    assert decision.incident_role == "lead"
    assert decision.queue == "outage_repair"
    assert decision.severity == Severity.P1
    assert decision.signals_added == [Signal.MASS]
    assert decision.linked_case_ids == ["C1", "C2"]
    assert decision.priority == min(100, table.severities[Severity.P1].priority
                                    + table.incidents.priority_boost)
    assert decision.due_at == NOW + timedelta(
        minutes=table.severities[Severity.P1].respond_within_min)


def test_an_incident_goes_to_the_owning_desk_even_if_its_lead_is_a_vip(
    table: RoutingTable,
) -> None:
    decision = outage(table, membership(True), tier=CustomerTier.VIP, signals=[Signal.MEDIA])
    assert (decision.queue, decision.incident_role) == ("outage_repair", "lead")


def test_later_cases_of_an_incident_are_held_under_it(table: RoutingTable) -> None:
    decision = outage(table, membership(False))
    assert decision.incident_role == "held"
    assert decision.rule_id == "incident"
    assert decision.queue == "outage_repair"
    assert decision.incident_id == "INC-20261124-ABCDEF0123"
    assert decision.severity == Severity.P1
    assert decision.linked_case_ids == []


def test_an_incident_case_with_a_media_threat_keeps_its_own_ticket(
    table: RoutingTable,
) -> None:
    decision = outage(table, membership(False), signals=[Signal.MEDIA])
    assert (decision.queue, decision.incident_role) == ("legal_pr", "separate")
    assert decision.incident_id == "INC-20261124-ABCDEF0123"


def test_incident_route_names_the_owning_desk_and_raised_severity(table: RoutingTable) -> None:
    complaint = make_complaint(category=C.NETWORK, industry=Industry.TELECOM,
                               tier=CustomerTier.DIAMOND)
    assert incident_route(complaint, table) == ("network_ops", Severity.P1)


def test_only_listed_categories_and_kinds_with_an_area_count_towards_incidents(
    table: RoutingTable,
) -> None:
    assert incident_key(make_complaint(category=C.OUTAGE, area=" 碧云小区 "), table) == (
        IncidentKey(C.OUTAGE, "碧云小区"))
    assert incident_key(make_complaint(category=C.OUTAGE), table) is None
    assert incident_key(make_complaint(category=C.BILLING, area="碧云小区"), table) is None
    assert incident_key(make_complaint(kind=K.INQUIRY, category=C.OUTAGE, area="碧云小区"),
                        table) is None


def test_incident_ids_are_stable_for_the_same_opening_case() -> None:
    key = IncidentKey(C.OUTAGE, "碧云小区")
    assert incident_id_for(key, "C1", NOW) == incident_id_for(key, "C1", NOW)
    assert incident_id_for(key, "C1", NOW) != incident_id_for(key, "C2", NOW)
    assert incident_id_for(key, "C1", NOW).startswith("INC-20261124-")


# --- customer identity and the summary ---------------------------------------------------------
def test_history_is_kept_by_customer_id_else_by_a_digest_of_the_phone(
    table: RoutingTable,
) -> None:
    assert repeat_subject(make_complaint(customer_id="3100123456"), table) == "id:3100123456"
    by_phone = repeat_subject(make_complaint(phone="138-1234-5678"), table)
    assert by_phone and by_phone.startswith("tel:") and "5678" not in by_phone
    assert by_phone == repeat_subject(make_complaint(phone="13812345678"), table)
    assert repeat_subject(make_complaint(), table) is None
    assert repeat_subject(make_complaint(kind=K.PRAISE, customer_id="1"), table) is None


def test_the_queue_item_masks_phone_and_id_numbers(table: RoutingTable) -> None:
    complaint = make_complaint("电费多扣了，电话13812345678，身份证110101199003071234，" * 3)
    item = work_item(complaint, route(complaint, table, RoutingContext(now=NOW)))
    assert "13812345678" not in item.excerpt and "138****5678" in item.excerpt
    assert "199003071234" not in item.excerpt
    assert len(item.excerpt) <= 60
    assert (item.queue, item.category, item.enqueued_at) == ("billing_metering", C.BILLING, NOW)


def test_an_unclassified_complaint_is_refused(table: RoutingTable) -> None:
    complaint = make_complaint().model_copy(update={"classification": None})
    with pytest.raises(ValueError, match="not classified"):
        route(complaint, table, RoutingContext(now=NOW))


def test_the_default_table_file_is_the_one_shipped_in_the_package() -> None:
    assert default_table_path() == (Path(__file__).parents[2] / "complaints" / "routing"
                                    / "default_routes.yaml")


def test_remembered_rule_look_ups_answer_as_trying_the_rules_in_order(
    table: RoutingTable,
) -> None:
    """The remembered rule look-ups of `choose_queue` give what a fresh scan of the rules
    gives, for every combination of facts, asked twice (the second answer remembered);
    more combinations than it remembers, and it keeps no more than its bound."""
    fresh = parse_table(yaml.safe_load(default_table_path().read_text(encoding="utf-8")),
                        "fresh")
    combos = [
        Facts(kind=kind, industry=industry, category=category, severity=severity,
              signals=frozenset(signals), tier=tier, channel=channel)
        for kind in RequestKind for industry in Industry for category in Category
        for severity in (Severity.P1, Severity.P4) for signals in ((), (Signal.MEDIA,))
        for tier in CustomerTier for channel in (None, Channel.HOTLINE)
    ]
    for facts in combos:
        scanned = _scan_rules(facts, fresh.rules, 0, None)
        assert choose_queue(facts, table).rule == scanned[1]
        assert choose_queue(facts, table).rule == scanned[1]
    remembered = _remembered_match.cache_info()
    assert len(combos) > RULE_LOOKUPS_REMEMBERED
    assert remembered.hits > 0 and remembered.currsize == RULE_LOOKUPS_REMEMBERED
