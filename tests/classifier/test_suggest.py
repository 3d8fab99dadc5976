"""`suggest` mines candidate terms from labelled texts; people decide what goes in."""

from complaints.classifier import RulePack
from complaints.classifier.evaluation import SetItem
from complaints.classifier.suggest import features, render, suggest


def _item(number: int, text: str, category: str, kind: str = "complaint") -> SetItem:
    return SetItem(id=f"T{number}", text=text, category=category, kind=kind)


def test_a_term_frequent_in_one_category_is_suggested_with_what_it_fixes(
    default_pack: RulePack,
) -> None:
    items = [_item(i, f"这个锅第{i}次用就糊底了", "product_quality") for i in range(4)]
    items += [_item(9, "快递三天才到", "delivery")]
    found = suggest(default_pack, items, min_support=3)
    candidate = next(c for c in found
                     if c.term == "糊底" and c.target == "category:product_quality")
    assert candidate.support == 4 and candidate.elsewhere == 0 and candidate.score > 0
    assert "T9" not in candidate.fixes and "T9" not in candidate.breaks
    yaml_part = render(found, items, "test")
    assert "target: category:product_quality" in yaml_part or "fixes 0" in yaml_part


def test_features_are_han_tokens_and_pairs_never_punctuation(default_pack: RulePack) -> None:
    found = features("安装费收了300，太黑了。。", default_pack)
    assert "安装费" in found
    assert not any(ch in word for word in found for ch in "，。,.0123456789")
