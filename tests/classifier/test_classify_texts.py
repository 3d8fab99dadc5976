"""Chinese texts in, classifications out: the default pack's behaviour as tables."""

import pytest

from complaints.classifier import RulePack, classify
from complaints.normalise import analysis_text
from complaints.schemas.codes import (
    Category,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)

# text, kind, industry, category
SIMPLIFIED = [
    ("我家从昨晚开始停电，到现在还没来电，打95598也没人管！", "complaint", "power", "outage"),
    ("电压太低，空调开不起来，灯光一闪一闪的", "complaint", "power", "power_quality"),
    ("这个月电费多扣了三百多，要求退费", "complaint", "power", "billing"),
    ("电表走字快，一个月用了八百度电，要求校验", "complaint", "power", "metering"),
    ("新房申请报装两个月了，迟迟不给装表接电", "complaint", "power", "connection"),
    ("报修三天了师傅还没来", "complaint", "general", "repair"),
    ("手机信号太差了，在家里经常没信号", "complaint", "telecom", "network"),
    ("营业员推销套餐说送手机，结果承诺不兑现", "complaint", "telecom", "sales"),
    ("供电营业厅工作人员态度恶劣，爱理不理，还骂人", "complaint", "power", "staff_conduct"),
    ("工作人员推来推去，我跑了好几趟都没办成", "complaint", "general", "process"),
    ("外卖送餐慢，超时一个多小时，汤都洒了", "complaint", "logistics", "delivery"),
    ("网购的衣服是假货，质量差，要求退换", "complaint", "logistics", "product_quality"),
    ("车险出险报案一个月了，理赔款到现在都没赔付", "complaint", "insurance", "claims"),
    ("护士扎针扎了好几次都没扎进去，手都肿了", "complaint", "healthcare", "medical"),
    ("ATM吞卡了，打了客服电话也没人处理", "complaint", "banking", "banking"),
    ("路边电线掉在地上还在冒火花，很危险", "complaint", "power", "safety"),
    ("我的个人信息被泄露了，有人冒用我的身份证办了手机卡", "complaint", "telecom", "privacy"),
    ("变电站的噪音太大了，晚上一直嗡嗡响，整晚睡不着", "complaint", "power", "other"),
    ("请问电费户名怎么办理过户？需要带哪些材料", "inquiry", "power", "connection"),
    ("举报隔壁厂房窃电，绕过电表直接搭线", "report", "power", "metering"),
    ("报修：我家总闸跳了推不上去，请派人来看看", "repair", "power", "power_quality"),
    ("建议停电前多发短信通知，方便大家准备", "suggestion", "power", "outage"),
    ("感谢抢修师傅冒雨抢修，半夜就恢复供电了，特此表扬", "praise", "power", "repair"),
]


@pytest.mark.parametrize(("text", "kind", "industry", "category"), SIMPLIFIED)
def test_simplified_text_gets_kind_industry_and_category(
    default_pack: RulePack, text: str, kind: str, industry: str, category: str
) -> None:
    result = classify(text, default_pack)
    assert (result.kind, result.industry, result.category) == (kind, industry, category)


@pytest.mark.parametrize(
    ("simplified", "traditional"),
    [
        ("停电三天了没人管，电费还照扣", "停電三天了沒人管，電費還照扣"),
        ("营业员服务态度太差了，一直在玩手机", "營業員服務態度太差了，一直在玩手機"),
        ("宽带网速慢，报修了也没人来", "寬頻網速慢，報修了也沒人來"),
        ("理赔拖了四个月，保险公司一直推说", "理賠拖了四個月，保險公司一直推說"),
    ],
)
def test_traditional_text_classifies_like_simplified(
    default_pack: RulePack, simplified: str, traditional: str
) -> None:
    a, b = classify(simplified, default_pack), classify(traditional, default_pack)
    assert (a.kind, a.industry, a.category, a.signals, a.severity) == (
        b.kind,
        b.industry,
        b.category,
        b.signals,
        b.severity,
    )


@pytest.mark.parametrize(
    ("text", "cancelled_term"),
    [
        ("近年来无护理差错，护士们都很负责", "护理差错"),
        ("未发生停电，只是想问一下电费怎么交", "停电"),
        ("不是投诉，只是咨询一下宽带怎么续费", "投诉"),
        ("电费没问题，问题是营业厅的人态度太差", "电费"),
        ("我不是要赔偿，也不打算找媒体，就想知道原因", "找媒体"),
    ],
)
def test_negated_term_does_not_count(
    default_pack: RulePack, text: str, cancelled_term: str
) -> None:
    result = classify(text, default_pack)
    counted = {m.term for m in result.matches if not m.target.startswith("industry:")}
    assert cancelled_term not in counted


def test_not_a_complaint_only_a_question_is_an_inquiry(default_pack: RulePack) -> None:
    result = classify("不是投诉，只是咨询一下", default_pack)
    assert result.kind == RequestKind.INQUIRY
    assert result.severity == Severity.P4


def test_negated_outage_mention_leaves_the_question(default_pack: RulePack) -> None:
    result = classify("未发生停电，只是想问一下电费怎么交", default_pack)
    assert (result.kind, result.category) == (RequestKind.INQUIRY, Category.BILLING)


def test_praise_without_errors_is_praise_not_a_medical_complaint(default_pack: RulePack) -> None:
    result = classify("近年来无护理差错，护士们都很负责", default_pack)
    assert result.kind == RequestKind.PRAISE


def test_no_notice_before_the_outage_is_still_an_outage(default_pack: RulePack) -> None:
    result = classify("没有通知就停电了", default_pack)
    assert result.category == Category.OUTAGE


def test_reactive_power_compensation_is_equipment_not_a_loss(default_pack: RulePack) -> None:
    result = classify("厂里的无功补偿装置坏了，功率因数一直不达标", default_pack)
    assert Signal.LOSS not in result.signals
    assert result.industry == Industry.POWER


def test_compensation_for_spoiled_food_is_a_loss(default_pack: RulePack) -> None:
    result = classify("停电把冰箱里的肉都弄坏了，要求补偿", default_pack)
    assert Signal.LOSS in result.signals
    assert result.severity == Severity.P2


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("住院期间护士输错液了，这是严重的护理差错", Category.MEDICAL),
        ("你们说是系统差错导致重复扣费，多扣的钱什么时候退", Category.BILLING),
    ],
)
def test_error_means_nursing_in_hospitals_and_billing_elsewhere(
    default_pack: RulePack, text: str, category: Category
) -> None:
    assert classify(text, default_pack).category == category


@pytest.mark.parametrize(
    ("text", "primary", "secondary"),
    [
        ("营业厅工作人员态度恶劣，还多收了五十块电费", Category.BILLING, Category.STAFF_CONDUCT),
        ("電費太貴了，電錶是不是有問題", Category.BILLING, Category.METERING),
        ("宽带安装预约了一周都没人来装，客服也没人回复", Category.CONNECTION, Category.PROCESS),
    ],
)
def test_text_with_several_issues_lists_secondary_categories(
    default_pack: RulePack, text: str, primary: Category, secondary: Category
) -> None:
    result = classify(text, default_pack)
    assert result.category == primary
    assert secondary in [s.category for s in result.secondary]
    assert result.secondary == sorted(result.secondary, key=lambda s: -s.score)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("<p>停電&nbsp;三天了</p><br/>😡😡😡", Category.OUTAGE),
        ("服務(wù)態度(dù)太差了！", Category.STAFF_CONDUCT),
        ("ＡＴＭ机吞钞５０００元！！！", Category.BANKING),
        ("电话13812345678，我家电表白屏了，看不到读数", Category.METERING),
        ("网速慢!!!<br/>投诉!!!<br/>---<br/>发自我的iPhone", Category.NETWORK),
    ],
)
def test_dirty_input_is_cleaned_before_matching(
    default_pack: RulePack, text: str, category: Category
) -> None:
    assert classify(text, default_pack).category == category


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "<p></p>"])
def test_empty_text_is_other_with_a_reason(default_pack: RulePack, text: str) -> None:
    result = classify(text, default_pack)
    assert result.category == Category.OTHER
    assert result.reason == "other: empty text"
    assert result.confidence == 0
    assert result.matches == []


def test_text_without_known_terms_is_other_with_a_reason(default_pack: RulePack) -> None:
    result = classify("你好", default_pack)
    assert result.category == Category.OTHER
    assert result.reason.startswith("other:")


@pytest.mark.parametrize(
    ("text", "signal", "severity"),
    [
        ("小区配电箱在冒烟，有烧焦的味道", Signal.SAFETY, Severity.P1),
        ("整个小区都停电了", Signal.MASS, Severity.P1),
        ("再不解决我就找电视台曝光", Signal.MEDIA, Severity.P1),
        ("我已经打了12398投诉你们", Signal.REGULATOR, Severity.P1),
        ("拒赔理由站不住脚，我已经委托律师", Signal.LEGAL, Severity.P2),
        ("小区又停电了，这个月第三次了", Signal.REPEAT, Severity.P2),
        ("抄表员说话带脏字，我非常气愤", Signal.EMOTION, Severity.P2),
    ],
)
def test_signal_cues_raise_severity(
    default_pack: RulePack, text: str, signal: Signal, severity: Severity
) -> None:
    result = classify(text, default_pack)
    assert signal in result.signals
    assert result.severity == severity


def test_ordinary_complaint_is_p3_and_inquiry_p4(default_pack: RulePack) -> None:
    assert classify("电表走字快", default_pack).severity == Severity.P3
    assert classify("请问阶梯电价怎么算", default_pack).severity == Severity.P4


@pytest.mark.parametrize("tier", [CustomerTier.VIP, CustomerTier.KEY_ACCOUNT, CustomerTier.DIAMOND])
def test_vip_tier_adds_the_vip_signal(default_pack: RulePack, tier: CustomerTier) -> None:
    result = classify("我家停电了", default_pack, customer_tier=tier)
    assert Signal.VIP in result.signals
    assert result.severity == Severity.P2


def test_standard_tier_adds_no_signal(default_pack: RulePack) -> None:
    result = classify("我家停电了", default_pack, customer_tier=CustomerTier.STANDARD)
    assert result.signals == []


def test_industry_hint_decides_when_the_text_does_not(default_pack: RulePack) -> None:
    result = classify("工作人员态度太差了", default_pack, industry_hint=Industry.BANKING)
    assert result.industry == Industry.BANKING


def test_text_overrides_a_wrong_industry_hint(default_pack: RulePack) -> None:
    text = "这个月电费多扣了，电表肯定有问题"
    result = classify(text, default_pack, industry_hint=Industry.TELECOM)
    assert result.industry == Industry.POWER


def test_category_implies_industry_when_nothing_else_decides(default_pack: RulePack) -> None:
    assert classify("网太卡了", default_pack).industry == Industry.TELECOM


def test_matches_point_at_their_terms_in_the_normalised_text(default_pack: RulePack) -> None:
    raw = "<b>停電</b>三天了，電費還照扣"
    normalised = analysis_text(raw)
    result = classify(raw, default_pack)
    assert result.matches
    for match in result.matches:
        assert normalised[match.start : match.end].replace(" ", "") == match.term.replace(" ", "")
    assert [m.start for m in result.matches] == sorted(m.start for m in result.matches)


def test_terms_match_on_token_boundaries_only(default_pack: RulePack) -> None:
    # 没电 must not match inside 没/电话: nobody said the power was off.
    result = classify("客服一直没电话回复", default_pack)
    assert "没电" not in {m.term for m in result.matches}


def test_multi_token_term_is_found(default_pack: RulePack) -> None:
    result = classify("新房申请了两个月，迟迟不给装表", default_pack)
    assert "迟迟不给装" in {m.term for m in result.matches}


def test_result_names_pack_version_and_rules(default_pack: RulePack) -> None:
    result = classify("电表走字快", default_pack)
    assert result.rule_pack_version == default_pack.version
    assert all(m.rule_id for m in result.matches)
    assert "metering" in result.reason
    assert 0 < result.confidence <= 1


def test_classifying_other_texts_in_between_changes_nothing(default_pack: RulePack) -> None:
    first = classify("宽带网速慢，报修了也没人来", default_pack)
    for text in ["停电了", "请问怎么办理过户", "举报窃电", ""]:
        classify(text, default_pack)
    assert classify("宽带网速慢，报修了也没人来", default_pack) == first
