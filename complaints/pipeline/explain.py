"""Terminal rendering of a classification: the decision and the evidence behind it."""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from complaints.schemas.classification import Classification


def render_classification(console: Console, text: str, result: Classification) -> None:
    """Print kind/industry/category/severity, then every matched term with its rule."""
    console.print(Text(text, style="bold"))
    signals = ", ".join(result.signals) or "none"
    secondary = ", ".join(f"{s.category} ({s.score:g})" for s in result.secondary) or "none"
    console.print(
        f"kind [cyan]{result.kind}[/] · industry [cyan]{result.industry}[/] · "
        f"category [bold cyan]{result.category}[/] · severity [bold]{result.severity}[/] · "
        f"confidence {result.confidence:.2f}"
    )
    console.print(f"secondary: {secondary} · signals: {signals} · "
                  f"rule pack {result.rule_pack_version}")
    if result.reason:
        console.print(f"reason: {result.reason}")
    if result.matches:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("term", "at", "rule", "adds to", "weight"):
            table.add_column(column)
        for m in result.matches:
            table.add_row(m.term, f"{m.start}-{m.end}", m.rule_id, m.target, f"{m.weight:g}")
        console.print(table)
    if result.discounted:
        table = Table(show_edge=False, pad_edge=False, title="found but not counted")
        for column in ("term", "at", "rule", "would add to", "why"):
            table.add_column(column)
        for d in result.discounted:
            table.add_row(d.term, f"{d.start}-{d.end}", d.rule_id, d.target,
                          d.why.replace("_", " "))
        console.print(table)
