"""Where a complaint goes, and what a handler sees when they take it.

`RoutingDecision` is published to `complaints.routed.v1` for downstream systems;
`QueueItem` is what waits in a Redis work queue; `ClaimedCase` is what `complaints claim`
hands a handler; `Incident` links the cases of one mass incident (domain §5: one
transformer failure that makes fifty households call is one incident).
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from complaints.schemas.codes import (
    Category,
    Channel,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

#: How a case relates to the mass incident it belongs to (see docs/routing.md):
#: `lead` opened the incident and carries it to the owning desk; `held` waits under the
#: incident (no work item of its own); `separate` keeps its own ticket on another desk
#: (its own facts sent it there, e.g. a media threat) and is linked to the incident.
IncidentRole = Literal["lead", "held", "separate"]


class RoutingDecision(BaseModel):
    """The handler queue, priority and response deadline of one case, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    case_id: str = Field(description="The routed case.", examples=["C20261124-5F1A9C03D2"])
    kind: RequestKind = Field(description="Work-order type, from the classification.")
    category: Category = Field(description="Primary category, from the classification.")
    received_at: AwareDatetime = Field(description="When the customer made contact.")
    queue: str = Field(
        description="Handler queue code from the routing table.", examples=["outage_repair"]
    )
    priority: int = Field(
        ge=0, le=100, description="0–100, higher is more urgent: the severity's base "
        "priority plus the rule's, repeat and incident boosts.", examples=[70],
    )
    severity: Severity = Field(
        description="Severity after routing (repeat and incidents can raise it).",
        examples=["P2"],
    )
    due_at: AwareDatetime = Field(
        description="First response due: received time + the severity's `respond_within`.",
        examples=["2026-11-24T10:15:00+08:00"],
    )
    rule_id: str = Field(
        description="Routing-table rule that chose the queue, or `incident` for a case "
        "held under an incident, or `default` when no rule matched.",
        examples=["outage.repair"],
    )
    reason: str = Field(
        description="Human explanation of the decision.",
        examples=["rule outage.repair: 停送电、供电质量与抢修 → 抢修指挥 (outage_repair)"],
    )
    signals: list[Signal] = Field(
        default_factory=list, description="All signals after routing.",
        examples=[["mass", "repeat"]],
    )
    signals_added: list[Signal] = Field(
        default_factory=list,
        description="Signals routing added from history or incidents (`repeat`, `mass`).",
        examples=[["repeat"]],
    )
    repeat_count: int = Field(
        default=0, ge=0,
        description="The customer's other complaints within the repeat window.",
        examples=[2],
    )
    incident_id: str | None = Field(
        default=None, description="Mass incident the case belongs to.",
        examples=["INC-20261124-3F9A0C1B2D"],
    )
    incident_role: IncidentRole | None = Field(
        default=None, description="`lead`, `held` or `separate` (see docs/routing.md).",
        examples=["held"],
    )
    linked_case_ids: list[str] = Field(
        default_factory=list,
        description="On the lead's decision only: the earlier cases the incident took in "
        "when it opened.",
        examples=[["C20261124-0A1B2C3D4E"]],
    )
    overflowed_from: str | None = Field(
        default=None, description="Queue the case would have gone to had it not been full "
        "(VIP desk overflow).", examples=["vip_desk"],
    )
    routed_at: AwareDatetime = Field(
        description="When routing decided.", examples=["2026-11-24T09:00:02+08:00"]
    )


class QueueItem(BaseModel):
    """One case waiting in a handler queue, with a short summary for the desk.

    The excerpt has phone and ID-card numbers masked: queue contents are printed on
    handlers' terminals and must not spread personal data (domain §10).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str = Field(examples=["C20261124-5F1A9C03D2"])
    queue: str = Field(examples=["billing_metering"])
    priority: int = Field(ge=0, le=100, examples=[50])
    severity: Severity = Field(examples=["P3"])
    due_at: AwareDatetime = Field(
        description="First response due.", examples=["2026-11-25T09:00:00+08:00"]
    )
    enqueued_at: AwareDatetime = Field(
        description="When the case entered the queue.", examples=["2026-11-24T09:00:02+08:00"]
    )
    incident_id: str | None = Field(
        default=None, description="Incident the case belongs to.",
        examples=["INC-20261124-3F9A0C1B2D"],
    )
    kind: RequestKind = Field(examples=["complaint"])
    category: Category = Field(examples=["billing"])
    industry: Industry = Field(examples=["power"])
    channel: Channel = Field(examples=["hotline"])
    tier: CustomerTier = Field(default=CustomerTier.STANDARD, examples=["standard"])
    area: str | None = Field(default=None, examples=["浦东新区-金桥-碧云小区"])
    excerpt: str = Field(
        description="Start of the complaint text, personal numbers masked.",
        examples=["这个月电费比上个月多了三百块，电话138****5678"],
    )


class ClaimedCase(QueueItem):
    """A case a handler has taken: theirs alone until the lease ends or they let go."""

    handler: str = Field(description="Who holds the lease.", examples=["zhang.wei"])
    claimed_at: AwareDatetime = Field(description="When the lease began (Redis clock).")
    lease_expires_at: AwareDatetime = Field(
        description="When the case returns to the queue unless completed, released or "
        "renewed (Redis clock)."
    )
    claim_count: int = Field(
        ge=1, description="How many times the case has been claimed; above 1 means an "
        "earlier holder released it or let the lease expire.", examples=[1],
    )


class QueueStats(BaseModel):
    """The health of one handler queue right now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str = Field(examples=["vip_desk"])
    depth: int = Field(ge=0, description="Cases waiting to be claimed.")
    in_progress: int = Field(ge=0, description="Cases under a lease.")
    oldest_wait_s: float | None = Field(
        default=None, description="Seconds the longest-waiting case has waited; none when "
        "the queue is empty.",
    )
    breaches: int = Field(
        ge=0, description="Waiting cases already past their `due_at`.",
    )
    expired_leases: int = Field(
        default=0, ge=0, description="Leases past expiry not yet returned to the queue "
        "(the next claim returns them).",
    )


class Incident(BaseModel):
    """Many complaints of one category from one area in a short time: one cause, one case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str = Field(examples=["INC-20261124-3F9A0C1B2D"])
    category: Category = Field(examples=["outage"])
    area: str = Field(examples=["浦东新区-金桥-碧云小区"])
    case_ids: list[str] = Field(description="Every linked case, sorted.")
    lead_case_id: str = Field(description="The case that opened the incident and carries it.")
    opened_at: AwareDatetime
    status: Literal["open", "closed"]
    closed_at: AwareDatetime | None = None
    queue: str = Field(description="Owning desk.", examples=["outage_repair"])
    severity: Severity = Field(examples=["P1"])


__all__ = [
    "ClaimedCase",
    "Incident",
    "IncidentRole",
    "QueueItem",
    "QueueStats",
    "RoutingDecision",
]
