"""Exported contracts: valid JSON Schema 2020-12, examples conform, AsyncAPI names every topic."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from complaints.schemas.topics import Topics
from tests.harness import REPO


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    result = subprocess.run([sys.executable, "-m", "complaints", "schemas", "export", str(out)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return out


def _schema(exported: Path, name: str) -> dict:
    return json.loads((exported / f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["CallCenterEvent", "WebEvent", "CloudEvent", "Complaint",
                                  "DeadLetter", "RoutingDecision", "HandlerAction",
                                  "CaseEvent", "Resolution"])
def test_every_event_schema_is_valid_draft_2020_12(exported: Path, name: str) -> None:
    schema = _schema(exported, name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_example_events_conform_to_the_exported_schemas(exported: Path) -> None:
    validators = {name: jsonschema.Draft202012Validator(_schema(exported, name))
                  for name in ("CallCenterEvent", "WebEvent", "CloudEvent")}
    checked = 0
    for path in sorted((REPO / "examples" / "events").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            if "specversion" in event:
                validators["CloudEvent"].validate(event)
                event = event["data"]
            model = "CallCenterEvent" if "call_id" in event else "WebEvent"
            validators[model].validate({"event_id": "x", "occurred_at":
                                        "2026-11-24T00:00:00+08:00", **event})
            checked += 1
    assert checked > 50


def test_schema_rejects_what_the_pipeline_rejects(exported: Path) -> None:
    validator = jsonschema.Draft202012Validator(_schema(exported, "WebEvent"))
    assert not validator.is_valid({"event_id": "x", "form_id": "F", "body": "hi"})
    assert not validator.is_valid({"event_id": "x", "occurred_at": "2026-11-24T00:00:00+08:00",
                                   "form_id": "F", "body": "hi", "extra": 1})


def test_asyncapi_document_names_every_topic_of_the_architecture(exported: Path) -> None:
    document = json.loads((exported / "asyncapi.json").read_text(encoding="utf-8"))
    assert document["asyncapi"].startswith("3.0")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(Topics.for_prefix("complaints").all())
    for message in document["components"]["messages"].values():
        jsonschema.Draft202012Validator.check_schema(message["payload"])
    for channel in document["channels"].values():
        assert channel["messages"], f"{channel['address']} has no payload"
    for operation in document["operations"].values():
        channel = operation["channel"]["$ref"].rsplit("/", 1)[1]
        assert channel in document["channels"]
