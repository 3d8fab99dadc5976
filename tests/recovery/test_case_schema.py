"""The wire models of recovery: validation at the edge, and schemas that document them."""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from complaints.recovery import resolution_of
from complaints.schemas.case import CASE_EVENT, HandlerAction, Resolution
from tests.recovery.conftest import Story

COMMAND = {"action_id": "act-1", "case_id": "C20260310-0001", "action": "compensate",
           "actor": "zhang.wei", "issued_at": "2026-03-10T10:00:00+08:00"}


def test_an_amount_may_arrive_as_a_number_and_is_kept_exact() -> None:
    action = HandlerAction.model_validate({**COMMAND, "amount": 50.1})

    assert action.amount == Decimal("50.1")


@pytest.mark.parametrize("bad", [
    {"satisfaction": 6},
    {"satisfaction": 0},
    {"amount": -1},
    {"amount": "12.345"},
    {"action": "refund"},
    {"issued_at": "2026-03-10T10:00:00"},  # no time zone
    {"handler": "zhang.wei"},              # unknown field
    {"action_id": ""},
])
def test_malformed_commands_are_refused_at_the_edge(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HandlerAction.model_validate({**COMMAND, **bad})


def test_every_case_event_conforms_to_the_published_schema(
        story: Callable[..., Story]) -> None:
    s = story(loss_claim=True).given("acknowledge", "apologize", "start_fix", "fix_done")
    s.when("close")
    s.given("compensate", amount=Decimal("20"))
    s.given("follow_up", satisfaction=5)
    s.given("close")
    validator = jsonschema.Draft202012Validator(CASE_EVENT.json_schema(mode="serialization"))

    for event in s.events:
        validator.validate(json.loads(CASE_EVENT.dump_json(event)))
    jsonschema.Draft202012Validator(Resolution.model_json_schema(mode="serialization")).validate(
        json.loads(resolution_of(s.case, s.events).model_dump_json()))
    assert {"ActionRejected", "CompensationRecorded", "DeadlinesScheduled"} <= {
        e.event_type for e in s.events}
