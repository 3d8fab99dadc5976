"""`classify` builds its result models without validating them again: they must be
identical to validated ones, and `normalised=True` must not change a result."""

import random
from typing import Any

import pytest
from pydantic import BaseModel, PrivateAttr

from complaints.classifier import RulePack, classify
from complaints.classifier.engine import _model_builder
from complaints.classifier.evaluation import default_labelled_path, load_labelled
from complaints.normalise import analysis_text
from complaints.schemas.classification import Classification
from complaints.schemas.codes import CustomerTier, Industry

TRICKY = [
    "",
    "   ",
    "😡😡😡",
    "停电三天了没人管，冰箱里的东西全坏了！电费也多扣了，态度很差，我要投诉到12398",
    "&lt;p&gt;停电了&lt;/p&gt;&amp;nbsp;电费多扣",  # markup escaped twice over
    "薴麻地里停電了，畢昇路回覆很慢",  # t2s is not idempotent on these
    "ＡＴＭ吞卡了！！！",
]


def _texts() -> list[str]:
    return [item.text for item in load_labelled(default_labelled_path())] + TRICKY


def _typed(value: Any) -> Any:
    """The value with the type of every leaf, so an enum never passes for its string."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return type(value), value


def test_results_are_identical_to_validated_models(default_pack: RulePack) -> None:
    rng = random.Random(11)
    for text in _texts():
        hints: dict[str, Any] = {
            "customer_tier": rng.choice([None, *CustomerTier]),
            "industry_hint": rng.choice([None, *Industry]),
        }
        for kwargs in ({}, hints):
            result = classify(text, default_pack, **kwargs)
            validated = Classification.model_validate(result.model_dump())
            assert result == validated
            assert _typed(result.model_dump()) == _typed(validated.model_dump())
            assert result.model_dump_json() == validated.model_dump_json()
            assert repr(result) == repr(validated)
            assert result.model_fields_set == validated.model_fields_set
            for built, checked in zip(result.matches, validated.matches, strict=True):
                assert built.model_fields_set == checked.model_fields_set
            for built, checked in zip(result.secondary, validated.secondary, strict=True):
                assert built.model_fields_set == checked.model_fields_set


def test_results_stay_frozen(default_pack: RulePack) -> None:
    result = classify("停电三天了没人管", default_pack)
    with pytest.raises(ValueError, match="frozen"):
        result.category = "billing"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        result.matches[0].weight = 0.0  # type: ignore[misc]


def test_normalised_text_gives_the_same_result(default_pack: RulePack) -> None:
    """The pipeline passes `Complaint.text_normalised`; before `normalised=True` it was
    normalised a second time, and the result must be what that gave."""
    for text in _texts():
        once = analysis_text(text)
        assert classify(once, default_pack, normalised=True) == classify(once, default_pack)


def test_models_the_fast_builder_cannot_make_are_validated() -> None:
    class WithPrivate(BaseModel):
        name: str
        _seen: int = PrivateAttr(default=0)

    class Plain(BaseModel):
        name: str

    assert _model_builder(WithPrivate) == WithPrivate.model_validate
    built = _model_builder(Plain)({"name": "x"})
    assert built == Plain(name="x") and built.model_fields_set == {"name"}
