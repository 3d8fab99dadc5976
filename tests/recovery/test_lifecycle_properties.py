"""Properties of the lifecycle under random action sequences (hypothesis).

Random handlers send random actions (with random, often wrong, fields) at random
times while the deadline clock ticks. Whatever they do, a case stays inside the table:
every accepted transition is one of its rows — read here straight from the YAML, not
through the loader — rejected actions change nothing, versions count up by one, and
the history rebuilds the same case, also after a round trip through JSON.
"""

from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from complaints.recovery import (
    RecoveryRules,
    apply_events,
    decide,
    evolve,
    handle_action,
    handle_clock,
    open_case,
    rebuild,
    start_case,
)
from complaints.recovery.lifecycle import default_lifecycle_path
from complaints.schemas.case import (
    CASE_EVENT,
    ActionName,
    ActionRejected,
    AreaType,
    Case,
    CaseEvent,
    HandlerAction,
)
from complaints.schemas.codes import Category, RequestKind, Severity
from tests.recovery.conftest import T0

Row = tuple[str, str, str, str]  # from, action, to, kind


@cache
def yaml_rows() -> frozenset[Row]:
    """Every (from, action, to, kind) the YAML allows, expanded independently of the loader."""
    raw = yaml.safe_load(default_lifecycle_path().read_text(encoding="utf-8"))
    state_groups, kind_groups = raw.get("state_groups", {}), raw.get("kind_groups", {})
    rows: set[Row] = set()
    for row in raw["transitions"]:
        sources = row["from"] if isinstance(row["from"], list) else [row["from"]]
        states = [s for name in sources for s in state_groups.get(name, [name])]
        kinds = [k for name in row.get("kinds", []) for k in kind_groups.get(name, [name])]
        for state in states:
            for kind in kinds or [k.value for k in RequestKind]:
                to = state if row["to"] == "same" else row["to"]
                rows.add((state, row["action"], to, kind))
    return frozenset(rows)


@cache
def yaml_states() -> frozenset[str]:
    raw = yaml.safe_load(default_lifecycle_path().read_text(encoding="utf-8"))
    return frozenset(raw["states"])


openings = st.fixed_dictionaries({
    "kind": st.sampled_from(RequestKind),
    "category": st.sampled_from(Category),
    "severity": st.sampled_from(Severity),
    "loss_claim": st.booleans(),
    "area_type": st.sampled_from(AreaType),
    "priority": st.one_of(st.none(), st.integers(0, 100)),
})
#: Fields of a command: often right, often wrong, so guards both pass and fail.
fields = st.fixed_dictionaries({
    "actor": st.sampled_from(["zhang.wei", "li.supervisor", "intake"]),
    "amount": st.sampled_from([None, Decimal("0"), Decimal("50"), Decimal("200"),
                               Decimal("500")]),
    "satisfaction": st.sampled_from([None, 1, 2, 3, 4, 5]),
    "approved_by": st.sampled_from([None, "zhang.wei", "li.supervisor"]),
    "reason": st.sampled_from([None, "", "客户诉求超出规定"]),
    "target_queue": st.sampled_from([None, "general", "billing_metering", "supervisor"]),
    "new_category": st.one_of(st.none(), st.sampled_from(Category)),
    "new_kind": st.one_of(st.none(), st.sampled_from(RequestKind)),
})
#: Time between steps: mostly minutes to hours, so deadlines are sometimes met.
pauses = st.sampled_from([0, 60, 600, 3_600, 4 * 3_600, 86_400, 3 * 86_400, 40 * 86_400])
#: What a step does: mostly a step forward along the rows from the current state, so
#: the long paths (compensation, return visit, reopen) are reached too.
moves = st.sampled_from(["forward"] * 4 + ["allowed", "any", "repeat", "tick"])
HANDOVERS_AND_ENDINGS = {ActionName.ESCALATE, ActionName.REASSIGN, ActionName.RECLASSIFY,
                         ActionName.TERMINATE}


def check_events(case: Case, events: list[CaseEvent], rules: RecoveryRules) -> Case:
    """Apply `events` one by one, checking each against the table; the case after."""
    for event in events:
        before = case
        assert event.version == before.version + 1
        case = evolve(before, event)
        assert case.state in rules.lifecycle.states
        assert case.state in yaml_states()
        if isinstance(event, ActionRejected):
            assert event.state_after == event.state_before == before.state
            assert case.state is before.state
        elif event.action is not None:
            row = (event.state_before, event.action, event.state_after, before.kind)
            assert row in yaml_rows(), f"accepted {row} is not a row of lifecycle.yaml"
        else:  # timers and re-plans never move the case
            assert case.state is before.state
    return case


def play(rules: RecoveryRules, opening: dict[str, Any],
         data: st.DataObject) -> tuple[Case, list[CaseEvent]]:
    """Play random steps against a fresh case, checking every event on the way."""
    now = T0
    history = start_case(open_case(case_id="C-PROP", queue="general", opened_at=now,
                                   **opening), rules)
    case = rebuild(history)
    last_id: str | None = None
    for number in range(data.draw(st.integers(0, 40), label="steps")):
        move = data.draw(moves)
        now += timedelta(seconds=data.draw(pauses))
        if move == "tick":
            events = handle_clock(case, rules, now)
        else:
            allowed = rules.lifecycle.allowed_actions(case.state, case.kind)
            forward = tuple(a for a in allowed if a not in HANDOVERS_AND_ENDINGS)
            choices = {"forward": forward, "allowed": allowed}.get(move) or tuple(ActionName)
            action_id = last_id if move == "repeat" and last_id else f"act-{number}"
            command = HandlerAction(action_id=action_id, case_id="C-PROP", issued_at=now,
                                    action=data.draw(st.sampled_from(choices)),
                                    **data.draw(fields))
            decided = decide(case, command, rules.lifecycle, now)
            if action_id in case.processed_action_ids:
                assert decided == [], "a repeated action id must have no second effect"
            assert len(decided) <= 1
            events = handle_action(case, command, rules, now)
            assert events[: len(decided)] == decided
            last_id = action_id
        case = check_events(case, events, rules)
        history += events
    return case, history


@settings(max_examples=500, deadline=None)
@given(opening=openings, data=st.data())
def test_random_action_sequences_stay_inside_the_table(
        rules: RecoveryRules, opening: dict[str, Any], data: st.DataObject) -> None:
    case, history = play(rules, opening, data)

    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert rebuild(history) == case


@settings(max_examples=100, deadline=None)
@given(opening=openings, data=st.data())
def test_the_history_rebuilds_the_same_case_after_a_json_round_trip(
        rules: RecoveryRules, opening: dict[str, Any], data: st.DataObject) -> None:
    case, history = play(rules, opening, data)

    decoded = [CASE_EVENT.validate_json(CASE_EVENT.dump_json(e)) for e in history]

    assert decoded == history
    assert rebuild(decoded) == case
    assert apply_events(rebuild(decoded[:1]), decoded[1:]) == case
