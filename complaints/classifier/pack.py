"""Loading a rule pack: YAML → validated `PackSpec` → `RulePack` with compiled tables.

All checking happens here, so an invalid file is refused as a whole with one message
that says where the problem is: `rules.yaml: rule 'power.outage': terms[3].weight:
must be > 0`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from complaints.classifier.compiled import SEGMENT_CACHE_SIZE, CompiledPack, compile_pack
from complaints.classifier.exceptions import RulePackError
from complaints.classifier.spec import PackSpec
from complaints.datafiles import by_id, read_yaml, validate
from complaints.schemas.codes import Category, Industry

DEFAULT_PACK_NAME = "default_pack.yaml"

# Friendlier wording for the pydantic errors a pack author meets most.
@dataclass(frozen=True, eq=False)
class RulePack:
    """A loaded, validated pack: its declarations plus the compiled matcher.

    Immutable, so a reloader can swap packs while a previous one is still in use.
    """

    spec: PackSpec
    compiled: CompiledPack
    source: Path | None = None

    @property
    def version(self) -> str:
        return self.spec.version


def default_pack_path() -> Path:
    """The pack shipped inside the package (`complaints/classifier/default_pack.yaml`)."""
    return Path(__file__).with_name(DEFAULT_PACK_NAME)


def load_default_pack() -> RulePack:
    return load_pack(default_pack_path())


def load_pack(path: Path | str, *, segment_cache: int = SEGMENT_CACHE_SIZE) -> RulePack:
    """Read, validate and compile a pack file; `RulePackError` when it cannot be used.

    `segment_cache`: han blocks whose segmentation the pack keeps (0: no cache).
    """
    path = Path(path)
    spec = parse_spec(read_yaml(path, RulePackError), path.name)
    compiled = compile_pack(spec, segment_cache=segment_cache)
    return RulePack(spec=spec, compiled=compiled, source=path)


def parse_spec(raw: Any, file_name: str) -> PackSpec:
    """Validate already parsed YAML; errors name `file_name`, the rule id and the field."""
    spec = validate(raw, PackSpec, file_name, RulePackError, by_id(raw, "rules", "rule"),
                    "docs/rule-pack.md", "the pack must be a mapping with `version`, `rules` …")
    problems = _reference_problems(spec)
    if problems:
        raise RulePackError("\n".join(f"{file_name}: {problem}" for problem in problems))
    return spec


def _reference_problems(spec: PackSpec) -> list[str]:
    """Cross-references pydantic cannot see: declared codes, unique ids, fallbacks."""
    declared = {
        "kind": {k.value for k in spec.kinds},
        "industry": {i.value for i in spec.industries},
        "category": {c.value for c in spec.categories},
        "signal": {s.value for s in spec.signals},
    }
    problems = []
    if Category.OTHER not in spec.categories:
        problems.append("categories: must declare `other` (used when nothing matches)")
    if Industry.GENERAL not in spec.industries:
        problems.append("industries: must declare `general` (used when nothing decides)")
    if spec.settings.default_kind not in spec.kinds:
        problems.append(f"settings.default_kind: {spec.settings.default_kind} is not declared")
    for section, codes in (
        ("severity.kinds", [k.value for k in spec.severity.kinds]),
        ("severity.signals", [s.value for s in spec.severity.signals]),
        ("tier_signals", [s.value for signals in spec.tier_signals.values() for s in signals]),
    ):
        axis = "kind" if section == "severity.kinds" else "signal"
        problems += [
            f"{section}: {axis} '{code}' is not declared under `{axis}s`"
            for code in codes
            if code not in declared[axis]
        ]
    seen: set[str] = set()
    for rule in spec.rules:
        where = f"rule {rule.id!r}"
        if rule.id in seen:
            problems.append(f"{where}: id: duplicate rule id")
        seen.add(rule.id)
        if rule.code not in declared[rule.axis]:
            problems.append(
                f"{where}: target: unknown {rule.axis} '{rule.code}' "
                f"(declared: {', '.join(sorted(declared[rule.axis]))})"
            )
        if rule.axis == "industry" and (
            rule.industries or any(term.industries for term in rule.terms)
        ):
            problems.append(f"{where}: industries: an industry rule cannot depend on industry")
        if rule.subcategory is not None:
            subcategories = (
                spec.categories[Category(rule.code)].subcategories
                if rule.axis == "category" and rule.code in declared["category"]
                else {}
            )
            if rule.subcategory not in subcategories:
                problems.append(
                    f"{where}: subcategory: '{rule.subcategory}' is not declared under "
                    f"categories.{rule.code}.subcategories"
                )
        problems += [
            f"{where}: industries: industry '{industry}' is not declared"
            for industry in rule.industries
            if industry.value not in declared["industry"]
        ]
    return problems
