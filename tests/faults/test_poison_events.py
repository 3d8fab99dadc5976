"""Poison events: no single event can stop the pipeline (issue 20).

Every event whose content cannot become a complaint is one dead letter with its reason;
the events around it go on, the worker never exits, and the consumer lag returns to 0.
Only failures of Kafka or Redis may stop a worker (tests/faults/test_crashes_and_outages).
"""

import asyncio
import base64
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from complaints.local.generator import DemoGenerator, GeneratedEvent
from complaints.normalise import case_id_for
from complaints.ops.lag import measure_lag, totals
from complaints.schemas.dead_letter import RejectReason
from tests.harness import PipelineUnderTest, expected_cases, wait_for_cases

pytestmark = pytest.mark.broker

NOW = datetime.now(UTC).isoformat()
# Dense complaint clauses: most tokens are vocabulary of the default pack, negated and not.
CLAUSES = ["停电三天了还没来电", "电费突然翻倍要求核查", "没有停电但是电压不稳", "客服态度很差",
           "不是第一次投诉了", "要求赔偿冰箱里的东西", "网络信号差经常断网", "快递丢件没人管"]


@dataclass(frozen=True)
class Sent:
    """One event of the campaign and what it must become: a complaint (reason None), a
    dead letter with this reason, or nothing (an identical redelivery)."""

    event: GeneratedEvent
    reason: RejectReason | None
    redelivery: bool = False


def _web(event_id: str, body: str, **fields: object) -> GeneratedEvent:
    payload = {"event_id": event_id, "occurred_at": NOW, "form_id": "F-fuzz", "body": body,
               **fields}
    return GeneratedEvent("web", event_id.encode(), json.dumps(payload).encode())


def _call(event_id: str, summary: str) -> GeneratedEvent:
    payload = {"event_id": event_id, "occurred_at": NOW, "call_id": "CALL-fuzz",
               "summary": summary}
    return GeneratedEvent("callcenter", event_id.encode(), json.dumps(payload).encode())


def _poisons(rng: random.Random, n: int, valid: list[GeneratedEvent]) -> list[Sent]:
    """`n` events of every kind of poison, in a shuffled order."""
    kinds = [
        lambda i: Sent(GeneratedEvent("web", None, b"[" * 100_000 + b"]" * 100_000),
                       RejectReason.TOO_DEEP),
        lambda i: Sent(_web(f"deep-{i}", "停电", extra=json.loads("[" * 60 + "]" * 60)),
                       RejectReason.TOO_DEEP),
        lambda i: Sent(_web(f"far-{i}", "停电三天了还没来电",
                            occurred_at="9999-12-31T23:59:59+00:00"), RejectReason.INVALID_VALUE),
        lambda i: Sent(_web(f"past-{i}", "电费翻倍", occurred_at="0001-01-01T00:00:00+00:00"),
                       RejectReason.INVALID_VALUE),
        lambda i: Sent(_web(f"blank-{i}", rng.choice([" \t\n ", "\u200b\u200d\ufeff", "<p> </p>",
                                                      "&nbsp;", "\x1b\x07"])),
                       RejectReason.EMPTY_TEXT),
        lambda i: Sent(_call(f"blankcall-{i}", "\u3000 \u200b"), RejectReason.EMPTY_TEXT),
        lambda i: Sent(_web(f"markup-{i}", "[/]停电了[bold red]还没来电[/bold red] [link=x]"),
                       None),
        lambda i: Sent(_web(f"ctrl-{i}", "\x1b[31m停电\x1b[0m三天\x00了\u202e还没来电"), None),
        lambda i: Sent(_web(f"dense-{i}", "，".join(rng.choice(CLAUSES) for _ in range(1_900))[
            :19_500]), None),
        # Thousands of negated terms: the explanation stays small enough to publish.
        lambda i: Sent(_web(f"negated-{i}", ("没有停电，不是投诉，" * 2_000)[:20_000]), None),
    ]
    made = [kinds[i % len(kinds)](i) for i in range(n)]
    # A reused id with other content, and an identical redelivery, each after its original
    # (same key, so same partition: the original is always accepted first).
    for i in range(n // 4):
        original = valid[i]
        made.append(Sent(GeneratedEvent(original.source, original.key,
                                        _other_text(original.value, f"另一件事 {i}")),
                         RejectReason.CONFLICTING_DUPLICATE))
        made.append(Sent(valid[n // 4 + i], None, redelivery=True))
    return made


def _other_text(raw: bytes, text: str) -> bytes:
    """The same event (bare or CloudEvent) with other text."""
    payload = json.loads(raw)
    event = payload["data"] if "specversion" in payload else payload
    event["body" if "body" in event else "summary"] = text
    return json.dumps(payload, ensure_ascii=False).encode()


def _lag(pipeline: PipelineUnderTest) -> int:
    return sum(totals(asyncio.run(measure_lag(pipeline.settings)))["groups"].values())


def test_a_fuzz_campaign_of_20000_events_loses_nothing_and_never_stops_the_worker(
    pipeline: PipelineUnderTest,
) -> None:
    rng = random.Random(20)
    valid = list(DemoGenerator(seed=20, malformed_share=0, duplicate_share=0,
                               run_id="fuzz").events(16_400))
    poisons = _poisons(rng, 2_400, valid)
    worker = pipeline.start_worker()
    # Originals first, then the rest mixed: poisons sit inside batches of valid events.
    pipeline.produce_events(valid[: len(poisons) // 2])
    rest = [Sent(e, None) for e in valid[len(poisons) // 2:]] + poisons
    rng.shuffle(rest)
    pipeline.produce_events([s.event for s in rest])
    sent = [Sent(e, None) for e in valid[: len(poisons) // 2]] + rest
    assert len(sent) == 20_000

    made = [s for s in sent if s.reason is None and not s.redelivery]
    expected = expected_cases([s.event for s in made])
    assert len(expected) == len(made)
    wait_for_cases(pipeline, expected, 420)
    letters_expected = Counter(s.reason for s in sent if s.reason is not None)
    pipeline.wait_for(lambda: pipeline.counters().get("intake.dead_lettered", 0)
                      >= letters_expected.total(), 120, "every poison dead-lettered")
    pipeline.wait_for(lambda: _lag(pipeline) == 0, 120, "consumer lag back to 0")

    assert worker.alive(), "the worker exited"
    classified = [e["subject"] for e in pipeline.read_json(pipeline.topics.classified)]
    assert Counter(classified) == Counter(expected), "each valid event is one complaint"
    letters = [e["data"] for e in pipeline.read_json(pipeline.topics.dead_letter)]
    assert Counter(RejectReason(d["reason"]) for d in letters) == letters_expected
    poisoned = {s.event.value for s in sent if s.reason is not None}
    assert {base64.b64decode(d["original_b64"]) for d in letters} == poisoned
    conflicts = [d for d in letters if d["reason"] == RejectReason.CONFLICTING_DUPLICATE]
    assert all(d["content_sha256"] and d["earlier_content_sha256"]
               and d["content_sha256"] != d["earlier_content_sha256"] for d in conflicts)
    counters = pipeline.counters()
    assert counters["intake.duplicate"] == sum(s.redelivery for s in sent)
    assert counters["intake.conflicting_duplicate"] == len(conflicts)
    assert "stopping the worker" not in pipeline.worker_logs()


@pytest.mark.parametrize("tuning", ["true", "false"])  # pipeline/faust_tuning.py on, off
def test_the_reported_repros_end_as_dead_letters_and_the_worker_stays_up(
    pipeline: PipelineUnderTest, tuning: str,
) -> None:
    worker = pipeline.start_worker(COMPLAINTS_FAUST_TUNING=tuning)
    nested = b"[" * 100_000 + b"]" * 100_000
    far = _web("pf1", "停电三天了还没来电", occurred_at="9999-12-31T23:59:59+00:00")
    after = _web("after-1", "停电三天了还没来电")
    pipeline.produce(pipeline.topics.intake_web, [(None, nested), (far.key, far.value),
                                                  (after.key, after.value)])
    wait_for_cases(pipeline, expected_cases([after]), 90)
    pipeline.wait_for(lambda: len(pipeline.read(pipeline.topics.dead_letter)) == 2, 60,
                      "two dead letters")
    letters = {d["data"]["reason"] for d in pipeline.read_json(pipeline.topics.dead_letter)}
    assert letters == {"too_deep", "invalid_value"}
    assert worker.alive()


def test_an_event_whose_content_makes_intake_raise_is_dead_lettered_and_its_batch_goes_on(
    pipeline: PipelineUnderTest,
) -> None:
    # With the date check widened to the whole calendar, a date near its end passes
    # intake's checks and makes routing overflow when it adds the deadline: a poison no
    # check foresaw, the kind the per-event policy exists for.
    worker = pipeline.start_worker(COMPLAINTS_EVENT_TIME_WINDOW_DAYS="3660000",
                                   COMPLAINTS_BATCH_WINDOW_S="0.5")
    good = [_web(f"ok-{i}", "电费突然翻倍，要求核查") for i in range(30)]
    poison = _web("overflow-1", "停电三天了还没来电", occurred_at="9999-12-31T23:59:59+00:00")
    events = [*good[:15], poison, *good[15:]]
    pipeline.produce(pipeline.topics.intake_web, [(e.key, e.value) for e in events])
    wait_for_cases(pipeline, expected_cases(good), 90)
    pipeline.wait_for(lambda: len(pipeline.read(pipeline.topics.dead_letter)) == 1, 60,
                      "the poison dead-lettered")
    letter = pipeline.read_json(pipeline.topics.dead_letter)[0]["data"]
    assert letter["reason"] == "processing_error"
    assert letter["stage"] == "intake"
    assert letter["exception_type"] == "OverflowError"
    assert base64.b64decode(letter["original_b64"]) == poison.value
    assert worker.alive()
    case = case_id_for("web", "overflow-1", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    classified = {e["subject"] for e in pipeline.read_json(pipeline.topics.classified)}
    assert case not in classified and len(classified) == len(good)


def test_a_routing_decision_whose_content_makes_recovery_raise_is_dead_lettered(
    pipeline: PipelineUnderTest,
) -> None:
    worker = pipeline.start_worker()
    first = _web("ok-first", "电费突然翻倍，要求核查")
    pipeline.produce(pipeline.topics.intake_web, [(first.key, first.value)])
    wait_for_cases(pipeline, expected_cases([first]), 90)
    # The decision as routing wrote it, for another case, dated at the calendar's end.
    key, value = pipeline.read(pipeline.topics.routed)[0]
    envelope = json.loads(value)
    envelope["data"].update(case_id="C99991231-POISON0001",
                            received_at="9999-12-31T23:00:00+00:00")
    envelope["id"] = envelope["subject"] = "C99991231-POISON0001"
    poison = json.dumps(envelope, ensure_ascii=False).encode()
    second = _web("ok-second", "停电三天了还没来电")
    pipeline.produce(pipeline.topics.routed, [(b"C99991231-POISON0001", poison)])
    pipeline.produce(pipeline.topics.intake_web, [(second.key, second.value)])
    wait_for_cases(pipeline, expected_cases([first, second]), 90)
    pipeline.wait_for(lambda: len(pipeline.read(pipeline.topics.dead_letter)) == 1, 60,
                      "the poison dead-lettered")
    letter = pipeline.read_json(pipeline.topics.dead_letter)[0]["data"]
    assert (letter["reason"], letter["stage"]) == ("processing_error", "recovery")
    assert base64.b64decode(letter["original_b64"]) == poison
    assert worker.alive()
    assert key is not None
