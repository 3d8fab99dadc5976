"""Faults while events flow: killed workers, a stopped worker, a Redis restart, poison.

The delivery contract these tests hold the pipeline to (README, "Topics and
guarantees"): every valid event yields exactly one complaint, classification and routing
decision *by id*; after a crash a topic may carry a duplicate, and a duplicate always
carries the same id (case id, CloudEvents id, case event version), so consumers drop it.
"""

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.agents.acknowledgements import STAGE_FAILED_EXIT
from complaints.local.generator import DemoGenerator
from complaints.messaging.codec import Decoded, decode_intake
from tests.harness import (
    PipelineUnderTest,
    assert_exactly_once_by_id,
    expected_cases,
    ids_by_case,
    pipeline_on_own_servers,
    publish_in_background,
    wait_for_cases,
)

pytestmark = pytest.mark.broker


def test_sigkill_three_times_while_5000_events_flow_loses_and_doubles_nothing(
    pipeline: PipelineUnderTest,
) -> None:
    events = list(DemoGenerator(seed=41, malformed_share=0.05, duplicate_share=0.05,
                                run_id="kill").events(5_000))
    expected = expected_cases(events)
    pipeline.start_worker()
    publisher = publish_in_background(pipeline, events, rate=500)
    for _ in range(3):
        pipeline.wait_for(lambda: pipeline.counters().get("intake.read", 0) > 0, 60,
                          "the worker to make progress")
        time.sleep(2)
        pipeline.workers[-1].kill()
        pipeline.start_worker()
    publisher.join(timeout=60)
    wait_for_cases(pipeline, expected, 240)
    time.sleep(2)
    assert_exactly_once_by_id(pipeline, expected)
    letters = pipeline.read_json(pipeline.topics.dead_letter)
    malformed = sum(e.malformed is not None for e in events)
    assert len({d["id"] for d in letters}) == malformed


def test_when_one_of_two_workers_stops_the_other_finishes_the_work(
    pipeline: PipelineUnderTest,
) -> None:
    events = list(DemoGenerator(seed=42, malformed_share=0, duplicate_share=0,
                                run_id="pair").events(2_000))
    expected = expected_cases(events)
    first, _second = pipeline.start_worker(), pipeline.start_worker()
    publisher = publish_in_background(pipeline, events, rate=400)
    pipeline.wait_for(lambda: pipeline.counters().get("intake.read", 0) > 200, 90,
                      "both workers running")
    first.stop()
    publisher.join(timeout=60)
    wait_for_cases(pipeline, expected, 180)
    assert_exactly_once_by_id(pipeline, expected)


def test_a_redis_restart_mid_run_is_waited_out_and_nothing_is_lost(tmp_path: Path) -> None:
    with pipeline_on_own_servers(tmp_path) as pipeline:
        redis_server = pipeline.services.redis
        events = list(DemoGenerator(seed=43, malformed_share=0, duplicate_share=0,
                                    run_id="redis").events(2_000))
        expected = expected_cases(events)
        worker = pipeline.start_worker()
        publisher = publish_in_background(pipeline, events, rate=400)
        pipeline.wait_for(lambda: pipeline.counters().get("intake.read", 0) > 300, 90,
                          "the worker to make progress")
        redis_server.stop()
        time.sleep(3)  # the worker keeps retrying, acknowledging nothing to Kafka
        assert worker.alive()
        redis_server.start()
        redis_server.wait_listening(10)
        publisher.join(timeout=60)
        # Redis kept nothing (memory only): the stages rebuild what they need, and a
        # redelivered event may be processed again — with the same ids.
        pipeline.wait_for(
            lambda: set(ids_by_case(pipeline, pipeline.topics.routed)) >= expected,
            180, "every case routed after the restart")
        assert worker.alive()
        for topic in (pipeline.topics.classified, pipeline.topics.routed):
            seen = ids_by_case(pipeline, topic)
            assert set(seen) == expected
            assert all(len(ids) == 1 for ids in seen.values())
        assert "redis unavailable" in worker.log_path.read_text(errors="replace")


def test_a_batch_that_fails_stops_the_worker_unacknowledged_and_comes_again(
        tmp_path: Path) -> None:
    """Redis refusing writes (out of memory) is no outage a retry waits out: the stage's
    batch fails. The worker stops without acknowledging it; restarted, it gets the batch
    again, and nothing is lost (Faust alone would have committed the failed batch)."""
    with pipeline_on_own_servers(tmp_path) as pipeline:
        events = list(DemoGenerator(seed=44, malformed_share=0, duplicate_share=0,
                                    run_id="refused").events(600))
        expected = expected_cases(events)
        first = pipeline.start_worker()
        pipeline.produce_events(events[:100])
        wait_for_cases(pipeline, expected_cases(events[:100]), 120)
        pipeline.redis.config_set("maxmemory", 1)  # every write now refused (OOM)
        pipeline.produce_events(events[100:])
        deadline = time.monotonic() + 60
        while first.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert first.process is not None and first.process.poll() == STAGE_FAILED_EXIT
        assert "stage failed on a batch" in first.log_path.read_text(errors="replace")
        pipeline.redis.config_set("maxmemory", 0)
        pipeline.start_worker()
        wait_for_cases(pipeline, expected, 180)
        assert_exactly_once_by_id(pipeline, expected)


# -- poison -----------------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
VALID = {"event_id": "x", "occurred_at": "2026-11-24T09:00:00+08:00", "form_id": "F",
         "body": "停电了"}
malformed = st.one_of(
    st.binary(max_size=300).filter(lambda b: not b.strip().startswith(b"{")),
    st.text(max_size=200).map(lambda t: ("{" + t).encode()),
    json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=12), json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()),
    st.sampled_from(sorted(VALID)).flatmap(lambda key: json_values.map(
        lambda v, key=key: json.dumps({**VALID, key: v, "schema_version": 1}).encode())
    ).filter(lambda raw: not _accidentally_valid(raw)),
    st.integers().filter(lambda n: n != 1).map(
        lambda n: json.dumps({**VALID, "schema_version": n}).encode()),
    st.text(min_size=1, max_size=30).map(lambda t: json.dumps({
        "specversion": "1.0", "id": "x", "source": "/fuzz", "type": t, "data": VALID}).encode())
    .filter(lambda raw: not _accidentally_valid(raw)),
)


def _accidentally_valid(raw: bytes) -> bool:
    return isinstance(decode_intake(raw, "web"), Decoded)


def test_10000_generated_malformed_events_are_all_dead_lettered_and_the_worker_stays_up(
    pipeline: PipelineUnderTest,
) -> None:
    worker = pipeline.start_worker()
    sent: list[bytes] = []

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(malformed, min_size=100, max_size=100))
    def publish(batch: list[bytes]) -> None:
        pipeline.produce(pipeline.topics.intake_web, [(None, raw) for raw in batch])
        sent.extend(batch)

    publish()
    assert len(sent) == 10_000
    pipeline.wait_for(lambda: pipeline.counters().get("intake.dead_lettered", 0) >= len(sent),
                      240, "every malformed event dead-lettered")
    assert worker.alive()
    letters = [e["data"] for e in pipeline.read_json(pipeline.topics.dead_letter)]
    assert len(letters) == len(sent)
    assert all(letter["reason"] and letter["error"] for letter in letters)
    import base64

    assert sorted(base64.b64decode(letter["original_b64"]) for letter in letters) == sorted(sent)
    assert pipeline.read(pipeline.topics.classified) == []
