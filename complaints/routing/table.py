"""The routing table: a YAML data file, validated into frozen pydantic models.

The file format is documented in `docs/routing.md`; the models below are that format.
Everything domain-specific — which desk owns which category, the VIP overflow limits,
the repeat and mass-incident thresholds, response times per severity — lives in the
file, so a service centre changes its routing without touching code.

Rules are tried in file order and the **first match wins**: put specific rules (safety,
legal, VIP) before general ones (by category). An invalid file is refused as a whole,
with one line per problem naming the file, the rule id and the field.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from complaints.datafiles import by_id, read_yaml, validate
from complaints.routing.exceptions import RoutingTableError
from complaints.schemas.codes import (
    Category,
    Channel,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

DEFAULT_TABLE_NAME = "default_routes.yaml"
#: Overflow target meaning "the queue of the next rule that matches" (see docs).
NEXT_MATCH = "next_match"

_QUEUE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class QueueSpec(_Spec):
    """A handler queue: one desk with its Chinese name."""

    name: str = Field(min_length=1, description="Chinese name shown to handlers.",
                      examples=["抢修指挥"])
    description: str = Field(default="", description="What lands here.")
    lease_s: int | None = Field(
        default=None, ge=5, le=86_400,
        description="Lease length for claims from this queue; default: the table's.",
    )


class Match(_Spec):
    """Conditions of a rule. Every listed field must match; within a field, any value.

    An empty list (or an absent field) matches everything.
    """

    kinds: list[RequestKind] = Field(default_factory=list)
    industries: list[Industry] = Field(default_factory=list)
    categories: list[Category] = Field(
        default_factory=list, description="Matched against the primary category."
    )
    severities: list[Severity] = Field(
        default_factory=list, description="Severity after repeat/incident raises."
    )
    signals: list[Signal] = Field(
        default_factory=list,
        description="Any one of these signals (after routing added `repeat`/`mass`).",
    )
    tiers: list[CustomerTier] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)


class RuleSpec(_Spec):
    """If the complaint matches, it goes to `queue` with `priority_boost` added."""

    id: str = Field(examples=["outage.repair"])
    description: str = Field(default="", description="Why this rule exists (in reasons).")
    match: Match = Field(default_factory=Match)
    queue: str = Field(examples=["outage_repair"])
    priority_boost: int = Field(default=0, ge=-100, le=100)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, rule_id: str) -> str:
        if not _RULE_ID.match(rule_id):
            raise ValueError("use lower-case letters, digits and . _ - (e.g. outage.repair)")
        return rule_id


class SeveritySpec(_Spec):
    """Response time and base priority of one severity level."""

    respond_within_min: int = Field(
        ge=1, description="First response due this many minutes after contact (`due_at`).",
    )
    priority: int = Field(ge=0, le=100, description="Base priority of the level.")


class OverflowSpec(_Spec):
    """A desk that passes new cases on when its backlog or oldest wait reaches a limit."""

    from_queue: str = Field(alias="from", examples=["vip_desk"])
    to: str = Field(
        description=f"A queue code, or `{NEXT_MATCH}`: the queue of the next rule that "
        "matches (the desk the case would have gone to without the overflowing rule).",
        examples=[NEXT_MATCH, "general"],
    )
    max_backlog: int = Field(ge=1, description="Overflow when this many cases wait.")
    max_oldest_wait_s: int = Field(
        ge=1, description="Overflow when the oldest waiting case has waited this long.",
    )


class RepeatSpec(_Spec):
    """A customer's earlier complaints in a window make a new one a repeat (重复投诉)."""

    window_days: int = Field(default=30, ge=1, le=3650)
    min_earlier: int = Field(
        default=1, ge=1, description="Earlier complaints needed for `repeat` (1: the "
        "second complaint within the window is a repeat).",
    )
    kinds: list[RequestKind] = Field(
        default_factory=lambda: [RequestKind.COMPLAINT],
        description="Kinds that count as history and can be repeats.",
    )
    priority_boost: int = Field(default=10, ge=0, le=100)
    severity_at_least: Severity = Field(default=Severity.P2)


class IncidentSpec(_Spec):
    """K or more complaints of one category from one area within W minutes: one incident."""

    threshold: int = Field(default=5, ge=2, description="K: complaints that open an incident.")
    window_min: int = Field(default=30, ge=1, le=7 * 24 * 60, description="W, in minutes.")
    categories: list[Category] = Field(
        default_factory=list, description="Categories that can form incidents."
    )
    kinds: list[RequestKind] = Field(
        default_factory=lambda: [RequestKind.COMPLAINT, RequestKind.REPAIR]
    )
    severity_at_least: Severity = Field(default=Severity.P1)
    priority_boost: int = Field(default=10, ge=0, le=100)


class RoutingTable(_Spec):
    """A whole routing table file."""

    version: str = Field(min_length=1, examples=["2026.1"])
    description: str = ""
    matching: Literal["first"] = Field(
        default="first", description="Rules are tried in order; the first match wins."
    )
    lease_s: int = Field(default=900, ge=5, le=86_400,
                         description="Default lease of a claimed case, in seconds.")
    done_retention_days: int = Field(
        default=14, ge=1, le=365,
        description="How long finished work items are remembered (repeat enqueues ignored).",
    )
    default_queue: str
    queues: dict[str, QueueSpec]
    severities: dict[Severity, SeveritySpec]
    rules: list[RuleSpec]
    overflow: list[OverflowSpec] = Field(default_factory=list)
    repeat: RepeatSpec = Field(default_factory=RepeatSpec)
    incidents: IncidentSpec = Field(default_factory=IncidentSpec)

    def overflow_for(self, queue: str) -> OverflowSpec | None:
        """The overflow rule of `queue`, if it has one."""
        return next((o for o in self.overflow if o.from_queue == queue), None)

    def lease_for(self, queue: str) -> int:
        """Lease length, in seconds, for a claim from `queue`."""
        spec = self.queues.get(queue)
        return spec.lease_s if spec and spec.lease_s else self.lease_s

    def queue_label(self, queue: str) -> str:
        """`抢修指挥 (outage_repair)`, for reasons and terminals."""
        spec = self.queues.get(queue)
        return f"{spec.name} ({queue})" if spec else queue


def default_table_path() -> Path:
    """The table shipped inside the package (`complaints/routing/default_routes.yaml`)."""
    return Path(__file__).with_name(DEFAULT_TABLE_NAME)


def load_default_table() -> RoutingTable:
    return load_table(default_table_path())


def load_table(path: Path | str | None = None) -> RoutingTable:
    """Read and validate a routing table (the default one when `path` is None)."""
    path = Path(path) if path is not None else default_table_path()
    return parse_table(read_yaml(path, RoutingTableError), path.name or str(path))


def parse_table(raw: Any, file_name: str) -> RoutingTable:
    """Validate already parsed YAML; errors name `file_name`, the rule id and the field."""
    table = validate(raw, RoutingTable, file_name, RoutingTableError,
                     by_id(raw, "rules", "rule"), "docs/routing.md",
                     "a routing table is a mapping with `version`, `queues`, `rules` …")
    problems = _reference_problems(table)
    if problems:
        raise RoutingTableError("\n".join(f"{file_name}: {problem}" for problem in problems))
    return table


def _reference_problems(table: RoutingTable) -> list[str]:
    """What pydantic cannot see: declared queues, unique ids, reachable rules, levels."""
    declared = set(table.queues)
    known = ", ".join(sorted(declared))
    problems = [
        f"queues.{code}: queue codes are lower-case letters, digits and _ (max 40)"
        for code in table.queues
        if not _QUEUE_CODE.match(code)
    ]
    if table.default_queue not in declared:
        problems.append(f"default_queue: unknown queue '{table.default_queue}' (declared: {known})")
    problems += [
        f"severities: {level} is missing (every level P1–P4 needs respond_within_min)"
        for level in Severity
        if level not in table.severities
    ]
    seen: set[str] = set()
    catch_all: str | None = None
    for rule in table.rules:
        where = f"rule {rule.id!r}"
        if rule.id in seen:
            problems.append(f"{where}: id: duplicate rule id")
        seen.add(rule.id)
        if rule.queue not in declared:
            problems.append(f"{where}: queue: unknown queue '{rule.queue}' (declared: {known})")
        if catch_all is not None:
            problems.append(
                f"{where}: match: never reached: rule {catch_all!r} before it matches everything"
            )
        if rule.match.is_empty():
            catch_all = catch_all or rule.id
    sources: set[str] = set()
    for index, spec in enumerate(table.overflow):
        where = f"overflow[{index}]"
        if spec.from_queue not in declared:
            problems.append(f"{where}.from: unknown queue '{spec.from_queue}' (declared: {known})")
        if spec.to != NEXT_MATCH and spec.to not in declared:
            problems.append(
                f"{where}.to: unknown queue '{spec.to}' (declared: {known}, or {NEXT_MATCH})"
            )
        if spec.to == spec.from_queue:
            problems.append(f"{where}.to: a queue cannot overflow into itself")
        if spec.from_queue in sources:
            problems.append(f"{where}.from: '{spec.from_queue}' already has an overflow rule")
        sources.add(spec.from_queue)
    return problems


__all__ = [
    "NEXT_MATCH",
    "IncidentSpec",
    "Match",
    "OverflowSpec",
    "QueueSpec",
    "RepeatSpec",
    "RoutingTable",
    "RoutingTableError",
    "RuleSpec",
    "SeveritySpec",
    "default_table_path",
    "load_default_table",
    "load_table",
    "parse_table",
]
