"""A validated pack turned into lookup tables, built once at load so `classify` is cheap.

Every term and phrase of every rule becomes an `Entry`: what it scores, how much, and the
context it needs. Entries are found by dictionary look-ups on runs of jieba tokens, so
the only per-text work is segmentation plus one dictionary look-up per token (see
`engine.py`). Segmentation itself is cached per pack, block by block (`segmenter`).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import _lru_cache_wrapper, lru_cache, partial
from types import MappingProxyType

import jieba
import rjieba

from complaints.classifier.spec import PackSpec, RuleSpec, TermSpec
from complaints.schemas.codes import (
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

# Bits of `CompiledPack.token_roles`: what a token (or a run of tokens) can be.
WORD = 1  # a vocabulary word
LONGER = 2  # the start of a longer vocabulary word: worth adding the next token
NEGATOR = 4  # a negator before a term (没有, 未 …)
DENIAL = 8  # a denial after a term (没问题 …)
FOCUS = 16  # a contrast marker (问题是 …)

# Sentence ends (before and after NFKC, which turns full-width ！？； into ASCII).
SENTENCE_BREAKS = frozenset({"。", "!", "?", ";", "！", "？", "；", "\n"})

# Segmentations of han blocks a pack's segmenter keeps.
SEGMENT_CACHE_SIZE = 8192
# Longest han block (characters) whose segmentation is cached. The cache pays off on
# the short clauses complaints repeat (greetings, 停电了, 请尽快处理); a long block is
# almost never seen twice, and caching blocks of any length would let 8,192 entries of
# a 20,000-character block hold gigabytes. With this bound an entry is at most a
# 64-character key and 64 one-character tokens, so the whole cache stays within tens of
# megabytes whatever the texts (docs/benchmarks.md, issue 20).
SEGMENT_CACHE_MAX_BLOCK = 64
# jieba's own pattern of the runs of characters it segments ("han blocks"): CJK
# ideographs, Latin letters, digits and + # & . _ % -.
HAN_BLOCK = jieba.re_han_default


@dataclass(frozen=True, slots=True)
class Condition:
    """Context a match needs: one of `words` present (or absent) within `window` tokens."""

    words: frozenset[str]
    window: int | None
    required: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """One term or phrase of one rule, with everything needed to judge a match of it."""

    seq: int  # position in the pack: the last tie-breaker between equal matches
    words: tuple[str, ...]
    text: str
    rule_id: str
    rule_order: int
    target: str
    key: tuple[str, str]  # (target, text): a term counts once per target
    axis: str
    code: str
    subcategory: str | None
    weight: float
    gap: int
    negatable: bool
    industries: frozenset[str]
    require_industry: bool  # counts only when an industry is decided (and in `industries`)
    problem: bool  # a stated problem: also evidence for the problem kind (complaint)
    question: bool  # a question form: `question` evidence instead of an inquiry cue
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Decisions:
    """Tables for turning scores into a `Classification` (ordering breaks ties)."""

    kind_position: MappingProxyType[str, int]
    industry_position: MappingProxyType[str, int]
    category_position: MappingProxyType[str, int]
    signals: tuple[Signal, ...]
    category_names: MappingProxyType[str, str]
    subcategory_names: MappingProxyType[tuple[str, str], str]
    severity_default: Severity
    severity_by_kind: MappingProxyType[str, Severity]
    severity_by_signal: MappingProxyType[str, Severity]
    signals_apply_to: frozenset[str] | None
    tier_signals: MappingProxyType[CustomerTier, tuple[Signal, ...]]
    category_industry: MappingProxyType[str, Industry]
    default_kind: RequestKind
    fallback_categories: MappingProxyType[str, str]  # industry → category naming none
    kind_tiers: tuple[frozenset[str], ...]  # settings.kind_order, plus a tier of the rest
    problem_kind: str  # kind that `problem` matches are evidence for …
    problem_kind_enum: RequestKind
    problem_weight: float  # … and how much each adds (0: off)
    problem_tier: bool  # settings.kind_order names `problem`
    question_tier: bool  # settings.kind_order names `question`
    hypothetical_markers: frozenset[str]  # problem evidence does not count in a question
    category_min_score: float
    secondary_min_score: float
    industry_min_score: float
    kind_min_score: float
    signal_min_score: float
    confidence_prior: float


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPack:
    """Look-up tables, the pack's own jieba tokenizer and its (cached) segmenter."""

    tokenizer: jieba.Tokenizer  # never changed after compile: the cache relies on it
    hmm: bool
    # `tokenizer.lcut(text, HMM=hmm)`, from `segment_cache` where it can be.
    segment: Callable[[str], list[str]]
    segment_cache: _lru_cache_wrapper | None  # None: segmentation is not cached
    # Plain dicts, never changed after compile: these are the per-token look-ups.
    terms: dict[str, tuple[Entry, ...]]
    phrases: dict[str, tuple[Entry, ...]]
    token_roles: dict[str, int]  # token or run of tokens → WORD | LONGER | NEGATOR …
    vocabulary: frozenset[str]
    max_chars: int
    negation_window: int
    scope_breaks: frozenset[str]
    denial_window: int
    focus_boost: float
    decisions: Decisions
    strict_entries: bool = False  # some entry has require_industry


@lru_cache(maxsize=1)
def _default_dictionary() -> tuple[dict[str, int], int]:
    """jieba's default prefix dictionary, read once per process (about 0.5 s)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer.FREQ, tokenizer.total


def new_tokenizer(dictionary: list[tuple[str, int | None, str | None]]) -> jieba.Tokenizer:
    """A private, initialised tokenizer with the pack's words added.

    Each pack gets its own so packs never see each other's words and the global
    `jieba` tokenizer other code uses is untouched. Copying the already loaded default
    dictionary (a `dict` copy, ~10 ms) instead of re-reading it keeps reloads cheap;
    `FREQ`/`total`/`initialized` are the fields `Tokenizer.initialize` itself sets.
    """
    freq, total = _default_dictionary()
    tokenizer = jieba.Tokenizer()
    with tokenizer.lock:
        tokenizer.FREQ = dict(freq)
        tokenizer.total = total
        tokenizer.initialized = True
    for word, word_freq, tag in dictionary:
        tokenizer.add_word(word, word_freq, tag)
    return tokenizer


def new_fast_tokenizer(tokenizer: jieba.Tokenizer, words: Iterable[str]) -> rjieba.Jieba:
    """An `rjieba` (jieba-rs) instance with the pack's words, at the frequencies the
    reference `tokenizer` stored for them (jieba computes a missing `freq` itself).

    jieba-rs without HMM cuts exactly as jieba 0.42.1 `lcut(text, HMM=False)` with the
    same dictionary, about ten times faster; `test_rjieba_segmentation.py` proves it on
    every labelled text and on the real-text file.
    """
    fast = rjieba.Jieba()
    for word in words:
        fast.add_word(word, tokenizer.FREQ.get(word, 0), None)
    return fast


def segmenter(
    tokenizer: jieba.Tokenizer,
    hmm: bool,
    cache_size: int = SEGMENT_CACHE_SIZE,
    fast: rjieba.Jieba | None = None,
) -> tuple[Callable[[str], list[str]], _lru_cache_wrapper | None]:
    """`tokenizer.lcut(text, HMM=hmm)` with a bounded LRU cache per han block.

    `Tokenizer.cut` splits a text into maximal runs of `HAN_BLOCK` characters, segments
    each run on its own (the DAG and the HMM never look past it) and yields every other
    character as a token by itself (whitespace too; only "\\r\\n" is one token). So a
    text's tokens are its blocks' tokens and the other characters, in order, and the
    segmentation of a block is the same in whatever text it appears: complaints repeat
    clauses (greetings, 停电了, 请尽快处理) that are then segmented once. Only blocks
    of up to `SEGMENT_CACHE_MAX_BLOCK` characters are cached; longer ones are cut each
    time. Returns the segmenter and its cache (`cache_info()`, `cache_clear()`);
    `cache_size` 0: no cache, `lcut` of the whole text. `fast`: an `rjieba` instance with
    the same words (`new_fast_tokenizer`), used instead of jieba when `hmm` is off.
    """
    reference = partial(tokenizer.lcut, HMM=hmm)
    if fast is not None and not hmm:
        cut = fast.cut

        def lcut(text: str) -> list[str]:
            # "\r\n" is one token in jieba: such texts go to the reference
            return reference(text) if "\r" in text else cut(text, False)
    else:
        lcut = reference
    if cache_size <= 0:
        return lcut, None

    @lru_cache(maxsize=cache_size)
    def block_tokens(block: str) -> tuple[str, ...]:
        return tuple(lcut(block))

    split = HAN_BLOCK.split

    def segment(text: str) -> list[str]:
        if "\r" in text:  # "\r\n" is one token: leave such texts to jieba
            return reference(text)
        parts = split(text)  # other characters, block, other characters, block, …
        tokens = list(parts[0])
        for index in range(1, len(parts), 2):
            block = parts[index]
            if len(block) <= SEGMENT_CACHE_MAX_BLOCK:
                tokens += block_tokens(block)
            else:  # bounded memory: long blocks are not cached
                tokens += lcut(block)
            tokens += parts[index + 1]
        return tokens

    return segment, block_tokens


def _variants(word: str) -> set[str]:
    """Latin words match as written, lower-case, upper-case or capitalised (atm, ATM, Atm)."""
    return {word, word.lower(), word.upper(), word.capitalize()}


def _conditions(rule: RuleSpec, term: TermSpec | None = None) -> tuple[Condition, ...]:
    """The rule's context conditions, plus the term's own (both must hold)."""
    pairs = [(rule.requires_any, True), (rule.excludes, False)]
    if term is not None:
        pairs += [(term.requires_any, True), (term.excludes, False)]
    return tuple(
        Condition(frozenset(v for w in words for v in _variants(w)), rule.window, required)
        for words, required in pairs
        if words
    )


def _entries(rule: RuleSpec, order: int, spec: PackSpec) -> list[Entry]:
    """One entry per term and phrase of `rule`, with rule defaults filled in."""
    entries = []
    for term in rule.terms:
        entries.append(
            Entry(
                seq=0,
                words=(term.term,),
                text=term.term,
                rule_id=rule.id,
                rule_order=order,
                target=rule.target,
                key=(rule.target, term.term),
                axis=rule.axis,
                code=rule.code,
                subcategory=rule.subcategory,
                weight=term.weight if term.weight is not None else rule.weight,
                gap=0,
                negatable=term.negatable if term.negatable is not None else rule.negatable,
                industries=frozenset(term.industries or rule.industries),
                require_industry=bool(
                    term.require_industry
                    if term.require_industry is not None
                    else rule.require_industry
                ),
                problem=rule.problem,
                question=rule.question,
                conditions=_conditions(rule, term),
            )
        )
    for phrase in rule.phrases:
        entries.append(
            Entry(
                seq=0,
                words=phrase.words,
                text=phrase.phrase,
                rule_id=rule.id,
                rule_order=order,
                target=rule.target,
                key=(rule.target, phrase.phrase),
                axis=rule.axis,
                code=rule.code,
                subcategory=rule.subcategory,
                weight=phrase.weight if phrase.weight is not None else rule.weight,
                gap=phrase.gap if phrase.gap is not None else spec.settings.phrase_gap,
                negatable=phrase.negatable if phrase.negatable is not None else rule.negatable,
                industries=frozenset(rule.industries),
                require_industry=bool(rule.require_industry),
                problem=rule.problem,
                question=rule.question,
                conditions=_conditions(rule),
            )
        )
    return entries


def _positions(codes: Iterable[str]) -> MappingProxyType[str, int]:
    """Declaration order of codes: ties between equal scores go to the first declared."""
    return MappingProxyType({code: index for index, code in enumerate(codes)})


PROBLEM = "problem"  # the evidence of `problem` rules in settings.kind_order
QUESTION = "question"  # the evidence of `question` rules (question forms)


def _kind_tiers(order: list[list[str]],
                declared: Iterable[RequestKind]) -> tuple[frozenset[str], ...]:
    """The pack's kind tiers, then one tier of the declared kinds no tier names.

    Without a tier naming `problem`, problem evidence joins its kind's tier.
    """
    tiers = [frozenset(tier) for tier in order if tier]
    named = {kind for tier in tiers for kind in tier}
    rest = frozenset(kind.value for kind in declared if kind.value not in named)
    if rest:
        tiers.append(rest)
    return tuple(tiers)


def compile_pack(spec: PackSpec, *, segment_cache: int = SEGMENT_CACHE_SIZE) -> CompiledPack:
    """Build the look-up tables and the tokenizer of a validated pack.

    `segment_cache`: how many han blocks' segmentations to keep (0: none); each
    compiled pack has its own cache, so a reloaded pack starts with an empty one.
    """
    terms: dict[str, list[Entry]] = {}
    phrases: dict[str, list[Entry]] = {}
    vocabulary: set[str] = set()
    entries = [e for order, rule in enumerate(spec.rules) for e in _entries(rule, order, spec)]
    for seq, entry in enumerate(entries):
        entry = replace(entry, seq=seq)
        by_first_word = terms if len(entry.words) == 1 else phrases
        for variant in _variants(entry.words[0]):
            by_first_word.setdefault(variant, []).append(entry)
        vocabulary.update(entry.words)
        for condition in entry.conditions:
            vocabulary.update(condition.words)
    denials = {variant for word in spec.negation.after for variant in _variants(word)}
    focus_markers = {variant for word in spec.focus.markers for variant in _variants(word)}
    hypothetical = {
        variant for word in spec.settings.hypothetical_markers for variant in _variants(word)
    }
    vocabulary.update(denials, focus_markers, hypothetical)
    vocabulary = {variant for word in vocabulary for variant in _variants(word)}
    roles: dict[str, int] = {}
    for word in vocabulary:
        roles[word] = roles.get(word, 0) | WORD
        for end in range(1, len(word)):
            roles[word[:end]] = roles.get(word[:end], 0) | LONGER
    marked = ((spec.negation.negators, NEGATOR), (denials, DENIAL), (focus_markers, FOCUS))
    for words, bit in marked:
        for word in words:  # these may span tokens too (不/打算)
            roles[word] = roles.get(word, 0) | bit
            for end in range(1, len(word)):
                roles[word[:end]] = roles.get(word[:end], 0) | LONGER

    severity, settings = spec.severity, spec.settings
    decisions = Decisions(
        kind_position=_positions([*spec.kinds, PROBLEM, QUESTION]),
        industry_position=_positions(spec.industries),
        category_position=_positions(spec.categories),
        signals=tuple(spec.signals),
        category_names=MappingProxyType({c.value: s.name for c, s in spec.categories.items()}),
        subcategory_names=MappingProxyType(
            {
                (c.value, sub): name
                for c, s in spec.categories.items()
                for sub, name in s.subcategories.items()
            }
        ),
        severity_default=severity.default,
        severity_by_kind=MappingProxyType({k.value: v for k, v in severity.kinds.items()}),
        severity_by_signal=MappingProxyType({k.value: v for k, v in severity.signals.items()}),
        signals_apply_to=(
            None
            if severity.signals_apply_to is None
            else frozenset(k.value for k in severity.signals_apply_to)
        ),
        tier_signals=MappingProxyType({t: tuple(s) for t, s in spec.tier_signals.items()}),
        category_industry=MappingProxyType(
            {c.value: s.industry for c, s in spec.categories.items() if s.industry is not None}
        ),
        default_kind=settings.default_kind,
        kind_tiers=_kind_tiers(settings.kind_order, spec.kinds),
        fallback_categories=MappingProxyType(
            {i.value: c.value for i, c in settings.fallback_categories.items()}
        ),
        problem_kind=settings.problem_kind.value,
        problem_kind_enum=settings.problem_kind,
        problem_weight=settings.problem_weight,
        problem_tier=any(PROBLEM in tier for tier in settings.kind_order),
        question_tier=any(QUESTION in tier for tier in settings.kind_order),
        hypothetical_markers=frozenset(hypothetical),
        category_min_score=settings.category_min_score,
        secondary_min_score=settings.secondary_min_score,
        industry_min_score=settings.industry_min_score,
        kind_min_score=settings.kind_min_score,
        signal_min_score=settings.signal_min_score,
        confidence_prior=settings.confidence_prior,
    )
    tokenizer = new_tokenizer([(d.word, d.freq, d.tag) for d in spec.dictionary])
    fast = None if spec.settings.hmm else new_fast_tokenizer(
        tokenizer, (d.word for d in spec.dictionary)
    )
    segment, cache = segmenter(tokenizer, spec.settings.hmm, segment_cache, fast)
    return CompiledPack(
        tokenizer=tokenizer,
        hmm=spec.settings.hmm,
        segment=segment,
        segment_cache=cache,
        terms={word: tuple(e) for word, e in terms.items()},
        phrases={word: tuple(e) for word, e in phrases.items()},
        token_roles=roles,
        vocabulary=frozenset(vocabulary),
        max_chars=max(len(word) for word in (*vocabulary, *spec.negation.negators, "x")),
        denial_window=spec.negation.after_window,
        focus_boost=spec.focus.boost,
        negation_window=spec.negation.window,
        scope_breaks=frozenset(spec.negation.scope_breaks) | SENTENCE_BREAKS,
        decisions=decisions,
        strict_entries=any(entry.require_industry for entry in entries),
    )
