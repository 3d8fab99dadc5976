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
from dataclasses import dataclass
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

# --- personal data: the formats `mask_personal_data` masks ------------------------------
# Matching runs on a copy of the text whose full-width digits (１３８…) are ASCII, so one
# pattern serves both; the copy has the same length, and masks are applied by position.
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULL_WIDTH_DIGIT = re.compile("[０-９]")
# One separator inside a number: spaces (also ideographic and zero-width ones), hyphens
# and dashes (ASCII, Unicode, full-width), dots and middle dots. Up to three in a row.
_SEP1 = r"[\s\-.\u00b7\u2010-\u2015\u2212\u3000\ufe58\ufe63\uff0d\uff0e\u200b-\u200d\u2060\ufeff]"
_S = f"{_SEP1}{{0,3}}"
_PLUS = "[+＋]"
_OPEN, _CLOSE = "[(（]", "[)）]"


@dataclass(frozen=True)
class MaskFormat:
    """One kind of number `mask_personal_data` masks: the pattern that finds it (group
    `number` is the part masked; what comes before it, a country or area code, is kept),
    how many digits of that part stay visible at each end, and examples with their masked
    form (the test suite checks every one: `tests/test_normalise.py`)."""

    name: str
    pattern: re.Pattern[str]
    head: int
    tail: int
    examples: tuple[tuple[str, str], ...]

    def mask(self, match: re.Match[str]) -> str:
        start = match.start("number") - match.start()
        whole = match.group()
        return whole[:start] + keep_ends(whole[start:], self.head, self.tail)


#: Applied in this order; a masked digit is `*`, so later formats never see it again.
#: Only digits change (length-preserving). Kept: the 6-digit region code of ID cards,
#: the issuer prefix of bank cards (first 6), the operator prefix of mobiles (first 3),
#: country and area codes, and the last 3 (landlines, old ID cards) or 4 digits.
MASK_FORMATS: tuple[MaskFormat, ...] = (
    MaskFormat(
        "ID card, 18 digits (region · birth date · sequence · check), any of them separated",
        re.compile(
            rf"(?<![0-9])(?P<number>[0-9]{{6}}{_S}(?:1[89]|20)[0-9]{{2}}{_S}(?:0[1-9]|1[0-2])"
            rf"{_S}(?:0[1-9]|[12][0-9]|3[01]){_S}[0-9]{{3}}{_S}[0-9XxＸｘ])(?![0-9])"),
        6, 4,
        (("110101199003071234", "110101********1234"),
         ("11010119900307123X", "110101********123X"),
         ("110101 19900307 123X", "110101 ******** 123X"),
         ("110101-19900307-1234", "110101-********-1234"),
         ("110101 1990 0307 1234", "110101 **** **** 1234"),
         ("１１０１０１１９９００３０７１２３４", "１１０１０１********１２３４"),
         ("身份证号：110101199003071234。", "身份证号：110101********1234。")),
    ),
    MaskFormat(
        "ID card, 15 digits (first generation: region · yymmdd · sequence)",
        re.compile(
            rf"(?<![0-9])(?P<number>[0-9]{{6}}{_S}[0-9]{{2}}{_S}(?:0[1-9]|1[0-2]){_S}"
            rf"(?:0[1-9]|[12][0-9]|3[01]){_S}[0-9]{{3}})(?![0-9])"),
        6, 3,
        (("110101900307123", "110101******123"),
         ("110101 900307 123", "110101 ****** 123")),
    ),
    MaskFormat(
        "bank card, 16–19 digits, whole or in groups of 4 with one separator",
        re.compile(
            rf"(?<![0-9])(?P<number>[0-9]{{16,19}}|[0-9]{{4}}(?P<s>{_SEP1}{{1,3}})[0-9]{{4}}"
            rf"(?P=s)[0-9]{{4}}(?P=s)[0-9]{{4}}(?:(?P=s)?[0-9]{{1,3}})?)(?![0-9])"),
        6, 4,
        (("6222021234567890", "622202******7890"),
         ("6222021234567890123", "622202*********0123"),
         ("6222 0212 3456 7890", "6222 02** **** 7890"),
         ("6222-0212-3456-7890-123", "6222-02**-****-***0-123"),
         ("卡号６２２２０２１２３４５６７８９０", "卡号６２２２０２******７８９０")),
    ),
    MaskFormat(
        "mainland mobile, 11 digits from 13–19, grouped 3-4-4 by any separator, "
        "optionally after +86, 0086, 86 or (+86)",
        re.compile(
            rf"(?=[0-9+＋(（])(?<![0-9])(?:(?:{_PLUS}|00)?86{_S}|{_OPEN}{_PLUS}?86{_CLOSE}{_S})?"
            rf"(?P<number>1[3-9][0-9]{_S}[0-9]{{4}}{_S}[0-9]{{4}})(?![0-9])"),
        3, 4,
        (("13812345678", "138****5678"),
         ("138-1234-5678", "138-****-5678"),
         ("138.1234.5678", "138.****.5678"),
         ("138 1234 5678", "138 **** 5678"),
         ("1381234 5678", "138**** 5678"),
         ("+86 138 1234 5678", "+86 138 **** 5678"),
         ("+8613812345678", "+86138****5678"),
         ("0086-13812345678", "0086-138****5678"),
         ("(+86)13812345678", "(+86)138****5678"),
         ("１３８１２３４５６７８", "１３８****５６７８"),
         ("１３８－１２３４－５６７８", "１３８－****－５６７８"),
         ("input_value=13812345678,", "input_value=138****5678,"),
         ("b'not json at all 13812345678'", "b'not json at all 138****5678'")),
    ),
    MaskFormat(
        "landline with area code (010, 021, 0571 …), local number of 7–8 digits, "
        "optionally in parentheses or after +86/0086",
        re.compile(
            rf"(?=[0-9+＋(（])(?<![0-9])(?:{_OPEN}0[0-9]{{2,3}}{_CLOSE}|0[0-9]{{2,3}}"
            rf"|(?:{_PLUS}|00)86{_S}{_OPEN}?0?[1-9][0-9]{{1,2}}{_CLOSE}?){_S}"
            rf"(?P<number>[1-9][0-9]{{2,3}}{_S}[0-9]{{4}})(?![0-9])"),
        0, 3,
        (("0571-88123456", "0571-*****456"),
         ("(0571)88123456", "(0571)*****456"),
         ("（0571）88123456", "（0571）*****456"),
         ("0571-8812-3456", "0571-****-*456"),
         ("0571 8812 3456", "0571 **** *456"),
         ("010-87654321", "010-*****321"),
         ("021 8765 4321", "021 **** *321"),
         ("0571-8123456", "0571-****456"),
         ("+86 571 8812 3456", "+86 571 **** *456"),
         ("０５７１－８８１２３４５６", "０５７１－*****４５６")),
    ),
)

#: Numbers that are not personal data and stay as they are (checked by the test suite).
NOT_PERSONAL_DATA: tuple[str, ...] = (
    "赔偿300元", "电费1380.50元", "2026-11-24", "2026年11月24日 09:30", "2026.11.24",
    "20261124", "09:30-17:00", "2026-11-24T09:30:00+08:00", "订单号 20261124001",
    "订单号 A12345678", "工单 2026112400015", "热线95598", "投诉到12398",
    "rule pack 2025.11.2", "127.0.0.1:6390", "192.168.10.100", "C20261124-5F1A9C03D2",
    "partition 3 offset 1234567", "1732435200123", "第3次停电，停了12小时",
)


# Characters OpenCC `t2s` (1.2.0) leaves alone on their own but changes inside a phrase
# of its `TSPhrases` dictionary (回覆 → 回复, 沈默 → 沉默, 明瞭 → 明了, 藉口 → 借口 …).
# Probing single characters cannot find them; they were derived from the dictionary,
# and `tests/test_normalise.py` derives them again from the installed one.
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
    once (one call, on first use), plus `PHRASE_ONLY_TRADITIONAL`.
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
    costs time per character; see `traditional_characters`.
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
    """Mask phone, ID-card and bank-card numbers (138****5678) so that logs, terminals and
    the dashboard never carry them whole; the formats are the rows of `MASK_FORMATS`.

    Length-preserving (only digits become `*`), so character offsets into the text —
    the classifier's evidence positions — stay valid after masking.
    """
    probe = text.translate(_ASCII_DIGITS) if _FULL_WIDTH_DIGIT.search(text) else text
    masked = probe
    for fmt in MASK_FORMATS:
        masked = fmt.pattern.sub(fmt.mask, masked)
    if probe is text or masked == probe:
        return masked if probe is text else text
    return "".join("*" if m == "*" else c for c, m in zip(text, masked, strict=True))


def keep_ends(number: str, head: int, tail: int) -> str:
    """`number` with its first `head` and last `tail` characters (digits, or the X of an
    ID card) kept and every other digit as `*`; separators stay where they are."""
    places = [i for i, c in enumerate(number) if c.isalnum()]
    kept = set(places[:head]) | set(places[len(places) - tail:] if tail else ())
    return "".join("*" if c.isdigit() and i not in kept else c for i, c in enumerate(number))


def mask_complaint(complaint: Complaint) -> Complaint:
    """The complaint with phone, ID-card and bank-card numbers (`MASK_FORMATS`) masked in
    its texts and contact, for outbound events where personal data must not travel
    (`COMPLAINTS_MASK_OUTBOUND_PII`)."""
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
