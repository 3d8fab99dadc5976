"""Every number format of the masking table, driven through a real worker: web and
call-center events through intake, invalid handler actions whose warning quotes their
raw input, and the dashboard API. No run of digits the table hides may appear in the
worker's log or in `/api/overview` — in any spelling: separated, full-width, escaped.
"""

import json
import re
import time
import unicodedata
import urllib.request
from datetime import UTC, datetime

import pytest

from complaints.normalise import MASK_FORMATS, case_id_for
from complaints.ops.logs import REPEAT_WINDOW_S
from tests.harness import PipelineUnderTest, wait_for_cases

pytestmark = pytest.mark.broker

#: (number as written, its masked form) for every example of every format.
NUMBERS = [(text, masked) for fmt in MASK_FORMATS for text, masked in fmt.examples]
#: Longer than any run the table keeps visible (6: an ID card's region code).
WIDTH = 7
_SEPARATORS = r"[\s\-.()+·]{0,3}"


def secret_windows(text: str, masked: str) -> set[str]:
    """Every `WIDTH` consecutive digits of the number that include a digit the table
    hides: finding one of them anywhere is a leak."""
    digits, hidden = [], []
    for char, shown in zip(text, masked, strict=True):
        if char.isdigit():
            digits.append(unicodedata.normalize("NFKC", char))
            hidden.append(shown == "*")
    return {"".join(digits[i:i + WIDTH]) for i in range(len(digits) - WIDTH + 1)
            if any(hidden[i:i + WIDTH])}


SECRETS = {window: text for text, masked in NUMBERS for window in secret_windows(text, masked)}


def readable(text: str) -> str:
    """`text` as a person could read it: escapes (`\\xef\\xbc\\x91`, `\\uff11`) decoded,
    full-width forms as ASCII."""
    text = re.sub(r"(?:\\x[0-9a-fA-F]{2})+", lambda m: bytes.fromhex(
        m.group().replace("\\x", "")).decode("utf-8", "replace"), text)
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return unicodedata.normalize("NFKC", text)


#: A machine float (`since_epoch=11.010117276000528` in a timer's debug line): its digits
#: run across the point into a window by chance, and no number of the table is one.
_FLOAT = re.compile(r"\d+\.\d{6,}")


def leaks(text: str) -> dict[str, str]:
    """Secret windows found in `text` (digits possibly separated), with their number."""
    text = _FLOAT.sub("<float>", readable(text))
    return {window: number for window, number in SECRETS.items()
            if re.search(_SEPARATORS.join(window), text)}


def chunks(size: int) -> list[list[str]]:
    """The numbers, a few at a time: each chunk fits a dashboard excerpt (60 chars)."""
    texts = [text for text, _ in NUMBERS]
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def test_no_number_leaves_whole_through_logs_or_dashboard(pipeline: PipelineUnderTest) -> None:
    assert all(leaks(text) for text, _ in NUMBERS), "the check finds every number"
    assert not leaks("138****5678 110101********1234 2026-11-24 09:30:00,123")
    worker = pipeline.start_worker(COMPLAINTS_LOG_LEVEL="debug")  # every library's records
    now = datetime.now(UTC).isoformat()

    # Handler actions the recovery stage rejects; its warning quotes their raw input.
    pipeline.produce(pipeline.topics.actions,
                     [(b"C1", b"not json at all 13812345678 110101199003071234")])
    pipeline.wait_for(lambda: "not json at all" in worker.log_path.read_text(),
                      60, "the first rejected action in the log")
    time.sleep(REPEAT_WINDOW_S)  # so the next rejection is logged too, not held back
    every_number = {f"n{i}": text for i, (text, _) in enumerate(NUMBERS)}
    pipeline.produce(pipeline.topics.actions, [(b"C2", json.dumps(
        every_number, ensure_ascii=False).encode())])

    # Complaints carrying the numbers in every field that takes text.
    web, calls, expected = [], [], set()
    for index, numbers in enumerate(chunks(3)):
        event_id = f"mask-web-{index}"
        web.append((event_id.encode(), json.dumps({
            "event_id": event_id, "form_id": f"F-{index}", "occurred_at": now,
            "body": "停电了，" + "，".join(numbers), "subject": numbers[0],
            "contact": {"phone": numbers[-1][:32], "name": "王先生"},
        }, ensure_ascii=False).encode()))
        expected.add(case_id_for("web", event_id, datetime.fromisoformat(now)))
    for index, numbers in enumerate(chunks(12)):
        event_id = f"mask-call-{index}"
        calls.append((event_id.encode(), json.dumps({
            "event_id": event_id, "call_id": f"CALL-{index}", "occurred_at": now,
            "caller_number": numbers[0][:32], "summary": "客户反映停电",
            "transcript": "回电" + "；".join(numbers),
        }, ensure_ascii=False).encode()))
        expected.add(case_id_for("callcenter", event_id, datetime.fromisoformat(now)))
    invalid = {"event_id": "mask-bad", "form_id": "F", "occurred_at": now,
               "body": "，".join(every_number.values()), **every_number}
    pipeline.produce(pipeline.topics.intake_web,
                     [*web, (b"mask-bad", json.dumps(invalid, ensure_ascii=False).encode())])
    pipeline.produce(pipeline.topics.intake_callcenter, calls)
    wait_for_cases(pipeline, expected, 120)
    pipeline.wait_for(lambda: "extra_forbidden" in worker.log_path.read_text(), 60,
                      "the second rejected action in the log")

    port = worker.env["COMPLAINTS_WEB_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/overview", timeout=30) as answer:
        overview = json.loads(answer.read())
    recent = overview["recent_cases"]
    assert recent and all("*" in case["excerpt"] for case in recent)
    assert leaks(json.dumps(overview, ensure_ascii=False)) == {}

    log = worker.log_path.read_text(errors="replace")
    assert "138****5678" in log and "110101********1234" in log  # the numbers were there
    assert leaks(log) == {}
    records = [line for line in log.splitlines() if line.strip()]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ", line)
               for line in records), "one line per record"
