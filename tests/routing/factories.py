"""Test data for routing tests: classified complaints with defaulted fields."""

import itertools
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from complaints.schemas.classification import Classification
from complaints.schemas.codes import (
    Category,
    Channel,
    CustomerTier,
    Industry,
    RequestKind,
    Severity,
    Signal,
)
from complaints.schemas.complaint import Complaint
from complaints.schemas.intake import Contact, CustomerRef

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
_cases = itertools.count(1)


def make_complaint(
    text: str = "这个月电费比上个月多了三百块，联系电话13812345678",
    *,
    kind: RequestKind = RequestKind.COMPLAINT,
    category: Category = Category.BILLING,
    industry: Industry = Industry.POWER,
    severity: Severity = Severity.P3,
    signals: Iterable[Signal] = (),
    tier: CustomerTier = CustomerTier.STANDARD,
    channel: Channel = Channel.HOTLINE,
    area: str | None = None,
    customer_id: str | None = None,
    phone: str | None = None,
    received_at: datetime = NOW,
    case_id: str | None = None,
) -> Complaint:
    """A complaint as the classify stage hands it to routing."""
    return Complaint(
        case_id=case_id or f"C20261124-{next(_cases):010d}",
        source="callcenter",
        source_event_ids=[f"cc-{uuid.uuid4().hex[:12]}"],
        channel=channel,
        customer=CustomerRef(customer_id=customer_id, tier=tier, area=area),
        contact=Contact(phone=phone),
        text_original=text,
        text_normalised=text,
        received_at=received_at,
        ingested_at=received_at + timedelta(seconds=1),
        classification=Classification(
            kind=kind, industry=industry, category=category, severity=severity,
            signals=list(signals), confidence=0.9, rule_pack_version="test",
        ),
    )
