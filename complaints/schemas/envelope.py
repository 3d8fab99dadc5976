"""CloudEvents 1.0 structured-mode JSON envelope.

Accepted on the intake topics (upstream systems that already speak CloudEvents keep
doing so) and used for every event the pipeline emits, so downstream consumers get one
shape with `id`, `source`, `type` and `time` they can de-duplicate and route on.
"""

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: CloudEvents `type` of each event the pipeline knows, by schema version.
CALLCENTER_EVENT_TYPE = "cn.complaints.intake.callcenter.v1"
WEB_EVENT_TYPE = "cn.complaints.intake.web.v1"
COMPLAINT_CLASSIFIED_TYPE = "cn.complaints.complaint.classified.v1"
DEAD_LETTER_TYPE = "cn.complaints.dead-letter.v1"
ROUTING_DECIDED_TYPE = "cn.complaints.routing.decided.v1"
RESOLUTION_TYPE = "cn.complaints.case.resolved.v1"
HANDLER_ACTION_TYPE = "cn.complaints.handler.action.v1"
PIPELINE_SOURCE = "/complaints/pipeline"


def case_event_type(event_type: str) -> str:
    """CloudEvents `type` of a case event, e.g. `cn.complaints.case.ApologyRecorded.v1`."""
    return f"cn.complaints.case.{event_type}.v1"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope; `data` holds the event itself."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    specversion: str = Field(pattern=r"^1\.0$", description="Always `1.0`.")
    id: str = Field(min_length=1, max_length=128, description="Unique per source.")
    source: str = Field(min_length=1, max_length=512, examples=["/callcenter/95598"])
    type: str = Field(
        min_length=1, max_length=256, examples=[CALLCENTER_EVENT_TYPE, WEB_EVENT_TYPE]
    )
    time: AwareDatetime | None = None
    subject: str | None = Field(default=None, max_length=256)
    datacontenttype: str | None = Field(default="application/json")
    dataschema: str | None = None
    data: Any = Field(description="The event payload.")
