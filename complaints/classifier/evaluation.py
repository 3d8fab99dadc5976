"""How well a rule pack does on labelled sets: the numbers a pack change must not lower.

    python -m complaints.classifier.evaluation [SET.jsonl ...] [--pack P] [--misses]

Two views. `evaluate` is the detailed report of one fully labelled set (the in-house
`eval/labelled.jsonl`): primary-category precision/recall/F1 per category, macro-F1
over the categories the labels use, kind/industry/severity accuracy, signal
precision/recall and a confusion table (expected → predicted).

`evaluate_sets` reports every set side by side, one report per split (`dev`, `test`)
where a set has them: the share of texts whose category is the label or one of its
`acceptable` alternatives, macro-F1, kind accuracy, how many complaints come out as
complaints and questions as inquiries, the share predicted `other`, per-category
figures and the remaining errors. Items are classified without hints, as the text
alone. `docs/classifier-evaluation.md` holds the figures of the shipped pack.
"""

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.classifier.engine import classify
from complaints.classifier.pack import RulePack, load_default_pack, load_pack
from complaints.schemas.codes import (
    Category,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)


class LabelledItem(BaseModel):
    """One line of a labelled JSONL file: a text and what it should be classified as."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    text: str
    kind: RequestKind
    industry: Industry
    category: Category
    secondary: list[Category] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)
    severity: Severity | None = None
    tags: list[str] = Field(default_factory=list)
    customer_tier: CustomerTier | None = None


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CategoryMetrics:
    category: str
    support: int
    predicted: int
    correct: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Miss:
    """An item whose primary category, kind or industry came out wrong."""

    id: str
    text: str
    expected: str
    predicted: str
    reason: str


@dataclass(frozen=True)
class EvaluationReport:
    pack_version: str
    items: int
    categories: tuple[CategoryMetrics, ...]
    macro_f1: float
    kind_accuracy: float
    industry_accuracy: float
    severity_accuracy: float
    signal_precision: float
    signal_recall: float
    secondary_recall: float
    confusion: dict[str, dict[str, int]]
    misses: tuple[Miss, ...]

    def recall(self, category: str) -> float:
        return next(m.recall for m in self.categories if m.category == category)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_labelled_path() -> Path:
    return Path(__file__).with_name("eval") / "labelled.jsonl"


def eval_dir() -> Path:
    return Path(__file__).with_name("eval")


# The sets `complaints evaluate` reports by default (docs/classifier-evaluation.md).
SHIPPED_SETS = (
    "labelled.jsonl", "shopping_labelled.jsonl", "questions.jsonl", "questions_more.jsonl",
)


def shipped_set_paths() -> list[Path]:
    return [eval_dir() / name for name in SHIPPED_SETS]


class SetItem(BaseModel):
    """One line of any labelled set: the in-house one or a real-text one.

    `acceptable` are other categories a careful annotator could defend as primary
    (`docs/labelling-guide.md`); `split` is `dev` or `test` where the set has one.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    text: str
    kind: RequestKind
    category: Category
    acceptable: list[Category] = Field(default_factory=list)
    industry: Industry | None = None
    split: str | None = None

    def accepts(self, category: Category) -> bool:
        return category == self.category or category in self.acceptable


def load_set(path: Path | str) -> list[SetItem]:
    """Read a JSONL set of `SetItem` lines; a bad line is reported with its number."""
    return _jsonl(path, SetItem)


def _jsonl(path: Path | str, model: type[M]) -> list[M]:
    """Each non-blank line of a JSONL file as a `model`; a bad line is reported with its
    file and number."""
    path = Path(path)
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate_json(line))
        except ValidationError as error:
            raise ValueError(f"{path.name}:{number}: {error}") from error
    return items


@dataclass(frozen=True)
class CategoryFigures:
    """Texts labelled with one primary category, and how many came out acceptably."""

    category: str
    support: int
    correct: int  # predicted category is the label or one of its alternatives
    exact: int  # predicted category is the label itself
    predicted: int  # texts of the whole set predicted as this category

    @property
    def accuracy(self) -> float:
        return round(_ratio(self.correct, self.support), 4)


@dataclass(frozen=True)
class SetMiss:
    id: str
    text: str
    expected: str  # category (alternatives) / kind
    predicted: str  # category / kind
    reason: str


@dataclass(frozen=True)
class SetReport:
    """One labelled set (or one split of it) classified with one pack."""

    name: str
    pack_version: str
    items: int
    category_accuracy: float  # category is the label or an acceptable alternative
    macro_f1: float  # of the exact primary category, over the labelled categories
    kind_accuracy: float
    complaints: int  # texts labelled complaint …
    complaint_recall: float  # … and the share of them classified as complaint
    inquiries: int  # texts labelled inquiry …
    inquiry_recall: float  # … and the share of them classified as inquiry
    other_rate: float  # share of all texts predicted `other`
    categories: tuple[CategoryFigures, ...]
    misses: tuple[SetMiss, ...]  # wrong category or wrong kind

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for figures, row in zip(self.categories, data["categories"], strict=True):
            row["accuracy"] = figures.accuracy
        return data


def evaluate_set(pack: RulePack, items: Iterable[SetItem], name: str) -> SetReport:
    """Classify every item with `pack` and compare with its labels (and alternatives)."""
    items = list(items)
    support: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    kinds = complaints = complaint_hits = inquiries = inquiry_hits = 0
    misses = []
    for item in items:
        result = classify(item.text, pack)
        support[item.category] += 1
        predicted[result.category] += 1
        ok = item.accepts(result.category)
        correct[item.category] += ok
        exact[item.category] += result.category == item.category
        kinds += result.kind == item.kind
        if item.kind == RequestKind.COMPLAINT:
            complaints += 1
            complaint_hits += result.kind == RequestKind.COMPLAINT
        if item.kind == RequestKind.INQUIRY:
            inquiries += 1
            inquiry_hits += result.kind == RequestKind.INQUIRY
        if not ok or result.kind != item.kind:
            expected = item.category + "".join(f"|{c}" for c in item.acceptable)
            misses.append(SetMiss(item.id, item.text, f"{expected}/{item.kind}",
                                  f"{result.category}/{result.kind}", result.reason))
    labelled = [c.value for c in Category if c in support]
    f1s = []
    for category in labelled:
        precision = _ratio(exact[category], predicted[category])
        recall = _ratio(exact[category], support[category])
        f1s.append(_f1(precision, recall))
    return SetReport(
        name=name,
        pack_version=pack.version,
        items=len(items),
        category_accuracy=round(_ratio(sum(correct.values()), len(items)), 4),
        macro_f1=round(_ratio(sum(f1s), len(f1s)), 4),
        kind_accuracy=round(_ratio(kinds, len(items)), 4),
        complaints=complaints,
        complaint_recall=round(_ratio(complaint_hits, complaints), 4),
        inquiries=inquiries,
        inquiry_recall=round(_ratio(inquiry_hits, inquiries), 4),
        other_rate=round(_ratio(predicted[Category.OTHER], len(items)), 4),
        categories=tuple(
            CategoryFigures(c, support[c], correct[c], exact[c], predicted[c]) for c in labelled
        ),
        misses=tuple(misses),
    )


def evaluate_sets(pack: RulePack, paths: Iterable[Path | str]) -> list[SetReport]:
    """One report per set, or per split of a set that has splits (dev, then test)."""
    reports = []
    for path in map(Path, paths):
        items = load_set(path)
        splits = sorted({item.split for item in items if item.split is not None})
        if not splits:
            reports.append(evaluate_set(pack, items, path.stem))
            continue
        for split in splits:
            part = [item for item in items if item.split == split]
            reports.append(evaluate_set(pack, part, f"{path.stem} [{split}]"))
        unsplit = [item for item in items if item.split is None]
        if unsplit:
            reports.append(evaluate_set(pack, unsplit, f"{path.stem} [no split]"))
    return reports


def render_sets(reports: Sequence[SetReport], *, misses: bool = False) -> str:
    """A table of the sets, then per-category figures of each, then (optionally) errors."""
    version = reports[0].pack_version if reports else "-"
    lines = [
        f"rule pack {version} on {sum(r.items for r in reports)} labelled texts in "
        f"{len(reports)} sets and splits",
        "",
        f"{'set':<28}{'texts':>6}{'category':>10}{'macro-F1':>10}{'kind':>7}"
        f"{'complaint':>11}{'inquiry':>9}{'other':>7}",
    ]
    for r in reports:
        complaint = f"{r.complaint_recall:.3f}" if r.complaints else "-"
        inquiry = f"{r.inquiry_recall:.3f}" if r.inquiries else "-"
        lines.append(
            f"{r.name:<28}{r.items:>6}{r.category_accuracy:>10.3f}{r.macro_f1:>10.3f}"
            f"{r.kind_accuracy:>7.3f}{complaint:>11}{inquiry:>9}{r.other_rate:>7.3f}"
        )
    lines += ["", "category: the label or an acceptable alternative; complaint / inquiry: "
              "share of texts so labelled that come out so; other: share predicted other"]
    for r in reports:
        lines += ["", f"{r.name}: {'category':<16}{'texts':>6}{'right':>7}{'share':>7}"
                  f"{'exact':>7}{'pred':>6}"]
        lines += [
            f"{'':<{len(r.name) + 2}}{c.category:<16}{c.support:>6}{c.correct:>7}"
            f"{c.accuracy:>7.3f}{c.exact:>7}{c.predicted:>6}"
            for c in r.categories
        ]
        if misses:
            lines += [f"  {m.id}: {m.expected} → {m.predicted}  {m.text}\n      {m.reason}"
                      for m in r.misses]
    return "\n".join(lines)


def load_labelled(path: Path | str) -> list[LabelledItem]:
    """Read a JSONL labelled set; a bad line is reported with its number."""
    return _jsonl(path, LabelledItem)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate(pack: RulePack, items: Iterable[LabelledItem]) -> EvaluationReport:
    """Classify every item with `pack` and compare with its labels."""
    items = list(items)
    confusion: dict[str, Counter[str]] = {}
    kinds = industries = severities = severity_labelled = 0
    signal_tp = signal_predicted = signal_expected = 0
    secondary_found = secondary_expected = 0
    misses = []
    for item in items:
        result = classify(item.text, pack, customer_tier=item.customer_tier)
        confusion.setdefault(item.category, Counter())[result.category] += 1
        kinds += result.kind == item.kind
        industries += result.industry == item.industry
        if item.severity is not None:
            severity_labelled += 1
            severities += result.severity == item.severity
        predicted_signals, expected_signals = set(result.signals), set(item.signals)
        signal_tp += len(predicted_signals & expected_signals)
        signal_predicted += len(predicted_signals)
        signal_expected += len(expected_signals)
        found = {result.category} | {s.category for s in result.secondary}
        secondary_found += len(set(item.secondary) & found)
        secondary_expected += len(item.secondary)
        expected = (item.category, item.kind, item.industry)
        predicted = (result.category, result.kind, result.industry)
        if expected != predicted:
            misses.append(
                Miss(item.id, item.text, "/".join(expected), "/".join(predicted), result.reason)
            )

    labelled = [c.value for c in Category if c in confusion]
    predicted_counts: Counter[str] = Counter()
    for row in confusion.values():
        predicted_counts.update(row)
    metrics = []
    for category in [c.value for c in Category if c in confusion or c in predicted_counts]:
        row = confusion.get(category, Counter())
        correct, support = row[category], sum(row.values())
        precision = _ratio(correct, predicted_counts[category])
        recall = _ratio(correct, support)
        metrics.append(
            CategoryMetrics(
                category,
                support,
                predicted_counts[category],
                correct,
                round(precision, 4),
                round(recall, 4),
                round(_f1(precision, recall), 4),
            )
        )
    macro = [m.f1 for m in metrics if m.category in labelled]
    return EvaluationReport(
        pack_version=pack.version,
        items=len(items),
        categories=tuple(metrics),
        macro_f1=round(_ratio(sum(macro), len(macro)), 4),
        kind_accuracy=round(_ratio(kinds, len(items)), 4),
        industry_accuracy=round(_ratio(industries, len(items)), 4),
        severity_accuracy=round(_ratio(severities, severity_labelled), 4),
        signal_precision=round(_ratio(signal_tp, signal_predicted), 4),
        signal_recall=round(_ratio(signal_tp, signal_expected), 4),
        secondary_recall=round(_ratio(secondary_found, secondary_expected), 4),
        confusion={k: dict(v.most_common()) for k, v in sorted(confusion.items())},
        misses=tuple(misses),
    )


def render(report: EvaluationReport, *, misses: bool = False) -> str:
    """Plain-text tables for a terminal or a CI log."""
    lines = [
        f"rule pack {report.pack_version} on {report.items} labelled texts",
        f"macro-F1 {report.macro_f1:.3f} · kind {report.kind_accuracy:.3f} · "
        f"industry {report.industry_accuracy:.3f} · severity {report.severity_accuracy:.3f} · "
        f"signals P {report.signal_precision:.3f} R {report.signal_recall:.3f} · "
        f"secondary R {report.secondary_recall:.3f}",
        "",
        f"{'category':<16}{'support':>8}{'pred':>6}{'prec':>8}{'recall':>8}{'F1':>8}",
    ]
    lines += [
        f"{m.category:<16}{m.support:>8}{m.predicted:>6}{m.precision:>8.3f}"
        f"{m.recall:>8.3f}{m.f1:>8.3f}"
        for m in report.categories
    ]
    lines += ["", "confusion (expected → predicted, off-diagonal only):"]
    lines += [
        f"  {expected:<16}→ {predicted:<16}{count:>4}"
        for expected, row in report.confusion.items()
        for predicted, count in row.items()
        if predicted != expected
    ]
    if misses:
        lines += ["", "misses (expected category/kind/industry → predicted):"]
        lines += [
            f"  {m.id}: {m.expected} → {m.predicted}  {m.text}\n      {m.reason}"
            for m in report.misses
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path,
                        help="labelled JSONL sets (default: every shipped set)")
    parser.add_argument("--pack", type=Path, help="rule pack (default: the shipped one)")
    parser.add_argument("--misses", action="store_true", help="list every wrong item")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--detail", action="store_true",
                        help="the detailed report of one fully labelled set (labelled.jsonl)")
    args = parser.parse_args(argv)
    pack = load_pack(args.pack) if args.pack else load_default_pack()
    if args.detail:
        report = evaluate(pack, load_labelled(args.sets[0] if args.sets
                                              else default_labelled_path()))
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json
              else render(report, misses=args.misses))
        return 0
    reports = evaluate_sets(pack, args.sets or shipped_set_paths())
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        print(render_sets(reports, misses=args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
