"""Realistic mixed call-center and web traffic for `complaints run --demo` and benchmarks.

Texts come from the labelled evaluation set shipped with the classifier (written for
this product, all industries and kinds, Simplified and Traditional). A known share of
events is malformed — one of every dead-letter reason in turn — and a known share is
an exact redelivery of an earlier event, so the demo can show that the pipeline
dead-letters exactly the bad ones and never makes a second complaint.
"""

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources

from complaints.schemas.dead_letter import RejectReason
from complaints.schemas.envelope import CALLCENTER_EVENT_TYPE, WEB_EVENT_TYPE
from complaints.schemas.intake import MAX_TEXT_CHARS

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_AREAS = [
    "杭州市西湖区-文三路-学院小区", "杭州市拱墅区-湖墅南路-大关西苑",
    "上海市浦东新区-金桥-碧云小区", "上海市闵行区-莘庄-春申小区",
    "南京市鼓楼区-湖南路-颐和小区", "成都市武侯区-玉林街道-玉林小区",
    "广州市天河区-石牌-华师新村", "北京市海淀区-中关村-科源社区",
    "武汉市洪山区-光谷-金地格林", "济南市历下区-泉城路-明湖小区",
]
_LINES = {"power": "95598", "telecom": "10000", "banking": "95588", "insurance": "95519",
          "healthcare": "12320", "logistics": "95338", "general": "12345"}
_TIERS = ["standard"] * 16 + ["silver", "gold", "diamond", "vip", "key_account"]
#: Every reason the intake refuses an event for, in turn.
#: Every way intake refuses an event, except the two no upstream event can cause alone.
MALFORMED_KINDS = [r for r in RejectReason
                   if r not in (RejectReason.UNKNOWN_CASE, RejectReason.PROCESSING_ERROR)]


@lru_cache(maxsize=1)
def sample_texts() -> list[dict[str, str]]:
    """(text, industry) pairs from the classifier's labelled set."""
    path = resources.files("complaints.classifier") / "eval" / "labelled.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [{"text": r["text"], "industry": r["industry"]} for r in rows]


@dataclass(frozen=True)
class GeneratedEvent:
    """One message as an upstream system would publish it."""

    source: str  # "callcenter" or "web"
    key: bytes | None
    value: bytes
    malformed: RejectReason | None = None
    duplicate: bool = False


@dataclass
class Tally:
    """What the generator made: the demo compares it with what the pipeline did."""

    total: int = 0
    valid: int = 0
    duplicates: int = 0
    malformed: Counter[str] = field(default_factory=Counter)

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())


class DemoGenerator:
    """Deterministic (seeded) stream of realistic, occasionally broken, events."""

    def __init__(self, seed: int = 7, malformed_share: float = 0.1,
                 duplicate_share: float = 0.05, run_id: str | None = None,
                 start: datetime | None = None) -> None:
        self._random = random.Random(seed)
        self._start = start or datetime.now(UTC)
        self.malformed_share = malformed_share
        self.duplicate_share = duplicate_share
        self.run_id = run_id or datetime.now(UTC).strftime("%H%M%S")
        self.tally = Tally()
        self._sent_valid: list[GeneratedEvent] = []
        self._texts = sample_texts()

    def events(self, count: int) -> Iterator[GeneratedEvent]:
        for _ in range(count):
            yield self.next_event()

    def next_event(self) -> GeneratedEvent:
        r = self._random.random()
        if r < self.malformed_share:
            kind = MALFORMED_KINDS[self.tally.malformed_total % len(MALFORMED_KINDS)]
            if kind is RejectReason.CONFLICTING_DUPLICATE and not self._sent_valid:
                kind = RejectReason.NOT_JSON  # nothing to reuse an id of yet
            event = self._malformed(kind)
            self.tally.malformed[kind.value] += 1
        elif r < self.malformed_share + self.duplicate_share and self._sent_valid:
            original = self._random.choice(self._sent_valid)
            event = GeneratedEvent(original.source, original.key, original.value, duplicate=True)
            self.tally.duplicates += 1
        else:
            event = self._valid()
            self._sent_valid.append(event)
            self.tally.valid += 1
        self.tally.total += 1
        return event

    # -- valid events ---------------------------------------------------------------
    def _payload(self, n: int) -> tuple[str, dict[str, object]]:
        rnd = self._random
        sample = rnd.choice(self._texts)
        now = self._start - timedelta(seconds=rnd.randint(0, 3600))
        industry = sample["industry"]
        customer = {
            "customer_id": f"{rnd.randint(10**9, 10**10 - 1)}",
            "name": rnd.choice(_SURNAMES) + rnd.choice(["先生", "女士"]),
            "tier": rnd.choice(_TIERS),
            "segment": rnd.choice(["residential"] * 6 + ["commercial", "industrial"]),
            "area": rnd.choice(_AREAS),
        }
        phone = f"1{rnd.choice('3578')}{rnd.randint(0, 9)}{rnd.randint(10**7, 10**8 - 1)}"
        base: dict[str, object] = {
            "occurred_at": now.isoformat(), "industry": industry, "customer": customer,
        }
        if rnd.random() < 0.55:
            base |= {
                "event_id": f"demo-{self.run_id}-cc-{n:07d}",
                "call_id": f"CALL-{rnd.randint(10**6, 10**7 - 1)}",
                "service_line": _LINES.get(industry, "12345"),
                "caller_number": phone,
                "agent_id": f"A{rnd.randint(1000, 1999)}",
                "queue": rnd.choice(["投诉", "故障报修", "业务咨询", "VIP"]),
                "duration_s": rnd.randint(40, 900),
                "summary": "客户来电反映：" + sample["text"],
            }
            return "callcenter", base
        base |= {
            "event_id": f"demo-{self.run_id}-web-{n:07d}",
            "form_id": f"F-{rnd.randint(10**6, 10**7 - 1)}",
            "channel": rnd.choice(["web", "app", "wechat"]),
            "contact": {"name": customer["name"], "phone": phone, "preferred": "phone"},
            "body": sample["text"],
        }
        return "web", base

    def _valid(self) -> GeneratedEvent:
        source, payload = self._payload(self.tally.total)
        if self._random.random() < 0.2:  # some upstream systems speak CloudEvents
            payload = {
                "specversion": "1.0", "id": payload.pop("event_id"),
                "source": f"/{source}/demo",
                "type": CALLCENTER_EVENT_TYPE if source == "callcenter" else WEB_EVENT_TYPE,
                "time": payload["occurred_at"], "datacontenttype": "application/json",
                "data": payload,
            }
            key = str(payload["id"]).encode()
        else:
            key = str(payload["event_id"]).encode()
        return GeneratedEvent(source, key, _dump(payload))

    # -- malformed events -----------------------------------------------------------
    def _malformed(self, kind: RejectReason) -> GeneratedEvent:
        if kind is RejectReason.CONFLICTING_DUPLICATE:  # an id reused for another text
            original = self._random.choice(self._sent_valid)
            payload = json.loads(original.value)
            event = payload["data"] if "specversion" in payload else payload
            event["summary" if "summary" in event else "body"] = "另一张工单：" + \
                self._random.choice(self._texts)["text"]
            return GeneratedEvent(original.source, original.key, _dump(payload), malformed=kind)
        source, payload = self._payload(self.tally.total)
        key = str(payload["event_id"]).encode()
        text_field = "summary" if source == "callcenter" else "body"
        match kind:
            case RejectReason.TOO_DEEP:
                payload["attachments"] = json.loads("[" * 64 + "]" * 64)
                value = _dump(payload)
            case RejectReason.INVALID_VALUE:
                payload["occurred_at"] = self._random.choice(
                    ["9999-12-31T23:59:59+00:00", "1900-01-01T00:00:00+08:00"])
                value = _dump(payload)
            case RejectReason.EMPTY_TEXT:
                payload[text_field] = self._random.choice(["", "   ", "\u3000\n"])
                value = _dump(payload)
            case RejectReason.NOT_UTF8:
                value = b"\xff\xfe" + _dump(payload).decode().encode("gb18030")
            case RejectReason.NOT_JSON:
                value = _dump(payload).decode()[:-7].encode()
            case RejectReason.TOO_LARGE:
                payload[text_field] = "停电" * (MAX_TEXT_CHARS // 2 + 10)
                value = _dump(payload)
            case RejectReason.UNKNOWN_VERSION:
                payload["schema_version"] = 2
                value = _dump(payload)
            case RejectReason.UNKNOWN_TYPE:
                value = _dump({"specversion": "1.0", "id": payload.pop("event_id"),
                               "source": "/legacy/crm", "type": "com.example.crm.ticket",
                               "data": payload})
            case RejectReason.MISSING_FIELD:
                payload.pop("occurred_at")
                value = _dump(payload)
            case RejectReason.INVALID_SHAPE:
                payload["customer"] = {"tier": "platinum-plus"}
                value = _dump(payload)
        return GeneratedEvent(source, key, value, malformed=kind)


def _dump(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
