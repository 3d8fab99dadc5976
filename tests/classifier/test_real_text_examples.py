"""Issue 13's examples of real customer text: questions are inquiries, shop words are
not power words, everyday complaints about goods and food get their category."""

import pytest

from complaints.classifier import RulePack, classify
from complaints.schemas.codes import Category, RequestKind, Severity

QUESTIONS = ["怎么设置手机彩铃？", "这个保险如何投保？", "信用卡还款日提前一天会影响征信吗"]

COMPLAINTS = [
    ("安装费收了300，太黑了", Category.BILLING),
    ("用着用着就白屏", Category.PRODUCT_QUALITY),
    ("买的橙子都蔫了", Category.PRODUCT_QUALITY),
    ("又小又不甜", Category.PRODUCT_QUALITY),
    ("电脑经常死机", Category.PRODUCT_QUALITY),
    ("东西是假的", Category.PRODUCT_QUALITY),
    ("送餐很快，但是菜太难吃了", Category.PRODUCT_QUALITY),
    ("很失望，不建议点", Category.PRODUCT_QUALITY),
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_plain_question_is_an_inquiry(default_pack: RulePack, text: str) -> None:
    result = classify(text, default_pack)
    assert result.kind == RequestKind.INQUIRY
    assert result.severity == Severity.P4


@pytest.mark.parametrize(("text", "category"), COMPLAINTS)
def test_an_everyday_complaint_gets_its_category(
    default_pack: RulePack, text: str, category: Category
) -> None:
    result = classify(text, default_pack)
    assert (result.kind, result.category) == (RequestKind.COMPLAINT, category)
    assert result.severity == Severity.P3


def test_a_question_with_a_complaint_cue_is_a_complaint(default_pack: RulePack) -> None:
    assert classify("为什么没有耳机？这是什么鬼", default_pack).kind == RequestKind.COMPLAINT


def test_power_categories_need_power_context(default_pack: RulePack) -> None:
    assert classify("酒店停水停电，房间又冷又脏", default_pack).category != Category.OUTAGE
    assert classify("小区停电三天了没人管", default_pack).category == Category.OUTAGE


def test_outage_words_count_with_the_hint_of_the_event(default_pack: RulePack) -> None:
    from complaints.schemas.codes import Industry

    text = "从早上停到现在，黑了一整天"
    assert classify(text, default_pack).category != Category.OUTAGE
    hinted = classify(text, default_pack, industry_hint=Industry.POWER)
    assert hinted.category == Category.OUTAGE


HYPOTHETICAL = [  # settings.hypothetical_markers: the problem is asked about, not stated
    ("如果快递丢了怎么赔？", Category.DELIVERY),
    ("万一快递被冒领了，能赔吗", Category.DELIVERY),
    ("信用卡逾期一天的话会影响征信吗", Category.BANKING),
]


@pytest.mark.parametrize(("text", "category"), HYPOTHETICAL)
def test_a_question_about_a_hypothetical_problem_is_an_inquiry(
    default_pack: RulePack, text: str, category: Category
) -> None:
    result = classify(text, default_pack)
    assert (result.kind, result.category) == (RequestKind.INQUIRY, category)


def test_the_same_problem_stated_is_a_complaint(default_pack: RulePack) -> None:
    result = classify("快递丢了，怎么赔？", default_pack)
    assert (result.kind, result.category) == (RequestKind.COMPLAINT, Category.DELIVERY)


def test_a_hypothetical_reaches_its_own_clause_only(default_pack: RulePack) -> None:
    # The missing invoice is stated; only the breakdown is hypothetical.
    assert classify("就是没有看到发票，万一坏了呢？", default_pack).kind == RequestKind.COMPLAINT


def test_a_hypothetical_frames_a_negative_evaluation_too(default_pack: RulePack) -> None:
    assert classify("如果质量不好能退吗", default_pack).kind == RequestKind.INQUIRY
    assert classify("质量不好，能退吗", default_pack).kind == RequestKind.COMPLAINT
