"""Terminal rendering: a classification and the evidence behind it, and `terminal_safe`,
through which every piece of data goes before a command prints it."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from complaints.ops.logs import visible
from complaints.schemas.classification import Classification

#: Where commands print: data through `terminal_safe`, emoji codes left as text.
console = Console(emoji=False)
err = Console(stderr=True, emoji=False)


def terminal_safe(value: object, *, markup: bool = True) -> str:
    """`value` as text that prints as exactly what it is: control and format characters
    (ESC, bidi overrides, newlines …) as visible escapes, and — for output printed with
    Rich markup on, `markup=True` — square brackets escaped, so a note like `[/]` or
    `[red]` is shown, not interpreted (or refused with a MarkupError).

    Consoles that print data are made with `emoji=False`, so `:smile:` stays text too.
    """
    text = visible(str(value))
    if not markup:
        return text
    # A backslash at the end would escape markup that follows (`{note}[/]`); Rich's own
    # remedy doubles it, which shows two. A space after it shows one and escapes nothing.
    return escape(text + " " if text.endswith("\\") else text)


def render_classification(console: Console, text: str, result: Classification) -> None:
    """Print kind/industry/category/severity, then every matched term with its rule."""
    safe = terminal_safe
    console.print(safe(text), style="bold", highlight=False)
    signals = ", ".join(safe(s) for s in result.signals) or "none"
    secondary = ", ".join(f"{safe(s.category)} ({s.score:g})" for s in result.secondary) or "none"
    console.print(
        f"kind [cyan]{safe(result.kind)}[/] · industry [cyan]{safe(result.industry)}[/] · "
        f"category [bold cyan]{safe(result.category)}[/] · "
        f"severity [bold]{safe(result.severity)}[/] · confidence {result.confidence:.2f}"
    )
    console.print(f"secondary: {secondary} · signals: {signals} · "
                  f"rule pack {safe(result.rule_pack_version)}")
    if result.reason:
        console.print(f"reason: {safe(result.reason)}")
    if result.matches:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("term", "at", "rule", "adds to", "weight"):
            table.add_column(column)
        for m in result.matches:
            table.add_row(safe(m.term), f"{m.start}-{m.end}", safe(m.rule_id), safe(m.target),
                          f"{m.weight:g}")
        console.print(table)
    if result.discounted:
        table = Table(show_edge=False, pad_edge=False, title="found but not counted")
        for column in ("term", "at", "rule", "would add to", "why"):
            table.add_column(column)
        for d in result.discounted:
            table.add_row(safe(d.term), f"{d.start}-{d.end}", safe(d.rule_id), safe(d.target),
                          safe(d.why.replace("_", " ")))
        console.print(table)
