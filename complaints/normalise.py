"""Normalisation: intake events become `Complaint`s; texts get one form for analysis.

Upstream systems send Simplified and Traditional Chinese, full-width forms, HTML
fragments from web forms and control characters from CTI transcripts. Rules are written
once, in Simplified Chinese, so every text is brought to one form before it is matched;
the customer's original words are kept unchanged next to it.
"""

import hashlib
import html
import re
import unicodedata
from datetime import datetime
from functools import lru_cache

import opencc

from complaints.schemas.complaint import Complaint
from complaints.schemas.intake import CallCenterEvent, Contact, IntakeEvent, SourceName

_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|tr|td|h\d)\b[^>]{0,500}>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]{0,500}>")
# Control and format characters (Cc, Cf) except ordinary whitespace.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)
_SPACES = re.compile(r"[ \t\r\n\u3000]+")
# Mainland mobile numbers (optionally +86), landlines with area code, 18-digit ID cards.
_ID_CARD = re.compile(r"(?<!\d)(\d{6})(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{4}(\d{3,4})(?!\d)")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (OpenCC ``t2s``); Simplified text is unchanged."""
    return _t2s().convert(text)


def clean(text: str) -> str:
    """NFKC, HTML tags and entities removed, control characters dropped, spaces collapsed."""
    if "<" in text:
        text = _TAG.sub("", _BLOCK_TAG.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    return _SPACES.sub(" ", text).strip()


def analysis_text(text: str) -> str:
    """The form every rule is matched against: cleaned, then Simplified."""
    return to_simplified(clean(text))


def mask_personal_data(text: str) -> str:
    """Mask ID-card and phone numbers (138****1234) so logs never carry them whole."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(0)[-4:], text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)}", text)


def case_id_for(source: str, event_id: str, received_at: datetime) -> str:
    """A stable case id: the same source event always yields the same case.

    Derived rather than random so that a redelivery after a crash — even one that slips
    past de-duplication — carries the same id and downstream consumers can drop it.
    """
    digest = hashlib.blake2b(f"{source}\x1f{event_id}".encode(), digest_size=5).hexdigest()
    return f"C{received_at:%Y%m%d}-{digest.upper()}"


def to_complaint(event: IntakeEvent, source: SourceName, ingested_at: datetime) -> Complaint:
    """Turn a validated call-center or web event into the normalised `Complaint`."""
    if isinstance(event, CallCenterEvent):
        parts = [p.strip() for p in (event.summary, event.transcript) if p and p.strip()]
        original = "\n".join(parts)
        contact = Contact(name=event.customer.name, phone=event.caller_number)
        subject = None
    else:
        original = event.body
        contact = event.contact
        subject = event.subject
    analysed = analysis_text(f"{subject}。{original}" if subject else original)
    return Complaint(
        case_id=case_id_for(source, event.event_id, event.occurred_at),
        source=source,
        source_event_ids=[event.event_id],
        channel=event.channel,
        industry_hint=event.industry,
        customer=event.customer,
        contact=contact,
        subject=subject,
        text_original=original,
        text_normalised=analysed,
        received_at=event.occurred_at,
        ingested_at=ingested_at,
    )
