"""Rejected input, kept whole so nothing is lost and it can be replayed after a fix."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class RejectReason(StrEnum):
    """Why an input could not become a complaint (or a handler action could not apply)."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_SHAPE = "invalid_shape"
    INVALID_VALUE = "invalid_value"
    EMPTY_TEXT = "empty_text"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    UNKNOWN_CASE = "unknown_case"
    PROCESSING_ERROR = "processing_error"


class DeadLetter(BaseModel):
    """One rejected input with the reason and everything needed to find or replay it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    reason: RejectReason
    error: str = Field(
        description="What exactly is wrong, e.g. `body: field required`.",
        examples=["summary or transcript is required"],
    )
    stage: str | None = Field(
        default=None, description="The stage that refused it: `intake` or `recovery`.",
        examples=["intake"],
    )
    exception_type: str | None = Field(
        default=None,
        description="`processing_error` only: the exception the event's content raised.",
        examples=["OverflowError"],
    )
    source_topic: str = Field(examples=["complaints.intake.web.v1"])
    source_partition: int
    source_offset: int
    source_key_b64: str | None = Field(
        default=None, description="Original key, base64 (its first 1 KiB).")
    original_b64: str = Field(
        description="The original bytes, base64, unchanged (only their beginning "
        "when `original_truncated`).")
    original_size: int = Field(ge=0, description="Size of the whole original, in bytes.")
    original_truncated: bool = Field(
        default=False,
        description="The original was too large to copy whole: `original_b64` holds its "
        "beginning; the whole is at `source_topic`/`source_partition`/`source_offset` "
        "while the topic retains it, and `original_sha256` identifies it.",
    )
    original_sha256: str | None = Field(
        default=None, description="SHA-256 of the whole original bytes (hex).")
    event_id: str | None = Field(
        default=None, description="The event id, when one could be read from the input."
    )
    content_sha256: str | None = Field(
        default=None,
        description="`conflicting_duplicate`: hash of this event's validated content.",
    )
    earlier_content_sha256: str | None = Field(
        default=None,
        description="`conflicting_duplicate`: hash of the content first accepted under "
        "the same event id.",
    )
    rejected_at: AwareDatetime
