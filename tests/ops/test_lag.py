"""`complaints lag` shows what the workers have not processed yet, per partition."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker


def lag_json(pipeline: PipelineUnderTest) -> dict:
    result = subprocess.run([sys.executable, "-m", "complaints", "lag", "--json"],
                            env={**os.environ, **pipeline.env()}, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lag_lists_every_intake_partition_and_drops_to_zero_once_workers_catch_up(
    pipeline: PipelineUnderTest,
) -> None:
    events = [(f"e{n}".encode(), json.dumps({
        "event_id": f"lag-{n}", "occurred_at": "2026-11-24T09:00:00+08:00",
        "form_id": "F", "body": "宽带又断网了"}).encode()) for n in range(40)]
    pipeline.produce(pipeline.topics.intake_web, events)

    before = lag_json(pipeline)
    partitions = {(r["topic"], r["partition"]) for r in before["partitions"]}
    consumed = (pipeline.topics.intake_web, pipeline.topics.intake_callcenter,
                pipeline.topics.routed, pipeline.topics.actions)
    assert partitions == {(topic, p) for topic in consumed
                          for p in range(pipeline.settings.partitions)}
    assert before["groups"][pipeline.settings.app_id] == 40
    assert all(r["committed"] is None for r in before["partitions"])

    pipeline.start_worker()
    pipeline.wait_read(40)
    deadline = time.monotonic() + 30
    after = lag_json(pipeline)
    while after["groups"][pipeline.settings.app_id] and time.monotonic() < deadline:
        time.sleep(1)
        after = lag_json(pipeline)
    assert after["groups"][pipeline.settings.app_id] == 0
    web = [r for r in after["partitions"] if r["topic"] == pipeline.topics.intake_web]
    assert sum(r["end"] for r in web) == 40
