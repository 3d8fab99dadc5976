"""The edge of the pipeline: which bytes become events and why the rest are refused."""

import base64
import json

import pytest

from complaints.messaging.codec import (
    Decoded,
    Rejection,
    dead_letter,
    decode_cloudevent,
    decode_intake,
    encode_cloudevent,
)
from complaints.schemas.complaint import Complaint
from complaints.schemas.dead_letter import RejectReason
from complaints.schemas.envelope import CloudEvent

WEB = {"event_id": "w-1", "occurred_at": "2026-11-24T09:00:00+08:00", "form_id": "F1",
       "body": "电费突然翻倍，要求核查"}
CALL = {"event_id": "c-1", "occurred_at": "2026-11-24T09:00:00+08:00", "call_id": "CALL-1",
        "summary": "客户来电反映小区停电三小时"}


def raw(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def test_valid_bare_web_and_callcenter_events_decode() -> None:
    assert isinstance(decode_intake(raw(WEB), "web"), Decoded)
    decoded = decode_intake(raw(CALL), "callcenter")
    assert isinstance(decoded, Decoded)
    assert decoded.event.event_id == "c-1"


def test_cloudevent_envelope_is_unwrapped_and_its_type_picks_the_model() -> None:
    data = {k: v for k, v in WEB.items() if k not in ("event_id", "occurred_at")}
    envelope = {"specversion": "1.0", "id": "ce-9", "source": "/web/app",
                "type": "cn.complaints.intake.web.v1", "time": "2026-11-24T09:00:00+08:00",
                "data": data}
    decoded = decode_intake(raw(envelope), "callcenter")
    assert isinstance(decoded, Decoded)
    assert decoded.source == "web"
    assert decoded.event.event_id == "ce-9"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe\x00abc", RejectReason.NOT_UTF8),
        (b'{"event_id": "x",', RejectReason.NOT_JSON),
        (b"[1, 2]", RejectReason.INVALID_SHAPE),
        (raw({**WEB, "body": "长" * 20_001}), RejectReason.TOO_LARGE),
        (b"{" + b" " * 300_000 + b"}", RejectReason.TOO_LARGE),
        (raw({**WEB, "schema_version": 2}), RejectReason.UNKNOWN_VERSION),
        (raw({"specversion": "1.0", "id": "1", "source": "/x",
              "type": "cn.complaints.intake.web.v7", "data": {}}), RejectReason.UNKNOWN_VERSION),
        (raw({"specversion": "1.0", "id": "1", "source": "/x",
              "type": "com.example.other", "data": {}}), RejectReason.UNKNOWN_TYPE),
        (raw({k: v for k, v in WEB.items() if k != "body"}), RejectReason.MISSING_FIELD),
        (raw({k: v for k, v in CALL.items() if k != "summary"}), RejectReason.MISSING_FIELD),
        (raw({**WEB, "customer": {"tier": "platinum"}}), RejectReason.INVALID_SHAPE),
        (raw({**WEB, "occurred_at": "yesterday"}), RejectReason.INVALID_SHAPE),
        (raw({**WEB, "unexpected": 1}), RejectReason.INVALID_SHAPE),
        (b"[" * 100_000 + b"]" * 100_000, RejectReason.TOO_DEEP),
        (raw({**WEB, "deep": json.loads("[" * 40 + "]" * 40)}), RejectReason.TOO_DEEP),
        (raw({"specversion": "1.0", "id": "1", "source": "/x", "type": "t",
              "data": {"a": [{"b": [{"c": [{}]}]}] * 2} | {"d": "[" * 50}}),
         RejectReason.UNKNOWN_TYPE),  # brackets inside strings do not nest
        (raw({**WEB, "occurred_at": "9999-12-31T23:59:59+00:00"}), RejectReason.INVALID_VALUE),
        (raw({**WEB, "occurred_at": "0001-01-01T00:00:00+00:00"}), RejectReason.INVALID_VALUE),
        (raw({"specversion": "1.0", "id": "ce-far", "source": "/x",
              "type": "cn.complaints.intake.web.v1", "time": "9999-12-31T23:59:59Z",
              "data": {"form_id": "F", "body": "停电"}}), RejectReason.INVALID_VALUE),
        (raw({**WEB, "body": ""}), RejectReason.EMPTY_TEXT),
        (raw({**CALL, "summary": " \n\t "}), RejectReason.EMPTY_TEXT),
    ],
)
def test_invalid_input_is_rejected_with_its_reason(payload: bytes, reason: RejectReason) -> None:
    source = "callcenter" if b"call_id" in payload else "web"
    result = decode_intake(payload, source)
    assert isinstance(result, Rejection)
    assert result.reason == reason
    assert result.error


def test_the_time_window_is_measured_from_now_and_can_be_set() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert isinstance(decode_intake(raw(WEB), "web", now=now), Decoded)
    later = decode_intake(raw(WEB), "web", now=now + timedelta(days=40),
                          time_window=timedelta(days=30))
    assert isinstance(later, Rejection)
    assert later.reason == RejectReason.INVALID_VALUE
    assert "occurred_at" in later.error


def test_rejection_keeps_the_event_id_when_it_can_be_read() -> None:
    result = decode_intake(raw({**WEB, "schema_version": 3}), "web")
    assert isinstance(result, Rejection)
    assert result.event_id == "w-1"


def test_dead_letter_carries_original_bytes_and_position() -> None:
    original = b"\xffnot utf8"
    result = decode_intake(original, "web")
    assert isinstance(result, Rejection)
    letter = dead_letter(result, original, b"k1", "complaints.intake.web.v1", 3, 42)
    assert base64.b64decode(letter.original_b64) == original
    assert base64.b64decode(letter.source_key_b64 or "") == b"k1"
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "complaints.intake.web.v1", 3, 42)


def test_a_dead_letter_of_a_huge_input_keeps_its_beginning_its_hash_and_says_so() -> None:
    import hashlib

    from complaints.messaging.codec import DEAD_LETTER_ORIGINAL_BYTES

    original = b"x" * (DEAD_LETTER_ORIGINAL_BYTES * 3)
    result = decode_intake(original, "web")
    assert isinstance(result, Rejection)
    letter = dead_letter(result, original, b"k" * 5000, "complaints.intake.web.v1", 0, 7)
    assert letter.original_truncated
    assert letter.original_size == len(original)
    assert base64.b64decode(letter.original_b64) == original[:DEAD_LETTER_ORIGINAL_BYTES]
    assert letter.original_sha256 == hashlib.sha256(original).hexdigest()
    assert len(letter.model_dump_json()) < 512 * 1024  # fits a producer batch and the broker


def test_a_small_input_is_kept_whole_in_its_dead_letter() -> None:
    result = decode_intake(b"not json", "web")
    assert isinstance(result, Rejection)
    letter = dead_letter(result, b"not json", None, "complaints.intake.web.v1", 0, 1)
    assert not letter.original_truncated
    assert base64.b64decode(letter.original_b64) == b"not json"


def test_a_processing_error_names_the_stage_and_the_exception_in_one_short_line() -> None:
    rejection = Rejection.of_failure("intake", OverflowError("date value out of range\n" * 99))
    assert rejection.reason == RejectReason.PROCESSING_ERROR
    assert (rejection.stage, rejection.exception_type) == ("intake", "OverflowError")
    assert "\n" not in rejection.error
    assert len(rejection.error) < 400


def test_outbound_events_round_trip_through_the_cloudevents_envelope() -> None:
    from datetime import UTC, datetime

    from complaints.normalise import to_complaint

    decoded = decode_intake(raw(WEB), "web")
    assert isinstance(decoded, Decoded)
    complaint = to_complaint(decoded.event, "web", datetime.now(UTC))
    wire = encode_cloudevent("cn.complaints.complaint.classified.v1", "id-1", complaint)
    assert "电费".encode() in wire  # Chinese is not \\u-escaped
    envelope, back = decode_cloudevent(wire, Complaint)
    assert isinstance(envelope, CloudEvent)
    assert envelope.specversion == "1.0"
    assert back == complaint
