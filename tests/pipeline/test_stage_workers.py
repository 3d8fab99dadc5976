"""Stages in workers of their own: `COMPLAINTS_STAGES=intake` and `=recovery` share the
consumer group, and each topic's partitions go to the workers that run its stage."""

import time

import pytest

from complaints.local.generator import DemoGenerator
from tests.harness import (
    PipelineUnderTest,
    assert_exactly_once_by_id,
    expected_cases,
    ids_by_case,
    opened_cases,
    publish_in_background,
    wait_for_cases,
)

pytestmark = pytest.mark.broker


def test_routed_complaints_wait_for_a_recovery_worker_then_each_case_opens_once(
    pipeline: PipelineUnderTest,
) -> None:
    events = list(DemoGenerator(seed=51, malformed_share=0, duplicate_share=0,
                                run_id="stages").events(600))
    expected = expected_cases(events)
    pipeline.start_worker(COMPLAINTS_STAGES="intake")
    publish_in_background(pipeline, events, rate=600).join(timeout=60)
    pipeline.wait_for(lambda: set(ids_by_case(pipeline, pipeline.topics.routed)) >= expected,
                      120, "every complaint routed by the intake worker")
    time.sleep(2)
    assert opened_cases(pipeline) == set(), "an intake-only worker opened cases"

    pipeline.start_worker(COMPLAINTS_STAGES="recovery")
    wait_for_cases(pipeline, expected, 120)
    assert_exactly_once_by_id(pipeline, expected)


def test_an_intake_worker_and_a_recovery_worker_carry_a_flow_together(
    pipeline: PipelineUnderTest,
) -> None:
    events = list(DemoGenerator(seed=52, malformed_share=0.05, duplicate_share=0.05,
                                run_id="split").events(1_500))
    expected = expected_cases(events)
    pipeline.start_worker(COMPLAINTS_STAGES="recovery")
    pipeline.start_worker(COMPLAINTS_STAGES="intake")
    publish_in_background(pipeline, events, rate=500).join(timeout=60)
    wait_for_cases(pipeline, expected, 180)
    assert_exactly_once_by_id(pipeline, expected)
    letters = pipeline.read_json(pipeline.topics.dead_letter)
    assert len({d["id"] for d in letters}) == sum(e.malformed is not None for e in events)
