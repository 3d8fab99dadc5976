"""`complaints publish`, `lag` and `schemas export`: the Kafka side as users see it —
events in, consumer lag, the event contracts."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from complaints.cli.errors import UserError, talk
from complaints.cli.output import console, terminal_safe
from complaints.ops.logs import json_text
from complaints.settings import load_settings


def publish(
    files: Annotated[list[Path], typer.Argument(help="JSON or JSONL files of events.")],
    source: Annotated[str | None, typer.Option(
        help="callcenter or web, for bare events of unknown shape.")] = None,
) -> None:
    """Publish call-center/web events to the intake topics (bare or CloudEvents)."""
    from complaints.messaging.publish import PublishError, publish_files

    if source not in (None, "callcenter", "web"):
        raise UserError(f"--source must be callcenter or web, not {source!r}")
    try:
        report = publish_files(load_settings(), files, source)
    except PublishError as exc:
        raise UserError(str(exc)) from None
    for topic, count in sorted(report.sent.items()):
        console.print(f"{count:>6}  {terminal_safe(topic)}")
    console.print(f"published {sum(report.sent.values())} events from {len(files)} file(s)")


def lag(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    watch: Annotated[bool, typer.Option(help="Refresh every 2 seconds until Ctrl-C.")] = False,
) -> None:
    """Consumer-group lag per topic and partition (committed, end, lag)."""
    import time

    from rich.live import Live
    from rich.table import Table

    from complaints.ops.lag import measure_lag, totals

    settings = load_settings()
    settings.bootstrap_list()
    safe = terminal_safe

    def table() -> Table:
        rows = talk(settings, "kafka", measure_lag(settings))
        view = Table(show_edge=False)
        for column in ("group", "topic", "partition", "committed", "end", "lag"):
            view.add_column(column, justify="right" if column != "topic" else "left")
        for r in rows:
            view.add_row(safe(r.group), safe(r.topic), str(r.partition),
                         "-" if r.committed is None else str(r.committed), str(r.end),
                         str(r.lag))
        for name, value in totals(rows)["topics"].items():
            view.add_row("", f"total {safe(name)}", "", "", "", str(value), style="bold")
        return view

    if as_json:
        rows = talk(settings, "kafka", measure_lag(settings))
        sys.stdout.write(json_text({"partitions": [r.to_dict() for r in rows],
                                    **totals(rows)}) + "\n")
        return
    if not watch:
        console.print(table())
        return
    with Live(table(), console=console, refresh_per_second=1) as live:
        while True:
            time.sleep(2)
            live.update(table())


def schemas_export(directory: Annotated[Path, typer.Argument(help="Output directory.")]) -> None:
    """Write JSON Schema (2020-12) for every event and an AsyncAPI 3.0 document."""
    from complaints.schemas.contracts import export
    from complaints.schemas.topics import Topics

    for path in export(directory, Topics.for_prefix(load_settings().topic_prefix)):
        console.print(terminal_safe(path), highlight=False)




def register(app: typer.Typer) -> None:
    """Add `publish`, `lag` and `schemas export` to the `complaints` command."""
    app.command("publish")(publish)
    app.command("lag")(lag)
    schemas_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
    schemas_app.command("export")(schemas_export)
    app.add_typer(schemas_app, name="schemas")
