"""The pack's segmenter caches jieba's tokens block by block: the tokens must be exactly
those of `lcut` on the whole text, and every pack (a reloaded one too) has its own cache."""

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from complaints.classifier import PackReloader, RulePack, classify, default_pack_path, load_pack
from complaints.classifier.compiled import (
    HAN_BLOCK,
    SEGMENT_CACHE_MAX_BLOCK,
    SEGMENT_CACHE_SIZE,
    segmenter,
)
from complaints.classifier.evaluation import default_labelled_path, load_labelled
from complaints.normalise import analysis_text

WritePack = Callable[..., Path]

# Han blocks and what jieba yields one by one between them: ASCII and CJK punctuation,
# whitespace of every kind ("\r\n" is one token), emoji, digits and Latin letters
# inside blocks, characters just outside jieba's CJK range (\u9fd6, \u3400).
ALPHABET = [
    *"停电了没人管电费多扣宽带网速慢请问，。！？；、,.!?;:%-+#&_ab12 \t\n\r\u3000😡",
    *("\u9fd6", "\u3400", "\r\n", "ATM"),
]


def _texts() -> list[str]:
    labelled = [item.text for item in load_labelled(default_labelled_path())]
    rng = random.Random(7)
    noise = ["".join(rng.choices(ALPHABET, k=rng.randint(0, 40))) for _ in range(2000)]
    return labelled + [analysis_text(text) for text in labelled] + noise + ["", " ", "\r\n"]


@pytest.mark.parametrize("hmm", [False, True])
def test_cached_segmentation_is_jiebas_segmentation_of_the_whole_text(
    default_pack: RulePack, hmm: bool
) -> None:
    tokenizer = default_pack.compiled.tokenizer
    segment, cache = segmenter(tokenizer, hmm, 64)  # small: blocks are evicted and re-cut
    assert cache is not None
    for text in _texts() * 2:  # the second round is served from the cache
        assert segment(text) == tokenizer.lcut(text, HMM=hmm), text
    assert cache.cache_info().hits > 0


def test_results_are_the_same_with_and_without_the_cache(default_pack: RulePack) -> None:
    uncached = load_pack(default_pack_path(), segment_cache=0)
    assert uncached.compiled.segment_cache is None
    for text in _texts():
        assert classify(text, default_pack) == classify(text, uncached), text


def test_the_cache_is_bounded(default_pack: RulePack) -> None:
    cache = default_pack.compiled.segment_cache
    assert cache is not None
    assert cache.cache_info().maxsize == SEGMENT_CACHE_SIZE


def test_each_pack_has_its_own_cache(write_pack: WritePack) -> None:
    """A dictionary word changes the segmentation: the other pack must not see it."""
    plain = load_pack(write_pack("plain.yaml"))
    with_word = load_pack(write_pack("word.yaml", dictionary=[{"word": "停电费", "freq": 10**6}]))
    text = "小区停电费用谁出"
    assert plain.compiled.segment(text) == plain.compiled.tokenizer.lcut(text, HMM=False)
    assert "停电费" in with_word.compiled.segment(text)
    assert "停电费" not in plain.compiled.segment(text)
    assert plain.compiled.segment_cache is not with_word.compiled.segment_cache


def test_a_reloaded_pack_starts_with_an_empty_cache(write_pack: WritePack) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    assert classify("小区停电费用谁出", reloader.current()).category == "outage"

    write_pack(version="test-2", dictionary=[{"word": "停电费", "freq": 10**6}])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert reloader.maybe_reload() is True

    reloaded = reloader.current()
    assert reloaded.compiled.segment_cache is not None
    assert reloaded.compiled.segment_cache.cache_info().currsize == 0
    # 停电费 is now one token, so the outage term 停电 is no longer on token boundaries.
    assert classify("小区停电费用谁出", reloaded).category == "other"


@pytest.mark.parametrize("hmm", [False, True])
def test_only_blocks_up_to_the_bound_are_cached(default_pack: RulePack, hmm: bool) -> None:
    """A cache of whole 20,000-character blocks would hold gigabytes: long blocks are cut
    each time, with exactly jieba's tokens, and never kept."""
    tokenizer = default_pack.compiled.tokenizer
    segment, cache = segmenter(tokenizer, hmm, 8)
    assert cache is not None
    labelled = "".join(item.text for item in load_labelled(default_labelled_path()))
    blocks = [block for block in HAN_BLOCK.findall(labelled) if len(block) > 8]
    long_block = "".join(blocks)[: SEGMENT_CACHE_MAX_BLOCK * 40]
    at_bound = long_block[:SEGMENT_CACHE_MAX_BLOCK]
    for text in (long_block, f"停电了，{long_block}！{long_block[:SEGMENT_CACHE_MAX_BLOCK + 1]}"):
        assert segment(text) == tokenizer.lcut(text, HMM=hmm)
    assert cache.cache_info().currsize == 1  # only 停电了
    assert segment(at_bound) == tokenizer.lcut(at_bound, HMM=hmm)
    assert cache.cache_info().currsize == 2
