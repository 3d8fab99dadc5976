"""`/metrics` scraped during a run: every metric family operators rely on is there and
moves with the traffic (events per stage, dead letters, classification latency, queue
depth and age, SLA warnings and breaches, consumer lag, rule-pack version)."""

import json
import re
import time
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SAMPLE = re.compile(r"^(complaints_[a-z_]+)(\{[^}]*\})? (\S+)$")


def scrape(port: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if match := SAMPLE.match(line):
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def family(samples: dict[str, float], name: str) -> float:
    """Sum of a family's samples (all label sets)."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def test_every_metric_family_changes_while_events_flow(pipeline: PipelineUnderTest) -> None:
    pipeline.redis.set(f"{pipeline.prefix}:clock", (T0 + timedelta(minutes=1)).isoformat())
    worker = pipeline.start_worker(COMPLAINTS_CLOCK="redis")
    port = worker.env["COMPLAINTS_WEB_PORT"]
    pipeline.wait_for(lambda: _answers(port), 60, "the worker's web server")
    first = scrape(port)

    events = [(f"m{n}".encode(), json.dumps({
        "event_id": f"m{n}", "occurred_at": T0.isoformat(), "form_id": "F",
        "body": "小区停电了，什么时候来电"}, ensure_ascii=False).encode()) for n in range(20)]
    pipeline.produce(pipeline.topics.intake_web, [*events, (b"bad", b"{not json")])
    pipeline.wait_read(21)
    time.sleep(6)  # one refresh of the queue and lag gauges
    second = scrape(port)
    clock = f"{pipeline.prefix}:clock"
    pipeline.redis.set(clock, (T0 + timedelta(hours=2, minutes=30)).isoformat())  # 80 %
    pipeline.wait_for(lambda: family(scrape(port), "complaints_sla_warnings_total") >= 20,
                      30, "SLA warnings")
    pipeline.redis.set(clock, (T0 + timedelta(hours=4)).isoformat())  # past the fix deadline
    pipeline.wait_for(lambda: family(scrape(port), "complaints_sla_breaches_total") >= 20,
                      30, "SLA breaches")
    third = scrape(port)

    grew = {
        "complaints_stage_events_total": 41,  # 21 in, 20 out (+ classify, route)
        "complaints_dead_lettered_total": 1,
        "complaints_classification_seconds_count": 20,
        "complaints_case_events_total": 20,
    }
    for name, at_least in grew.items():
        assert family(second, name) - family(first, name) >= at_least, name
    assert family(second, "complaints_queue_depth") >= 20 > family(first, "complaints_queue_depth")
    assert family(second, "complaints_queue_oldest_age_seconds") > 0
    assert family(third, "complaints_sla_warnings_total") > family(second,
                                                                    "complaints_sla_warnings_total")
    assert family(third, "complaints_sla_breaches_total") >= 1
    lag = [k for k in third if k.startswith("complaints_consumer_lag{")]
    assert any(pipeline.topics.intake_web in k for k in lag)
    assert any(k.startswith("complaints_rule_pack_info{") for k in first)


def _answers(port: str) -> bool:
    try:
        scrape(port)
        return True
    except OSError:
        return False
