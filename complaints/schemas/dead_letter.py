"""Rejected input, kept whole so nothing is lost and it can be replayed after a fix."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class RejectReason(StrEnum):
    """Why an input could not become a complaint (or a handler action could not apply)."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_LARGE = "too_large"
    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_SHAPE = "invalid_shape"
    UNKNOWN_CASE = "unknown_case"


class DeadLetter(BaseModel):
    """One rejected input with the reason and everything needed to find or replay it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    reason: RejectReason
    error: str = Field(
        description="What exactly is wrong, e.g. `body: field required`.",
        examples=["summary or transcript is required"],
    )
    source_topic: str = Field(examples=["complaints.intake.web.v1"])
    source_partition: int
    source_offset: int
    source_key_b64: str | None = Field(default=None, description="Original key, base64.")
    original_b64: str = Field(description="The original bytes, base64, unchanged.")
    original_size: int = Field(ge=0)
    event_id: str | None = Field(
        default=None, description="The event id, when one could be read from the input."
    )
    rejected_at: AwareDatetime
