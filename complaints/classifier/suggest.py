"""Candidate terms for the rule pack, mined from a labelled set: rules stay hand-owned.

    python -m complaints.classifier.suggest SET.jsonl [--pack P] [--split dev] [--top 15]

For every category and every kind the labels use, each jieba token of the labelled
texts (segmented by the pack, so with its dictionary) and each pair of adjacent tokens
is a candidate. A candidate is scored by its smoothed log-odds ratio: how much more
often texts labelled with the target contain it than the other texts do,

    log((a + 1) / (A - a + 1)) - log((b + 1) / (B - b + 1))

with `a` of the `A` texts of the target and `b` of the `B` others containing it (a
prior of one text on each side keeps rare terms from scoring infinitely). Candidates
need `--min-support` target texts, must not be in the pack's vocabulary already, and
must score above zero.

For each candidate the texts it would fix and those it would break are listed: the
pack's scores of every text are taken from its result (`matches`), the candidate's
weight is added to the target, and the decision is made again. A text is fixed when its
category (or kind) becomes acceptable, broken when it stops being so. The output ends
with a YAML fragment to review and paste into the pack; nothing is changed.
"""

import argparse
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from complaints.classifier.engine import classify
from complaints.classifier.evaluation import SetItem, load_set
from complaints.classifier.pack import RulePack, load_default_pack, load_pack
from complaints.normalise import analysis_text
from complaints.schemas.classification import Classification

PRIOR = 1.0  # texts added on each side of the log-odds ratio
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Candidate:
    term: str
    target: str  # category:<code> or kind:<code>
    score: float  # smoothed log-odds ratio
    support: int  # texts of the target containing the term
    elsewhere: int  # other texts containing it
    fixes: list[str] = field(default_factory=list)  # item ids
    breaks: list[str] = field(default_factory=list)


def features(text: str, pack: RulePack) -> set[str]:
    """The han tokens of two characters or more, and pairs of adjacent tokens."""
    tokens = pack.compiled.segment(analysis_text(text))
    han = [t if _HAN.search(t) else None for t in tokens]
    words = {t for t in han if t is not None and len(t) >= 2}
    pairs = {a + b for a, b in pairwise(han)
             if a is not None and b is not None and len(a + b) <= 6}
    return words | pairs


def _category_scores(result: Classification) -> dict[str, float]:
    scores: Counter[str] = Counter()
    for match in result.matches:
        axis, _, code = match.target.partition(":")
        if axis == "category":
            scores[code] += match.weight
    return dict(scores)


def _decide(scores: dict[str, float], order: Sequence[str], minimum: float) -> str:
    if not scores:
        return "other"
    best = max(scores.items(), key=lambda item: (item[1], -order.index(item[0])))
    return best[0] if best[1] >= minimum else "other"


def suggest(
    pack: RulePack,
    items: Iterable[SetItem],
    *,
    top: int = 15,
    min_support: int = 3,
    weight: float = 2.0,
) -> list[Candidate]:
    """Best candidates per category and per kind of the labels, with fixes and breaks."""
    items = list(items)
    results = [classify(item.text, pack) for item in items]
    feats = [features(item.text, pack) for item in items]
    vocabulary = pack.compiled.vocabulary
    order = [c.value for c in pack.spec.categories]
    minimum = pack.spec.settings.category_min_score
    candidates = []
    targets = sorted({f"category:{i.category}" for i in items}
                     | {f"kind:{i.kind}" for i in items})
    for target in targets:
        axis, _, code = target.partition(":")
        inside = [(axis == "category" and i.category == code)
                  or (axis == "kind" and i.kind == code)
                  for i in items]
        a_total = sum(inside)
        b_total = len(items) - a_total
        a_count: Counter[str] = Counter()
        b_count: Counter[str] = Counter()
        for is_in, found in zip(inside, feats, strict=True):
            (a_count if is_in else b_count).update(found)
        scored = []
        for term, a in a_count.items():
            if a < min_support or term in vocabulary:
                continue
            b = b_count[term]
            score = (math.log((a + PRIOR) / (a_total - a + PRIOR))
                     - math.log((b + PRIOR) / (b_total - b + PRIOR)))
            if score > 0:
                scored.append(Candidate(term, target, round(score, 3), a, b))
        scored.sort(key=lambda c: (-c.score, -c.support, c.term))
        for candidate in scored[:top]:
            for item, result, found in zip(items, results, feats, strict=True):
                if candidate.term not in found:
                    continue
                if axis == "category":
                    scores = _category_scores(result)
                    scores[code] = scores.get(code, 0.0) + weight
                    after = _decide(scores, order, minimum)
                    before_ok, after_ok = item.accepts(result.category), item.accepts(after)
                else:  # kind: the candidate is one more cue of `code`
                    before_ok = result.kind == item.kind
                    after_ok = before_ok if result.kind == code else item.kind == code
                if after_ok and not before_ok:
                    candidate.fixes.append(item.id)
                elif before_ok and not after_ok:
                    candidate.breaks.append(item.id)
            candidates.append(candidate)
    return candidates


def render(candidates: Sequence[Candidate], items: Sequence[SetItem], source: str,
           weight: float = 2.0) -> str:
    """A table per target, the texts each candidate fixes and breaks, then YAML."""
    texts = {item.id: item.text for item in items}
    lines = [f"# candidates from {source}: smoothed log-odds ratio, support (texts of the "
             "target with the term / other texts), fixes and breaks at weight "
             f"{weight:g}", ""]
    by_target: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_target.setdefault(candidate.target, []).append(candidate)
    for target, found in by_target.items():
        lines.append(f"== {target}")
        for c in found:
            lines.append(f"  {c.term:<10} log-odds {c.score:>6.2f}  support {c.support}/"
                         f"{c.elsewhere}  fixes {len(c.fixes)}  breaks {len(c.breaks)}")
            lines += [f"      + {i}: {texts[i][:60]}" for i in c.fixes[:3]]
            lines += [f"      - {i}: {texts[i][:60]}" for i in c.breaks[:3]]
        lines.append("")
    lines += ["# YAML to review: keep the terms that name a problem in general words,", 
              "# drop those that only fit the rows you labelled, then paste under `rules:`."]
    for target, found in by_target.items():
        keep = [c for c in found if len(c.fixes) > len(c.breaks)]
        if not keep:
            continue
        code = target.replace(":", ".")
        lines += [f"  - id: suggested.{code}", f"    target: {target}", f"    weight: {weight:g}",
                  "    terms:"]
        lines += [f"      - {c.term}    # log-odds {c.score:.2f}, support {c.support}/"
                  f"{c.elsewhere}, fixes {len(c.fixes)}, breaks {len(c.breaks)}" for c in keep]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="labelled JSONL set")
    parser.add_argument("--pack", type=Path, help="rule pack (default: the shipped one)")
    parser.add_argument("--split", default="dev",
                        help="only items of this split when the set has splits (default dev)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--min-support", type=int, default=3)
    parser.add_argument("--weight", type=float, default=2.0)
    args = parser.parse_args(argv)
    pack = load_pack(args.pack) if args.pack else load_default_pack()
    items = load_set(args.set)
    if any(item.split for item in items):
        items = [item for item in items if item.split == args.split]
    found = suggest(pack, items, top=args.top, min_support=args.min_support,
                    weight=args.weight)
    print(render(found, items, f"{args.set.name} [{args.split}]", args.weight))
    return 0


if __name__ == "__main__":
    sys.exit(main())
