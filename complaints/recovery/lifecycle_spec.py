"""The format of `lifecycle.yaml`: states, actions, rows, and the numbers guards read.

Models only: loading and checking live in `lifecycle.py`, which needs the guards,
which read these models (so this module imports neither). Format: docs/recovery.md §2.
"""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from complaints.schemas.case import ActionName, CaseState
from complaints.schemas.codes import Category, RequestKind, Severity


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StateSpec(_Spec):
    """A state with its Chinese name; `ends_case` states end a case (resolution)."""

    name: str = Field(min_length=1, examples=["已道歉"])
    description: str = ""
    ends_case: bool = False


class ActionSpec(_Spec):
    """An action with its Chinese name and the hint shown when it is refused."""

    name: str = Field(min_length=1, examples=["真诚道歉"])
    hint: str = ""


class CompensationPolicy(_Spec):
    """Parameters of the compensation guards."""

    approval_limit_cny: Decimal = Field(ge=0, description="Above this, approved_by is needed.")
    policy_categories: list[Category] = Field(
        default_factory=list, description="Compensated by policy without a loss claim.",
    )


class FollowUpPolicy(_Spec):
    """Where "unsatisfied" starts on the 1–5 return-visit scale."""

    unsatisfied_at_most: int = Field(default=2, ge=1, le=4)


class ReopenPolicy(_Spec):
    """How long after closing a repeat complaint reopens the case."""

    within_days: int = Field(default=30, ge=0, le=3650)


class EscalationLevel(_Spec):
    """One step up the escalation ladder: a queue that is alerted and takes over."""

    queue: str = Field(min_length=1, examples=["supervisor"])
    name: str = Field(min_length=1, examples=["班组长/值班长"])


class EscalationPolicy(_Spec):
    """What an escalation does to the case."""

    levels: list[EscalationLevel] = Field(min_length=1)
    raise_severity_by: int = Field(default=1, ge=0, le=3)
    severity_cap: Severity = Field(
        default=Severity.P2, description="Escalation never raises severity above this.",
    )
    priority_boost: int = Field(default=10, ge=0, le=100)


class RowSpec(_Spec):
    """One row as written in the file (`from` may name several states or a group).

    Guard names are checked by the loader (`lifecycle.py`), against the guards that exist.
    """

    from_states: str | list[str] = Field(alias="from")
    action: ActionName
    to: str
    kinds: list[str] = Field(default_factory=list, description="Kinds or kind groups.")
    guards: list[str] = Field(default_factory=list)
    note: str = ""

    def sources(self) -> list[str]:
        return [self.from_states] if isinstance(self.from_states, str) else self.from_states

    def label(self) -> str:
        """`fixed --close--> closed`, for error messages."""
        return f"{', '.join(self.sources())} --{self.action}--> {self.to}"


class LifecycleSpec(_Spec):
    """A whole lifecycle file."""

    version: str = Field(min_length=1, examples=["2026.1"])
    description: str = ""
    initial: CaseState = CaseState.RECEIVED
    states: dict[CaseState, StateSpec]
    state_groups: dict[str, list[CaseState]] = Field(default_factory=dict)
    kind_groups: dict[str, list[RequestKind]] = Field(default_factory=dict)
    actions: dict[ActionName, ActionSpec]
    compensation: CompensationPolicy
    follow_up: FollowUpPolicy = Field(default_factory=FollowUpPolicy)
    reopen: ReopenPolicy = Field(default_factory=ReopenPolicy)
    escalation: EscalationPolicy
    transitions: list[RowSpec] = Field(min_length=1)


__all__ = [
    "ActionSpec",
    "CompensationPolicy",
    "EscalationLevel",
    "EscalationPolicy",
    "FollowUpPolicy",
    "LifecycleSpec",
    "ReopenPolicy",
    "RowSpec",
    "StateSpec",
]
