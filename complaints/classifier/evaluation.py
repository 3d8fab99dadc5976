"""How well a rule pack does on a labelled set: the number a pack change must not lower.

    python -m complaints.classifier.evaluation [labelled.jsonl] [--pack P] [--misses]

Primary-category precision/recall/F1 per category, macro-F1 over the categories the
labels use, kind/industry/severity accuracy, signal precision/recall and a confusion
table (expected → predicted). Items are classified without hints, as the text alone.
"""

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


def load_labelled(path: Path | str) -> list[LabelledItem]:
    """Read a JSONL labelled set; a bad line is reported with its number."""
    path = Path(path)
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(LabelledItem.model_validate_json(line))
        except ValidationError as error:
            raise ValueError(f"{path.name}:{number}: {error}") from error
    return items


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
    parser.add_argument("labelled", nargs="?", type=Path, default=default_labelled_path())
    parser.add_argument("--pack", type=Path, help="rule pack (default: the shipped one)")
    parser.add_argument("--misses", action="store_true", help="list every wrong item")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    pack = load_pack(args.pack) if args.pack else load_default_pack()
    report = evaluate(pack, load_labelled(args.labelled))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render(report, misses=args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
