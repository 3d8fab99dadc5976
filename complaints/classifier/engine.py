"""`classify(text, pack)`: jieba tokens → rule matches → scores → `Classification`.

The steps, each a small function below:

1. normalise (`analysis_text`; not again for `normalised=True` text) and segment with
   the pack's own tokenizer (cached block by block, see `compiled.segmenter`);
2. `_scan`: find every vocabulary word that starts and ends on token boundaries, and
   note where the negators are;
3. `_candidates`: the pack entries (terms, phrases) those words belong to, in text
   order, longest first where several start at one token;
4. `_evidence`: drop candidates that are negated or miss their context, and let
   overlapping candidates of one target count once (the longest, leftmost);
5. decide the industry, drop evidence scoped to other industries, add up the weights;
6. pick kind, category, signals and severity from the scores with the pack's tables,
   and build the result from values that already have the schema's types.

All domain knowledge is in the pack; this module only knows how to weigh evidence.
Everything that does not depend on the text is prepared in `compiled.py`; timings are
in `docs/benchmarks.md` (`bench/classify_bench.py`).

Cost is linear in the length of the text: every step after segmentation is one pass
over the tokens or hits, and judging one candidate (negation, phrase words, context)
takes a few binary searches and prefix-count look-ups in tables built once per text
(`Scan`), never a pass over the text; the pack's limits (`spec.py`) bound the rest.
"""

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from pydantic import BaseModel

from complaints.classifier.compiled import (
    DENIAL,
    FOCUS,
    LONGER,
    NEGATOR,
    PROBLEM,
    QUESTION,
    SENTENCE_BREAKS,
    WORD,
    CompiledPack,
    Entry,
)
from complaints.classifier.pack import RulePack
from complaints.normalise import analysis_text, analysis_text_again
from complaints.schemas.classification import (
    CategoryScore,
    Classification,
    DiscountedTerm,
    MatchedTerm,
)
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
# A pack entry found at tokens [start, end), and the weight it adds (a plain tuple:
# there are a dozen per text, and a named tuple costs several times more to make).
Match = tuple[int, int, Entry, float]
# A pack entry found but not counted, and why ("negated" or "out_of_context").
Discounted = tuple[int, int, Entry, str]

_SPECIAL = DENIAL | FOCUS
HYPOTHETICAL_WINDOW = 8  # tokens between a hypothetical marker and a problem match
CLAUSE_BREAKS = SENTENCE_BREAKS | {",", "，", "、", ":", "："}  # a hypothetical's reach
# Codes to the schema's enums, without the cost of calling an enum class.
_KINDS = {kind.value: kind for kind in RequestKind}
_INDUSTRIES = {industry.value: industry for industry in Industry}
_CATEGORIES = {category.value: category for category in Category}


@dataclass(slots=True)
class Negation:
    """What `_negated` looks up, made once per text that has a candidate to judge."""

    # Sorted token indices of negators that are not inside a longer vocabulary word.
    free_negators: list[int]
    denial_starts: list[int]  # sorted, distinct
    # breaks_before[k]: how many of tokens[:k] are scope breaks, so tokens[a:b] has
    # none exactly when breaks_before[a] == breaks_before[b].
    breaks_before: list[int]


@dataclass(slots=True)
class Scan:
    """What one pass over the tokens finds, and tables made from it when first needed."""

    hits: list[tuple[int, int, str]]  # text order, longest first
    negators: list[int]  # token indices of negators (not sorted; may repeat)
    multi_token: list[Span]  # words over several tokens, by start
    denials: list[Span]  # denials after a term (没问题), by start
    focus: int | None  # token index after the first contrast marker (问题是)
    # The hits by word, in text order (`_spans`). For one word a later start means a
    # later end (the spans cover the same string and tokens are never empty), so the
    # first span at or after a token is also the one that ends first.
    spans: dict[str, list[Span]] | None = None
    negation: Negation | None = None  # made by `_negation`
    sentence_breaks: list[int] | None = None  # prefix counts, made by `_sentence_breaks`


def classify(
    text: str,
    pack: RulePack,
    *,
    customer_tier: CustomerTier | None = None,
    industry_hint: Industry | None = None,
    normalised: bool = False,
) -> Classification:
    """Kind, industry, category, signals and severity of one raw text, with evidence.

    `industry_hint` (the upstream system's industry) decides only when the text does
    not; `customer_tier` adds the signals the pack's `tier_signals` give it.
    `normalised=True` says `text` is already `analysis_text` output (as
    `Complaint.text_normalised` is): the result is the same as without it, but the
    text is normalised again only where that could change it (`analysis_text_again`).
    """
    compiled = pack.compiled
    decisions = compiled.decisions
    text = analysis_text_again(text) if normalised else analysis_text(text)
    tokens = compiled.segment(text)
    scan = _scan(tokens, compiled)
    discounted: list[Discounted] = []
    evidence = _evidence(_candidates(scan, tokens, compiled), scan, tokens, compiled,
                         discounted)
    industry = _decide_industry(evidence, industry_hint, compiled)
    if industry is not None:  # industry-scoped entries count in their industries only
        evidence = [m for m in evidence if not m[2].industries or industry in m[2].industries]
    elif compiled.strict_entries:  # and `require_industry` ones only with an industry
        evidence = [m for m in evidence if not m[2].require_industry]
    scores = _scores(evidence, decisions.problem_weight)

    ranked = _ranked(scores["category"], decisions.category_position)
    has_category = bool(ranked) and ranked[0][1] >= decisions.category_min_score
    category = _CATEGORIES[ranked[0][0]] if has_category else Category.OTHER
    fallback = None
    if not has_category and industry is not None:  # a decided industry may name one
        fallback = decisions.fallback_categories.get(industry)
        if fallback is not None:
            category = _CATEGORIES[fallback]
    if industry is None:  # neither text nor hint decided: the category may imply one
        industry = decisions.category_industry.get(category, Industry.GENERAL)
    kinds = scores["kind"]
    if (  # a hypothetical or general problem inside a question is not a stated one
        decisions.hypothetical_markers
        and kinds.get(QUESTION, 0.0) >= decisions.kind_min_score
        and (PROBLEM in kinds or decisions.problem_kind in kinds)
    ):
        _discount_hypothetical(kinds, evidence, scan, tokens, compiled)
    kind = _decide_kind(kinds, compiled)
    signals = _signals(scores["signal"], customer_tier, compiled)
    offsets = list(accumulate(map(len, tokens), initial=0))
    secondary_min = decisions.secondary_min_score
    # The values are the schema's own types (enums, floats), in field order, so the
    # models are built without validating them again (see `_model_builder`).
    return _new_classification(
        {
            "kind": kind,
            "industry": _INDUSTRIES.get(industry) or Industry(industry),
            "category": category,
            "secondary": [
                _new_category_score({"category": _CATEGORIES[code], "score": round(score, 3)})
                for code, score in ranked[1 if has_category else 0 :]
                if score >= secondary_min and code != Category.OTHER
            ],
            "severity": _severity(kind, signals, compiled),
            "signals": signals,
            "matches": [
                _new_matched_term(
                    {
                        "term": entry.text,
                        "start": offsets[start],
                        "end": offsets[end],
                        "rule_id": entry.rule_id,
                        "target": entry.target,
                        "weight": weight,
                    }
                )
                for start, end, entry, weight in evidence
            ],
            "discounted": [
                _new_discounted_term(
                    {
                        "term": entry.text,
                        "start": offsets[start],
                        "end": offsets[end],
                        "rule_id": entry.rule_id,
                        "target": entry.target,
                        "why": why,
                    }
                )
                for start, end, entry, why in discounted
            ],
            "confidence": _confidence(ranked, has_category, decisions.confidence_prior),
            "rule_pack_version": pack.version,
            "reason": (
                f"{category} by fallback for {industry}: no category term counted"
                if fallback is not None
                else _reason(text, category, has_category, evidence, scan, compiled)
            ),
        }
    )


def _model_builder(model: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """`model.model_construct(**values)` for trusted values that name every field.

    Validating a `Classification` costs ~0.7 µs per match; `model_construct` costs
    ~2 µs per model (it looks up aliases and defaults field by field). For values that
    already have the schema's types and name every field in order, an instance needs
    only what `model_construct` ends with: its `__dict__`, the set fields and no
    extras or private attributes (~0.4 µs). Models with a post-init hook, private attributes,
    extra fields or a root get `model_validate` instead. `test_result_models.py`
    checks that both ways give identical results.
    """
    plain = (
        model.__pydantic_post_init__ is None
        and not model.__pydantic_root_model__
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
    )
    if not plain:
        return model.model_validate
    new, set_attribute = object.__new__, object.__setattr__

    def build(values: dict[str, Any]) -> Any:
        instance = new(model)
        set_attribute(instance, "__dict__", values)
        set_attribute(instance, "__pydantic_fields_set__", set(values))
        set_attribute(instance, "__pydantic_extra__", None)
        set_attribute(instance, "__pydantic_private__", None)
        return instance

    return build


_new_classification = _model_builder(Classification)
_new_category_score = _model_builder(CategoryScore)
_new_matched_term = _model_builder(MatchedTerm)
_new_discounted_term = _model_builder(DiscountedTerm)


def _scan(tokens: Sequence[str], compiled: CompiledPack) -> Scan:
    """Every vocabulary word on token boundaries, and the negators.

    A word may cover several tokens (`迟迟/不/给/装`); a run of tokens is extended only
    while it can still become a longer word, so most tokens cost one dictionary look-up
    (and a token that starts longer words, one more for it and the next token).
    """
    roles, count = compiled.token_roles, len(tokens)
    scan = Scan([], [], [], [], None)
    hits, negators = scan.hits, scan.negators
    for start, token in enumerate(tokens):
        role = roles.get(token)
        if role is None:
            continue
        end = start + 1
        if role & LONGER and end < count and token + tokens[end] in roles:
            _scan_runs(scan, tokens, start, role, roles, compiled.max_chars)
            continue
        if role & NEGATOR:
            negators.append(start)
        if role & WORD:
            hits.append((start, end, token))
            if role & _SPECIAL:
                _record_special(scan, start, end, role)
    return scan


def _scan_runs(
    scan: Scan,
    tokens: Sequence[str],
    start: int,
    role: int,
    roles: Mapping[str, int],
    max_chars: int,
) -> None:
    """The words and negators of the runs of tokens from `start` on, longest word first."""
    count = len(tokens)
    found = []
    run, end = tokens[start], start + 1
    while True:
        if role & NEGATOR:  # negators reach from their last token
            scan.negators.append(end - 1)
        if role & WORD:
            found.append((end, run, role))
        if not role & LONGER or end == count or len(run) >= max_chars:
            break
        run += tokens[end]
        end += 1
        role = roles.get(run, 0)
    for end, word, role in reversed(found):
        scan.hits.append((start, end, word))
        if end - start > 1:
            scan.multi_token.append((start, end))
        if role & _SPECIAL:
            _record_special(scan, start, end, role)


def _record_special(scan: Scan, start: int, end: int, role: int) -> None:
    if role & DENIAL:
        scan.denials.append((start, end))
    if role & FOCUS and (scan.focus is None or end < scan.focus):
        scan.focus = end


def _spans(scan: Scan) -> dict[str, list[Span]]:
    """Where each word was found, in text order (longest first); made once per text."""
    if scan.spans is None:
        spans: dict[str, list[Span]] = {}
        for start, end, word in scan.hits:
            spans.setdefault(word, []).append((start, end))
        scan.spans = spans
    return scan.spans


def _candidates(scan: Scan, tokens: Sequence[str], compiled: CompiledPack) -> list[Candidate]:
    """Entries whose words were found, in text order, longest first at one start."""
    terms, phrases = compiled.terms, compiled.phrases
    candidates = [
        (start, end, entry) for start, end, word in scan.hits for entry in terms.get(word, ())
    ]
    phrase_matches = [
        (start, end, entry)
        for start, first_end, word in scan.hits
        if word in phrases
        for entry in phrases[word]
        if (end := _phrase_end(entry, first_end, _spans(scan), _sentence_breaks(scan, tokens)))
        is not None
    ]
    if phrase_matches:
        candidates = sorted(candidates + phrase_matches, key=_text_order)
    return candidates


def _text_order(candidate: Candidate) -> tuple[int, int, int]:
    start, end, entry = candidate
    return start, -end, entry.seq


def _phrase_end(
    entry: Entry, end: int, spans: Mapping[str, list[Span]], breaks_before: Sequence[int]
) -> int | None:
    """Token index after the phrase's last word, or None when the phrase is not there.

    Each next word must start within `gap` tokens of the previous one, in one sentence
    (`breaks_before`: prefix counts of sentence breaks). Of the next word's spans only
    the first starting at or after `end` matters: a later one is no nearer and crosses
    no fewer breaks, and it ends later (see `Scan.spans`).
    """
    for word in entry.words[1:]:
        found = spans.get(word)
        if found is None:
            return None
        index = bisect_left(found, (end,))  # first span starting at or after `end`
        if index == len(found):
            return None
        start, next_end = found[index]
        if start > end + entry.gap or breaks_before[start] != breaks_before[end]:
            return None
        end = next_end
    return end


def _evidence(
    candidates: Iterable[Candidate], scan: Scan, tokens: Sequence[str], compiled: CompiledPack,
    discounted: list[Discounted],
) -> list[Match]:
    """Candidates that count, in text order, with their weights.

    A candidate counts unless it is negated or misses its context, and unless a match
    already kept for the same target overlaps it: `故障停电` and the `停电` inside it are
    one piece of evidence for outage, while that `停电` still counts for the industry.
    A term counts once per target: saying `待审核` three times is not three times the
    evidence. Categories after a contrast marker (`我要投诉的是…`) weigh `focus_boost`
    times more. A term not counted is reported once per target and reason, at its first
    place, so the explanation stays as small as the evidence however long the text.
    """
    kept: list[Match] = []
    reach: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    reported: set[tuple[tuple[str, str], str]] = set()
    negation_possible = bool(scan.negators or scan.denials)
    focus, boost = scan.focus, compiled.focus_boost
    for start, end, entry in candidates:
        target = entry.target
        if start < reach.get(target, 0) or entry.key in seen:
            continue
        why = None
        if entry.negatable and negation_possible and _negated(start, end, scan, tokens, compiled):
            why = "negated"
        elif entry.conditions and not _in_context(start, end, entry, _spans(scan)):
            why = "out_of_context"
        if why is not None:
            if (entry.key, why) not in reported:
                reported.add((entry.key, why))
                discounted.append((start, end, entry, why))
            continue
        weight = entry.weight
        if focus is not None and start >= focus and entry.axis == "category":
            weight *= boost
        kept.append((start, end, entry, weight))
        reach[target] = end
        seen.add(entry.key)
    return kept


def _negated(
    start: int, end: int, scan: Scan, tokens: Sequence[str], compiled: CompiledPack
) -> bool:
    """A negator shortly before the match (`未发生停电`) or a denial right after it
    (`电费没问题`), in the same clause.

    A negator inside a longer vocabulary word (`不是第一次`, `一直没解决`) belongs to
    that word and negates nothing else. Only the nearest negator before and the nearest
    denial after need checking: one farther away is out of reach whenever those are.
    """
    negation = scan.negation or _negation(scan, tokens, compiled)
    breaks_before = negation.breaks_before
    negators = negation.free_negators
    index = bisect_left(negators, start) - 1  # the last negator before `start`
    if index >= 0:
        k = negators[index]
        # In reach, and no scope break from the negator's token to the match.
        if k >= start - compiled.negation_window and breaks_before[k] == breaks_before[start]:
            return True
    denials = negation.denial_starts
    index = bisect_left(denials, end)  # the first denial at or after `end`
    if index < len(denials):
        i = denials[index]
        if i <= end + compiled.denial_window and breaks_before[end] == breaks_before[i]:
            return True
    return False


def _negation(scan: Scan, tokens: Sequence[str], compiled: CompiledPack) -> Negation:
    """The negation tables of `scan`, made on first use (one pass over the tokens)."""
    negators = scan.negators
    if negators and scan.multi_token:
        covered: set[int] = set()  # tokens inside multi-token words
        reach = 0
        for i, j in scan.multi_token:  # by start: tokens before `reach` are already in
            covered.update(range(max(i, reach), j))
            reach = max(reach, j)
        negators = [k for k in negators if k not in covered]
    scan.negation = Negation(
        sorted(set(negators)),
        sorted({i for i, _ in scan.denials}),
        list(accumulate(map(compiled.scope_breaks.__contains__, tokens), initial=0)),
    )
    return scan.negation


def _sentence_breaks(scan: Scan, tokens: Sequence[str]) -> list[int]:
    """Prefix counts of sentence breaks: tokens[a:b] has none iff counts[a] == counts[b]."""
    if scan.sentence_breaks is None:
        scan.sentence_breaks = list(
            accumulate(map(SENTENCE_BREAKS.__contains__, tokens), initial=0)
        )
    return scan.sentence_breaks


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
    """One of `words` in the text (window None) or within `window` tokens of [start, end).

    Per word, only two spans can be nearest: the first starting at or after `end`, and
    the one before it, which ends last of those starting earlier (see `Scan.spans`).
    """
    for word in words:
        found = spans.get(word)
        if found is None:
            continue
        if window is None:
            return True
        index = bisect_left(found, (end,))
        if index < len(found) and found[index][0] - end <= window:
            return True
        # Earlier start: the distance is start - j, or 0 for a span overlapping the match
        # (start - j < 0 then, and `window` is never negative).
        if index and start - found[index - 1][1] <= window:
            return True
    return False


def _scores(matches: Iterable[Match], problem_weight: float = 0.0) -> dict[str, dict[str, float]]:
    """Summed weights per axis and code: {"category": {"outage": 4.0}, "kind": {}, …}.

    A match of a `problem` rule (a stated problem, loss or anger) also adds
    `problem_weight` to the kind evidence `problem` (`_decide_kind`): `态度恶劣` is
    evidence of a complaint as well as of staff conduct. Like any term, a problem term
    counts once (`_evidence`).
    """
    scores: dict[str, dict[str, float]] = {"kind": {}, "industry": {}, "category": {}, "signal": {}}
    kinds = scores["kind"]
    for _, _, entry, weight in matches:
        by_code = scores[entry.axis]
        code = QUESTION if entry.question else entry.code
        by_code[code] = by_code.get(code, 0.0) + weight
        if entry.problem and problem_weight:
            kinds[PROBLEM] = kinds.get(PROBLEM, 0.0) + problem_weight
    return scores


def _discount_hypothetical(
    kinds: dict[str, float], evidence: Sequence[Match], scan: Scan, tokens: Sequence[str],
    compiled: CompiledPack,
) -> None:
    """Complaint evidence without the matches framed as hypothetical or general.

    A match is framed when a marker (`settings.hypothetical_markers`: 如果, 万一, 的话,
    会不会, 如何避免 …) is in the same clause (no comma or sentence break between them;
    `但`/`却` do not end a hypothetical) and at most `HYPOTHETICAL_WINDOW` tokens away,
    before or after it. A framed `problem` match adds no problem evidence and a framed
    cue of the problem kind (`不好`, `有问题`) no complaint weight: in `如果快递丢了怎么赔？`
    the loss is not stated and in `如果质量不好能退吗` the goods are not judged, while in
    `没看到发票，万一坏了呢？` the missing invoice still is stated.
    """
    spans = _spans(scan)
    markers = [span for word in compiled.decisions.hypothetical_markers
               for span in spans.get(word, ())]
    if not markers:
        return
    breaks = list(accumulate(map(CLAUSE_BREAKS.__contains__, tokens), initial=0))
    decisions = compiled.decisions
    complaint = decisions.problem_kind
    for start, end, entry, weight in evidence:
        cue = entry.axis == "kind" and entry.code == complaint and not entry.question
        if not (entry.problem or cue):
            continue
        framed = any(
            (j <= start and start - j <= HYPOTHETICAL_WINDOW and breaks[j] == breaks[start])
            or (i >= end and i - end <= HYPOTHETICAL_WINDOW and breaks[end] == breaks[i])
            for i, j in markers
        )
        if not framed:
            continue
        if entry.problem and PROBLEM in kinds:
            kinds[PROBLEM] -= decisions.problem_weight
        if cue and complaint in kinds:
            kinds[complaint] -= weight
    for code in (PROBLEM, complaint):
        if code in kinds and kinds[code] <= 1e-9:
            del kinds[code]


def _ranked(scores: Mapping[str, float], position: Mapping[str, int]) -> list[tuple[str, float]]:
    """Codes by score, best first; ties go to the code declared first in the pack."""
    if len(scores) < 2:
        return list(scores.items())
    return sorted(scores.items(), key=lambda item: (-item[1], position[item[0]]))


def _decide_industry(
    evidence: Iterable[Match], hint: Industry | None, compiled: CompiledPack
) -> Industry | None:
    """The text's industry if its evidence is strong enough, else the hint, else None.

    Among industries tied on score the hint wins, then declaration order.
    """
    decisions = compiled.decisions
    scores: dict[str, float] = {}
    for _, _, entry, weight in evidence:
        if entry.axis == "industry":
            scores[entry.code] = scores.get(entry.code, 0.0) + weight
    if not scores:
        return hint
    ranked = _ranked(scores, decisions.industry_position)
    if ranked and ranked[0][1] >= decisions.industry_min_score:
        tied = [code for code, score in ranked if score == ranked[0][1]]
        return hint if hint is not None and hint in tied else Industry(tied[0])
    return hint


def _decide_kind(scores: Mapping[str, float], compiled: CompiledPack) -> RequestKind:
    """The kind of the first tier (`settings.kind_order`) with a kind whose cue weight
    reaches `kind_min_score`, the best of that tier; else the pack's default kind.

    With the shipped order complaint evidence outranks a question form or praise, so
    `送餐很快，但是菜太难吃了` is a complaint and `怎么设置手机彩铃？` an inquiry.
    """
    decisions = compiled.decisions
    if not scores:
        return decisions.default_kind
    for evidence, kind, own_tier in (
        (PROBLEM, decisions.problem_kind, decisions.problem_tier),
        (QUESTION, RequestKind.INQUIRY.value, decisions.question_tier),
    ):
        if evidence in scores and not own_tier:  # no tier of its own: joins its kind
            scores = dict(scores)
            score = scores.pop(evidence)
            scores[kind] = scores.get(kind, 0.0) + score
    for tier in decisions.kind_tiers:
        ranked = _ranked(
            {kind: score for kind, score in scores.items() if kind in tier},
            decisions.kind_position,
        )
        if ranked and ranked[0][1] >= decisions.kind_min_score:
            code = ranked[0][0]
            if code == PROBLEM:
                return decisions.problem_kind_enum
            return RequestKind.INQUIRY if code == QUESTION else _KINDS[code]
    return decisions.default_kind


def _signals(
    scores: Mapping[str, float], tier: CustomerTier | None, compiled: CompiledPack
) -> list[Signal]:
    """Signals with enough cue weight, plus those the customer's tier carries."""
    if not scores and tier is None:
        return []
    decisions = compiled.decisions
    found = {code for code, score in scores.items() if score >= decisions.signal_min_score}
    if tier is not None:
        found.update(decisions.tier_signals.get(tier, ()))
    return [signal for signal in decisions.signals if signal in found]


def _severity(kind: RequestKind, signals: Sequence[Signal], compiled: CompiledPack) -> Severity:
    """The most urgent of the kind's level and, where the kind allows, the signals' levels."""
    decisions = compiled.decisions
    levels = [decisions.severity_by_kind.get(kind, decisions.severity_default)]
    if not signals:
        return levels[0]
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
        target = f"category:{category}"
        for_category = [entry for _, _, entry, _ in evidence if entry.target == target]
        best = max(for_category, key=lambda entry: entry.weight)
        label = decisions.category_names.get(category, category)
        if best.subcategory:
            key = (category, best.subcategory)
            label += " › " + decisions.subcategory_names.get(key, best.subcategory)
        terms = "、".join(dict.fromkeys(entry.text for entry in for_category))
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
