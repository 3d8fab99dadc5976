"""Logging: one line per record, personal data masked, repeated records held back.

Readable lines by default, one JSON object per line with `--log-json`. `configure` puts
one handler on the root logger, so every record of every logger (ours, Faust's,
aiokafka's, redis-py's …) goes through it, and that handler

- masks phone, ID-card and bank-card numbers (`mask_personal_data`) in the formatted
  message *and* the traceback — library messages quote raw input too
  (`input_value=13812345678`, `b'not json at all 13812345678'`);
- writes one line per record: in text mode newlines become ` ⏎ ` and other control and
  format characters visible escapes (`\\x1b`), so neither a traceback nor a hostile
  string can break a line, forge one or drive the terminal that tails the log;
- lets one record per `REPEAT_WINDOW_S` through for the same logger, level and message
  template, so a broker that is down cannot flood the log with 64 errors a second; the
  next one shown says how many were held back.
"""

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

#: Seconds in which a repeated record (same logger, level and template) is shown once.
REPEAT_WINDOW_S = 10.0
#: What a line break inside a record becomes in text mode.
LINE_BREAK = " ⏎ "

# Characters that must never reach a terminal as they are: C0 and C1 controls (ESC
# starts terminal escape sequences), DEL, format characters (bidi overrides and
# isolates, zero-width characters, BOM, tags …), line and paragraph separators, and
# lone surrogates (which cannot even be encoded). Every character of Unicode categories
# Cc, Cf, Zl, Zp and Cs; `tests/ops/test_logs.py` checks the list is complete.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEWLINES = re.compile(r"\r\n|\r|\n")
# Escapes in reprs of bytes (b'\xe8\xaf\x81１…') and in ASCII JSON (\u8bc1): decoded
# before masking, so that masking sees the characters — full-width digits are digits,
# and `\x81` followed by digits is no longer a digit run too long for any format.
_BYTE_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")
# Digits cut by a truncation (pydantic shortens long inputs to `start...end`): too short
# for any masked format, yet part of one; all their digits are masked.
_CUT_DIGITS = re.compile(
    r"(?:(?<=\.\.\.)|(?<=…))[0-9０-９](?:[ \-]?[0-9０-９]){4,}"
    r"|(?<![0-9０-９])[0-9０-９](?:[ \-]?[0-9０-９]){4,}(?=\.\.\.|…)")


def visible(text: str) -> str:
    """`text` with control and format characters as visible escapes (`\\x1b`, `\\u202e`,
    `\\n`): safe to write to a terminal or a log line, and still says what was there."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else (
        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def json_text(value: Any, indent: int | None = None) -> str:
    """`value` as JSON (UTF-8 text, Chinese as it is) with every character `visible`
    escapes written as a JSON escape instead: the same data, safe for a terminal."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return _UNSAFE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def mask_log_text(text: str) -> str:
    """A formatted log message or traceback with personal data masked — also numbers
    written as escapes (in reprs of bytes, in ASCII JSON) and digits cut short by a
    truncation. Decoded escapes are characters again: `one_line` and `json_text` show
    the unsafe ones as escapes."""
    from complaints.normalise import keep_ends, mask_personal_data  # the CLI starts without it

    if "\\" in text:
        text = _BYTE_ESCAPES.sub(_decoded_bytes, text)
        text = _UNICODE_ESCAPES.sub(_decoded_unicode, text)
    if "..." in text or "…" in text:
        text = _CUT_DIGITS.sub(lambda m: keep_ends(m.group(), 0, 0), text)
    return mask_personal_data(text)


def _decoded_bytes(match: re.Match[str]) -> str:
    """`\xe8\xaf\x81` → 证; what is not UTF-8 stays escaped."""
    raw = bytes.fromhex(match.group().replace("\\x", ""))
    return raw.decode("utf-8", "backslashreplace")


def _decoded_unicode(match: re.Match[str]) -> str:
    """`\u8bc1` → 证 (surrogate pairs joined; a lone one is escaped again later)."""
    return json.loads(f'"{match.group()}"')


def one_line(text: str) -> str:
    """`text` on one line: line breaks as ` ⏎ `, other control characters `visible`."""
    return visible(_NEWLINES.sub(LINE_BREAK, text.rstrip("\r\n")))


class RepeatFilter(logging.Filter):
    """Shows the first of a run of identical records, then at most one per window.

    Identical means same logger, level and message template (`record.msg` before its
    arguments are filled in): "cannot connect to node %s" for every node and attempt
    is one record repeating. The next record let through carries `repeated` (how many
    were held back) and `repeated_over_s`, which the formatters print. DEBUG records
    are never held back: who turns them on wants all of them.
    """

    _MAX_KEYS = 4096

    def __init__(self, window_s: float = REPEAT_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()  # aiokafka and Faust log from threads too
        self._shown: dict[tuple[str, int, str], list[float]] = {}  # key → [at, held]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            shown = self._shown.get(key)
            if shown is not None and now - shown[0] < self.window_s:
                shown[1] += 1
                return False
            if shown is not None and shown[1]:
                record.repeated = int(shown[1])
                record.repeated_over_s = now - shown[0]
            if shown is None and len(self._shown) >= self._MAX_KEYS:
                self._forget_quiet(now)
            self._shown[key] = [now, 0]
        return True

    def _forget_quiet(self, now: float) -> None:
        """Drop records whose window is over and that hold nothing back (messages built
        with f-strings have a template per record and would pile up otherwise)."""
        for key in [k for k, (at, held) in self._shown.items()
                    if not held and now - at >= self.window_s]:
            del self._shown[key]


def repeat_note(record: logging.LogRecord) -> str:
    """` (repeated 63 times in the last 10 s)` for a record that follows held-back ones."""
    held = getattr(record, "repeated", 0)
    if not held:
        return ""
    over = getattr(record, "repeated_over_s", REPEAT_WINDOW_S)
    return f" (repeated {held} time{'s' if held != 1 else ''} in the last {over:.0f} s)"


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, masked, on one line, with the repeat note."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return one_line(mask_log_text(super().format(record))) + repeat_note(record)


class JsonFormatter(logging.Formatter):
    """Structured logs for log shippers: time, level, logger, message (and exception,
    repeated), masked; one object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_log_text(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = mask_log_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask_log_text(self.formatStack(record.stack_info))
        if held := getattr(record, "repeated", 0):
            entry["repeated"] = held
            entry["repeated_over_s"] = round(getattr(record, "repeated_over_s", 0.0), 1)
        return json_text(entry)


def handler(as_json: bool, stream: Any = None) -> logging.Handler:
    """The one handler every record goes through (see the module docstring)."""
    out = logging.StreamHandler(stream)
    out.setFormatter(JsonFormatter() if as_json else TextFormatter())
    out.addFilter(RepeatFilter())
    return out


def configure(level: str, as_json: bool) -> None:
    """Route every logger's records through `handler`, at `level` (debug, info, warn,
    error, critical)."""
    root = logging.getLogger()
    root.handlers[:] = [handler(as_json)]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))
