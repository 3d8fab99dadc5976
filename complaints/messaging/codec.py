"""Bytes ↔ models, in one place: agents never parse or write JSON themselves.

`decode_intake` is the edge of the pipeline. It returns a validated event or a
`Rejection` that says exactly why the bytes cannot become a complaint, so the caller can
dead-letter them with the original bytes; it never raises on bad input.
"""

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, create_model

from complaints.messaging.records import InboundRecord
from complaints.schemas.dead_letter import DeadLetter, RejectReason
from complaints.schemas.envelope import (
    CALLCENTER_EVENT_TYPE,
    PIPELINE_SOURCE,
    WEB_EVENT_TYPE,
    CloudEvent,
)
from complaints.schemas.intake import (
    BLANK_TEXT,
    EVENT_TIME_WINDOW,
    MAX_EVENT_BYTES,
    MAX_JSON_DEPTH,
    CallCenterEvent,
    IntakeEvent,
    SourceName,
    WebEvent,
)

M = TypeVar("M", bound=BaseModel)

_MODEL_BY_SOURCE: dict[str, type[CallCenterEvent] | type[WebEvent]] = {
    "callcenter": CallCenterEvent,
    "web": WebEvent,
}
_SOURCE_BY_TYPE: dict[str, SourceName] = {
    CALLCENTER_EVENT_TYPE: "callcenter",
    WEB_EVENT_TYPE: "web",
}
_TEXT_FIELDS = {"summary", "transcript", "body", "subject"}
_CLOUDEVENT_MARK = b'"specversion"'
# A JSON string (its brackets are not nesting) and the brackets that are.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Largest original copied whole into a dead letter: everything intake could accept.
#: A larger one is kept truncated to this (base64 makes it a third larger, and the
#: dead letter must stay well below the broker's 1 MB default record limit).
DEAD_LETTER_ORIGINAL_BYTES = MAX_EVENT_BYTES
#: Longest `error` text a dead letter carries.
DEAD_LETTER_ERROR_CHARS = 1_000


@dataclass(frozen=True)
class Rejection:
    """Why an input was refused; becomes a `DeadLetter` together with its origin."""

    reason: RejectReason
    error: str
    event_id: str | None = None
    stage: str | None = None
    exception_type: str | None = None
    content_sha256: str | None = None
    earlier_content_sha256: str | None = None

    @classmethod
    def of_failure(cls, stage: str, error: BaseException,
                   event_id: str | None = None) -> "Rejection":
        """A `processing_error`: the event's content made a stage raise."""
        message = " ".join(str(error).split())[:300] or "(no message)"
        return cls(RejectReason.PROCESSING_ERROR, f"{stage} failed: {message}", event_id,
                   stage=stage, exception_type=type(error).__name__)


@dataclass(frozen=True)
class Decoded:
    """A valid intake event and the source system it belongs to."""

    event: IntakeEvent
    source: SourceName


def decode_intake(
    raw: bytes | None, topic_source: SourceName, *, now: datetime | None = None,
    time_window: timedelta = EVENT_TIME_WINDOW,
) -> Decoded | Rejection:
    """Validate one raw intake message (bare JSON or CloudEvents 1.0 structured).

    Its size and nesting are checked before it is parsed, and its `occurred_at` must lie
    within `time_window` of `now`: every later step (deadlines, calendars) can then rely
    on dates it can compute with.
    """
    if raw is None:
        return Rejection(RejectReason.INVALID_SHAPE, "empty message (tombstone)")
    if len(raw) > MAX_EVENT_BYTES:
        return Rejection(
            RejectReason.TOO_LARGE, f"{len(raw)} bytes exceeds the limit of {MAX_EVENT_BYTES}"
        )
    if _CLOUDEVENT_MARK not in raw:  # bare JSON, nearly every event: parsed and
        try:  # validated in one pass; anything it refuses goes the long way to say why
            event = _MODEL_BY_SOURCE[topic_source].model_validate_json(raw)
            return _in_time(Decoded(event, topic_source), now, time_window)
        except ValidationError:
            pass
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        return Rejection(RejectReason.TOO_DEEP,
                         f"JSON nested {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(RejectReason.NOT_UTF8, f"not UTF-8 at byte {exc.start}")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        return Rejection(RejectReason.NOT_JSON, f"not JSON: {exc}")
    if not isinstance(payload, dict):
        return Rejection(
            RejectReason.INVALID_SHAPE, f"expected a JSON object, got {type(payload).__name__}"
        )
    source: SourceName = topic_source
    if "specversion" in payload:
        unwrapped = _unwrap_cloudevent(payload)
        if isinstance(unwrapped, Rejection):
            return unwrapped
        payload, source = unwrapped
    decoded = _validate(payload, source)
    return decoded if isinstance(decoded, Rejection) else _in_time(decoded, now, time_window)


def json_depth(raw: bytes) -> int:
    """How deeply the JSON in `raw` nests arrays and objects, without parsing it.

    A parser recurses once per level, so a few kilobytes of `[` can exhaust Python's
    stack; this only counts. Brackets inside strings do not nest, and ordinary events
    have few brackets in all, so most of them are answered by one count.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _in_time(decoded: Decoded, now: datetime | None, window: timedelta) -> Decoded | Rejection:
    """The event, if it happened within `window` of `now`; else an `invalid_value`."""
    occurred = decoded.event.occurred_at
    now = now or datetime.now(UTC)
    if abs(occurred - now) <= window:  # aware datetimes: subtraction cannot overflow
        return decoded
    return Rejection(
        RejectReason.INVALID_VALUE,
        f"occurred_at {occurred.isoformat()} is more than {window.days} days from now "
        f"({now:%Y-%m-%d})",
        decoded.event.event_id,
    )


def content_sha256(event: IntakeEvent) -> str:
    """Hash of an event's validated content: the same for every delivery of the same
    event, bare or wrapped, whatever its key order or spacing."""
    return hashlib.sha256(event.__pydantic_serializer__.to_json(event)).hexdigest()


def _unwrap_cloudevent(payload: dict[str, Any]) -> tuple[dict[str, Any], SourceName] | Rejection:
    event_id = _str_or_none(payload.get("id"))
    try:
        envelope = CloudEvent.model_validate(payload)
    except ValidationError as exc:
        return Rejection(_reason_of(exc), "CloudEvents envelope: " + _describe(exc), event_id)
    source = _SOURCE_BY_TYPE.get(envelope.type)
    if source is None:
        known_prefix = envelope.type.rsplit(".v", 1)[0]
        if any(t.rsplit(".v", 1)[0] == known_prefix for t in _SOURCE_BY_TYPE):
            return Rejection(
                RejectReason.UNKNOWN_VERSION,
                f"event type {envelope.type!r} has an unknown version; "
                f"supported: {', '.join(_SOURCE_BY_TYPE)}",
                event_id,
            )
        return Rejection(
            RejectReason.UNKNOWN_TYPE, f"unknown CloudEvents type {envelope.type!r}", event_id
        )
    if not isinstance(envelope.data, dict):
        return Rejection(RejectReason.INVALID_SHAPE, "CloudEvents data must be a JSON object",
                         event_id)
    data = dict(envelope.data)
    data.setdefault("event_id", envelope.id)
    if envelope.time is not None:
        data.setdefault("occurred_at", envelope.time.isoformat())
    return data, source


def _validate(payload: dict[str, Any], source: SourceName) -> Decoded | Rejection:
    event_id = _str_or_none(payload.get("event_id"))
    version = payload.get("schema_version", 1)
    if version != 1:
        return Rejection(
            RejectReason.UNKNOWN_VERSION,
            f"schema_version {version!r} is not supported (supported: 1)",
            event_id,
        )
    try:
        event = _MODEL_BY_SOURCE[source].model_validate(payload)
    except ValidationError as exc:
        return Rejection(_reason_of(exc), _describe(exc), event_id)
    return Decoded(event=event, source=source)


def _reason_of(exc: ValidationError) -> RejectReason:
    errors = exc.errors()
    if any(e["type"] == "string_too_long" and _field(e) in _TEXT_FIELDS for e in errors):
        return RejectReason.TOO_LARGE
    if all(e["type"] == "missing" for e in errors):
        return RejectReason.MISSING_FIELD
    if any("summary or transcript is required" in str(e.get("msg")) for e in errors):
        return RejectReason.MISSING_FIELD
    if any(BLANK_TEXT in str(e.get("msg")) or (
            e["type"] == "string_too_short" and _field(e) in _TEXT_FIELDS) for e in errors):
        return RejectReason.EMPTY_TEXT
    return RejectReason.INVALID_SHAPE


def _field(error: Any) -> str:
    loc = error.get("loc") or ()
    return str(loc[-1]) if loc else ""


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _str_or_none(value: object) -> str | None:
    return value[:128] if isinstance(value, str) and value else None


def dead_letter(
    rejection: Rejection,
    raw: bytes | None,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    now: datetime | None = None,
) -> DeadLetter:
    """The dead-letter record for a rejected input, carrying its original bytes (their
    first `DEAD_LETTER_ORIGINAL_BYTES` when larger, so the record fits the broker)."""
    raw = raw or b""
    kept = raw[:DEAD_LETTER_ORIGINAL_BYTES]
    return DeadLetter(
        reason=rejection.reason,
        error=rejection.error[:DEAD_LETTER_ERROR_CHARS],
        stage=rejection.stage,
        exception_type=rejection.exception_type,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        source_key_b64=base64.b64encode(key[:DEAD_LETTER_KEY_BYTES]).decode()
        if key is not None else None,
        original_b64=base64.b64encode(kept).decode(),
        original_size=len(raw),
        original_truncated=len(kept) < len(raw),
        original_sha256=hashlib.sha256(raw).hexdigest(),
        event_id=rejection.event_id,
        content_sha256=rejection.content_sha256,
        earlier_content_sha256=rejection.earlier_content_sha256,
        rejected_at=now or datetime.now(UTC),
    )


#: Longest key a dead letter carries (and is published under).
DEAD_LETTER_KEY_BYTES = 1024


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The key a dead letter is published under: its input's, within bounds."""
    return key[:DEAD_LETTER_KEY_BYTES] if key else key


def dead_letter_id(record: InboundRecord) -> str:
    """The dead letter's CloudEvents id: the same for every redelivery of its input."""
    return f"dlq:{record.topic}:{record.partition}:{record.offset}"


def encode_cloudevent(
    event_type: str, event_id: str, data: BaseModel | bytes, subject: str | None = None,
    time: datetime | None = None,
) -> bytes:
    """An outbound event: CloudEvents 1.0 structured JSON, UTF-8, Chinese unescaped.

    The same JSON as `json.dumps` of the envelope with `data.model_dump(mode="json")`,
    written in one pass: the payload by pydantic's own serializer, the envelope around it
    by hand (cheaper than `json.dumps` of the whole, docs/benchmarks.md). `data` may be that
    payload already serialized, when it is also stored elsewhere.
    """
    head = "".join((
        '{"specversion":"1.0","id":', _quote(event_id), ',"source":', _SOURCE,
        ',"type":', _quote(event_type),
        ',"time":', _quote((time or datetime.now(UTC)).isoformat()),
        ',"datacontenttype":"application/json","data":',
    ))
    tail = "}" if subject is None else f',"subject":{_quote(subject)}}}'
    payload = data if isinstance(data, bytes) else data.__pydantic_serializer__.to_json(data)
    return b"".join((head.encode(), payload, tail.encode()))


_quote = json.JSONEncoder(ensure_ascii=False).encode  # a str as a JSON string
_SOURCE = _quote(PIPELINE_SOURCE)


def decode_cloudevent(raw: bytes, model: type[M]) -> tuple[CloudEvent, M]:
    """Parse an outbound event back into its envelope and typed payload (for consumers),
    in one pass over the JSON (cheaper than envelope first, then payload)."""
    envelope = _envelope_of(model).model_validate_json(raw)
    return envelope, envelope.data


@functools.cache
def _envelope_of(model: type[M]) -> type[CloudEvent]:
    """`CloudEvent` whose `data` is a `model`."""
    return create_model(f"{model.__name__}CloudEvent", __base__=CloudEvent,
                        data=(model, Field(description="The event payload.")))
