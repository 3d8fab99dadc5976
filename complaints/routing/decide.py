"""The routing decision as pure functions: complaint + table + context → decision.

No I/O here. What routing needs to know about the world — the customer's history, the
mass incident a case belongs to, how full the VIP desk is, the time — arrives in a
`RoutingContext` that the route stage (`complaints.stages.route`) gathers from Redis.
That keeps every rule testable with plain values, one rule at a time.

Order of a decision:
1. facts of the complaint (kind, industry, category, severity, signals, tier, channel);
2. history and incidents add signals (`repeat`, `mass`) and raise the severity;
3. the first table rule whose `match` fits chooses the queue (else `default_queue`);
4. a full queue with an `overflow` rule passes the case on;
5. priority = the severity's base + rule, repeat and incident boosts (0–100);
   `due_at` = received time + the severity's `respond_within_min`.
"""

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from complaints.normalise import mask_personal_data
from complaints.routing.table import NEXT_MATCH, Match, RoutingTable, RuleSpec
from complaints.schemas.classification import Classification
from complaints.schemas.codes import (
    Category,
    Channel,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)
from complaints.schemas.complaint import Complaint
from complaints.schemas.routing import IncidentRole, QueueItem, QueueStats, RoutingDecision

EXCERPT_CHARS = 60


@dataclass(frozen=True)
class IncidentMembership:
    """What the incident tracker said about a case: which incident, and who opened it."""

    incident_id: str
    opened: bool  # this case made the count reach K and opened the incident
    queue: str  # the incident's owning desk
    severity: Severity  # the incident's severity
    linked_case_ids: tuple[str, ...] = ()  # on opening: the earlier cases taken in


@dataclass(frozen=True)
class RoutingContext:
    """Everything outside the complaint that routing depends on."""

    now: datetime
    repeat_count: int = 0  # the customer's OTHER complaints within the repeat window
    incident: IncidentMembership | None = None
    queue_stats: Mapping[str, QueueStats] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentKey:
    """Complaints with the same key and close in time are counted towards one incident."""

    category: Category
    area: str

    def __str__(self) -> str:
        return f"{self.category}:{self.area}"


@dataclass(frozen=True)
class Facts:
    """What rules match on: the complaint's classification and customer, after raises."""

    kind: RequestKind
    industry: Industry
    category: Category
    severity: Severity
    signals: frozenset[Signal]
    tier: CustomerTier
    channel: Channel | None


@dataclass(frozen=True)
class QueueChoice:
    """The queue a rule (or the default) chose, and the overflow that moved it, if any."""

    rule: RuleSpec | None
    queue: str
    overflowed_from: str | None = None
    note: str = ""

    @property
    def rule_id(self) -> str:
        return self.rule.id if self.rule else "default"

    @property
    def boost(self) -> int:
        return self.rule.priority_boost if self.rule else 0


def route(complaint: Complaint, table: RoutingTable, context: RoutingContext) -> RoutingDecision:
    """The queue, priority, severity and deadline of one classified complaint, and why."""
    facts = facts_of(complaint)
    notes: list[str] = []
    boost = 0
    if _is_repeat(facts.kind, context.repeat_count, table):
        facts = _raise(facts, Signal.REPEAT, table.repeat.severity_at_least)
        boost += table.repeat.priority_boost
        notes.append(f"repeat: {context.repeat_count} earlier complaint(s) within "
                     f"{table.repeat.window_days} days")

    incident, role = context.incident, None
    if incident is None:
        choice = choose_queue(facts, table, context.queue_stats)
    else:
        facts = _raise(facts, Signal.MASS, incident.severity)
        boost += table.incidents.priority_boost
        choice, role = _incident_choice(complaint, facts, incident, table, context)
        notes.append(_incident_note(incident, role, table))

    severity = facts.severity
    level = table.severities[severity]
    priority = max(0, min(100, level.priority + choice.boost + boost))
    original = set(_classification(complaint).signals)
    return RoutingDecision(
        case_id=complaint.case_id,
        kind=_classification(complaint).kind,
        category=_classification(complaint).category,
        received_at=complaint.received_at,
        queue=choice.queue,
        priority=priority,
        severity=severity,
        due_at=complaint.received_at + timedelta(minutes=level.respond_within_min),
        rule_id=choice.rule_id if role != "held" else "incident",
        reason="; ".join([_rule_note(choice, table), *filter(None, [choice.note]), *notes]),
        signals=sorted(facts.signals),
        signals_added=sorted(facts.signals - original),
        repeat_count=context.repeat_count,
        incident_id=incident.incident_id if incident else None,
        incident_role=role,
        linked_case_ids=list(incident.linked_case_ids) if role == "lead" and incident else [],
        overflowed_from=choice.overflowed_from,
        routed_at=context.now,
    )


def choose_queue(
    facts: Facts, table: RoutingTable, stats: Mapping[str, QueueStats] | None = None
) -> QueueChoice:
    """First matching rule's queue (or the default), passed on if that queue overflows."""
    index, rule = _first_match(facts, table, 0)
    queue = rule.queue if rule else table.default_queue
    overflow = table.overflow_for(queue)
    load = (stats or {}).get(queue)
    if overflow is None or load is None:
        return QueueChoice(rule, queue)
    full_by = _overflow_reason(load, overflow.max_backlog, overflow.max_oldest_wait_s)
    if full_by is None:
        return QueueChoice(rule, queue)
    target = overflow.to
    if target == NEXT_MATCH:
        _, later = _first_match(facts, table, index + 1, skip_queue=queue)
        target = later.queue if later else table.default_queue
    note = (f"{table.queue_label(queue)} full ({full_by}): "
            f"overflowed to {table.queue_label(target)}")
    return QueueChoice(rule, target, overflowed_from=queue, note=note)


def facts_of(complaint: Complaint) -> Facts:
    """The facts rules match on, as the classifier and the CRM gave them."""
    c = _classification(complaint)
    return Facts(kind=c.kind, industry=c.industry, category=c.category, severity=c.severity,
                 signals=frozenset(c.signals), tier=complaint.customer.tier,
                 channel=complaint.channel)


def incident_facts(complaint: Complaint, table: RoutingTable) -> Facts:
    """The facts of the incident a complaint opens: its kind, industry and category,
    the `mass` signal and the raised severity — none of the one caller's particulars
    (tier, channel, other signals), so the incident goes to the desk owning the cause."""
    c = _classification(complaint)
    return Facts(kind=c.kind, industry=c.industry, category=c.category,
                 severity=more_urgent(c.severity, table.incidents.severity_at_least),
                 signals=frozenset({Signal.MASS}), tier=CustomerTier.STANDARD, channel=None)


def incident_route(complaint: Complaint, table: RoutingTable) -> tuple[str, Severity]:
    """Owning desk and severity of the incident this complaint would open."""
    facts = incident_facts(complaint, table)
    return choose_queue(facts, table).queue, facts.severity


def incident_key(complaint: Complaint, table: RoutingTable) -> IncidentKey | None:
    """The category and area a complaint counts towards, or None if it cannot be part of
    a mass incident (kind or category not listed in the table, or no area known)."""
    c = _classification(complaint)
    area = (complaint.customer.area or "").strip()
    spec = table.incidents
    if not area or c.kind not in spec.kinds or c.category not in spec.categories:
        return None
    return IncidentKey(category=c.category, area=area)


def incident_id_for(key: IncidentKey, lead_case_id: str, opened_at: datetime) -> str:
    """A stable incident id: a redelivered opening case always names the same incident."""
    digest = hashlib.blake2b(f"{key.category}\x1f{key.area}\x1f{lead_case_id}".encode(),
                             digest_size=5).hexdigest()
    return f"INC-{opened_at:%Y%m%d}-{digest.upper()}"


def repeat_subject(complaint: Complaint, table: RoutingTable) -> str | None:
    """Whose history the complaint is counted in, or None if it does not count.

    The customer id when the CRM knows it, else a digest of the contact phone (phone
    numbers never appear in Redis keys, domain §10); None for kinds the table does not
    count (praise is not a repeat complaint) or when the customer is anonymous.
    """
    if _classification(complaint).kind not in table.repeat.kinds:
        return None
    if complaint.customer.customer_id:
        return f"id:{complaint.customer.customer_id}"
    phone = "".join(ch for ch in (complaint.contact.phone or "") if ch.isdigit())[-11:]
    if phone:
        return "tel:" + hashlib.blake2b(phone.encode(), digest_size=8).hexdigest()
    return None


def work_item(complaint: Complaint, decision: RoutingDecision) -> QueueItem:
    """What waits in the work queue for this decision: the routing plus a short summary."""
    c = _classification(complaint)
    return QueueItem(
        case_id=decision.case_id, queue=decision.queue, priority=decision.priority,
        severity=decision.severity, due_at=decision.due_at, enqueued_at=decision.routed_at,
        incident_id=decision.incident_id, kind=c.kind, category=c.category,
        industry=c.industry, channel=complaint.channel, tier=complaint.customer.tier,
        area=complaint.customer.area, excerpt=excerpt(complaint.text_normalised),
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a text with phone and ID numbers masked (masked before cutting, so a
    number split by the cut is never left half visible)."""
    masked = mask_personal_data(text)
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def more_urgent(a: Severity, b: Severity) -> Severity:
    """The more urgent of two severities (P1 is the most urgent)."""
    return min(a, b)


def _overflow_reason(load: QueueStats, max_backlog: int, max_oldest_wait_s: int) -> str | None:
    """Why a desk is full — at the limit, not only past it — or None if it is not."""
    if load.depth >= max_backlog:
        return f"backlog {load.depth} ≥ {max_backlog}"
    if load.oldest_wait_s is not None and load.oldest_wait_s >= max_oldest_wait_s:
        return f"oldest wait {load.oldest_wait_s:.0f}s ≥ {max_oldest_wait_s}s"
    return None


def _incident_choice(
    complaint: Complaint, facts: Facts, incident: IncidentMembership, table: RoutingTable,
    context: RoutingContext,
) -> tuple[QueueChoice, IncidentRole]:
    """Lead → the incident's desk; others → held under it, unless their own facts send
    them to another desk (a media threat, a VIP), where they keep a separate ticket."""
    if incident.opened:
        own = choose_queue(incident_facts(complaint, table), table)
        return replace(own, queue=incident.queue, overflowed_from=None, note=""), "lead"
    own = choose_queue(facts, table, context.queue_stats)
    if own.queue == incident.queue or own.overflowed_from == incident.queue:
        return QueueChoice(own.rule, incident.queue), "held"
    return own, "separate"


def _incident_note(incident: IncidentMembership, role: IncidentRole, table: RoutingTable) -> str:
    desk = table.queue_label(incident.queue)
    if role == "lead":
        return (f"opened mass incident {incident.incident_id} ({incident.severity}) for "
                f"{desk}, taking in {len(incident.linked_case_ids)} earlier case(s)")
    if role == "held":
        return f"held under mass incident {incident.incident_id} on {desk}"
    return f"linked to mass incident {incident.incident_id} on {desk}; own ticket here"


def _rule_note(choice: QueueChoice, table: RoutingTable) -> str:
    if choice.rule is None:
        return f"no rule matched: default queue {table.queue_label(choice.queue)}"
    described = f": {choice.rule.description}" if choice.rule.description else ""
    return f"rule {choice.rule.id}{described} → {table.queue_label(choice.rule.queue)}"


def _first_match(
    facts: Facts, table: RoutingTable, start: int, skip_queue: str | None = None
) -> tuple[int, RuleSpec | None]:
    """The first rule from `start` on that matches (and does not send to `skip_queue`).

    Remembered by table and facts: a stream of complaints has few distinct facts, so
    most look-ups are answered without trying the rules one by one (docs/benchmarks.md).
    A loaded table never changes, so neither does a remembered answer.
    """
    return _remembered_match(_SameTable(table), facts, start, skip_queue)


#: Rule look-ups remembered, least recently used forgotten first: far more than the
#: distinct facts a stream brings, and a bound on memory whatever arrives.
RULE_LOOKUPS_REMEMBERED = 8_192


class _SameTable:
    """A table as a cache key: by identity (a table holds lists, and is not hashable).
    The cache keeps the table alive while it remembers it, so an id is never reused."""

    __slots__ = ("table",)

    def __init__(self, table: RoutingTable) -> None:
        self.table = table

    def __hash__(self) -> int:
        return id(self.table)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameTable) and other.table is self.table


@functools.lru_cache(maxsize=RULE_LOOKUPS_REMEMBERED)
def _remembered_match(
    table: _SameTable, facts: Facts, start: int, skip_queue: str | None
) -> tuple[int, RuleSpec | None]:
    return _scan_rules(facts, table.table.rules, start, skip_queue)


def _scan_rules(
    facts: Facts, rules: list[RuleSpec], start: int, skip_queue: str | None
) -> tuple[int, RuleSpec | None]:
    for index in range(start, len(rules)):
        rule = rules[index]
        if rule.queue != skip_queue and matches(rule.match, facts):
            return index, rule
    return len(rules), None


def matches(match: Match, facts: Facts) -> bool:
    """Every listed field matches (any of its values); empty fields match everything."""
    single = (
        (match.kinds, facts.kind), (match.industries, facts.industry),
        (match.categories, facts.category), (match.severities, facts.severity),
        (match.tiers, facts.tier), (match.channels, facts.channel),
    )
    if any(allowed and value not in allowed for allowed, value in single):
        return False
    return not match.signals or not facts.signals.isdisjoint(match.signals)


def _is_repeat(kind: RequestKind, repeat_count: int, table: RoutingTable) -> bool:
    return kind in table.repeat.kinds and repeat_count >= table.repeat.min_earlier


def _raise(facts: Facts, signal: Signal, at_least: Severity) -> Facts:
    return replace(facts, signals=facts.signals | {signal},
                   severity=more_urgent(facts.severity, at_least))


def _classification(complaint: Complaint) -> Classification:
    if complaint.classification is None:
        raise ValueError(f"case {complaint.case_id} is not classified; route after classify")
    return complaint.classification


def reroute(item: QueueItem, kind: RequestKind, category: Category, severity: Severity,
            table: RoutingTable) -> str:
    """The desk for a case whose kind or category changed (recovery's reclassify).

    Matches the table on the work item's customer and channel with the new kind and
    category; signals are not re-derived (the text did not change, only its reading).
    """
    facts = Facts(kind=kind, industry=item.industry, category=category, severity=severity,
                  signals=frozenset(), tier=item.tier, channel=item.channel)
    return choose_queue(facts, table).queue


__all__ = [
    "RULE_LOOKUPS_REMEMBERED",
    "Facts",
    "IncidentKey",
    "IncidentMembership",
    "QueueChoice",
    "RoutingContext",
    "choose_queue",
    "excerpt",
    "facts_of",
    "incident_facts",
    "incident_id_for",
    "incident_key",
    "incident_route",
    "matches",
    "more_urgent",
    "repeat_subject",
    "reroute",
    "route",
    "work_item",
]
