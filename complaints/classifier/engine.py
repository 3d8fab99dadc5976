"""`classify(text, pack)`: jieba tokens → rule matches → scores → `Classification`.

The steps, each a small function below:

1. normalise (`analysis_text`) and segment with the pack's own tokenizer;
2. `_scan`: find every vocabulary word that starts and ends on token boundaries, and
   note where the negators are;
3. `_candidates`: the pack entries (terms, phrases) those words belong to, in text
   order, longest first where several start at one token;
4. `_evidence`: drop candidates that are negated or miss their context, and let
   overlapping candidates of one target count once (the longest, leftmost);
5. decide the industry, drop evidence scoped to other industries, add up the weights;
6. pick kind, category, signals and severity from the scores with the pack's tables.

All domain knowledge is in the pack; this module only knows how to weigh evidence.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

from complaints.classifier.compiled import (
    DENIAL,
    FOCUS,
    LONGER,
    NEGATOR,
    SENTENCE_BREAKS,
    WORD,
    CompiledPack,
    Entry,
)
from complaints.classifier.pack import RulePack
from complaints.normalise import analysis_text
from complaints.schemas.classification import Classification
from complaints.schemas.codes import (
    Category,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

Span = tuple[int, int]  # token indices [start, end)
Candidate = tuple[int, int, Entry]  # an entry whose words were found at [start, end)


class Match(NamedTuple):
    """A pack entry found at tokens [start, end), and the weight it adds."""

    start: int
    end: int
    entry: Entry
    weight: float


@dataclass(slots=True)
class Scan:
    """What one pass over the tokens finds."""

    hits: list[tuple[int, int, str]] = field(default_factory=list)  # text order, longest first
    spans: dict[str, list[Span]] = field(default_factory=dict)  # the same, by word
    negators: list[int] = field(default_factory=list)  # token indices of negators
    multi_token: list[Span] = field(default_factory=list)  # words over several tokens
    denials: list[Span] = field(default_factory=list)  # denials after a term (没问题)
    focus: int | None = None  # token index after the first contrast marker (问题是)


def classify(
    text: str,
    pack: RulePack,
    *,
    customer_tier: CustomerTier | None = None,
    industry_hint: Industry | None = None,
) -> Classification:
    """Kind, industry, category, signals and severity of one raw text, with evidence.

    `industry_hint` (the upstream system's industry) decides only when the text does
    not; `customer_tier` adds the signals the pack's `tier_signals` give it.
    """
    compiled = pack.compiled
    decisions = compiled.decisions
    normalised = analysis_text(text)
    tokens = compiled.tokenizer.lcut(normalised, HMM=compiled.hmm)
    scan = _scan(tokens, compiled)
    evidence = _evidence(_candidates(scan, tokens, compiled), scan, tokens, compiled)
    industry = _decide_industry(evidence, industry_hint, compiled)
    evidence = [  # industry-scoped entries count in their industries, or while none is decided
        m
        for m in evidence
        if not m.entry.industries or industry is None or industry in m.entry.industries
    ]
    scores = _scores(evidence)

    ranked = _ranked(scores.get("category", {}), decisions.category_position)
    has_category = bool(ranked) and ranked[0][1] >= decisions.category_min_score
    category = ranked[0][0] if has_category else Category.OTHER
    if industry is None:  # neither text nor hint decided: the category may imply one
        industry = decisions.category_industry.get(category, Industry.GENERAL)
    kind = _decide_kind(scores.get("kind", {}), compiled)
    signals = _signals(scores.get("signal", {}), customer_tier, compiled)
    offsets = list(accumulate(map(len, tokens), initial=0))
    # One validation of plain data is several times cheaper than building each
    # nested model on its own; the schema still checks every field.
    return Classification.model_validate(
        {
            "kind": kind,
            "industry": industry,
            "category": category,
            "secondary": [
                {"category": code, "score": round(score, 3)}
                for code, score in ranked[1 if has_category else 0 :]
                if score >= decisions.secondary_min_score and code != Category.OTHER
            ],
            "severity": _severity(kind, signals, compiled),
            "signals": signals,
            "matches": [
                {
                    "term": m.entry.text,
                    "start": offsets[m.start],
                    "end": offsets[m.end],
                    "rule_id": m.entry.rule_id,
                    "target": m.entry.target,
                    "weight": m.weight,
                }
                for m in evidence
            ],
            "confidence": _confidence(ranked, has_category, decisions.confidence_prior),
            "rule_pack_version": pack.version,
            "reason": _reason(normalised, category, has_category, evidence, scan, compiled),
        }
    )


def _scan(tokens: Sequence[str], compiled: CompiledPack) -> Scan:
    """Every vocabulary word on token boundaries, and the negators.

    A word may cover several tokens (`迟迟/不/给/装`); a run of tokens is extended only
    while it can still become a longer word, so most tokens cost one dictionary look-up.
    """
    roles, max_chars, count = compiled.token_roles, compiled.max_chars, len(tokens)
    scan = Scan()
    for start, token in enumerate(tokens):
        role = roles.get(token)
        if role is None:
            continue
        if role & LONGER:
            found = []
            run, end = token, start + 1
            while True:
                if role & NEGATOR:  # negators reach from their last token
                    scan.negators.append(end - 1)
                if role & WORD:
                    found.append((start, end, run, role))
                if not role & LONGER or end == count or len(run) >= max_chars:
                    break
                run += tokens[end]
                end += 1
                role = roles.get(run, 0)
            for hit in reversed(found):  # longest first
                _record(scan, *hit)
        else:
            if role & NEGATOR:
                scan.negators.append(start)
            if role & WORD:
                _record(scan, start, start + 1, token, role)
    return scan


def _record(scan: Scan, start: int, end: int, word: str, role: int) -> None:
    scan.hits.append((start, end, word))
    scan.spans.setdefault(word, []).append((start, end))
    if end - start > 1:
        scan.multi_token.append((start, end))
    if role & DENIAL:
        scan.denials.append((start, end))
    if role & FOCUS and (scan.focus is None or end < scan.focus):
        scan.focus = end


def _candidates(scan: Scan, tokens: Sequence[str], compiled: CompiledPack) -> list[Candidate]:
    """Entries whose words were found, in text order, longest first at one start."""
    terms, phrases = compiled.terms, compiled.phrases
    candidates = [
        (start, end, entry) for start, end, word in scan.hits for entry in terms.get(word, ())
    ]
    phrase_matches = [
        (start, end, entry)
        for start, first_end, word in scan.hits
        for entry in phrases.get(word, ())
        if (end := _phrase_end(entry, first_end, scan.spans, tokens)) is not None
    ]
    if phrase_matches:
        candidates = sorted(candidates + phrase_matches, key=_text_order)
    return candidates


def _text_order(candidate: Candidate) -> tuple[int, int, int]:
    start, end, entry = candidate
    return start, -end, entry.seq


def _phrase_end(
    entry: Entry, end: int, spans: Mapping[str, list[Span]], tokens: Sequence[str]
) -> int | None:
    """Token index after the phrase's last word, or None when the phrase is not there.

    Each next word must start within `gap` tokens of the previous one, in one sentence.
    """
    for word in entry.words[1:]:
        following = [
            j
            for i, j in spans.get(word, ())
            if end <= i <= end + entry.gap and SENTENCE_BREAKS.isdisjoint(tokens[end:i])
        ]
        if not following:
            return None
        end = min(following)
    return end


def _evidence(
    candidates: Iterable[Candidate], scan: Scan, tokens: Sequence[str], compiled: CompiledPack
) -> list[Match]:
    """Candidates that count, in text order, with their weights.

    A candidate counts unless it is negated or misses its context, and unless a match
    already kept for the same target overlaps it: `故障停电` and the `停电` inside it are
    one piece of evidence for outage, while that `停电` still counts for the industry.
    A term counts once per target: saying `待审核` three times is not three times the
    evidence. Categories after a contrast marker (`我要投诉的是…`) weigh `focus_boost`
    times more.
    """
    kept, reach, seen = [], {}, set()
    negation_possible = bool(scan.negators or scan.denials)
    for start, end, entry in candidates:
        if start < reach.get(entry.target, 0) or (entry.target, entry.text) in seen:
            continue
        if entry.negatable and negation_possible and _negated(start, end, scan, tokens, compiled):
            continue
        if entry.conditions and not _in_context(start, end, entry, scan.spans):
            continue
        weight = entry.weight
        if scan.focus is not None and start >= scan.focus and entry.axis == "category":
            weight *= compiled.focus_boost
        kept.append(Match(start, end, entry, weight))
        reach[entry.target] = end
        seen.add((entry.target, entry.text))
    return kept


def _negated(
    start: int, end: int, scan: Scan, tokens: Sequence[str], compiled: CompiledPack
) -> bool:
    """A negator shortly before the match (`未发生停电`) or a denial right after it
    (`电费没问题`), in the same clause.

    A negator inside a longer vocabulary word (`不是第一次`, `一直没解决`) belongs to
    that word and negates nothing else.
    """
    breaks = compiled.scope_breaks
    if scan.negators:
        for k in range(start - 1, max(start - compiled.negation_window, 0) - 1, -1):
            if tokens[k] in breaks:
                break
            if k in scan.negators and not any(i <= k < j for i, j in scan.multi_token):
                return True
    for i, _ in scan.denials:
        if end <= i <= end + compiled.denial_window and breaks.isdisjoint(tokens[end:i]):
            return True
    return False


def _in_context(start: int, end: int, entry: Entry, spans: Mapping[str, list[Span]]) -> bool:
    """Every condition of the entry holds: required words present, excluded absent."""
    return all(
        _near(condition.words, condition.window, start, end, spans) == condition.required
        for condition in entry.conditions
    )


def _near(
    words: Iterable[str],
    window: int | None,
    start: int,
    end: int,
    spans: Mapping[str, list[Span]],
) -> bool:
    """One of `words` in the text (window None) or within `window` tokens of [start, end)."""
    for word in words:
        for i, j in spans.get(word, ()):
            if window is None:
                return True
            distance = i - end if i >= end else max(start - j, 0)
            if distance <= window:
                return True
    return False


def _scores(matches: Iterable[Match]) -> dict[str, dict[str, float]]:
    """Summed weights per axis and code: {"category": {"outage": 4.0}, …}."""
    scores: dict[str, dict[str, float]] = {}
    for match in matches:
        by_code = scores.setdefault(match.entry.axis, {})
        by_code[match.entry.code] = by_code.get(match.entry.code, 0.0) + match.weight
    return scores


def _ranked(scores: Mapping[str, float], position: Mapping[str, int]) -> list[tuple[str, float]]:
    """Codes by score, best first; ties go to the code declared first in the pack."""
    return sorted(scores.items(), key=lambda item: (-item[1], position[item[0]]))


def _decide_industry(
    evidence: Iterable[Match], hint: Industry | None, compiled: CompiledPack
) -> Industry | None:
    """The text's industry if its evidence is strong enough, else the hint, else None.

    Among industries tied on score the hint wins, then declaration order.
    """
    decisions = compiled.decisions
    scores: dict[str, float] = {}
    for match in evidence:
        if match.entry.axis == "industry":
            scores[match.entry.code] = scores.get(match.entry.code, 0.0) + match.weight
    if not scores:
        return hint
    ranked = _ranked(scores, decisions.industry_position)
    if ranked and ranked[0][1] >= decisions.industry_min_score:
        tied = [code for code, score in ranked if score == ranked[0][1]]
        return hint if hint is not None and hint in tied else Industry(tied[0])
    return hint


def _decide_kind(scores: Mapping[str, float], compiled: CompiledPack) -> RequestKind:
    """The kind with the most cue weight, or the pack's default kind (complaint)."""
    ranked = _ranked(scores, compiled.decisions.kind_position)
    if ranked and ranked[0][1] >= compiled.decisions.kind_min_score:
        return RequestKind(ranked[0][0])
    return compiled.decisions.default_kind


def _signals(
    scores: Mapping[str, float], tier: CustomerTier | None, compiled: CompiledPack
) -> list[Signal]:
    """Signals with enough cue weight, plus those the customer's tier carries."""
    decisions = compiled.decisions
    found = {code for code, score in scores.items() if score >= decisions.signal_min_score}
    if tier is not None:
        found.update(decisions.tier_signals.get(tier, ()))
    return [signal for signal in decisions.signals if signal in found]


def _severity(kind: RequestKind, signals: Iterable[Signal], compiled: CompiledPack) -> Severity:
    """The most urgent of the kind's level and, where the kind allows, the signals' levels."""
    decisions = compiled.decisions
    levels = [decisions.severity_by_kind.get(kind, decisions.severity_default)]
    if decisions.signals_apply_to is None or kind in decisions.signals_apply_to:
        by_signal = decisions.severity_by_signal
        levels += [by_signal[signal] for signal in signals if signal in by_signal]
    return min(levels)


def _confidence(ranked: Sequence[tuple[str, float]], has_category: bool, prior: float) -> float:
    """Primary score against runner-up plus a prior: more, less ambiguous evidence → 1."""
    if not has_category:
        return 0.0
    best = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return round(best / (best + runner_up + prior), 3)


def _reason(
    normalised: str,
    category: str,
    has_category: bool,
    evidence: Sequence[Match],
    scan: Scan,
    compiled: CompiledPack,
) -> str:
    """One line a person can check: which rule and terms decided the category."""
    decisions = compiled.decisions
    if has_category:
        for_category = [m for m in evidence if m.entry.target == f"category:{category}"]
        best = max(for_category, key=lambda m: m.entry.weight).entry
        label = decisions.category_names.get(category, category)
        if best.subcategory:
            key = (category, best.subcategory)
            label += " › " + decisions.subcategory_names.get(key, best.subcategory)
        terms = "、".join(dict.fromkeys(m.entry.text for m in for_category))
        return f"{category} ({label}) by {best.rule_id}: {terms}"
    if not normalised:
        return "other: empty text"
    cancelled = sorted(
        {
            word
            for _, _, word in scan.hits
            if any(e.axis == "category" for e in compiled.terms.get(word, ()))
        }
    )
    if cancelled:
        return "other: category terms negated, out of context or too weak: " + "、".join(cancelled)
    return "other: no category rule matched"
