"""Every log line masked, one line per record, repeated records held back — checked with
real `logging` records going through the handler `logs.configure` installs."""

import io
import json
import logging
import sys
import unicodedata
from collections.abc import Iterator

import pytest

from complaints.ops import logs

RAW_ACTION_ERROR = (
    "handler action: 1 validation error for HandlerAction\n"
    "  Invalid JSON: expected ident at line 1 column 2 [type=json_invalid, "
    "input_value=b'not json at all 13812345678', input_type=bytes]\n"
    "    For further information visit https://errors.pydantic.dev/2.14/v/json_invalid"
)


class Clock:
    """A clock the test moves: the repeat window without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def capture(as_json: bool, clock: Clock) -> tuple[logging.Logger, io.StringIO]:
    """A logger whose records go through the production handler into a string."""
    out = io.StringIO()
    handler = logs.handler(as_json, out)
    for existing in handler.filters:
        if isinstance(existing, logs.RepeatFilter):
            handler.removeFilter(existing)
    handler.addFilter(logs.RepeatFilter(clock=clock))
    logger = logging.getLogger(f"test.logs.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_a_rejected_action_is_one_masked_line(clock: Clock) -> None:
    log, out = capture(False, clock)
    log.warning("dead-lettered handler action %s:%s@%s: %s", "t.actions", 0, 7, RAW_ACTION_ERROR)
    (line,) = lines(out)
    assert "13812345678" not in line and "input_value=b'not json at all 138****5678'" in line
    assert line.count(logs.LINE_BREAK.strip()) == 2
    assert "WARNING" in line and "dead-lettered handler action t.actions:0@7" in line


def test_input_values_of_every_kind_are_masked(clock: Clock) -> None:
    log, out = capture(False, clock)
    log.error("invalid: input_value=13812345678, input_type=int")
    log.error("invalid: %r", b"not json at all 13812345678")
    log.error("invalid bytes: %r", "身份证１１０１０１１９９００３０７１２３４".encode())  # \xef…
    log.error("invalid: input_value=b'{\"card\": \"6222 0212 3456 7890\", ...2345678'")
    text = unicodedata.normalize("NFKC", out.getvalue())
    assert len(lines(out)) == 4
    for secret in ("13812345678", "19900307", "02123456", "2345678"):
        assert secret not in text.replace(" ", "")


def test_a_traceback_is_masked_and_stays_on_the_line(clock: Clock) -> None:
    log, out = capture(False, clock)
    try:
        raise ValueError("customer 13912345678\ncard 6222021234567890")
    except ValueError:
        log.exception("batch failed for %s", "C20261124-5F1A9C03D2")
    (line,) = lines(out)
    assert "Traceback (most recent call last):" in line and "ValueError" in line
    assert "13912345678" not in line and "6222021234567890" not in line
    assert "139****5678" in line and "C20261124-5F1A9C03D2" in line


def test_control_characters_cannot_forge_lines_or_drive_the_terminal(clock: Clock) -> None:
    log, out = capture(False, clock)
    log.warning("note %s", "ok\r\n2026-11-24 00:00:00 INFO forged: \x1b[31mred\x1b[0m \u202eevil")
    (line,) = lines(out)
    assert "\x1b" not in line and "\u202e" not in line and "\r" not in line
    assert "\\x1b[31mred" in line and "\\u202e" in line


def test_repeated_records_are_shown_once_per_window_with_a_count(clock: Clock) -> None:
    log, out = capture(False, clock)
    for attempt in range(64):
        log.error("Unable connect to node with id %s: %s", attempt % 3, "[Errno 111]")
    assert len(lines(out)) == 1
    clock.now += 5
    log.error("Unable connect to node with id %s: %s", 1, "[Errno 111]")
    assert len(lines(out)) == 1
    clock.now += logs.REPEAT_WINDOW_S
    log.error("Unable connect to node with id %s: %s", 2, "[Errno 111]")
    shown = lines(out)
    assert len(shown) == 2
    assert shown[1].endswith("(repeated 64 times in the last 15 s)")
    log.warning("Unable connect to node with id %s: %s", 2, "[Errno 111]")  # another level
    log.error("another message")
    log.debug("debug records are never held back")
    log.debug("debug records are never held back")
    assert len(lines(out)) == 6


def test_json_lines_are_masked_single_objects_with_the_repeat_count(clock: Clock) -> None:
    log, out = capture(True, clock)
    log.warning("dead-lettered %s", RAW_ACTION_ERROR)
    log.warning("dead-lettered %s", RAW_ACTION_ERROR)
    clock.now += logs.REPEAT_WINDOW_S
    try:
        raise RuntimeError("phone 13812345678")
    except RuntimeError:
        log.warning("dead-lettered %s", "\u202e", exc_info=True)
    first, second = (json.loads(line) for line in lines(out))
    assert "13812345678" not in out.getvalue() and "\u202e" not in out.getvalue()
    assert "138****5678" in first["message"] and "138****5678" in second["exception"]
    assert second["message"] == "dead-lettered \u202e"  # the data itself is unchanged
    assert second["repeated"] == 1 and "repeated" not in first


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def test_configure_covers_the_libraries_loggers(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", False)
    logging.getLogger("aiokafka.conn").error("Unable connect to %s: 13812345678\nretrying", "n1")
    logging.getLogger("faust.worker").warning("[^Worker]: %s", "b'not json 13912345678'")
    written = capsys.readouterr().err.splitlines()
    assert len(written) == 2
    assert "aiokafka.conn" in written[0] and "138****5678" in written[0]
    assert "faust.worker" in written[1] and "139****5678" in written[1]


def test_visible_escapes_every_control_and_format_character() -> None:
    unsafe = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
    assert len(unsafe) > 2000
    assert [c for c in unsafe if logs.visible(c) == c] == []
    assert logs.visible("停电了 ok [/] :smile:") == "停电了 ok [/] :smile:"


def test_json_text_is_the_same_data_without_unsafe_characters() -> None:
    value = {"note": "a\x1bb\u202ec\x85d\U000e0041\ud800", "text": "停电"}
    text = logs.json_text(value)
    assert json.loads(text) == value
    assert text.isascii() is False and "停电" in text
    assert all(logs.visible(c) == c for c in text)
