"""A broken rule pack is refused with a message that says file, rule and field."""

from collections.abc import Callable
from pathlib import Path

import jieba
import pytest

from complaints.classifier import (
    RulePackError,
    classify,
    default_pack_path,
    load_default_pack,
    load_pack,
)
from complaints.classifier.pack import parse_spec
from complaints.schemas.codes import Category, RequestKind
from tests.classifier.packs import small_pack

WritePack = Callable[..., Path]


def _rules_with(**changes: object) -> list[dict[str, object]]:
    """The small pack's rules with the outage rule changed."""
    rules = small_pack()["rules"]
    rules[1] = {**rules[1], **changes}
    return rules


def test_default_pack_is_shipped_inside_the_package_and_loads() -> None:
    assert default_pack_path().name == "default_pack.yaml"
    assert default_pack_path().parent.name == "classifier"
    pack = load_default_pack()
    assert pack.version
    assert pack.source == default_pack_path()


def test_default_pack_covers_every_kind_category_and_signal_code() -> None:
    spec = load_default_pack().spec
    targets = {rule.target for rule in spec.rules}
    for kind in RequestKind:
        assert kind in spec.kinds
    for category in Category:
        assert f"category:{category}" in targets
    for signal in spec.signals:
        assert f"signal:{signal}" in targets


def test_non_positive_weight_names_file_rule_and_field(write_pack: WritePack) -> None:
    terms = ["停电", "断电", "没电", {"term": "来电", "weight": 0}]
    path = write_pack(rules=_rules_with(terms=terms))
    with pytest.raises(RulePackError) as error:
        load_pack(path)
    assert str(error.value) == "rules.yaml: rule 'power.outage': terms[3].weight: must be > 0"


def test_unknown_category_in_a_target_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(target="category:weather"))
    expected = r"rules\.yaml: rule 'power\.outage': target: unknown category 'weather'"
    with pytest.raises(RulePackError, match=expected):
        load_pack(path)


def test_target_category_that_the_pack_does_not_declare_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(target="category:metering"))
    with pytest.raises(RulePackError, match="unknown category 'metering'"):
        load_pack(path)


def test_unknown_kind_code_is_refused(write_pack: WritePack) -> None:
    path = write_pack(kinds={"complaint": "投诉", "gossip": "闲聊"})
    with pytest.raises(RulePackError, match=r"rules.yaml: kinds.gossip"):
        load_pack(path)


def test_unknown_signal_code_is_refused(write_pack: WritePack) -> None:
    path = write_pack(signals={"loss": "损失", "weather": "天气"})
    with pytest.raises(RulePackError, match=r"rules.yaml: signals.weather"):
        load_pack(path)


def test_unknown_axis_in_a_target_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(target="mood:angry"))
    with pytest.raises(RulePackError, match=r"rule 'power.outage': target: must be <axis>:<code>"):
        load_pack(path)


def test_duplicate_rule_ids_are_refused(write_pack: WritePack) -> None:
    rules = small_pack()["rules"]
    path = write_pack(rules=[*rules, {**rules[1]}])
    with pytest.raises(RulePackError, match=r"rule 'power.outage': id: duplicate rule id"):
        load_pack(path)


def test_misspelt_field_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(term=["停电"]))
    with pytest.raises(RulePackError, match=r"rule 'power.outage': term: unknown field"):
        load_pack(path)


def test_unquoted_number_term_asks_for_quotes(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(terms=["停电", 95598]))
    with pytest.raises(RulePackError, match=r"terms\[1\]: 95598 is a number: quote it"):
        load_pack(path)


def test_rule_without_terms_or_phrases_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(terms=[]))
    with pytest.raises(RulePackError, match="needs at least one term or phrase"):
        load_pack(path)


def test_undeclared_subcategory_is_refused(write_pack: WritePack) -> None:
    path = write_pack(rules=_rules_with(subcategory="planned"))
    with pytest.raises(RulePackError, match=r"rule 'power.outage': subcategory: 'planned'"):
        load_pack(path)


def test_industry_rule_cannot_depend_on_industry(write_pack: WritePack) -> None:
    rules = small_pack()["rules"]
    rules[0] = {**rules[0], "industries": ["power"]}
    path = write_pack(rules=rules)
    with pytest.raises(RulePackError, match="an industry rule cannot depend on industry"):
        load_pack(path)


def test_pack_without_other_category_is_refused(write_pack: WritePack) -> None:
    path = write_pack(categories={"outage": "停送电", "billing": "费用"})
    with pytest.raises(RulePackError, match="categories: must declare `other`"):
        load_pack(path)


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nrules: [unclosed\n", "utf-8")
    with pytest.raises(RulePackError, match=r"broken\.yaml: not valid YAML"):
        load_pack(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match=r"missing\.yaml: cannot read"):
        load_pack(tmp_path / "missing.yaml")


def test_every_problem_is_reported_at_once() -> None:
    raw = small_pack()
    raw["rules"][1]["weight"] = -1
    raw["rules"][2]["target"] = "category:weather"
    with pytest.raises(RulePackError) as error:
        parse_spec(raw, "rules.yaml")
    assert "rule 'power.outage': weight: must be > 0" in str(error.value)


def test_a_valid_small_pack_classifies(write_pack: WritePack) -> None:
    pack = load_pack(write_pack())
    result = classify("请问明天停电吗", pack)
    assert (result.kind, result.category) == ("inquiry", "outage")
    assert result.rule_pack_version == "test-1"


def test_pack_dictionary_keeps_domain_words_whole_without_touching_global_jieba(
    write_pack: WritePack,
) -> None:
    rules = small_pack()["rules"] + [
        {"id": "quality", "target": "category:billing", "terms": ["喵喵电价"]}
    ]
    pack = load_pack(write_pack(rules=rules, dictionary=[{"word": "喵喵电价", "freq": 5000}]))
    assert "喵喵电价" in pack.compiled.tokenizer.lcut("这个喵喵电价太离谱", HMM=False)
    assert "喵喵电价" not in jieba.lcut("这个喵喵电价太离谱", HMM=False)
    assert classify("这个喵喵电价太离谱", pack).category == Category.BILLING


def test_term_level_industry_scope_resolves_ambiguous_words(write_pack: WritePack) -> None:
    rules = small_pack()["rules"] + [
        {
            "id": "outage.restore",
            "target": "category:outage",
            "terms": [{"term": "来电显示", "industries": ["power"]}],
        },
    ]
    pack = load_pack(write_pack(rules=rules))
    assert classify("电费单上有来电显示", pack).category == Category.BILLING


def test_exclusion_cancels_a_term_next_to_its_context(write_pack: WritePack) -> None:
    rules = small_pack()["rules"] + [
        {
            "id": "loss",
            "target": "signal:loss",
            "weight": 2,
            "terms": ["补偿"],
            "excludes": ["无功"],
            "window": 1,
        },
    ]
    pack = load_pack(write_pack(rules=rules, settings={"signal_min_score": 1}))
    assert classify("停电了要求补偿", pack).signals == ["loss"]
    assert classify("无功补偿坏了", pack).signals == []


def test_required_context_gates_a_term(write_pack: WritePack) -> None:
    rules = _rules_with(terms=["来电"], requires_any=["停电", "断电"])
    pack = load_pack(write_pack(rules=rules))
    assert classify("有个陌生来电", pack).category == Category.OTHER
    assert classify("停电后终于来电了", pack).category == Category.OUTAGE


def test_phrase_matches_words_in_order_within_the_gap(write_pack: WritePack) -> None:
    rules = small_pack()["rules"] + [
        {"id": "attitude", "target": "category:billing", "weight": 5, "phrases": ["收费 太高"]},
    ]
    pack = load_pack(write_pack(rules=rules))
    assert classify("收费实在是太高", pack).category == Category.BILLING
    assert classify("太高的收费", pack).category == Category.OTHER
