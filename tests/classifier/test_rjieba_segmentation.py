"""The pack segments with rjieba (jieba-rs); jieba 0.42.1 stays the reference.

With the pack's dictionary both must give identical tokens, without HMM, on every
labelled text and on the real-text file, whole texts and han blocks alike.
"""

import csv
from pathlib import Path

import pytest

from complaints.classifier import RulePack
from complaints.classifier.compiled import segmenter
from complaints.classifier.evaluation import load_set, shipped_set_paths
from complaints.normalise import analysis_text

REAL_TEXT = Path(__file__).resolve().parents[2].parent / "shared/data/real-text"


def _labelled_texts() -> list[str]:
    return [item.text for path in shipped_set_paths() for item in load_set(path)]


def _real_texts() -> list[str]:
    path = REAL_TEXT / "shopping-negative.tsv"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    with path.open(encoding="utf-8", newline="") as file:
        return [row["text"] for row in csv.DictReader(file, delimiter="\t")]


def _differences(pack: RulePack, texts: list[str]) -> list[str]:
    fast, _ = segmenter(pack.compiled.tokenizer, False, 0, _fast(pack))
    reference = pack.compiled.tokenizer
    return [
        text
        for raw in texts
        for text in (raw, analysis_text(raw))
        if fast(text) != reference.lcut(text, HMM=False)
    ]


def _fast(pack: RulePack):  # type: ignore[no-untyped-def]
    from complaints.classifier.compiled import new_fast_tokenizer

    return new_fast_tokenizer(pack.compiled.tokenizer, (d.word for d in pack.spec.dictionary))


def test_rjieba_cuts_every_labelled_text_as_jieba_does(default_pack: RulePack) -> None:
    texts = _labelled_texts()
    assert len(texts) > 1_300
    assert _differences(default_pack, texts) == []


def test_rjieba_cuts_the_real_text_file_as_jieba_does(default_pack: RulePack) -> None:
    texts = _real_texts()
    assert len(texts) == 3_222
    assert _differences(default_pack, texts) == []


def test_the_pack_segments_with_rjieba_and_its_dictionary(default_pack: RulePack) -> None:
    text = "快递柜超时费是什么鬼，安装费收了300"
    tokens = default_pack.compiled.segment(text)
    assert tokens == default_pack.compiled.tokenizer.lcut(text, HMM=False)
    assert "超时费" in tokens  # a pack dictionary word, kept whole by both
