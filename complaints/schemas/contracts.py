"""`complaints schemas export`: JSON Schema for every event and an AsyncAPI 3.0 document.

Generated from the pydantic models, so the published contract is the code's contract.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from complaints.schemas.case import CaseEvent, HandlerAction, Resolution
from complaints.schemas.complaint import Complaint
from complaints.schemas.dead_letter import DeadLetter
from complaints.schemas.envelope import (
    CALLCENTER_EVENT_TYPE,
    COMPLAINT_CLASSIFIED_TYPE,
    DEAD_LETTER_TYPE,
    HANDLER_ACTION_TYPE,
    RESOLUTION_TYPE,
    ROUTING_DECIDED_TYPE,
    WEB_EVENT_TYPE,
    CloudEvent,
    case_event_type,
)
from complaints.schemas.intake import CallCenterEvent, WebEvent
from complaints.schemas.routing import RoutingDecision
from complaints.schemas.topics import Topics

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Every model that crosses a boundary, by exported file name.
EVENT_MODELS: dict[str, type[BaseModel]] = {
    "CallCenterEvent": CallCenterEvent,
    "WebEvent": WebEvent,
    "CloudEvent": CloudEvent,
    "Complaint": Complaint,
    "DeadLetter": DeadLetter,
    "RoutingDecision": RoutingDecision,
    "HandlerAction": HandlerAction,
    "Resolution": Resolution,
}
#: The case events (a union discriminated by `event_type`).
CASE_EVENT_SCHEMA_NAME = "CaseEvent"
_OUTPUT_MODELS = {Complaint, RoutingDecision, Resolution}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(
        mode="serialization" if model in _OUTPUT_MODELS else "validation")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"urn:complaints:schema:{model.__name__}",
            **schema}


def _channel(address: str, description: str, messages: list[str]) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
    }


def asyncapi_document(topics: Topics) -> dict[str, Any]:
    """AsyncAPI 3.0: every topic of the architecture, its key and its payloads."""
    channels = {
        "intakeCallcenter": _channel(
            topics.intake_callcenter,
            "Raw call-center events (bare or CloudEvents). Key: event id or caller.",
            ["CallCenterEvent", "CallCenterCloudEvent"]),
        "intakeWeb": _channel(
            topics.intake_web, "Raw web/app/WeChat events (bare or CloudEvents). Key: event id.",
            ["WebEvent", "WebCloudEvent"]),
        "deadLetter": _channel(
            topics.dead_letter,
            "Rejected input: reason, original bytes, source topic/partition/offset. "
            "Key: the original key.", ["DeadLetterEvent"]),
        "classified": _channel(
            topics.classified, "Normalised complaint with its classification. Key: case id.",
            ["ComplaintClassified"]),
        "routed": _channel(
            topics.routed, "Routing decision per case (handler queue, priority). Key: case id.",
            ["RoutingDecided"]),
        "actions": _channel(
            topics.actions, "Handler commands: acknowledge, apologize, start_fix, fix_done, "
            "compensate, follow_up, close, escalate, reopen, reassign, terminate. Key: case id.",
            ["HandlerActionCommand"]),
        "caseEvents": _channel(
            topics.case_events, "Every accepted or rejected case transition and every SLA "
            "warning and breach: the audit trail. Key: case id; CloudEvents id "
            "`<case id>:v<version>`; type `cn.complaints.case.<event_type>.v1`.",
            ["CaseEventRecorded"]),
        "resolutions": _channel(
            topics.resolutions, "One final event per case round when it ends. Key: case id; "
            "CloudEvents id `<case id>:r<round>`.", ["CaseResolved"]),
    }

    def cloud(name: str, event_type: str, payload: str) -> dict[str, Any]:
        return {
            "name": name, "contentType": "application/cloudevents+json",
            "summary": f"CloudEvents 1.0 envelope, type `{event_type}`, data: {payload}.",
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {"type": "object", "properties": {
                    "type": {"const": event_type},
                    "data": {"$ref": f"#/components/schemas/{payload}"}}}]},
        }

    messages = {
        "CallCenterEvent": {"name": "CallCenterEvent", "contentType": "application/json",
                            "payload": {"$ref": "#/components/schemas/CallCenterEvent"}},
        "WebEvent": {"name": "WebEvent", "contentType": "application/json",
                     "payload": {"$ref": "#/components/schemas/WebEvent"}},
        "CallCenterCloudEvent": cloud("CallCenterCloudEvent", CALLCENTER_EVENT_TYPE,
                                      "CallCenterEvent"),
        "WebCloudEvent": cloud("WebCloudEvent", WEB_EVENT_TYPE, "WebEvent"),
        "ComplaintClassified": cloud("ComplaintClassified", COMPLAINT_CLASSIFIED_TYPE,
                                     "Complaint"),
        "DeadLetterEvent": cloud("DeadLetterEvent", DEAD_LETTER_TYPE, "DeadLetter"),
        "RoutingDecided": cloud("RoutingDecided", ROUTING_DECIDED_TYPE, "RoutingDecision"),
        "HandlerActionCommand": cloud("HandlerActionCommand", HANDLER_ACTION_TYPE,
                                      "HandlerAction"),
        "CaseEventRecorded": cloud("CaseEventRecorded", case_event_type("<event_type>"),
                                   CASE_EVENT_SCHEMA_NAME),
        "CaseResolved": cloud("CaseResolved", RESOLUTION_TYPE, "Resolution"),
    }
    messages["CaseEventRecorded"]["payload"]["allOf"][1]["properties"]["type"] = {
        "pattern": r"^cn\.complaints\.case\.[A-Za-z]+\.v1$"}
    schemas: dict[str, Any] = {}
    for name, model in EVENT_MODELS.items():
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}",
            mode="serialization" if model in _OUTPUT_MODELS else "validation")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    case_events = TypeAdapter(CaseEvent).json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization")
    schemas.update(case_events.pop("$defs", {}))
    schemas[CASE_EVENT_SCHEMA_NAME] = case_events
    operations = {
        f"{action}{name[0].upper()}{name[1:]}": {
            "action": action, "channel": {"$ref": f"#/channels/{name}"}}
        for action, name in [
            ("receive", "intakeCallcenter"), ("receive", "intakeWeb"), ("send", "deadLetter"),
            ("send", "classified"), ("send", "routed"), ("receive", "actions"),
            ("send", "caseEvents"), ("send", "resolutions"),
        ]
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Complaint-handling pipeline",
            "version": "1.0.0",
            "description": "Event contracts of the complaint pipeline. Events are JSON; "
            "outbound events use the CloudEvents 1.0 structured envelope. Delivery is "
            "at-least-once: a duplicate after a crash carries the same CloudEvents `id`.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def export(directory: Path, topics: Topics) -> list[Path]:
    """Write `<Model>.schema.json` for every model and `asyncapi.json`; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in EVENT_MODELS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(json_schema(model), ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
        written.append(path)
    path = directory / f"{CASE_EVENT_SCHEMA_NAME}.schema.json"
    schema = TypeAdapter(CaseEvent).json_schema(mode="serialization")
    path.write_text(json.dumps({"$schema": JSON_SCHEMA_DIALECT,
                                "$id": f"urn:complaints:schema:{CASE_EVENT_SCHEMA_NAME}",
                                **schema}, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    written.append(path)
    path = directory / "asyncapi.json"
    path.write_text(json.dumps(asyncapi_document(topics), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    written.append(path)
    return written
