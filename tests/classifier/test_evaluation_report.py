"""The evaluation report: metrics computed from a labelled set, rendered and exported."""

import json
from pathlib import Path

import pytest

from complaints.classifier import RulePack
from complaints.classifier.evaluation import LabelledItem, evaluate, load_labelled, render


def _item(id_: str, text: str, category: str, kind: str = "complaint", industry: str = "power"):
    return LabelledItem(id=id_, text=text, kind=kind, industry=industry, category=category)


@pytest.fixture
def items() -> list[LabelledItem]:
    return [
        _item("a", "停电三天了没人管", "outage"),
        _item("b", "电表走字快", "metering"),
        _item("c", "电费多扣了一百块", "billing"),
        _item("d", "电费多扣了一百块", "metering"),  # deliberately mislabelled
    ]


def test_per_category_precision_recall_and_macro_f1(
    default_pack: RulePack, items: list[LabelledItem]
) -> None:
    report = evaluate(default_pack, items)
    by_category = {m.category: m for m in report.categories}
    assert by_category["outage"].recall == 1.0
    assert by_category["metering"].support == 2
    assert by_category["metering"].recall == 0.5
    assert by_category["billing"].precision == 0.5
    expected_macro = (1.0 + by_category["metering"].f1 + by_category["billing"].f1) / 3
    assert report.macro_f1 == pytest.approx(expected_macro, abs=1e-3)
    assert report.confusion["metering"] == {"metering": 1, "billing": 1}
    assert report.kind_accuracy == 1.0
    assert report.industry_accuracy == 1.0
    assert [m.id for m in report.misses] == ["d"]


def test_report_renders_and_exports_as_json(
    default_pack: RulePack, items: list[LabelledItem]
) -> None:
    report = evaluate(default_pack, items)
    text = render(report, misses=True)
    assert "macro-F1" in text
    assert "metering        → billing" in text
    exported = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert exported["macro_f1"] == report.macro_f1
    assert exported["categories"][0]["category"] == "outage"


def test_labelled_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    good = json.dumps(
        {"id": "1", "text": "停电", "kind": "complaint", "industry": "power", "category": "outage"},
        ensure_ascii=False,
    )
    path.write_text(good + "\n\n" + good.replace("outage", "weather") + "\n", "utf-8")
    with pytest.raises(ValueError, match=r"set\.jsonl:3"):
        load_labelled(path)
