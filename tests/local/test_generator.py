"""The demo generator knows exactly what it made, so the demo can check the pipeline."""

from collections import Counter
from datetime import UTC, datetime

from complaints.local.generator import MALFORMED_KINDS, DemoGenerator
from complaints.messaging.codec import Decoded, Rejection, decode_intake
from complaints.schemas.dead_letter import RejectReason


def test_every_malformed_event_is_rejected_for_the_reason_the_generator_intended() -> None:
    generator = DemoGenerator(seed=3, malformed_share=0.3, duplicate_share=0.1)
    outcomes: Counter[str] = Counter()
    valid_keys, valid_values = set(), set()
    for event in generator.events(400):
        result = decode_intake(event.value, event.source)  # type: ignore[arg-type]
        if event.malformed is RejectReason.CONFLICTING_DUPLICATE:  # refused by its history
            assert isinstance(result, Decoded)
            assert event.key in valid_keys and event.value not in valid_values
            outcomes["malformed"] += 1
        elif event.malformed is not None:
            assert isinstance(result, Rejection)
            assert result.reason == event.malformed
            outcomes["malformed"] += 1
        else:
            assert isinstance(result, Decoded), result
            outcomes["duplicate" if event.duplicate else "valid"] += 1
            valid_keys.add(event.key)
            valid_values.add(event.value)
    tally = generator.tally
    assert tally.total == 400
    assert outcomes == Counter(valid=tally.valid, duplicate=tally.duplicates,
                               malformed=tally.malformed_total)
    assert set(tally.malformed) == {reason.value for reason in MALFORMED_KINDS}


def test_same_seed_gives_the_same_traffic() -> None:
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    first = [e.value for e in DemoGenerator(seed=11, run_id="r", start=start).events(50)]
    second = [e.value for e in DemoGenerator(seed=11, run_id="r", start=start).events(50)]
    assert first == second
