"""What the classifier says about one complaint text, and why."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from complaints.schemas.codes import Category, Industry, RequestKind, Severity, Signal


class MatchedTerm(BaseModel):
    """One rule term found in the text: the evidence behind a decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(description="The term or phrase as in the rule pack.", examples=["停电"])
    start: int = Field(ge=0, description="Character offset in the normalised text.")
    end: int = Field(ge=0, description="Character offset one past the match.")
    rule_id: str = Field(description="Rule that owns the term.", examples=["power.outage"])
    target: str = Field(
        description="What the rule scores: `kind:<code>`, `category:<code>`, "
        "`industry:<code>` or `signal:<code>`.",
        examples=["category:outage"],
    )
    weight: float = Field(description="Weight the term added to its target.")


class DiscountedTerm(BaseModel):
    """A rule term found in the text that did not count, and why: the other half of an
    explanation (`未发生停电` mentions 停电 but is not an outage)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(examples=["护理差错"])
    start: int = Field(ge=0, description="Character offset in the normalised text.")
    end: int = Field(ge=0, description="Character offset one past the match.")
    rule_id: str = Field(examples=["medical.error"])
    target: str = Field(examples=["category:medical"])
    why: Literal["negated", "out_of_context"] = Field(
        description="`negated`: a negator before it or a denial after it (无护理差错, 电费"
        "没问题); `out_of_context`: its rule's required words are missing or an excluded "
        "word is present (无功补偿 is equipment, not compensation).",
    )


class CategoryScore(BaseModel):
    """A category with its total score; the classifier's ranking of candidates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category
    score: float


class Classification(BaseModel):
    """Kind, industry, category, severity and signals of a complaint, with the evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RequestKind = Field(description="Work-order type (domain §3).")
    industry: Industry = Field(description="Industry the text belongs to.")
    category: Category = Field(description="Primary category; `other` when no rule matched.")
    secondary: list[CategoryScore] = Field(
        default_factory=list, description="Further categories found, best first."
    )
    severity: Severity = Field(description="P1 critical … P4 low.")
    signals: list[Signal] = Field(default_factory=list, description="Severity cues found.")
    matches: list[MatchedTerm] = Field(
        default_factory=list, description="Every term that counted, in text order."
    )
    discounted: list[DiscountedTerm] = Field(
        default_factory=list, description="Terms found that did not count, and why."
    )
    confidence: float = Field(ge=0, le=1, description="How sure the rules are (0–1).")
    rule_pack_version: str = Field(description="Version of the rule pack that decided.")
    reason: str = Field(
        default="", description="Human explanation, e.g. why `other` was chosen.",
    )
