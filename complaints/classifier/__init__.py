"""Rule-based classification of complaint texts with jieba and a YAML rule pack.

    pack = load_default_pack()              # or load_pack("my_rules.yaml")
    result = classify("停电三天了没人管！", pack)
    result.category, result.severity        # Category.OUTAGE, Severity.P3

The pack format is documented in `docs/rule-pack.md`; `PackReloader` picks up edits of
a pack file while the pipeline runs.
"""

from complaints.classifier.engine import classify
from complaints.classifier.exceptions import RulePackError
from complaints.classifier.pack import (
    RulePack,
    default_pack_path,
    load_default_pack,
    load_pack,
)
from complaints.classifier.reloading import PackReloader

__all__ = [
    "PackReloader",
    "RulePack",
    "RulePackError",
    "classify",
    "default_pack_path",
    "load_default_pack",
    "load_pack",
]
