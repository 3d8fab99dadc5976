"""The normalised complaint: one per distinct upstream event, whatever its channel."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from complaints.schemas.classification import Classification
from complaints.schemas.codes import Channel, Industry
from complaints.schemas.intake import Contact, CustomerRef


class Complaint(BaseModel):
    """A customer contact turned into a case, ready for classification and routing.

    `text_original` keeps the customer's words exactly; `text_normalised` is the cleaned
    Simplified form every rule is matched against.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    case_id: str = Field(
        description="Stable case id, derived from the source event id, so a redelivered "
        "event always maps to the same case.",
        examples=["C20261124-5F1A9C03D2"],
    )
    source: Literal["callcenter", "web"]
    source_event_ids: list[str] = Field(min_length=1, examples=[["cc-20261124-000123"]])
    channel: Channel
    industry_hint: Industry | None = Field(
        default=None, description="Industry the upstream system stated, if any."
    )
    customer: CustomerRef
    contact: Contact
    subject: str | None = None
    text_original: str = Field(description="The customer's words as received.")
    text_normalised: str = Field(description="NFKC, markup removed, Simplified Chinese.")
    received_at: AwareDatetime = Field(description="When the customer made contact.")
    ingested_at: AwareDatetime = Field(description="When the pipeline accepted the event.")
    classification: Classification | None = Field(
        default=None, description="Filled in by the classify stage."
    )


__all__ = ["Complaint"]
