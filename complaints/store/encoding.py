"""How values cross into and out of Redis and its Lua scripts, in one place.

Redis answers with bytes (the clients are made without `decode_responses`, so payloads
stay bytes until a caller knows what they are), and the scripts keep every time as whole
milliseconds since the epoch, because a sorted-set score and Lua's numbers are plain
numbers without a time zone.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any


def epoch_ms(moment: datetime) -> int:
    """`moment` as the scripts keep time: whole milliseconds since the epoch (UTC)."""
    return int(moment.timestamp() * 1000)


def from_epoch_ms(value: str | int | bytes) -> datetime:
    """The (UTC) moment a script's milliseconds since the epoch stand for."""
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def duration_ms(span: timedelta) -> int:
    """A window or lease as the scripts take it: whole milliseconds."""
    return int(span.total_seconds() * 1000)


def compact_json(value: Any) -> str:
    """JSON for a script argument: no spaces, and Chinese text kept as it is (not
    `\\u` escapes), so arguments stay short and keys stay readable in Redis."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_list(raw: Any) -> list[Any]:
    """A script's JSON array reply. Lua's cjson cannot tell an empty array from an empty
    table and writes `{}`: that is an empty list too."""
    value = json.loads(raw)
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str:
    """A Redis reply item as text: bytes are UTF-8, a number (an integer reply) is
    written out."""
    return value.decode() if isinstance(value, bytes) else str(value)
