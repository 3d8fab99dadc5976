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


# Characters OpenCC `t2s` (1.2.0) leaves alone on their own but changes inside a phrase
# of its `TSPhrases` dictionary (回覆 → 回复, 沈默 → 沉默, 明瞭 → 明了, 藉口 → 借口 …).
# Probing single characters cannot find them; they were derived from the dictionary,
# and `tests/pipeline/test_normalise.py` derives them again from the installed one.
PHRASE_ONLY_TRADITIONAL = frozenset("沈牴瞭藉衹覆")
# Where OpenCC's single-character conversions live: CJK Extension A, the Unified
# Ideographs, the compatibility ideographs and the supplementary ideographic plane
# (a probe of all of Unicode finds no changed character outside these blocks).
_CJK_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF))


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def traditional_characters() -> frozenset[str]:
    """Every character whose presence can make `t2s` change a text.

    The characters `t2s` converts on their own, found by converting the CJK blocks
    once (one call, about 60 ms, on first use), plus `PHRASE_ONLY_TRADITIONAL`.
    Assumption: `t2s` changes a text only at a character of one of these two kinds;
    a text without any is returned by OpenCC unchanged, so it need not be converted.
    """
    chars = [chr(code) for first, last in _CJK_BLOCKS for code in range(first, last + 1)]
    converted = _t2s().convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a conversion spanned the separators: trust nothing
        return frozenset(chars)
    changed = {char for char, result in zip(chars, converted, strict=True) if char != result}
    return frozenset(changed | PHRASE_ONLY_TRADITIONAL)


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (OpenCC ``t2s``); Simplified text is unchanged.

    Texts without a character `t2s` could change (most of them) skip OpenCC, which
    costs about 0.2 µs per character; see `traditional_characters`.
    """
    if traditional_characters().isdisjoint(text):
        return text
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


def analysis_text_again(text: str) -> str:
    """`analysis_text(text)` of a text that is already `analysis_text` output, cheaply.

    A second pass changes such a text only where the first one left something it
    acts on: markup or entities (`&lt;p&gt;` became `<p>`) or characters OpenCC converts
    (`t2s` is not idempotent: 薴 → 苧 → 苎, 畢昇 → 毕昇 → 毕升). Other texts, nearly
    all, are returned as they are; NFKC, control characters and spaces are settled.
    """
    if "<" in text or "&" in text or not traditional_characters().isdisjoint(text):
        return analysis_text(text)
    return text


def mask_personal_data(text: str) -> str:
    """Mask ID-card and phone numbers (138****1234) so logs never carry them whole.

    Length-preserving (only digits become `*`), so character offsets into the text —
    the classifier's evidence positions — stay valid after masking.
    """
    text = _ID_CARD.sub(lambda m: _keep_ends(m.group(0), 6, 4), text)
    text = _MOBILE.sub(lambda m: _keep_ends(m.group(0), m.end(1) - m.start(0), 4), text)
    return _LANDLINE.sub(lambda m: _keep_ends(m.group(0), m.end(1) - m.start(0), 4), text)


def _keep_ends(number: str, head: int, tail: int) -> str:
    """`number` with its first `head` characters and last `tail` digits kept and every
    other digit as `*`; separators stay where they are."""
    last_digits = [i for i, c in enumerate(number) if c.isdigit()][-tail:]
    return "".join(c if i < head or i in last_digits or not c.isdigit() else "*"
                   for i, c in enumerate(number))


def mask_complaint(complaint: Complaint) -> Complaint:
    """The complaint with phone and ID-card numbers masked in its texts and contact, for
    outbound events where personal data must not travel (`COMPLAINTS_MASK_OUTBOUND_PII`)."""
    contact = complaint.contact
    return complaint.model_copy(update={
        "text_original": mask_personal_data(complaint.text_original),
        "text_normalised": mask_personal_data(complaint.text_normalised),
        "subject": mask_personal_data(complaint.subject) if complaint.subject else None,
        "contact": contact.model_copy(update={
            "phone": mask_personal_data(contact.phone) if contact.phone else None}),
    })


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
