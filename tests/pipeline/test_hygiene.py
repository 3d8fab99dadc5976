"""Secrets never reach the logs; personal data is masked in them."""

import json

import pytest

from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

SECRET = "s3cret-Zq81"


def test_worker_logs_carry_no_credentials_and_no_whole_phone_or_id_numbers(
    pipeline: PipelineUnderTest,
) -> None:
    worker = pipeline.start_worker(
        COMPLAINTS_LOG_LEVEL="debug", KAFKA_SASL_PASSWORD=SECRET, KAFKA_SASL_USERNAME="svc",
        COMPLAINTS_LOG_JSON="true",
    )
    bad = json.dumps({"event_id": "pii-1", "form_id": "F", "body": "电话13812345678 "
                      "身份证110101199003071234", "occurred_at": "not a time"},
                     ensure_ascii=False).encode()
    pipeline.produce(pipeline.topics.intake_web, [(b"pii-1", bad)])
    pipeline.wait_read(1)
    log = worker.log_path.read_text(errors="replace")
    assert "dead-lettered" in log
    assert SECRET not in log
    assert "13812345678" not in log and "199003071234" not in log
    json_lines = [line for line in log.splitlines() if line.startswith("{")]
    assert json_lines and all(json.loads(line)["level"] for line in json_lines)


def test_published_complaints_carry_masked_numbers_when_configured(
    pipeline: PipelineUnderTest,
) -> None:
    pipeline.start_worker(COMPLAINTS_MASK_OUTBOUND_PII="true")
    event = {"event_id": "pii-2", "form_id": "F", "occurred_at": "2026-11-24T09:00:00+08:00",
             "contact": {"phone": "13812345678"},
             "body": "停电了，回电13912345678，身份证110101199003071234"}
    pipeline.produce(pipeline.topics.intake_web,
                     [(b"pii-2", json.dumps(event, ensure_ascii=False).encode())])
    pipeline.wait_read(1)
    ((_key, raw),) = pipeline.read(pipeline.topics.classified)
    text = raw.decode()
    for secret in ("13812345678", "13912345678", "199003071234"):
        assert secret not in text
    complaint = json.loads(text)["data"]
    assert complaint["contact"]["phone"] == "138****5678"
    assert complaint["classification"]["category"] == "outage"
