"""Judging a candidate (negation, phrase words, context) looks things up in tables made
once per text instead of scanning the text (issue 20). The results must be exactly
those of the straightforward scans, kept here as the reference: the engine's functions
are compared with them on generated token lists, and whole classifications with the
reference swapped in are compared with the engine's."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.classifier import RulePack, classify, engine
from complaints.classifier.compiled import SENTENCE_BREAKS, CompiledPack, Entry, compile_pack
from complaints.classifier.engine import Candidate, Scan, Span
from complaints.classifier.evaluation import default_labelled_path, load_labelled
from complaints.classifier.pack import parse_spec
from tests.classifier.packs import small_pack

# --- the reference: the engine's scans before issue 20, unchanged -------------------


def reference_negated(
    start: int, end: int, scan: Scan, tokens: Sequence[str], compiled: CompiledPack
) -> bool:
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


def reference_phrase_end(
    entry: Entry, end: int, spans: Mapping[str, list[Span]], tokens: Sequence[str]
) -> int | None:
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


def reference_near(
    words: Iterable[str],
    window: int | None,
    start: int,
    end: int,
    spans: Mapping[str, list[Span]],
) -> bool:
    for word in words:
        for i, j in spans.get(word, ()):
            if window is None:
                return True
            distance = i - end if i >= end else max(start - j, 0)
            if distance <= window:
                return True
    return False


def reference_in_context(
    start: int, end: int, entry: Entry, spans: Mapping[str, list[Span]]
) -> bool:
    return all(
        reference_near(condition.words, condition.window, start, end, spans)
        == condition.required
        for condition in entry.conditions
    )


def reference_candidates(
    scan: Scan, tokens: Sequence[str], compiled: CompiledPack
) -> list[Candidate]:
    terms, phrases = compiled.terms, compiled.phrases
    candidates = [
        (start, end, entry) for start, end, word in scan.hits for entry in terms.get(word, ())
    ]
    phrase_matches = [
        (start, end, entry)
        for start, first_end, word in scan.hits
        if word in phrases
        for entry in phrases[word]
        if (end := reference_phrase_end(entry, first_end, engine._spans(scan), tokens))
        is not None
    ]
    if phrase_matches:
        candidates = sorted(candidates + phrase_matches, key=engine._text_order)
    return candidates


# --- a pack with every kind of word the judging functions look at --------------------


def _tricky_spec() -> dict[str, Any]:
    rules = small_pack()["rules"] + [
        # Words with a negator inside: first, middle and last token (从来/没).
        {"id": "slow", "target": "category:outage",
         "terms": ["迟迟不给装", "不是第一次", "从来没"]},
        {"id": "none", "target": "category:outage", "negatable": False, "terms": ["没电"]},
        {"id": "atm", "target": "category:billing", "terms": ["ATM"], "window": 2,
         "requires_any": ["停电", "吞卡"], "excludes": ["还行"]},
        {"id": "scoped", "target": "signal:loss", "terms": [
            {"term": "补偿", "excludes": ["无功"]}, {"term": "赔", "requires_any": ["要求"]},
        ], "window": 3},
        {"id": "anywhere", "target": "signal:vip", "terms": ["投诉"], "requires_any": ["态度"]},
        {"id": "phrases", "target": "category:billing", "phrases": [
            "态度 差", {"phrase": "报修 没 来", "gap": 2}, {"phrase": "电费 多 扣", "gap": 0},
            {"phrase": "停电 停电 停电", "gap": 1}, "ATM 吞卡",
        ]},
    ]
    return small_pack(
        rules=rules,
        negation={
            "window": 3,
            "negators": ["没有", "没", "未", "不打算", "不是"],
            "after": ["没问题", "还行", "没坏"],
            "after_window": 1,
        },
        focus={"markers": ["问题是"]},
        settings={"phrase_gap": 3},
    )


TRICKY = compile_pack(parse_spec(_tricky_spec(), "tricky.yaml"), segment_cache=0)
TOKENS = [
    "停电", "停", "电", "电费", "迟迟", "不", "给", "装", "不是", "是", "第一次", "没", "没有",
    "有", "未", "打算", "问题", "没问题", "还行", "没坏", "坏", "态度", "差", "报修", "来",
    "多", "扣", "ATM", "atm", "吞卡", "补偿", "无功", "赔", "要求", "投诉", "的", "了", "，",
    "。", "!", "?", "\n", "但", "就", "却", "问题是", "没电", "A", "TM", "从来",
]
token_lists = st.lists(st.sampled_from(TOKENS), max_size=40)
# Scope breaks that are also negators or denials, or their last token, included or not.
MORE_BREAKS = ["没", "没有", "打算", "不是", "问题", "还行", "的"]
packs = st.builds(
    lambda window, after, breaks: replace(
        TRICKY,
        negation_window=window,
        denial_window=after,
        scope_breaks=TRICKY.scope_breaks | frozenset(breaks),
    ),
    st.integers(1, 6),
    st.integers(0, 4),
    st.sets(st.sampled_from(MORE_BREAKS)),
)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _pairs(count: int) -> list[tuple[int, int]]:
    return [(start, end) for start in range(count + 1) for end in range(start, count + 1)]


@SETTINGS
@given(tokens=token_lists, compiled=packs)
def test_negation_is_judged_as_the_scan_judges_it(
    tokens: list[str], compiled: CompiledPack
) -> None:
    scan = engine._scan(tokens, compiled)
    for start, end in _pairs(len(tokens)):
        expected = reference_negated(start, end, scan, tokens, compiled)
        assert engine._negated(start, end, scan, tokens, compiled) == expected, (start, end)


@SETTINGS
@given(tokens=token_lists, gaps=st.lists(st.integers(0, 8), min_size=1, max_size=4))
def test_phrases_end_where_the_scan_ends_them(tokens: list[str], gaps: list[int]) -> None:
    scan = engine._scan(tokens, TRICKY)
    spans = engine._spans(scan)
    breaks = engine._sentence_breaks(scan, tokens)
    entries = {entry for entries in TRICKY.phrases.values() for entry in entries}
    for entry in sorted(entries, key=lambda entry: entry.seq):
        for gap in gaps:
            with_gap = replace(entry, gap=gap)
            for end in range(len(tokens) + 1):
                expected = reference_phrase_end(with_gap, end, spans, tokens)
                assert engine._phrase_end(with_gap, end, spans, breaks) == expected


@SETTINGS
@given(
    tokens=token_lists,
    words=st.sets(st.sampled_from(sorted(TRICKY.vocabulary)), min_size=1, max_size=4),
    window=st.none() | st.integers(0, 6),
)
def test_context_is_found_where_the_scan_finds_it(
    tokens: list[str], words: set[str], window: int | None
) -> None:
    spans = engine._spans(engine._scan(tokens, TRICKY))
    for start, end in _pairs(len(tokens)):
        expected = reference_near(words, window, start, end, spans)
        assert engine._near(words, window, start, end, spans) == expected, (start, end)


def _classify_with_reference(text: str, pack: RulePack) -> Any:
    with (
        mock.patch.object(engine, "_candidates", reference_candidates),
        mock.patch.object(engine, "_negated", reference_negated),
        mock.patch.object(engine, "_in_context", reference_in_context),
    ):
        return classify(text, pack)


TRICKY_PACK = RulePack(spec=parse_spec(_tricky_spec(), "tricky.yaml"), compiled=TRICKY)
# Pieces of text whose segmentation gives the tokens above, and clause breaks.
PIECES = [
    "停电", "电费", "迟迟不给装", "不是第一次", "没有", "没", "未", "不打算", "没问题", "还行",
    "态度", "差", "报修", "没来", "多扣", "ATM", "atm", "吞卡", "无功补偿", "补偿", "要求赔",
    "投诉", "问题是", "没电", "从来没", "的", "了", "，", "。", "！", "？", "\n", "但是", "就",
    "却", "，又",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=60))
def test_classifications_are_those_of_the_scans(
    pieces: list[str], default_pack: RulePack
) -> None:
    text = "".join(pieces)
    for pack in (TRICKY_PACK, default_pack):
        assert classify(text, pack) == _classify_with_reference(text, pack), text


def _long_texts() -> list[str]:
    """The labelled set, and long texts that repeat one complaint with negated terms."""
    labelled = [item.text for item in load_labelled(default_labelled_path())]
    repeated = [
        "我不是要赔偿，也不打算找媒体，就想知道为什么每次停电都不提前通知。",
        "电费没问题，宽带没坏，就是没有通知就停电了，迟迟不给装表",
        "".join(labelled[:60]),
    ]
    return labelled + [(text * (3000 // len(text) + 1))[:3000] for text in repeated]


@pytest.mark.parametrize("pack_name", ["default", "tricky"])
def test_labelled_and_long_texts_classify_as_with_the_scans(
    pack_name: str, default_pack: RulePack
) -> None:
    pack = default_pack if pack_name == "default" else TRICKY_PACK
    for text in _long_texts():
        assert classify(text, pack) == _classify_with_reference(text, pack), text
