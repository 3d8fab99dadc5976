"""Loading and validating routing tables: a bad table is refused with file, rule and field."""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from complaints.routing.table import (
    RoutingTable,
    RoutingTableError,
    default_table_path,
    load_table,
    parse_table,
)
from complaints.schemas.codes import Severity


def default_raw() -> dict[str, Any]:
    return yaml.safe_load(default_table_path().read_text(encoding="utf-8"))


def rule(raw: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in raw["rules"] if r["id"] == rule_id)


def refused(raw: Any, file_name: str = "routes.yaml") -> str:
    with pytest.raises(RoutingTableError) as caught:
        parse_table(raw, file_name)
    return str(caught.value)


#: Queues only the recovery stage's escalations move cases to (lifecycle.yaml).
ESCALATION_QUEUES = {"supervisor", "service_manager", "leadership"}


def test_the_default_table_is_valid_and_declares_the_domain_desks(table: RoutingTable) -> None:
    expected = {"outage_repair", "billing_metering", "connection", "network_ops",
                "service_quality", "vip_desk", "safety_emergency", "legal_pr", "inspection",
                "insurance_claims", "nursing", "logistics", "general", "inquiry",
                "suggestion", "praise", *ESCALATION_QUEUES}
    assert set(table.queues) == expected
    assert all(re.search(r"[\u4e00-\u9fff]", q.name) for q in table.queues.values())
    assert table.default_queue == "general"
    assert set(table.severities) == set(Severity)
    assert table.repeat.window_days == 30
    assert table.overflow_for("vip_desk") is not None


def test_every_queue_the_default_table_declares_is_used(table: RoutingTable) -> None:
    used = {r.queue for r in table.rules} | {table.default_queue} | ESCALATION_QUEUES
    assert used == set(table.queues)


def test_every_escalation_level_of_the_lifecycle_is_a_declared_queue(
    table: RoutingTable,
) -> None:
    from complaints.recovery.lifecycle import load_lifecycle

    levels = {level.queue for level in load_lifecycle().spec.escalation.levels}
    assert levels == ESCALATION_QUEUES <= set(table.queues)


def test_a_rule_naming_an_unknown_queue_is_refused() -> None:
    raw = default_raw()
    rule(raw, "vip.desk")["queue"] = "vipdesk"
    assert "routes.yaml: rule 'vip.desk': queue: unknown queue 'vipdesk'" in refused(raw)


def test_a_misspelt_match_field_names_the_rule_and_field() -> None:
    raw = default_raw()
    rule(raw, "billing.metering")["match"]["category"] = ["billing"]
    message = refused(raw)
    assert "routes.yaml: rule 'billing.metering': match.category: unknown field" in message


def test_an_unknown_category_names_the_rule_and_position() -> None:
    raw = default_raw()
    rule(raw, "outage.repair")["match"]["categories"] = ["outage", "blackout"]
    message = refused(raw)
    assert "routes.yaml: rule 'outage.repair': match.categories[1]:" in message
    assert "outage" in message


def test_a_rule_without_a_queue_is_refused() -> None:
    raw = default_raw()
    del rule(raw, "kind.praise")["queue"]
    assert "rule 'kind.praise': queue: is required" in refused(raw)


def test_duplicate_rule_ids_are_refused() -> None:
    raw = default_raw()
    raw["rules"].append(copy.deepcopy(rule(raw, "kind.praise")))
    assert "rule 'kind.praise': id: duplicate rule id" in refused(raw)


def test_a_rule_after_a_catch_all_is_refused_as_unreachable() -> None:
    raw = default_raw()
    raw["rules"].insert(3, {"id": "everything", "queue": "general"})
    message = refused(raw)
    assert "rule 'kind.inquiry': match: never reached: rule 'everything'" in message


def test_an_unknown_default_queue_is_refused() -> None:
    raw = default_raw()
    raw["default_queue"] = "misc"
    assert "routes.yaml: default_queue: unknown queue 'misc'" in refused(raw)


def test_every_severity_needs_a_response_time() -> None:
    raw = default_raw()
    del raw["severities"]["P4"]
    assert "severities: P4 is missing" in refused(raw)


def test_overflow_must_name_declared_queues() -> None:
    raw = default_raw()
    raw["overflow"] = [{"from": "vip", "to": "nowhere", "max_backlog": 5,
                        "max_oldest_wait_s": 60}]
    message = refused(raw)
    assert "overflow[0].from: unknown queue 'vip'" in message
    assert "overflow[0].to: unknown queue 'nowhere'" in message


def test_overflow_limits_must_be_positive() -> None:
    raw = default_raw()
    raw["overflow"][0]["max_backlog"] = 0
    assert "routes.yaml: overflow[0].max_backlog: must be >= 1" in refused(raw)


def test_an_incident_threshold_of_one_is_refused() -> None:
    raw = default_raw()
    raw["incidents"]["threshold"] = 1
    assert "routes.yaml: incidents.threshold: must be >= 2" in refused(raw)


def test_queue_codes_must_be_safe_for_redis_keys_and_the_command_line() -> None:
    raw = default_raw()
    raw["queues"]["VIP Desk"] = {"name": "大客户"}
    assert "queues.VIP Desk: queue codes are lower-case" in refused(raw)


def test_a_table_that_is_not_a_mapping_is_refused() -> None:
    assert refused(["a", "list"]).startswith("routes.yaml: a routing table is a mapping")


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("queues: [unclosed\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match=r"^mine\.yaml: not valid YAML"):
        load_table(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RoutingTableError, match=r"^absent\.yaml: cannot read"):
        load_table(tmp_path / "absent.yaml")


def test_a_users_own_table_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump({
        "version": "1",
        "default_queue": "desk",
        "queues": {"desk": {"name": "综合"}},
        "severities": {level: {"respond_within_min": 60, "priority": 50}
                       for level in ("P1", "P2", "P3", "P4")},
        "rules": [],
    }, allow_unicode=True), encoding="utf-8")
    table = load_table(path)
    assert table.default_queue == "desk" and table.rules == []
    assert table.incidents.threshold == 5 and table.repeat.window_days == 30
