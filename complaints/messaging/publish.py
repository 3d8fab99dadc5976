"""`complaints publish`: what an upstream system does — put events on the intake topics.

Uses kafka-python (a plain synchronous producer, as most upstream integrations are).
Each event goes to the intake topic of its source: CloudEvents by their `type`, bare
events by their shape (`call_id` → call-center, `form_id` → web), keyed by event id.
A broker that does not answer within `COMPLAINTS_CLI_TIMEOUT_S` is a `PublishError`.
"""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from complaints.schemas.envelope import CALLCENTER_EVENT_TYPE, WEB_EVENT_TYPE
from complaints.schemas.topics import Topics
from complaints.settings import Settings


class PublishError(Exception):
    """A file cannot be published; the message names the file and line."""


@dataclass(frozen=True)
class OutgoingEvent:
    topic: str
    key: bytes | None
    value: bytes
    where: str


@dataclass
class PublishReport:
    sent: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)


def _source_of(event: dict[str, object]) -> str | None:
    if "specversion" in event:
        return {CALLCENTER_EVENT_TYPE: "callcenter", WEB_EVENT_TYPE: "web"}.get(
            str(event.get("type")))
    if "call_id" in event:
        return "callcenter"
    if "form_id" in event:
        return "web"
    return None


def read_events(path: Path, topics: Topics, source: str | None = None) -> Iterator[OutgoingEvent]:
    """Events of a JSON (object or array) or JSONL file, each with its topic and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PublishError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PublishError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = list(enumerate(json.loads(text), start=1))
        except ValueError as exc:
            raise PublishError(f"{path}: not a JSON array ({exc})") from None
        where = "item"
    else:
        try:
            whole = json.loads(text) if stripped.startswith("{") else None
        except ValueError:
            whole = None
        if isinstance(whole, dict):
            items, where = [(1, whole)], "item"
        else:
            items, where = _jsonl(path, text), "line"
    by_source = {"callcenter": topics.intake_callcenter, "web": topics.intake_web}
    for number, item in items:
        place = f"{path}:{where} {number}"
        if not isinstance(item, dict):
            raise PublishError(f"{place}: expected a JSON object")
        event_source = source or _source_of(item)
        if event_source not in by_source:
            raise PublishError(
                f"{place}: cannot tell call-center from web event "
                "(no call_id/form_id or known CloudEvents type); use --source")
        event_id = item.get("id") if "specversion" in item else item.get("event_id")
        yield OutgoingEvent(
            topic=by_source[event_source],
            key=str(event_id).encode() if event_id else None,
            value=json.dumps(item, ensure_ascii=False).encode("utf-8"),
            where=place,
        )


def _jsonl(path: Path, text: str) -> list[tuple[int, object]]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except ValueError as exc:
            raise PublishError(f"{path}:line {number}: not JSON ({exc.msg})") from None
    return items


def publish_files(
    settings: Settings, paths: list[Path], source: str | None = None
) -> PublishReport:
    """Read every file first (so a bad line publishes nothing), then send and flush."""
    topics = Topics.for_prefix(settings.topic_prefix)
    events = [event for path in paths for event in read_events(path, topics, source)]
    report = PublishReport()
    timeout_s = settings.cli_timeout_s
    where = f"Kafka at {settings.kafka_bootstrap_servers}"
    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_list(), acks="all", linger_ms=5,
            bootstrap_timeout_ms=int(timeout_s * 1000), max_block_ms=int(timeout_s * 1000),
            **settings.kafka_client_options(),
        )
    except KafkaTimeoutError:
        raise PublishError(f"{where} did not answer within {timeout_s:g} s; "
                           "check KAFKA_BOOTSTRAP_SERVERS") from None
    except KafkaError:  # kafka-python 2's NoBrokersAvailable
        raise PublishError(f"cannot reach {where}; check KAFKA_BOOTSTRAP_SERVERS") from None
    try:
        futures = [(e, producer.send(e.topic, key=e.key, value=e.value)) for e in events]
        producer.flush(timeout=max(timeout_s, 30))
        for event, future in futures:
            future.get(timeout=timeout_s)
            report.sent[event.topic] += 1
    except KafkaTimeoutError:
        raise PublishError(f"{where} did not answer within {timeout_s:g} s "
                           f"({sum(report.sent.values())} of {len(events)} events confirmed); "
                           "check KAFKA_BOOTSTRAP_SERVERS") from None
    except KafkaError as exc:
        raise PublishError(f"{where}: {type(exc).__name__}: {exc} "
                           f"({sum(report.sent.values())} of {len(events)} events confirmed)"
                           ) from None
    finally:
        producer.close(timeout=5)
    return report
