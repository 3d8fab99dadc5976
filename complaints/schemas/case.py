"""Service recovery (服务补救) on the wire: handler actions, case events, the case record.

A case changes only through events. A handler's `HandlerAction` (topic
`complaints.actions.v1`) is decided into past-tense events (`ApologyRecorded`,
`CaseEscalated`, … or `ActionRejected`), published on `complaints.case-events.v1`; the
`Case` is what those events add up to, and `Resolution` (topic
`complaints.resolutions.v1`) summarises a case once it ends. The decisions themselves
live in `complaints.recovery`; the lifecycle is documented in `docs/recovery.md`.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from complaints.schemas.codes import Category, RequestKind, Severity

CaseId = Annotated[
    str,
    Field(min_length=1, max_length=64, description="The case (same id as the complaint).",
          examples=["C20261124-5F1A9C03D2"]),
]
Actor = Annotated[
    str,
    Field(min_length=1, max_length=64,
          description="Who did it: a handler's login, `sla` for the deadline clock, "
          "`intake` for the pipeline itself.", examples=["zhang.wei"]),
]
#: A name that acts on a case from outside — a handler's login, a supervisor's: letters,
#: digits and `._@-`, as logins and system actors (`sla`, `routing`) are. Names are shown
#: on terminals and dashboards, so they carry no markup, spaces or control characters.
ACTOR_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"
HandlerName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=ACTOR_PATTERN,
          description="A login-like name: letters, digits and `._@-`, 1–64 characters.",
          examples=["zhang.wei"]),
]
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2,
          description="Amount in CNY (元), two decimals at most.", examples=["50.00"]),
]
Satisfaction = Annotated[
    int,
    Field(ge=1, le=5, description="Return-visit result: 1 很不满意, 2 不满意, 3 一般, "
          "4 满意, 5 很满意.", examples=[4]),
]

#: Actor of every event the deadline clock produces.
SLA_ACTOR = "sla"
#: Actor of `CaseOpened` when the pipeline opens a case.
INTAKE_ACTOR = "intake"


class CaseState(StrEnum):
    """Where a case stands. The allowed moves are the rows of `recovery/lifecycle.yaml`."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    APOLOGIZED = "apologized"
    FIXING = "fixing"
    FIXED = "fixed"
    COMPENSATED = "compensated"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    RECLASSIFIED = "reclassified"
    TERMINATED = "terminated"


class ActionName(StrEnum):
    """What a handler (or the deadline clock) can ask to do with a case."""

    ACKNOWLEDGE = "acknowledge"
    APOLOGIZE = "apologize"
    START_FIX = "start_fix"
    FIX_DONE = "fix_done"
    COMPENSATE = "compensate"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"
    ESCALATE = "escalate"
    REOPEN = "reopen"
    REASSIGN = "reassign"
    TERMINATE = "terminate"
    RECLASSIFY = "reclassify"


class DeadlineName(StrEnum):
    """The promises an SLA policy can make (domain §8); see `recovery/sla.yaml`."""

    FIRST_CONTACT = "first_contact"
    DISPATCH = "dispatch"
    ON_SITE = "on_site"
    APOLOGY = "apology"
    FIX = "fix"
    REPLY = "reply"
    FOLLOW_UP = "follow_up"


class DeadlineStatus(StrEnum):
    """`open` → (`warned`) → `met` or `breached`; `cancelled` when a re-plan drops it."""

    OPEN = "open"
    WARNED = "warned"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class AreaType(StrEnum):
    """Service area type; repair commitments differ (45 / 90 / 120 min on site)."""

    URBAN = "urban"
    RURAL = "rural"
    REMOTE = "remote"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- commands


class HandlerAction(_Frozen):
    """One command from a handler (topic `complaints.actions.v1`, `complaints act`).

    Only the shape is checked here; whether the action is allowed for the case is the
    lifecycle's decision, and a refusal is recorded as `ActionRejected`.
    """

    schema_version: Literal[1] = Field(default=1, description="Only 1 exists.")
    action_id: str = Field(
        min_length=1, max_length=128,
        description="Unique id of this command; a repeated id has no second effect.",
        examples=["act-20261124-0007"],
    )
    case_id: CaseId
    action: ActionName = Field(description="What to do.", examples=["apologize"])
    actor: HandlerName
    note: str | None = Field(
        default=None, max_length=2000, description="Free text kept in the audit trail.",
        examples=["电话致歉，客户情绪平复"],
    )
    amount: Money | None = Field(
        default=None, description="`compensate`: value of the symbolic compensation, CNY.",
    )
    satisfaction: Satisfaction | None = Field(
        default=None, description="`follow_up`: the customer's answer on the return visit.",
    )
    approved_by: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=ACTOR_PATTERN,
        description="`compensate`: supervisor who approved an amount above the limit.",
        examples=["li.supervisor"],
    )
    reason: str | None = Field(
        default=None, max_length=500,
        description="Why: required by `terminate` (服务终止), kept for the others.",
        examples=["诉求超出政策规定，已依法依规处理"],
    )
    new_category: Category | None = Field(
        default=None, description="`reclassify`: the corrected category.",
        examples=["billing"],
    )
    new_kind: RequestKind | None = Field(
        default=None, description="`reclassify`: the corrected work-order type "
        "(a metering fault found to be theft becomes a `report`).", examples=["report"],
    )
    target_queue: str | None = Field(
        default=None, min_length=1, max_length=40,
        description="`reassign`: the queue that takes the case over.",
        examples=["billing_metering"],
    )
    issued_at: AwareDatetime = Field(description="When the handler issued the command.")


# ----------------------------------------------------------------------- case record


class Deadline(_Frozen):
    """One promise with its clock: due, when to warn, when to raise the breach.

    `due_at` is the promise itself (met or missed is judged against it); `warn_at` and
    `breach_at` are when the alerts fire, which a policy can hold to business hours
    so nobody is woken at midnight for a P4 billing question.
    """

    name: DeadlineName = Field(examples=["first_contact"])
    round: int = Field(
        default=1, ge=1,
        description="Which occurrence: a reopened case promises again (round 2), every "
        "hand-over re-arms `dispatch`, every fix re-arms `follow_up`.",
    )
    starts_at: AwareDatetime = Field(description="When the clock started (the anchor).")
    due_at: AwareDatetime = Field(description="The promise: met on or before this time.")
    warn_at: AwareDatetime = Field(description="When the warning fires (warn share).")
    breach_at: AwareDatetime = Field(
        description="When the breach fires: `due_at`, or later when held to business hours.",
    )
    met_by: tuple[ActionName, ...] = Field(description="Actions that meet the deadline.")
    status: DeadlineStatus = DeadlineStatus.OPEN
    met_at: AwareDatetime | None = Field(
        default=None, description="When a `met_by` action happened (also after a breach).",
    )

    @property
    def key(self) -> str:
        """`first_contact#1`: unique within a case."""
        return f"{self.name}#{self.round}"


class CaseSteps(_Frozen):
    """When each recovery step happened in the current round (cleared on reopen)."""

    acknowledged_at: AwareDatetime | None = None
    apologized_at: AwareDatetime | None = None
    fix_started_at: AwareDatetime | None = None
    fixed_at: AwareDatetime | None = None
    compensated_at: AwareDatetime | None = None
    followed_up_at: AwareDatetime | None = None
    satisfaction: Satisfaction | None = None


class Case(_Frozen):
    """The state of one case: what its events add up to (`recovery.rebuild`)."""

    schema_version: Literal[1] = 1
    case_id: CaseId
    kind: RequestKind
    category: Category
    severity: Severity
    state: CaseState
    version: int = Field(ge=1, description="Version of the last event applied.")
    queue: str = Field(description="Handler queue that owns the case.", examples=["general"])
    handler: str | None = Field(default=None, description="Handler who last worked on it.")
    priority: int | None = Field(default=None, ge=0, le=100, description="Routing priority.")
    area_type: AreaType = AreaType.URBAN
    loss_claim: bool = Field(default=False, description="The customer claims a loss.")
    incident_id: str | None = None
    incident_held: bool = Field(
        default=False, description="Waits under its mass incident's lead case: the "
        "lead's deadlines speak for it (alert once per incident).",
    )
    opened_at: AwareDatetime
    round: int = Field(default=1, ge=1, description="1, then +1 per reopen.")
    steps: CaseSteps = Field(default_factory=CaseSteps)
    action_times: dict[ActionName, AwareDatetime] = Field(
        default_factory=dict, description="Latest time each action was accepted (all rounds).",
    )
    escalation_level: int = Field(default=0, ge=0)
    handovers: int = Field(default=0, ge=0, description="Escalations, reassignments, "
                           "reclassifications so far.")
    handover_at: AwareDatetime | None = None
    fix_count: int = Field(default=0, ge=0)
    reopened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    terminated_at: AwareDatetime | None = None
    termination_reason: str | None = None
    compensation_total: Decimal = Decimal("0")
    rejections: int = Field(default=0, ge=0)
    deadlines: tuple[Deadline, ...] = ()
    processed_action_ids: tuple[str, ...] = Field(
        default=(), description="Every action id already decided (accepted or rejected).",
    )

    def deadline(self, key: str) -> Deadline | None:
        """The deadline with this key (`fix#1`), if any."""
        return next((d for d in self.deadlines if d.key == key), None)


# ---------------------------------------------------------------------------- events


class _CaseEventBase(_Frozen):
    """What every case event carries: whose case, which version, who, when, from → to."""

    schema_version: Literal[1] = 1
    case_id: CaseId
    version: int = Field(ge=1, description="1, 2, 3 … per case; no gaps.", examples=[3])
    occurred_at: AwareDatetime = Field(description="When the pipeline decided it.")
    actor: Actor
    action_id: str | None = Field(
        default=None, description="The command this event answers; timer events use "
        "`sla:<deadline>:<warn|breach|escalate>`.", examples=["act-20261124-0007"],
    )
    action: ActionName | None = Field(
        default=None, description="The action decided; none for opening and timers.",
    )
    state_before: CaseState | None = Field(description="None only for `CaseOpened`.")
    state_after: CaseState
    note: str | None = Field(default=None, max_length=2000)


class CaseOpened(_CaseEventBase):
    """A complaint became a case."""

    event_type: Literal["CaseOpened"] = "CaseOpened"
    kind: RequestKind
    category: Category
    severity: Severity
    queue: str
    priority: int | None = Field(default=None, ge=0, le=100)
    loss_claim: bool = False
    area_type: AreaType = AreaType.URBAN
    incident_id: str | None = None
    incident_held: bool = False


class CaseAcknowledged(_CaseEventBase):
    """The customer was contacted and soothed (受理/安抚); the actor owns the case."""

    event_type: Literal["CaseAcknowledged"] = "CaseAcknowledged"


class ApologyRecorded(_CaseEventBase):
    """Step 1, 真诚道歉: an authorised employee apologised."""

    event_type: Literal["ApologyRecorded"] = "ApologyRecorded"


class FixStarted(_CaseEventBase):
    """Step 2 begins, 快速纠错: the fault is being put right (or investigated)."""

    event_type: Literal["FixStarted"] = "FixStarted"


class FixCompleted(_CaseEventBase):
    """Step 2 done: the fault is put right."""

    event_type: Literal["FixCompleted"] = "FixCompleted"


class CompensationRecorded(_CaseEventBase):
    """Step 3, 象征性补偿: a symbolic compensation was granted."""

    event_type: Literal["CompensationRecorded"] = "CompensationRecorded"
    amount: Money
    approved_by: str | None = None


class FollowUpRecorded(_CaseEventBase):
    """Step 4, 跟踪观察: the return visit (回访) and its satisfaction answer."""

    event_type: Literal["FollowUpRecorded"] = "FollowUpRecorded"
    satisfaction: Satisfaction
    unsatisfied: bool = Field(description="At or below the lifecycle's unsatisfied mark.")


class CaseClosed(_CaseEventBase):
    """闭环: the case ended with a recorded outcome."""

    event_type: Literal["CaseClosed"] = "CaseClosed"


class CaseEscalated(_CaseEventBase):
    """上报: passed up one escalation level, severity and priority raised."""

    event_type: Literal["CaseEscalated"] = "CaseEscalated"
    level: int = Field(ge=1, description="Escalation level after this event.")
    queue_before: str
    queue_after: str = Field(description="The level's queue: it is alerted and takes over.")
    severity_before: Severity
    severity_after: Severity
    priority_after: int | None = Field(default=None, ge=0, le=100)
    reason: str | None = None
    breached: tuple[str, ...] = Field(
        default=(), description="Deadline keys whose breach caused it (SLA escalations).",
    )


class CaseReopened(_CaseEventBase):
    """Reopened after an unsatisfied return visit or a new complaint soon after closing."""

    event_type: Literal["CaseReopened"] = "CaseReopened"
    round: int = Field(ge=2, description="The new round.")
    reason: str | None = None


class CaseReassigned(_CaseEventBase):
    """Handed to another queue (an internal hand-off: 内转外不转)."""

    event_type: Literal["CaseReassigned"] = "CaseReassigned"
    queue_before: str
    queue_after: str


class CaseReclassified(_CaseEventBase):
    """Kind or category corrected; the wiring re-routes the case to the right desk."""

    event_type: Literal["CaseReclassified"] = "CaseReclassified"
    kind_before: RequestKind
    kind_after: RequestKind
    category_before: Category
    category_after: Category
    reason: str | None = None


class CaseTerminated(_CaseEventBase):
    """服务终止: demands beyond regulation after lawful handling; always with a reason."""

    event_type: Literal["CaseTerminated"] = "CaseTerminated"
    reason: str = Field(min_length=1)


class ActionRejected(_CaseEventBase):
    """An action the lifecycle refused; the state did not change (audit trail)."""

    event_type: Literal["ActionRejected"] = "ActionRejected"
    reason: str = Field(description="Why, and what is allowed instead.")
    guard: str | None = Field(
        default=None, description="The guard that failed; none when no row allows it.",
        examples=["requires_follow_up_result"],
    )
    allowed: tuple[ActionName, ...] = Field(
        default=(), description="Actions with a row from this state for this kind.",
    )


class DeadlineWarned(_CaseEventBase):
    """事前预警: the warn share of a deadline has passed; the desk is reminded once."""

    event_type: Literal["DeadlineWarned"] = "DeadlineWarned"
    deadline: DeadlineName
    deadline_key: str = Field(examples=["first_contact#1"])
    due_at: AwareDatetime
    alert_queue: str = Field(description="Queue to remind (the case's own).")


class DeadlineBreached(_CaseEventBase):
    """限时督办: a deadline passed unmet; the supervisor queue is alerted once."""

    event_type: Literal["DeadlineBreached"] = "DeadlineBreached"
    deadline: DeadlineName
    deadline_key: str = Field(examples=["first_contact#1"])
    due_at: AwareDatetime
    alert_queue: str = Field(description="Supervisor queue to alert.")
    incident_id: str | None = Field(
        default=None, description="Alert once per incident: de-duplicate on this.",
    )


class DeadlinesScheduled(_CaseEventBase):
    """The case's deadlines were (re)planned: on opening, reopen, fix, hand-over, …"""

    event_type: Literal["DeadlinesScheduled"] = "DeadlinesScheduled"
    deadlines: tuple[Deadline, ...] = Field(description="All deadlines after the change.")
    changes: tuple[str, ...] = Field(
        description="What changed, for people.", examples=[["added first_contact#1"]],
    )


CaseEvent = Annotated[
    CaseOpened
    | CaseAcknowledged
    | ApologyRecorded
    | FixStarted
    | FixCompleted
    | CompensationRecorded
    | FollowUpRecorded
    | CaseClosed
    | CaseEscalated
    | CaseReopened
    | CaseReassigned
    | CaseReclassified
    | CaseTerminated
    | ActionRejected
    | DeadlineWarned
    | DeadlineBreached
    | DeadlinesScheduled,
    Field(discriminator="event_type"),
]
#: Decodes any case event from a dict or JSON: `CASE_EVENT.validate_json(raw)`.
CASE_EVENT: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)


# ------------------------------------------------------------------------ resolution


class ResolutionStep(_Frozen):
    """One accepted step of the case, in order."""

    action: ActionName
    event_type: str = Field(examples=["ApologyRecorded"])
    at: AwareDatetime
    actor: str
    state_after: CaseState
    note: str | None = None


DeadlineOutcome = Literal["met_on_time", "met_late", "missed", "not_due", "cancelled"]


class DeadlineResult(_Frozen):
    """How one deadline ended: met on time, met late, missed, not yet due, cancelled."""

    key: str = Field(examples=["reply#1"])
    name: DeadlineName
    due_at: AwareDatetime
    met_at: AwareDatetime | None
    outcome: DeadlineOutcome = Field(
        description="`not_due`: never met, but the case ended before it fell due.",
    )
    met: bool = Field(description="Met on time.")


class ResolutionDurations(_Frozen):
    """Seconds from opening; none when the step never happened."""

    to_first_contact_s: float | None = Field(examples=[5400.0])
    to_fix_s: float | None = Field(examples=[86400.0])
    total_s: float = Field(examples=[259200.0])


class Resolution(_Frozen):
    """The case's outcome (topic `complaints.resolutions.v1`), once per ending.

    A reopened case that ends again publishes a new resolution with a higher `round`
    (same case, new `resolution_id`); consumers keep the latest round.
    """

    schema_version: Literal[1] = 1
    resolution_id: str = Field(
        description="`<case_id>:r<round>`: the idempotency key of this resolution.",
        examples=["C20261124-5F1A9C03D2:r1"],
    )
    case_id: CaseId
    outcome: Literal["closed", "terminated"]
    round: int = Field(ge=1)
    kind: RequestKind
    category: Category
    severity: Severity
    queue: str
    handler: str | None
    opened_at: AwareDatetime
    ended_at: AwareDatetime
    steps: tuple[ResolutionStep, ...]
    compensation_total: Money
    satisfaction: Satisfaction | None = Field(description="Last return-visit answer.")
    termination_reason: str | None = None
    escalations: int = Field(ge=0)
    reopens: int = Field(ge=0)
    rejected_actions: int = Field(ge=0)
    deadlines: tuple[DeadlineResult, ...]
    deadlines_met: int = Field(ge=0)
    deadlines_missed: int = Field(ge=0, description="`met_late` plus `missed`.")
    durations: ResolutionDurations


__all__ = [
    "ACTOR_PATTERN",
    "CASE_EVENT",
    "INTAKE_ACTOR",
    "SLA_ACTOR",
    "ActionName",
    "ActionRejected",
    "ApologyRecorded",
    "AreaType",
    "Case",
    "CaseAcknowledged",
    "CaseClosed",
    "CaseEscalated",
    "CaseEvent",
    "CaseOpened",
    "CaseReassigned",
    "CaseReclassified",
    "CaseReopened",
    "CaseState",
    "CaseSteps",
    "CaseTerminated",
    "CompensationRecorded",
    "Deadline",
    "DeadlineBreached",
    "DeadlineName",
    "DeadlineOutcome",
    "DeadlineResult",
    "DeadlineStatus",
    "DeadlineWarned",
    "DeadlinesScheduled",
    "FixCompleted",
    "FixStarted",
    "FollowUpRecorded",
    "HandlerAction",
    "HandlerName",
    "Resolution",
    "ResolutionDurations",
    "ResolutionStep",
]
