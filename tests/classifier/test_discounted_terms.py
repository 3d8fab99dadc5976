"""The explanation names what was found but did not count, and why."""

import pytest

from complaints.classifier import RulePack, classify


@pytest.mark.parametrize(
    ("text", "term", "why"),
    [
        ("未发生停电，只是问一下", "停电", "negated"),
        ("电费没问题，是我看错了", "电费", "negated"),
        ("近年来无护理差错，不是投诉，只是想咨询一下探视时间", "护理差错", "negated"),
        ("补偿电容器坏了", "补偿", "out_of_context"),
    ],
)
def test_a_term_that_did_not_count_is_listed_with_the_reason(
    default_pack: RulePack, text: str, term: str, why: str
) -> None:
    result = classify(text, default_pack)
    assert (term, why) in {(d.term, d.why) for d in result.discounted}
    assert term not in {m.term for m in result.matches if m.target.startswith("category:")}
    for d in result.discounted:
        assert result_text(text)[d.start:d.end] == d.term


def test_an_ordinary_complaint_discounts_nothing(default_pack: RulePack) -> None:
    assert classify("小区停电三个小时了还没来电", default_pack).discounted == []


def result_text(text: str) -> str:
    from complaints.normalise import analysis_text

    return analysis_text(text)
