"""The rule-pack file format as pydantic models: what `docs/rule-pack.md` documents.

These models only describe and validate the YAML; `compiled.py` turns a valid pack into
the lookup tables the engine uses. Cross-references (targets naming declared codes,
unique rule ids) are checked in `pack.py`, where the file name is known.

Sizes are limited (`MAX_…`, "Limits" in `docs/rule-pack.md`): compiling a pack keeps
every prefix of every word, and judging one match costs in proportion to the pack's
words and distances, so an unbounded pack could exhaust memory at load or make one
text take seconds. The limits are far above what a real pack needs.
"""

import re
from collections.abc import Sized
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from complaints.schemas.codes import (
    Category,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

# Limits of a pack (docs/rule-pack.md, "Limits"; the shipped pack is far below each).
MAX_WORD_CHARS = 32  # any word: term, phrase word, context word, negator, dictionary …
MAX_PHRASE_WORDS = 8  # words in one phrase
MAX_PHRASE_GAP = 50  # tokens: a phrase's `gap` and `settings.phrase_gap`
MAX_WINDOW = 50  # tokens: a rule's context `window`
MAX_NEGATION_WINDOW = 20  # tokens: `negation.window` and `negation.after_window`
MAX_LIST_WORDS = 200  # words in one list: requires_any, excludes, negators, markers …
MAX_RULES = 2_000
MAX_ENTRIES = 20_000  # terms and phrases of all rules together
MAX_DICTIONARY = 20_000  # words added to the pack's tokenizer

LIMITS_DOC = "see Limits in docs/rule-pack.md"


def _short_word(word: str) -> str:
    """Refuses long words: compiling keeps every prefix of a word (and jieba does too)."""
    if len(word) > MAX_WORD_CHARS:
        raise ValueError(
            f"{len(word):,} characters; a word may have at most {MAX_WORD_CHARS} ({LIMITS_DOC})"
        )
    return word


def _at_most(limit: int, what: str) -> AfterValidator:
    """A validator refusing a list (or mapping) of more than `limit` items."""

    def check(items: Sized) -> Any:
        if len(items) > limit:
            raise ValueError(f"{len(items):,} {what}; at most {limit:,} ({LIMITS_DOC})")
        return items

    return AfterValidator(check)


Weight = Annotated[float, Field(gt=0, description="Score a match adds to the rule's target.")]
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW, description="Distance in jieba tokens.")]
Gap = Annotated[int, Field(ge=0, le=MAX_PHRASE_GAP)]
Word = Annotated[str, Field(min_length=1), AfterValidator(_short_word)]
Words = Annotated[list[Word], _at_most(MAX_LIST_WORDS, "words")]

AXES = ("kind", "industry", "category", "signal")
Axis = Literal["kind", "industry", "category", "signal"]
# A kind's cue score, or the evidence of `problem` rules (settings.kind_order).
KindEvidence = Literal[
    "complaint", "report", "inquiry", "suggestion", "praise", "repair", "problem", "question"
]
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _no_blank(words: list[str]) -> list[str]:
    if any(not word.strip() for word in words):
        raise ValueError("must not contain empty words")
    return words


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _WithContext(_Spec):
    """Conditions shared by rules and single terms: the context a match needs."""

    requires_any: Words = Field(
        default_factory=list,
        description="The match counts only if one of these words is also in the text "
        "(within `window` tokens when the rule sets one).",
    )
    excludes: Words = Field(
        default_factory=list,
        description="The match is cancelled if one of these words is in the text "
        "(within `window` tokens when the rule sets one).",
    )
    industries: list[Industry] = Field(
        default_factory=list,
        description="Only count when the text's industry is one of these (empty: any).",
    )
    require_industry: bool | None = Field(
        default=None,
        description="Count only when an industry is decided (by the text's words or the "
        "hint) and, with `industries`, is one of them. Without it a scoped term still "
        "counts while no industry is decided. A term's value replaces its rule's.",
    )

    _check_requires = field_validator("requires_any", "excludes")(_no_blank)


class TermSpec(_WithContext):
    """One word or contiguous expression; it may span several jieba tokens."""

    term: Word = Field(examples=["停电", "迟迟不给装"])
    weight: Weight | None = Field(default=None, description="Defaults to the rule's weight.")
    negatable: bool | None = Field(default=None, description="Defaults to the rule's `negatable`.")

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        """`- 停电` is shorthand for `- {term: 停电}`."""
        if isinstance(value, str):
            return {"term": value}
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"{value!r} is a number: quote it, e.g. '{value}'")
        return value

    @field_validator("term")
    @classmethod
    def _single_expression(cls, term: str) -> str:
        if term != term.strip() or " " in term:
            raise ValueError("a term has no spaces; write word sequences under `phrases`")
        return term


class PhraseSpec(_Spec):
    """Words in this order, each within `gap` tokens of the previous one, in one sentence."""

    phrase: str = Field(examples=["态度 差", "报修 没来"])
    weight: Weight | None = None
    gap: Gap | None = Field(
        default=None, description="Tokens allowed between words; default settings.phrase_gap."
    )
    negatable: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        return {"phrase": value} if isinstance(value, str) else value

    @field_validator("phrase")
    @classmethod
    def _two_words_or_more(cls, phrase: str) -> str:
        words = phrase.split()
        if len(words) < 2:
            raise ValueError("a phrase needs at least two words separated by spaces")
        if len(words) > MAX_PHRASE_WORDS:
            raise ValueError(
                f"{len(words):,} words; a phrase may have at most {MAX_PHRASE_WORDS} "
                f"({LIMITS_DOC})"
            )
        for number, word in enumerate(words, 1):
            if len(word) > MAX_WORD_CHARS:
                raise ValueError(
                    f"word {number} has {len(word):,} characters; a word may have at most "
                    f"{MAX_WORD_CHARS} ({LIMITS_DOC})"
                )
        return phrase

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.phrase.split())


class RuleSpec(_WithContext):
    """Terms and phrases that add their weight to one target."""

    id: str = Field(examples=["power.outage"])
    target: str = Field(
        description="`<axis>:<code>`, axis one of kind, industry, category, signal.",
        examples=["category:outage", "signal:safety"],
    )
    subcategory: str | None = Field(
        default=None, description="Subcategory of a category target (documentation, reason)."
    )
    description: str = ""
    weight: Weight = 1.0
    negatable: bool = Field(
        default=True, description="A negator shortly before a match cancels it."
    )
    window: Window | None = Field(
        default=None,
        description="Token distance for `requires_any`/`excludes`; none: the whole text.",
    )
    problem: bool = Field(
        default=False,
        description="The rule's terms state a problem, a loss or anger (`态度恶劣`, `没信号`, "
        "`损失`): each counted match is also evidence for `settings.problem_kind` "
        "(complaint), weighing `settings.problem_weight`. Not for topic words (`电费`).",
    )
    question: bool = Field(
        default=False,
        description="A `kind:inquiry` rule of question forms (`吗`, `怎么`, `?`): its weight "
        "is `question` evidence in `settings.kind_order`, weaker than a stated problem, "
        "rather than an explicit inquiry cue (`请问`, `咨询`).",
    )
    terms: list[TermSpec] = Field(default_factory=list)
    phrases: list[PhraseSpec] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, rule_id: str) -> str:
        if not _RULE_ID.match(rule_id):
            raise ValueError("use lower-case letters, digits and . _ - (e.g. power.outage)")
        return rule_id

    @field_validator("target")
    @classmethod
    def _target_shape(cls, target: str) -> str:
        axis, _, code = target.partition(":")
        if axis not in AXES or not code:
            raise ValueError(f"must be <axis>:<code> with axis one of {', '.join(AXES)}")
        return target

    @model_validator(mode="after")
    def _has_evidence(self) -> "RuleSpec":
        if not self.terms and not self.phrases:
            raise ValueError("a rule needs at least one term or phrase")
        return self

    @property
    def axis(self) -> str:
        return self.target.partition(":")[0]

    @property
    def code(self) -> str:
        return self.target.partition(":")[2]


class DictionaryEntry(_Spec):
    """A word added to the pack's jieba tokenizer so it is never split."""

    word: Word = Field(examples=["无功补偿"])
    freq: int | None = Field(
        default=None, ge=1, description="jieba frequency; default: just enough to stay whole."
    )
    tag: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        return {"word": value} if isinstance(value, str) else value


class CategorySpec(_Spec):
    name: str
    subcategories: dict[str, str] = Field(default_factory=dict)
    industry: Industry | None = Field(
        default=None,
        description="Industry this category implies when neither the text nor the hint "
        "decides one (network → telecom).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class NegationSpec(_Spec):
    """A negator shortly before a match (`未发生停电`) or a denial right after it
    (`电费没问题`) cancels the match."""

    window: int = Field(
        default=3,
        ge=1,
        le=MAX_NEGATION_WINDOW,
        description="Tokens before a term that a negator reaches.",
    )
    negators: Words = Field(default_factory=lambda: ["没有", "没", "未", "无", "不是", "并非"])
    scope_breaks: Words = Field(
        default_factory=lambda: ["，", ",", "。", "！", "？", "；", "但", "但是", "就", "却"],
        description="Tokens that end a negator's reach (`没有通知就停电了`).",
    )
    after: Words = Field(
        default_factory=list,
        description="Denials that follow the term (`没问题`, `没坏`, `还行`); may span tokens.",
    )
    after_window: int = Field(
        default=1,
        ge=0,
        le=MAX_NEGATION_WINDOW,
        description="Tokens allowed between the term and a denial after it.",
    )


class FocusSpec(_Spec):
    """Contrast markers (`问题是`, `我要投诉的是`): categories after them weigh more."""

    markers: Words = Field(default_factory=list)
    boost: Weight = 2.0


class SeveritySpec(_Spec):
    """Severity = the most urgent of the kind's level and every signal's level."""

    default: Severity = Severity.P3
    kinds: dict[RequestKind, Severity] = Field(default_factory=dict)
    signals: dict[Signal, Severity] = Field(default_factory=dict)
    signals_apply_to: list[RequestKind] | None = Field(
        default=None, description="Kinds whose severity signals may raise; none: all kinds."
    )


class Settings(_Spec):
    """Thresholds of the decisions; the defaults suit the shipped pack."""

    hmm: bool = Field(default=False, description="jieba HMM for unknown words.")
    phrase_gap: Gap = 3
    category_min_score: Weight = 1.0
    secondary_min_score: Weight = 1.0
    industry_min_score: Weight = 1.0
    kind_min_score: Weight = 1.0
    signal_min_score: Weight = 1.0
    confidence_prior: Weight = 1.0
    default_kind: RequestKind = RequestKind.COMPLAINT
    fallback_categories: dict[Industry, Category] = Field(
        default_factory=dict,
        description="Category of a text whose industry is decided (by its words or the "
        "hint) but that names no category: a shop review that only says `垃圾，别买` is "
        "about the goods (`logistics: product_quality`). Other industries: `other`.",
    )
    problem_kind: RequestKind = Field(
        default=RequestKind.COMPLAINT,
        description="Kind that matches of `problem` rules are evidence for.",
    )
    problem_weight: float = Field(
        default=0.0, ge=0, description="Kind score each counted `problem` match adds (0: off)."
    )
    hypothetical_markers: Words = Field(
        default_factory=list,
        description="Words that frame a problem as hypothetical or general (`如果`, `万一`, "
        "`的话`, `会不会`, `如何避免`). In a text that also has question evidence reaching "
        "`kind_min_score`, matches of `problem` rules add no problem evidence: "
        "`如果快递丢了怎么赔？` asks about a rule (inquiry) while its category still "
        "counts (delivery). Explicit complaint cues are not affected.",
    )
    kind_order: list[list[KindEvidence]] = Field(
        default_factory=list,
        description="Tiers of kind evidence, strongest first: the first tier with evidence "
        "reaching `kind_min_score` decides (the best score within the tier). A tier names "
        "kinds (their cue scores), `problem` (matches of `problem` rules, for "
        "`problem_kind`) and `question` (question forms, for inquiry). Kinds in no tier "
        "form a last tier. Empty: one tier of all kinds, problem evidence added to the "
        "problem kind and question forms to inquiry.",
        examples=[[["report", "complaint", "repair"], ["inquiry"], ["problem"], ["praise"]]],
    )

    @field_validator("kind_order")
    @classmethod
    def _each_kind_once(cls, tiers: list[list[str]]) -> list[list[str]]:
        kinds = [kind for tier in tiers for kind in tier]
        if len(kinds) != len(set(kinds)):
            raise ValueError("a kind may appear in one tier only, once")
        return tiers


class PackSpec(_Spec):
    """A whole rule-pack file."""

    version: str = Field(min_length=1, examples=["2025.11.1"])
    description: str = ""
    settings: Settings = Field(default_factory=Settings)
    negation: NegationSpec = Field(default_factory=NegationSpec)
    focus: FocusSpec = Field(default_factory=FocusSpec)
    dictionary: Annotated[
        list[DictionaryEntry], _at_most(MAX_DICTIONARY, "dictionary words")
    ] = Field(default_factory=list)
    kinds: dict[RequestKind, str]
    industries: dict[Industry, str]
    categories: dict[Category, CategorySpec]
    signals: dict[Signal, str]
    severity: SeveritySpec = Field(default_factory=SeveritySpec)
    tier_signals: dict[CustomerTier, list[Signal]] = Field(
        default_factory=dict, description="Signals a customer tier adds (diamond → vip)."
    )
    rules: Annotated[list[RuleSpec], _at_most(MAX_RULES, "rules")]

    @field_validator("rules")
    @classmethod
    def _not_too_many_entries(cls, rules: list[RuleSpec]) -> list[RuleSpec]:
        entries = sum(len(rule.terms) + len(rule.phrases) for rule in rules)
        if entries > MAX_ENTRIES:
            raise ValueError(
                f"{entries:,} terms and phrases in all; at most {MAX_ENTRIES:,} ({LIMITS_DOC})"
            )
        return rules

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        """YAML reads `version: 1.0` as a float; accept it as the text it looks like."""
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return str(value) if is_number else value
