"""The data files: lifecycle.yaml and sla.yaml load, and bad files are refused clearly."""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from complaints.recovery import LifecycleError, SlaPolicyError, lifecycle_diagram
from complaints.recovery.lifecycle import default_lifecycle_path, load_lifecycle, parse_lifecycle
from complaints.recovery.policy import default_sla_path, load_sla, parse_sla
from complaints.schemas.case import ActionName, CaseState
from complaints.schemas.codes import RequestKind

DOCS = Path(__file__).parents[2] / "docs" / "recovery.md"


def raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture
def lifecycle_raw() -> dict[str, Any]:
    return copy.deepcopy(raw(default_lifecycle_path()))


@pytest.fixture
def sla_raw() -> dict[str, Any]:
    return copy.deepcopy(raw(default_sla_path()))


def test_the_shipped_lifecycle_loads_and_covers_every_state_and_action() -> None:
    table = load_lifecycle()

    assert table.states == frozenset(CaseState)
    reached = {t.from_state for t in table.transitions} | {t.to for t in table.transitions}
    assert reached == set(CaseState)
    assert {t.action for t in table.transitions} == set(ActionName)


@pytest.mark.parametrize("kind", list(RequestKind))
def test_every_kind_can_close_from_received(kind: RequestKind) -> None:
    table = load_lifecycle()
    seen, todo = {CaseState.RECEIVED}, [CaseState.RECEIVED]
    while todo:
        state = todo.pop()
        for t in table.transitions:
            if t.from_state == state and kind in t.kinds and t.to not in seen:
                seen.add(t.to)
                todo.append(t.to)
    assert CaseState.CLOSED in seen


def test_an_unknown_guard_is_refused_naming_file_row_and_field(
        lifecycle_raw: dict[str, Any]) -> None:
    lifecycle_raw["transitions"][5]["guards"] = ["requires_los"]

    with pytest.raises(LifecycleError) as error:
        parse_lifecycle(lifecycle_raw, "lifecycle.yaml")

    assert str(error.value).startswith(
        "lifecycle.yaml: transitions[5] (fixed --compensate--> compensated): guards: "
        "unknown guard 'requires_los'")


def test_two_rows_for_one_state_action_and_kind_are_refused(
        lifecycle_raw: dict[str, Any]) -> None:
    lifecycle_raw["transitions"].append(
        {"from": "fixed", "action": "close", "to": "closed", "kinds": ["report"]})

    with pytest.raises(LifecycleError, match=r"fixed --close--> for report is already a row"):
        parse_lifecycle(lifecycle_raw, "lifecycle.yaml")


def test_unknown_states_kinds_and_fields_are_refused(lifecycle_raw: dict[str, Any]) -> None:
    rows = lifecycle_raw["transitions"]
    rows[0]["from"] = "recieved"
    rows[1]["kinds"] = ["complain"]
    rows[2]["too"] = "apologized"

    with pytest.raises(LifecycleError) as error:
        parse_lifecycle(lifecycle_raw, "lifecycle.yaml")

    assert "transitions[2] (acknowledged --apologize--> apologized): too: unknown field" in str(
        error.value)


def test_a_kind_that_can_never_end_is_refused(lifecycle_raw: dict[str, Any]) -> None:
    lifecycle_raw["transitions"] = [
        row for row in lifecycle_raw["transitions"]
        if row["action"] not in ("close", "terminate")
    ]

    with pytest.raises(LifecycleError, match="a complaint can never end"):
        parse_lifecycle(lifecycle_raw, "lifecycle.yaml")


def test_a_missing_state_declaration_is_refused(lifecycle_raw: dict[str, Any]) -> None:
    del lifecycle_raw["states"]["reclassified"]

    with pytest.raises(LifecycleError, match="states: reclassified is missing"):
        parse_lifecycle(lifecycle_raw, "lifecycle.yaml")


def test_the_shipped_sla_policy_loads() -> None:
    policy = load_sla()

    assert policy.warn_share == 0.8
    assert {r.id for r in policy.rules} >= {"contact.reply", "repair.urban", "p1.dispatch"}


def test_a_duration_with_two_units_is_refused_naming_the_rule(sla_raw: dict[str, Any]) -> None:
    sla_raw["rules"][0]["deadlines"]["first_contact"] = {"hours": 24, "working_days": 1}

    with pytest.raises(SlaPolicyError,
                       match=r"sla.yaml: rule 'contact.reply': deadlines.first_contact: "
                             r"give exactly one of"):
        parse_sla(sla_raw, "sla.yaml")


def test_an_undeclared_deadline_in_a_rule_is_refused(sla_raw: dict[str, Any]) -> None:
    del sla_raw["deadlines"]["on_site"]

    with pytest.raises(SlaPolicyError,
                       match=r"rule 'repair.urban': deadlines.on_site: not declared"):
        parse_sla(sla_raw, "sla.yaml")


def test_a_make_up_day_that_is_also_a_holiday_is_refused(sla_raw: dict[str, Any]) -> None:
    sla_raw["calendar"]["makeup_workdays"].append({"date": "2026-10-02"})

    with pytest.raises(SlaPolicyError, match="2026-10-02 is also a holiday"):
        parse_sla(sla_raw, "sla.yaml")


def test_unquoted_business_hours_are_refused(sla_raw: dict[str, Any]) -> None:
    sla_raw["calendar"]["business_hours"]["start"] = 480  # what YAML makes of 08:00

    with pytest.raises(SlaPolicyError, match=r'calendar\.business_hours\.start: .*"08:00"'):
        parse_sla(sla_raw, "sla.yaml")


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "sla.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")

    with pytest.raises(SlaPolicyError, match=r"sla\.yaml: not valid YAML"):
        load_sla(broken)


# ------------------------------------------------------------------ docs diagram


def docs_diagram() -> str:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert found, "docs/recovery.md has no ```mermaid block"
    return found.group(1)


def test_every_row_of_the_yaml_appears_in_the_docs_diagram() -> None:
    diagram = docs_diagram().splitlines()

    for row in raw(default_lifecycle_path())["transitions"]:
        sources = row["from"] if isinstance(row["from"], list) else [row["from"]]
        for source in sources:
            to = source if row["to"] == "same" else row["to"]
            edge = f"    {source} --> {to} : {row['action']}"
            assert any(line.startswith(edge) for line in diagram), f"missing: {edge.strip()}"


def test_the_docs_diagram_is_the_generated_one() -> None:
    assert docs_diagram() == lifecycle_diagram(load_lifecycle()), (
        "docs/recovery.md is stale: paste the output of "
        "`python -c 'from complaints.recovery import *; "
        "print(lifecycle_diagram(load_lifecycle()), end=\"\")'`"
    )


@pytest.mark.parametrize("content", ["", "- a list\n", "just text\n"])
def test_a_lifecycle_or_sla_file_that_is_not_a_mapping_is_refused_with_one_clear_error(
    tmp_path: Path, content: str,
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LifecycleError, match="is a mapping"):
        load_lifecycle(path)
    with pytest.raises(SlaPolicyError, match="is a mapping"):
        load_sla(path)
