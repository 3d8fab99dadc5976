"""Code lists shared by every event: the vocabulary of the complaint domain.

The values are the codes of ``shared/domain/complaint-domain.md``; they appear on the
wire, in rule packs, routing tables and SLA policies, so they never change meaning.
"""

from enum import StrEnum


class Channel(StrEnum):
    """How the customer reached us (domain §2)."""

    HOTLINE = "hotline"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    COUNTER = "counter"
    FIELD = "field"
    REGULATOR = "regulator"


class Industry(StrEnum):
    """Industry of the service centre or of the complaint (domain §4)."""

    POWER = "power"
    TELECOM = "telecom"
    BANKING = "banking"
    INSURANCE = "insurance"
    HEALTHCARE = "healthcare"
    LOGISTICS = "logistics"
    GENERAL = "general"


class RequestKind(StrEnum):
    """Work-order type (工单类型, domain §3). Only complaints enter service recovery."""

    COMPLAINT = "complaint"
    REPORT = "report"
    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"
    PRAISE = "praise"
    REPAIR = "repair"


class Category(StrEnum):
    """Complaint categories of the default rule pack (domain §4)."""

    OUTAGE = "outage"
    POWER_QUALITY = "power_quality"
    BILLING = "billing"
    METERING = "metering"
    CONNECTION = "connection"
    REPAIR = "repair"
    NETWORK = "network"
    SALES = "sales"
    STAFF_CONDUCT = "staff_conduct"
    PROCESS = "process"
    DELIVERY = "delivery"
    PRODUCT_QUALITY = "product_quality"
    CLAIMS = "claims"
    MEDICAL = "medical"
    BANKING = "banking"
    SAFETY = "safety"
    PRIVACY = "privacy"
    OTHER = "other"


class Severity(StrEnum):
    """P1 critical … P4 low (domain §5). Sorts so that P1 < P2 < P3 < P4."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Signal(StrEnum):
    """Cues that raise severity or change routing (domain §5)."""

    SAFETY = "safety"
    MEDIA = "media"
    REGULATOR = "regulator"
    LEGAL = "legal"
    LOSS = "loss"
    MASS = "mass"
    REPEAT = "repeat"
    EMOTION = "emotion"
    VIP = "vip"


class CustomerTier(StrEnum):
    """Customer tier as the upstream CRM knows it (domain §5, §10)."""

    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    DIAMOND = "diamond"
    VIP = "vip"
    KEY_ACCOUNT = "key_account"


class CustomerSegment(StrEnum):
    """Industry segment of the customer (居民/商业/工业/政企)."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    GOVERNMENT = "government"
