"""Inbound events as upstream systems emit them (schema version 1).

A call-center platform (CTI/IVR + agent desktop) emits one `CallCenterEvent` per call
that produced a work order; web front ends (forms, app, WeChat) emit one `WebEvent` per
submission. Both may arrive bare or as the `data` of a CloudEvents 1.0 envelope.
Unknown fields are refused so that a producer's typo is caught at the edge, not
discovered weeks later as a silently empty column.
"""

from datetime import timedelta
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from complaints.schemas.codes import Channel, CustomerSegment, CustomerTier, Industry

#: Longest complaint text accepted, in characters (transcripts included). Longer
#: input is dead-lettered with reason ``too_large``, never truncated silently.
MAX_TEXT_CHARS = 20_000
#: Largest raw event accepted from a topic, in bytes.
MAX_EVENT_BYTES = 256 * 1024
#: Deepest nesting of JSON arrays and objects accepted (a CloudEvent around a web
#: event with attachments nests 4 levels). Deeper input is dead-lettered as
#: ``too_deep`` before it is parsed.
MAX_JSON_DEPTH = 32
#: How far from now an event's ``occurred_at`` may lie, either way, unless configured
#: otherwise (``COMPLAINTS_EVENT_TIME_WINDOW_DAYS``). Further is ``invalid_value``.
EVENT_TIME_WINDOW = timedelta(days=5 * 366)
#: The error of a text that is there but blank (dead-lettered as ``empty_text``, as is a
#: text that only normalisation empties: markup, zero-width characters).
BLANK_TEXT = "the text is blank"


class CustomerRef(BaseModel):
    """Who complains, as the upstream CRM knows them (domain §10)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str | None = Field(
        default=None, max_length=64, description="Account / customer number.",
        examples=["3100123456"],
    )
    name: str | None = Field(default=None, max_length=100, examples=["王先生"])
    tier: CustomerTier = Field(
        default=CustomerTier.STANDARD, description="VIP / 大客户 / 钻金银 tier."
    )
    segment: CustomerSegment | None = Field(
        default=None, description="居民/商业/工业/政企.", examples=["residential"]
    )
    area: str | None = Field(
        default=None, max_length=100,
        description="Area code or name used to group mass incidents (台区, 小区, 网格).",
        examples=["浦东新区-金桥-碧云小区"],
    )
    address: str | None = Field(default=None, max_length=300)


class Contact(BaseModel):
    """How to reach the customer back (回访)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32, examples=["13812345678"])
    email: str | None = Field(default=None, max_length=254)
    preferred: Literal["phone", "sms", "email", "wechat", "letter"] | None = None


class Attachment(BaseModel):
    """A file the customer attached to a web form (kept by reference only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=255, examples=["电费账单.jpg"])
    url: str = Field(max_length=2048, examples=["https://files.example.cn/a/123.jpg"])
    content_type: str | None = Field(default=None, max_length=100, examples=["image/jpeg"])
    size_bytes: int | None = Field(default=None, ge=0)


class _IntakeEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(
        min_length=1, max_length=128,
        description="Unique id of this event at its source; retries reuse it.",
        examples=["cc-20261124-000123"],
    )
    schema_version: Literal[1] = Field(
        default=1, description="Version of this event schema. Only 1 exists."
    )
    occurred_at: AwareDatetime = Field(
        description="When the customer made contact (ISO 8601 with offset).",
        examples=["2026-11-24T09:15:00+08:00"],
    )
    industry: Industry | None = Field(
        default=None, description="Industry of the service centre, when it knows it."
    )
    customer: CustomerRef = Field(default_factory=CustomerRef)


class CallCenterEvent(_IntakeEvent):
    """A call that produced a work order: IVR + agent desktop data and the agent's notes."""

    call_id: str = Field(min_length=1, max_length=64, examples=["CALL-8812736"])
    channel: Literal[Channel.HOTLINE, Channel.REGULATOR] = Field(
        default=Channel.HOTLINE,
        description="`regulator` for calls forwarded from 12398/12315/12345.",
    )
    service_line: str | None = Field(
        default=None, max_length=32, description="Number the customer dialled.",
        examples=["95598"],
    )
    caller_number: str | None = Field(default=None, max_length=32, examples=["13812345678"])
    agent_id: str | None = Field(default=None, max_length=64, examples=["A1024"])
    queue: str | None = Field(default=None, max_length=64, description="IVR queue / skill.")
    duration_s: int | None = Field(default=None, ge=0, le=86_400)
    summary: str | None = Field(
        default=None, max_length=MAX_TEXT_CHARS,
        description="The agent's summary of the customer's words (工单内容).",
    )
    transcript: str | None = Field(
        default=None, max_length=MAX_TEXT_CHARS, description="Speech-to-text of the call."
    )

    @model_validator(mode="after")
    def _has_text(self) -> "CallCenterEvent":
        if self.summary is None and self.transcript is None:
            raise ValueError("summary or transcript is required")
        if not (self.summary or "").strip() and not (self.transcript or "").strip():
            raise ValueError(BLANK_TEXT)
        return self


class WebEvent(_IntakeEvent):
    """A web form, app or WeChat submission."""

    form_id: str = Field(min_length=1, max_length=64, examples=["F-2026-0099812"])
    channel: Literal[Channel.WEB, Channel.APP, Channel.WECHAT, Channel.SMS, Channel.EMAIL] = (
        Field(default=Channel.WEB)
    )
    contact: Contact = Field(default_factory=Contact)
    subject: str | None = Field(default=None, max_length=200, examples=["电费异常"])
    body: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="What the customer wrote."
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        if not body.strip():
            raise ValueError(BLANK_TEXT)
        return body


IntakeEvent = CallCenterEvent | WebEvent
SourceName = Literal["callcenter", "web"]

__all__ = [
    "BLANK_TEXT",
    "EVENT_TIME_WINDOW",
    "MAX_EVENT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_TEXT_CHARS",
    "Attachment",
    "CallCenterEvent",
    "Contact",
    "CustomerRef",
    "IntakeEvent",
    "SourceName",
    "WebEvent",
]
