"""Intake through the real broker and Redis: one complaint per event, nothing lost.

Each test starts a `complaints worker` process against the session's embedded Tansu
broker and Valkey server, publishes with a real producer and reads the real topics.
"""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from complaints.schemas.dead_letter import RejectReason
from tests.harness import REPO, PipelineUnderTest

pytestmark = pytest.mark.broker

EXAMPLES = sorted((REPO / "examples" / "events").glob("*.jsonl"))


def example_event_ids() -> set[str]:
    ids = set()
    for path in EXAMPLES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                event = json.loads(line)
                if "specversion" in event:  # the data's own id wins over the envelope's
                    ids.add(event["data"].get("event_id") or event["id"])
                else:
                    ids.add(event["event_id"])
    return ids


def publish_cli(pipeline: PipelineUnderTest, *files: Path) -> subprocess.CompletedProcess[str]:
    env = pipeline.env()
    return subprocess.run([sys.executable, "-m", "complaints", "publish", *map(str, files)],
                          env={**__import__("os").environ, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


# With the Faust tuning off (`COMPLAINTS_FAUST_TUNING=false`), the worker runs on the
# libraries' own behaviour only (`pipeline/faust_tuning.py`) and must do the same.
@pytest.mark.parametrize("tuning", ["true", "false"])
def test_every_valid_event_yields_exactly_one_classified_complaint_and_replays_add_none(
    pipeline: PipelineUnderTest, tuning: str,
) -> None:
    expected_ids = example_event_ids()
    assert len(expected_ids) >= 60, "the examples should cover every industry"
    pipeline.start_worker(COMPLAINTS_FAUST_TUNING=tuning)

    first = publish_cli(pipeline, *EXAMPLES)
    assert first.returncode == 0, first.stderr
    assert f"published {len(expected_ids)} events" in first.stdout
    pipeline.wait_read(len(expected_ids))

    complaints = pipeline.read_json(pipeline.topics.classified)
    assert len(complaints) == len(expected_ids)
    source_ids = [c["data"]["source_event_ids"][0] for c in complaints]
    assert sorted(source_ids) == sorted(expected_ids)
    assert len({c["data"]["case_id"] for c in complaints}) == len(expected_ids)
    for envelope in complaints:
        assert envelope["specversion"] == "1.0"
        assert envelope["type"] == "cn.complaints.complaint.classified.v1"
        classification = envelope["data"]["classification"]
        assert classification["rule_pack_version"]
        assert classification["category"]
    assert pipeline.read(pipeline.topics.dead_letter) == []

    again = publish_cli(pipeline, *EXAMPLES)
    assert again.returncode == 0, again.stderr
    pipeline.wait_read(2 * len(expected_ids))
    assert len(pipeline.read(pipeline.topics.classified)) == len(expected_ids)
    assert pipeline.counters()["intake.duplicate"] == len(expected_ids)


def _valid(event_id: str) -> dict:
    return {"event_id": event_id, "occurred_at": "2026-11-24T10:00:00+08:00",
            "form_id": "F-1", "body": "快递丢件一周了没人处理"}


INVALID_INPUTS: dict[RejectReason, bytes] = {
    RejectReason.NOT_JSON: b'{"event_id": "broken", "body": ',
    RejectReason.NOT_UTF8: "投诉电费".encode("gb18030") + b"\xff",
    RejectReason.INVALID_SHAPE: json.dumps({**_valid("shape"), "attachments": "none"}).encode(),
    RejectReason.MISSING_FIELD: json.dumps({"event_id": "missing", "form_id": "F"}).encode(),
    RejectReason.TOO_LARGE: json.dumps({**_valid("large"), "body": "电" * 20_001}).encode(),
    RejectReason.UNKNOWN_VERSION: json.dumps({**_valid("v9"), "schema_version": 9}).encode(),
    RejectReason.UNKNOWN_TYPE: json.dumps({"specversion": "1.0", "id": "t", "source": "/x",
                                          "type": "com.example.unknown", "data": {}}).encode(),
}


def test_every_kind_of_invalid_input_is_dead_lettered_once_with_reason_and_original_bytes(
    pipeline: PipelineUnderTest,
) -> None:
    pipeline.start_worker()
    messages = [(reason.value.encode(), payload) for reason, payload in INVALID_INPUTS.items()]
    pipeline.produce(pipeline.topics.intake_web, [*messages, (b"ok", json.dumps(
        _valid("fine-1"), ensure_ascii=False).encode())])
    pipeline.wait_read(len(messages) + 1)

    letters = [envelope["data"] for envelope in pipeline.read_json(pipeline.topics.dead_letter)]
    assert sorted(letter["reason"] for letter in letters) == sorted(
        reason.value for reason in INVALID_INPUTS)
    for letter in letters:
        reason = RejectReason(letter["reason"])
        assert base64.b64decode(letter["original_b64"]) == INVALID_INPUTS[reason]
        assert base64.b64decode(letter["source_key_b64"]) == reason.value.encode()
        assert letter["source_topic"] == pipeline.topics.intake_web
        assert letter["source_offset"] >= 0
        assert letter["error"]
    assert len(pipeline.read(pipeline.topics.classified)) == 1
    assert pipeline.counters()["intake.dead_lettered"] == len(INVALID_INPUTS)
