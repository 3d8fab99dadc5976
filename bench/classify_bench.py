"""Classifier throughput against bare jieba segmentation of the same texts.

    python bench/classify_bench.py [--texts 10000] [--repeat 3] [--profile]
    python bench/classify_bench.py --lengths [60,1000,10000,20000] [--repeat 3]

Builds realistic texts from the labelled set (phone and ID numbers, HTML, emoji,
full-width and repeated punctuation, two complaints in one text, Traditional Chinese),
then times, in the same process and interleaved (best of `--repeat` passes each):

* jieba: a fresh `jieba.Tokenizer` with the classifier's HMM setting, `lcut` per raw text;
* classify: `classify(text, pack)` per raw text (normalisation + segmentation + rules +
  result), once with the pack's segmentation cache disabled and once with it as shipped;
* the pipeline's call: `classify(text_normalised, pack, normalised=True)` per already
  normalised text, without and with the cache;
* the parts: `analysis_text` alone and the pack's segmentation alone (no cache).

The segmentation cache (`complaints.classifier.compiled.segmenter`) keeps the tokens of
each han block (a run of text between punctuation). It is emptied before every timed
pass, so the hit rate shown is what one pass over the texts gets from its own repeats.
These texts are made from ~530 seed texts and repeat clauses far more than real traffic:
the figures without the cache are the ones that do not depend on repetition.

The ratio classify/jieba shows what the classifier costs on top of segmentation, which
no jieba-based classifier can avoid. Prints a table, a JSON line, and last the headline.

`--real FILE` times distinct real texts instead (the first `--texts` distinct texts of a
TSV with a `text` column, e.g. `../shared/data/real-text/shopping-all.tsv`): real reviews
repeat almost no clauses, so the figures without the cache are the ones to quote.

`--lengths` times instead how the cost grows with the length of one text (issue 20):
texts of exactly each length, classified raw with the segmentation cache off, of two
kinds: "mixed", the labelled texts joined in random order (dense with terms, negators
and clause breaks, as long complaints are), and "repeated", one labelled complaint with
negated terms pasted over and over (`REPEATED`; a negated term is judged again at every
repeat, where a counted one is not). It prints µs per text and per 1,000 characters for
each length, and the per-character cost of the longest against the shortest length
≥ 1,000: about 1 when classification is linear in the length of the text.
"""

import argparse
import cProfile
import csv
import io
import json
import os
import platform
import pstats
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import opencc

from complaints.classifier import RulePack, classify, default_pack_path, load_pack
from complaints.classifier.compiled import SEGMENT_CACHE_SIZE
from complaints.classifier.evaluation import default_labelled_path, load_labelled
from complaints.normalise import analysis_text

SEED = 20251124
# Characters classified per length in `--lengths` mode (1,666 texts of 60 characters).
CHARS_PER_LENGTH = 100_000
# A labelled complaint with negated terms and clause breaks, repeated in `--lengths`.
REPEATED = "我不是要赔偿，也不打算找媒体，就想知道为什么每次停电都不提前通知。"
GREETINGS = ["", "", "您好，", "你好，", "喂，你好，", "客服你好！", "【工单】"]
CLOSINGS = ["", "", "谢谢。", "请尽快处理！", "盼复。", "麻烦了", "！！！", "。。。"]
EMOJI = ["😡", "😭", "👍", "🙏", "😤", "💢"]
LINKS = ["另外，", "还有，", "而且", "顺便说一下，", "。另外"]


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def _id_card(rng: random.Random) -> str:
    birth = f"19{rng.randrange(50, 99)}0{rng.randrange(1, 9)}1{rng.randrange(0, 9)}"
    return f"{rng.randrange(110000, 659999)}{birth}{rng.randrange(1000):03d}X"


def build_texts(seeds: Sequence[str], count: int, seed: int = SEED) -> list[str]:
    """`count` distinct texts made from `seeds` with the noise real channels add."""
    rng = random.Random(seed)
    to_traditional = opencc.OpenCC("s2t")
    variations: list[Callable[[str], str]] = [
        lambda t: t,
        lambda t: f"{t}联系电话{_phone(rng)}",
        lambda t: f"户主身份证{_id_card(rng)}，{t}",
        lambda t: f"<p>{t}</p><br/>&nbsp;",
        lambda t: t + "".join(rng.choices(EMOJI, k=rng.randint(1, 3))),
        lambda t: t.replace("，", ",").replace("。", "!!"),
        lambda t: to_traditional.convert(t),
        lambda t: t + rng.choice(LINKS) + rng.choice(seeds),
        lambda t: f"工单号{rng.randrange(10**7)}：客户来电反映{t}",
    ]
    texts: dict[str, None] = {}
    while len(texts) < count:
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(variations)(text)
        texts[rng.choice(GREETINGS) + text + rng.choice(CLOSINGS)] = None
    return list(texts)


def build_long_texts(
    seeds: Sequence[str], length: int, count: int, seed: int = SEED
) -> list[str]:
    """`count` texts of exactly `length` characters: shuffled `seeds` joined, then cut."""
    rng = random.Random(seed + length)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        size = 0
        while size < length:
            order = list(seeds)
            rng.shuffle(order)
            for text in order:
                parts.append(text)
                size += len(text)
                if size >= length:
                    break
        texts.append("".join(parts)[:length])
    return texts


@dataclass(frozen=True)
class LengthRow:
    """Time of `classify(raw)` on texts of one kind and length."""

    kind: str
    chars: int
    texts: int
    us_per_text: float

    @property
    def us_per_1k_chars(self) -> float:
        return self.us_per_text / self.chars * 1000


def by_length(
    pack: RulePack, seeds: Sequence[str], lengths: Sequence[int], repeat: int
) -> list[LengthRow]:
    """µs per text of `classify(raw)` for each kind and length, best of `repeat` passes.

    Each length gets enough texts for about `CHARS_PER_LENGTH` characters (at least
    one), so short lengths are not timed on a handful of texts. The passes are
    interleaved (every kind and length once per round), so drift hits all alike.
    """
    sets: dict[tuple[str, int], list[str]] = {}
    for kind in ("mixed", "repeated"):
        for length in lengths:
            count = max(1, CHARS_PER_LENGTH // length)
            if kind == "mixed":
                sets[kind, length] = build_long_texts(seeds, length, count)
            else:
                sets[kind, length] = [(REPEATED * (length // len(REPEATED) + 1))[:length]] * count
            classify(sets[kind, length][0], pack)  # warm: lazy imports and tables

    def run(texts: list[str]) -> Callable[[], None]:
        def classify_all() -> None:
            for text in texts:
                classify(text, pack)

        return classify_all

    best = dict.fromkeys(sets, float("inf"))
    for _ in range(repeat):
        for key, texts in sets.items():
            best[key] = min(best[key], _seconds(run(texts)))
    return [
        LengthRow(kind, length, len(sets[kind, length]), seconds / len(sets[kind, length]) * 1e6)
        for (kind, length), seconds in best.items()
    ]


def real_texts(path: Path, count: int) -> list[str]:
    """The first `count` distinct texts of a TSV with a `text` column (file order)."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
        distinct = dict.fromkeys(row["text"] for row in rows if row["text"].strip())
    return list(distinct)[:count]


def _seconds(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _clear_cache(pack: RulePack) -> None:
    if pack.compiled.segment_cache is not None:
        pack.compiled.segment_cache.cache_clear()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="classifier vs bare jieba throughput")
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--labelled", type=Path, default=default_labelled_path())
    parser.add_argument("--pack", type=Path, help="rule pack (default: the shipped one)")
    parser.add_argument(
        "--cache-size", type=int, default=SEGMENT_CACHE_SIZE, help="segmentation cache size"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile classify, top 25")
    parser.add_argument(
        "--real",
        type=Path,
        help="time distinct real texts of this TSV (a `text` column, e.g. "
        "../shared/data/real-text/shopping-all.tsv) instead of texts built from the labelled set",
    )
    parser.add_argument(
        "--lengths",
        nargs="?",
        const="60,1000,10000,20000",
        help="time one text by length instead (comma-separated characters, no cache)",
    )
    args = parser.parse_args(argv)

    path = args.pack or default_pack_path()
    if args.lengths:
        return _main_by_length(path, args)
    uncached = load_pack(path, segment_cache=0)
    cached = load_pack(path, segment_cache=args.cache_size)
    hmm = cached.spec.settings.hmm
    if args.real:
        texts = real_texts(args.real, args.texts)
    else:
        texts = build_texts([item.text for item in load_labelled(args.labelled)], args.texts)
    normalised = [analysis_text(text) for text in texts]
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for text in texts[:200]:  # warm every path (lazy imports and tables)
        tokenizer.lcut(text, HMM=hmm)
        classify(text, uncached)
        classify(text, cached)

    def segment_all() -> None:
        for text in texts:
            tokenizer.lcut(text, HMM=hmm)

    def classify_all(pack: RulePack) -> Callable[[], None]:
        def run() -> None:
            _clear_cache(pack)
            for text in texts:
                classify(text, pack)

        return run

    def classify_normalised(pack: RulePack) -> Callable[[], None]:
        def run() -> None:
            _clear_cache(pack)
            for text in normalised:
                classify(text, pack, normalised=True)

        return run

    def normalise_all() -> None:
        for text in texts:
            analysis_text(text)

    def pack_segment_all() -> None:
        segment = uncached.compiled.segment
        for text in normalised:
            segment(text)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(classify_all(cached))
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())

    runs: dict[str, Callable[[], None]] = {
        "jieba": segment_all,
        "raw_uncached": classify_all(uncached),
        "raw_cached": classify_all(cached),
        "normalised_uncached": classify_normalised(uncached),
        "normalised_cached": classify_normalised(cached),
        "analysis_text": normalise_all,
        "segmentation": pack_segment_all,
    }
    best = dict.fromkeys(runs, float("inf"))
    hit_rate = {}
    for _ in range(args.repeat):  # interleaved, best of each, so drift hits all alike
        for name, run in runs.items():
            best[name] = min(best[name], _seconds(run))
            if name.endswith("_cached") and cached.compiled.segment_cache is not None:
                info = cached.compiled.segment_cache.cache_info()
                hit_rate[name] = info.hits / ((info.hits + info.misses) or 1)
    count = len(texts)
    us = {name: seconds / count * 1e6 for name, seconds in best.items()}
    ratio = {name: us["jieba"] / value for name, value in us.items()}
    rules_us = us["normalised_uncached"] - us["segmentation"]
    chars = sum(map(len, texts)) / count

    print(f"{count} texts, {chars:.0f} characters on average, HMM={hmm}, pack {cached.version}")
    print(f"{'':44}{'texts/s':>9}{'µs/text':>9}{'ratio':>8}")
    rows = [
        ("bare jieba lcut (raw texts)", "jieba", ""),
        ("classify(raw), no cache", "raw_uncached", ""),
        ("classify(raw), segmentation cache", "raw_cached", "raw_cached"),
        ("classify(normalised=True), no cache", "normalised_uncached", ""),
        ("classify(normalised=True), segmentation cache", "normalised_cached", "normalised_cached"),
    ]
    for label, name, hits in rows:
        note = f"  cache hit rate {hit_rate[hits]:.1%}" if hits in hit_rate else ""
        print(f"{label:44}{count / best[name]:9,.0f}{us[name]:9.1f}{ratio[name]:8.3f}{note}")
    print(
        f"parts (µs/text): analysis_text {us['analysis_text']:.1f}, pack segmentation "
        f"{us['segmentation']:.1f}, rules + result (normalised, no cache, minus "
        f"segmentation) {rules_us:.1f}"
    )
    print(
        json.dumps(
            {
                "texts": count,
                "mean_chars": round(chars, 1),
                "hmm": hmm,
                "us_per_text": {name: round(value, 1) for name, value in us.items()},
                "ratio_to_jieba": {
                    name: round(value, 3) for name, value in ratio.items() if name != "jieba"
                },
                "cache_hit_rate": {name: round(value, 3) for name, value in hit_rate.items()},
                "cache_size": args.cache_size,
                "rules_us_per_text": round(rules_us, 1),
                "python": platform.python_version(),
                "nproc": os.cpu_count(),
                "rule_pack": cached.version,
            }
        )
    )
    cache = (
        f"with the segmentation cache ({args.cache_size} blocks, empty at the start of the "
        f"pass, hit rate {hit_rate['raw_cached']:.0%})"
        if "raw_cached" in hit_rate
        else "with --cache-size 0 (no cache)"
    )
    print(
        f"headline: classify(raw text) / bare jieba = {ratio['raw_cached']:.3f} {cache}, "
        f"including normalisation, segmentation, rules and result; "
        f"{ratio['raw_uncached']:.3f} without the cache (target >= 0.8)"
    )
    return 0


def _main_by_length(path: Path, args: argparse.Namespace) -> int:
    """`--lengths`: the table and JSON line of `by_length`, segmentation cache off."""
    pack = load_pack(path, segment_cache=0)
    lengths = sorted({int(value) for value in args.lengths.split(",")})
    seeds = [item.text for item in load_labelled(args.labelled)]
    rows = by_length(pack, seeds, lengths, args.repeat)
    print(f"classify(raw) by text length, no segmentation cache, pack {pack.version}, "
          f"best of {args.repeat}")
    print(f"{'text':10}{'chars':>8}{'texts':>7}{'µs/text':>12}{'µs/1k chars':>13}")
    ratios = {}
    for kind in dict.fromkeys(row.kind for row in rows):
        of_kind = [row for row in rows if row.kind == kind]
        for row in of_kind:
            print(f"{kind:10}{row.chars:8,}{row.texts:7}{row.us_per_text:12,.1f}"
                  f"{row.us_per_1k_chars:13,.1f}")
        long = [row for row in of_kind if row.chars >= 1000]
        if len(long) > 1:
            ratios[kind] = round(long[-1].us_per_1k_chars / long[0].us_per_1k_chars, 3)
            print(f"{'':10}per-character cost, {long[-1].chars:,} / {long[0].chars:,} "
                  f"characters: {ratios[kind]:.2f} (1: linear)")
    print(
        json.dumps(
            {
                "by_length": [
                    {"text": row.kind, "chars": row.chars, "texts": row.texts,
                     "us_per_text": round(row.us_per_text, 1),
                     "us_per_1k_chars": round(row.us_per_1k_chars, 1)}
                    for row in rows
                ],
                "per_char_ratio": ratios,
                "python": platform.python_version(),
                "nproc": os.cpu_count(),
                "rule_pack": pack.version,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
