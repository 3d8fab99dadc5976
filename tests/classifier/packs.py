"""A small valid rule pack that tests change one field at a time."""

from typing import Any


def small_pack(**overrides: Any) -> dict[str, Any]:
    """A valid pack with two categories and a negatable outage rule."""
    pack: dict[str, Any] = {
        "version": "test-1",
        "kinds": {"complaint": "投诉", "inquiry": "咨询"},
        "industries": {"power": "电力", "general": "其他"},
        "categories": {"outage": "停送电", "billing": "费用", "other": "其他"},
        "signals": {"loss": "损失", "vip": "重要客户"},
        "rules": [
            {"id": "industry.power", "target": "industry:power", "terms": ["停电", "电费"]},
            {
                "id": "power.outage",
                "target": "category:outage",
                "weight": 3,
                "terms": ["停电", "断电", "没电", {"term": "来电", "weight": 1}],
            },
            {"id": "power.billing", "target": "category:billing", "terms": ["电费"]},
            {"id": "inquiry", "target": "kind:inquiry", "weight": 2, "terms": ["请问"]},
        ],
    }
    pack.update(overrides)
    return pack
