"""A running worker picks up an edited rule pack without a restart, and keeps the last
good pack when the file becomes invalid — shown through the real broker."""

import json
from pathlib import Path

import pytest

from complaints.classifier import default_pack_path, load_default_pack
from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

TEXT = "小区的充电桩扫码后一直不出电，钱扣了"
EXTRA_RULE = """
  - id: test.charging_pile
    target: category:metering
    description: added while the worker runs
    weight: 9
    terms: [充电桩]
"""


def classification_of(pipeline: PipelineUnderTest, event_id: str) -> dict:
    for envelope in pipeline.read_json(pipeline.topics.classified):
        if envelope["data"]["source_event_ids"] == [event_id]:
            return envelope["data"]["classification"]
    raise AssertionError(f"{event_id} not classified")


def send(pipeline: PipelineUnderTest, event_id: str, total: int) -> dict:
    event = {"event_id": event_id, "occurred_at": "2026-11-24T09:00:00+08:00",
             "form_id": "F", "body": TEXT}
    pipeline.produce(pipeline.topics.intake_web,
                     [(event_id.encode(), json.dumps(event, ensure_ascii=False).encode())])
    pipeline.wait_read(total)
    return classification_of(pipeline, event_id)


def test_an_edited_pack_applies_without_restart_and_a_broken_one_is_refused(
    pipeline: PipelineUnderTest, tmp_path: Path,
) -> None:
    pack = tmp_path / "rules.yaml"
    original = default_pack_path().read_text(encoding="utf-8")
    pack.write_text(original, encoding="utf-8")
    worker = pipeline.start_worker(COMPLAINTS_RULES_PATH=str(pack))

    before = send(pipeline, "reload-1", 1)
    assert before["category"] != "metering"

    version = load_default_pack().version
    edited = original.replace(f'version: "{version}"', f'version: "{version}-site"') + EXTRA_RULE
    assert edited != original + EXTRA_RULE, "the test must change the version line"
    pack.write_text(edited, encoding="utf-8")
    after = send(pipeline, "reload-2", 2)
    assert after["category"] == "metering"
    assert after["rule_pack_version"] == f"{version}-site"
    assert any(m["rule_id"] == "test.charging_pile" for m in after["matches"])

    pack.write_text(edited.replace("weight: 9", "weight: -9"), encoding="utf-8")
    kept = send(pipeline, "reload-3", 3)
    assert kept["rule_pack_version"] == f"{version}-site"
    assert kept["category"] == "metering"
    assert worker.alive()
    assert "rule 'test.charging_pile'" in pipeline.worker_logs()
