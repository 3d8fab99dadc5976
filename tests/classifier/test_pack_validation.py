"""A broken rule pack is refused with a message that says file, rule and field."""

from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

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
from complaints.classifier.spec import (
    MAX_DICTIONARY,
    MAX_ENTRIES,
    MAX_LIST_WORDS,
    MAX_NEGATION_WINDOW,
    MAX_PHRASE_GAP,
    MAX_PHRASE_WORDS,
    MAX_RULES,
    MAX_WINDOW,
    MAX_WORD_CHARS,
)
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


# --- limits (docs/rule-pack.md, "Limits") -------------------------------------------

LIMITS = "(see Limits in docs/rule-pack.md)"
TOO_LONG = "x" * (MAX_WORD_CHARS + 1)


def _refused(raw: dict[str, Any]) -> str:
    """The one-line message of a pack refused by validation."""
    with pytest.raises(RulePackError) as error:
        parse_spec(raw, "rules.yaml")
    message = str(error.value)
    assert "\n" not in message
    return message


def _with_rule(**changes: object) -> dict[str, Any]:
    return small_pack(rules=_rules_with(**changes))


def test_the_shipped_pack_is_within_every_limit() -> None:
    spec = load_default_pack().spec
    words = [
        *(term.term for rule in spec.rules for term in rule.terms),
        *(word for rule in spec.rules for phrase in rule.phrases for word in phrase.words),
        *(entry.word for entry in spec.dictionary),
        *spec.negation.negators,
        *spec.negation.after,
        *spec.focus.markers,
    ]
    # Far below, not just below: the limits must never bite a real pack.
    assert max(map(len, words)) * 4 <= MAX_WORD_CHARS
    assert spec.settings.phrase_gap * 10 <= MAX_PHRASE_GAP
    assert len(spec.rules) * 10 <= MAX_RULES
    assert sum(len(rule.terms) + len(rule.phrases) for rule in spec.rules) * 5 <= MAX_ENTRIES


@pytest.mark.parametrize(
    ("terms", "where"),
    [
        (["停电", "x" * 100_000], "terms[1].term: 100,000 characters"),
        (["停电", {"term": TOO_LONG}], f"terms[1].term: {MAX_WORD_CHARS + 1} characters"),
    ],
)
def test_a_term_longer_than_the_limit_is_refused(terms: list[object], where: str) -> None:
    message = _refused(_with_rule(terms=terms))
    assert message == (
        f"rules.yaml: rule 'power.outage': {where}; a word may have at most "
        f"{MAX_WORD_CHARS} {LIMITS}"
    )


def test_a_term_at_the_limit_is_accepted() -> None:
    parse_spec(_with_rule(terms=["停电", "x" * MAX_WORD_CHARS]), "rules.yaml")


def test_a_phrase_with_too_many_words_is_refused() -> None:
    words = " ".join(["停电"] * (MAX_PHRASE_WORDS + 1))
    message = _refused(_with_rule(phrases=[words]))
    assert message == (
        f"rules.yaml: rule 'power.outage': phrases[0].phrase: {MAX_PHRASE_WORDS + 1} words; "
        f"a phrase may have at most {MAX_PHRASE_WORDS} {LIMITS}"
    )
    parse_spec(_with_rule(phrases=[" ".join(["停电"] * MAX_PHRASE_WORDS)]), "rules.yaml")


def test_a_phrase_word_longer_than_the_limit_is_refused() -> None:
    message = _refused(_with_rule(phrases=[f"停电 {TOO_LONG}"]))
    assert message.startswith(
        f"rules.yaml: rule 'power.outage': phrases[0].phrase: word 2 has "
        f"{MAX_WORD_CHARS + 1} characters; a word may have at most {MAX_WORD_CHARS}"
    )


def test_a_phrase_gap_beyond_the_limit_is_refused() -> None:
    message = _refused(_with_rule(phrases=[{"phrase": "停电 三天", "gap": 100_000}]))
    assert message == (
        f"rules.yaml: rule 'power.outage': phrases[0].gap: must be <= {MAX_PHRASE_GAP}"
    )
    parse_spec(_with_rule(phrases=[{"phrase": "停电 三天", "gap": MAX_PHRASE_GAP}]), "x.yaml")


def test_a_default_phrase_gap_beyond_the_limit_is_refused() -> None:
    message = _refused(small_pack(settings={"phrase_gap": MAX_PHRASE_GAP + 1}))
    assert message == f"rules.yaml: settings.phrase_gap: must be <= {MAX_PHRASE_GAP}"


def test_a_context_window_beyond_the_limit_is_refused() -> None:
    message = _refused(_with_rule(requires_any=["停电"], window=MAX_WINDOW + 1))
    assert message == f"rules.yaml: rule 'power.outage': window: must be <= {MAX_WINDOW}"


@pytest.mark.parametrize("field", ["window", "after_window"])
def test_negation_windows_beyond_the_limit_are_refused(field: str) -> None:
    message = _refused(small_pack(negation={field: MAX_NEGATION_WINDOW + 1}))
    assert message == f"rules.yaml: negation.{field}: must be <= {MAX_NEGATION_WINDOW}"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("negation", "negators"),
        ("negation", "after"),
        ("negation", "scope_breaks"),
        ("focus", "markers"),
    ],
)
def test_negation_and_focus_words_longer_than_the_limit_are_refused(
    section: str, field: str
) -> None:
    message = _refused(small_pack(**{section: {field: ["没", TOO_LONG]}}))
    assert message == (
        f"rules.yaml: {section}.{field}[1]: {MAX_WORD_CHARS + 1} characters; "
        f"a word may have at most {MAX_WORD_CHARS} {LIMITS}"
    )


@pytest.mark.parametrize("field", ["requires_any", "excludes"])
def test_context_words_longer_than_the_limit_are_refused(field: str) -> None:
    message = _refused(_with_rule(**{field: [TOO_LONG]}))
    assert message.startswith(
        f"rules.yaml: rule 'power.outage': {field}[0]: {MAX_WORD_CHARS + 1} characters"
    )


def test_a_dictionary_word_longer_than_the_limit_is_refused() -> None:
    message = _refused(small_pack(dictionary=["电表", {"word": TOO_LONG, "freq": 5}]))
    assert message.startswith(
        f"rules.yaml: dictionary[1].word: {MAX_WORD_CHARS + 1} characters"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            _with_rule(excludes=[f"词{i}" for i in range(MAX_LIST_WORDS + 1)]),
            f"rules.yaml: rule 'power.outage': excludes: {MAX_LIST_WORDS + 1} words; "
            f"at most {MAX_LIST_WORDS}",
        ),
        (
            small_pack(negation={"negators": [f"不{i}" for i in range(MAX_LIST_WORDS + 1)]}),
            f"rules.yaml: negation.negators: {MAX_LIST_WORDS + 1} words; "
            f"at most {MAX_LIST_WORDS}",
        ),
        (
            small_pack(dictionary=[f"词{i}" for i in range(MAX_DICTIONARY + 1)]),
            f"rules.yaml: dictionary: {MAX_DICTIONARY + 1:,} dictionary words; "
            f"at most {MAX_DICTIONARY:,}",
        ),
        (
            small_pack(
                rules=[
                    {"id": f"r{i}", "target": "category:outage", "terms": ["停电"]}
                    for i in range(MAX_RULES + 1)
                ]
            ),
            f"rules.yaml: rules: {MAX_RULES + 1:,} rules; at most {MAX_RULES:,}",
        ),
        (
            small_pack(
                rules=[
                    {"id": "many", "target": "category:outage",
                     "terms": [f"词{i}" for i in range(MAX_ENTRIES)], "phrases": ["停电 了"]}
                ]
            ),
            f"rules.yaml: rules: {MAX_ENTRIES + 1:,} terms and phrases in all; "
            f"at most {MAX_ENTRIES:,}",
        ),
    ],
    ids=["context-list", "negators", "dictionary", "rules", "entries"],
)
def test_too_many_words_rules_or_entries_are_refused(raw: dict[str, Any], expected: str) -> None:
    assert _refused(raw) == f"{expected} {LIMITS}"


def test_a_pack_beyond_a_limit_is_refused_before_it_is_compiled(write_pack: WritePack) -> None:
    """A 100,000-character term used to take gigabytes to compile: now load refuses it."""
    path = write_pack(rules=_rules_with(terms=["停电", "停" * 100_000]))
    with (
        mock.patch("complaints.classifier.pack.compile_pack") as compile_pack,
        pytest.raises(RulePackError, match="100,000 characters; a word may have at most"),
    ):
        load_pack(path)
    compile_pack.assert_not_called()
