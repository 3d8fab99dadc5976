"""Classifier throughput against bare jieba segmentation of the same texts.

    python bench/classify_bench.py [--texts 10000] [--repeat 3] [--profile]

Builds realistic texts from the labelled set (phone and ID numbers, HTML, emoji,
full-width and repeated punctuation, two complaints in one text, Traditional Chinese),
then times, in the same process and interleaved:

* jieba: a fresh `jieba.Tokenizer` with the classifier's HMM setting, `lcut` per text;
* classify: `classify(text, pack)` per text (normalisation + segmentation + rules).

The ratio classify/jieba shows what the rules cost on top of segmentation, which no
jieba-based classifier can avoid. Prints both rates, the ratio and a final JSON line.
"""

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jieba
import opencc

from complaints.classifier import classify, load_default_pack, load_pack
from complaints.classifier.evaluation import default_labelled_path, load_labelled
from complaints.normalise import analysis_text

SEED = 20251124
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


def _seconds(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="classifier vs bare jieba throughput")
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--labelled", type=Path, default=default_labelled_path())
    parser.add_argument("--pack", type=Path, help="rule pack (default: the shipped one)")
    parser.add_argument("--profile", action="store_true", help="cProfile classify, top 25")
    args = parser.parse_args(argv)

    pack = load_pack(args.pack) if args.pack else load_default_pack()
    hmm = pack.spec.settings.hmm
    texts = build_texts([item.text for item in load_labelled(args.labelled)], args.texts)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for text in texts[:200]:  # warm both paths (caches, lazy imports)
        tokenizer.lcut(text, HMM=hmm)
        classify(text, pack)

    def segment_all() -> None:
        for text in texts:
            tokenizer.lcut(text, HMM=hmm)

    def classify_all() -> None:
        for text in texts:
            classify(text, pack)

    def normalise_all() -> None:
        for text in texts:
            analysis_text(text)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(classify_all)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())

    jieba_s = classify_s = normalise_s = float("inf")
    for _ in range(args.repeat):  # interleaved, best of each, so drift hits all alike
        jieba_s = min(jieba_s, _seconds(segment_all))
        classify_s = min(classify_s, _seconds(classify_all))
        normalise_s = min(normalise_s, _seconds(normalise_all))
    count = len(texts)
    jieba_rate, classify_rate = count / jieba_s, count / classify_s
    ratio = classify_rate / jieba_rate
    # What classify costs beyond normalisation (OpenCC t2s is not the rules' cost).
    without_normalise = count / (classify_s - normalise_s) / jieba_rate
    chars = sum(map(len, texts)) / count
    print(f"{count} texts, {chars:.0f} characters on average, HMM={hmm}")
    print(f"jieba lcut   {jieba_rate:10,.0f} texts/s  {jieba_s / count * 1e6:6.1f} µs/text")
    print(f"classify     {classify_rate:10,.0f} texts/s  {classify_s / count * 1e6:6.1f} µs/text")
    print(f"  of which analysis_text (OpenCC t2s …) {normalise_s / count * 1e6:6.1f} µs/text")
    print(f"ratio        {ratio:10.3f}  (classify / jieba; target >= 0.8)")
    print(f"ratio without normalisation {without_normalise:.3f}")
    print(
        json.dumps(
            {
                "texts": len(texts),
                "mean_chars": round(chars, 1),
                "hmm": hmm,
                "jieba_texts_per_s": round(jieba_rate),
                "classify_texts_per_s": round(classify_rate),
                "ratio": round(ratio, 3),
                "ratio_without_normalisation": round(without_normalise, 3),
                "normalise_us_per_text": round(normalise_s / count * 1e6, 1),
                "python": platform.python_version(),
                "nproc": os.cpu_count(),
                "rule_pack": pack.version,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
