"""The `complaints` command: one entry point for operators, handlers and upstream systems.

Errors are one line (what is wrong, how to fix it) and a non-zero exit code, never a
traceback; `COMPLAINTS_DEBUG=1` shows the traceback when you need it.
"""

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from complaints.pipeline import case_cli, handler_cli
from complaints.pipeline.settings import ConfigurationError, load_settings

app = typer.Typer(
    name="complaints", add_completion=False, no_args_is_help=True,
    help="Event-driven complaint handling: intake, classification, routing, recovery.",
)
schemas_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
console = Console()
err = Console(stderr=True)


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="Feed realistic generated traffic.")] = False,
    events: Annotated[int | None, typer.Option(min=1, help="Stop after N demo events.")] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="Publish for S seconds.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=8)] = 1,
    rate: Annotated[float, typer.Option(min=1, help="Demo events per second.")] = 500.0,
) -> None:
    """Run the whole pipeline on the embedded broker and Redis (ephemeral)."""
    from complaints.pipeline.runner import run_pipeline

    if not demo and (events or duration):
        raise UserError("--events and --duration bound the demo traffic; add --demo")
    settings = load_settings()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    try:
        report = run_pipeline(settings, demo=demo, events=events, duration_s=duration,
                              workers=workers, rate=rate, console=console)
    except KeyboardInterrupt:
        console.print("stopped; embedded broker and Redis shut down")
        return
    _print_summary(report)
    if not report.complete:
        raise typer.Exit(1)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_summary(report: "object") -> None:
    from complaints.pipeline.runner import RunReport

    assert isinstance(report, RunReport)
    console.print()
    console.print("[bold]Summary[/]")
    console.print(f"  events published : {report.published}")
    console.print(f"  events read      : {report.count('intake.read')}")
    console.print(f"  complaints       : {report.count('intake.complaints')}")
    console.print(f"  dead-lettered    : {report.count('intake.dead_lettered')}")
    console.print(f"  duplicates       : {report.count('intake.duplicate')} dropped")
    console.print(f"  elapsed          : {report.elapsed_s:.1f}s")
    if report.tally is not None:
        tally = report.tally
        console.print(
            f"  generator made   : {tally.valid} valid, {tally.duplicates} redelivered, "
            f"{tally.malformed_total} malformed "
            f"({', '.join(f'{k} {v}' for k, v in sorted(tally.malformed.items()))})")
        ok = (report.count("intake.dead_lettered") == tally.malformed_total
              and report.count("intake.complaints") == tally.valid)
        console.print("  check            : " + (
            "[green]every malformed event dead-lettered, one complaint per valid event[/]"
            if ok else "[red]counts differ from what the generator made[/]"))
        report.complete = report.complete and ok
    if not report.complete:
        console.print("[red]the run did not complete; see the worker logs[/]")


@app.command()
def worker(
    web_port: Annotated[int | None, typer.Option(help="Port of the worker's web server.")] = None,
    log_json: Annotated[bool, typer.Option(help="One JSON object per log line.")] = False,
    stages: Annotated[str | None, typer.Option(
        help="all (default), intake (intake, classify, route) or recovery (cases, "
             "actions, deadlines).")] = None,
) -> None:
    """Run one pipeline worker against the configured Kafka and Redis."""
    import faust

    from complaints.pipeline import logs
    from complaints.pipeline.app import build_app

    overrides: dict[str, object] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if log_json:
        overrides["log_json"] = True
    if stages is not None:
        if stages not in ("all", "intake", "recovery"):
            raise UserError(f"--stages must be all, intake or recovery, not {stages!r}")
        overrides["stages"] = stages
    settings = load_settings(**overrides)
    settings.bootstrap_list()
    settings.redis_dsn()
    logs.configure(settings.log_level, settings.log_json)
    faust_app = build_app(settings)
    faust.Worker(faust_app, loglevel=settings.log_level, quiet=True,
                 override_logging=False).execute_from_commandline()


@app.command()
def publish(
    files: Annotated[list[Path], typer.Argument(help="JSON or JSONL files of events.")],
    source: Annotated[str | None, typer.Option(
        help="callcenter or web, for bare events of unknown shape.")] = None,
) -> None:
    """Publish call-center/web events to the intake topics (bare or CloudEvents)."""
    from complaints.pipeline.publish import PublishError, publish_files

    if source not in (None, "callcenter", "web"):
        raise UserError(f"--source must be callcenter or web, not {source!r}")
    try:
        report = publish_files(load_settings(), files, source)
    except PublishError as exc:
        raise UserError(str(exc)) from None
    for topic, count in sorted(report.sent.items()):
        console.print(f"{count:>6}  {topic}")
    console.print(f"published {sum(report.sent.values())} events from {len(files)} file(s)")


@app.command("classify")
def classify_command(
    text: Annotated[str | None, typer.Argument(help="Complaint text.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="One text per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Full explanation as JSON.")] = False,
    rules: Annotated[Path | None, typer.Option(help="Rule pack (default: built-in).")] = None,
) -> None:
    """Classify text offline and explain the decision."""
    from complaints.classifier import classify, load_pack
    from complaints.pipeline.explain import render_classification

    if (text is None) == (file is None):
        raise UserError("give either TEXT or --file FILE")
    pack_path = rules or load_settings().rules_path
    pack = load_pack(pack_path) if pack_path else _default_pack()
    if text is not None:
        result = classify(text, pack)
        if as_json:
            console.print_json(result.model_dump_json())
        else:
            render_classification(console, text, result)
        return
    assert file is not None
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: {exc}") from None
    for line in lines:
        if not line.strip():
            continue
        result = classify(line, pack)
        if as_json:
            sys.stdout.write(json.dumps(
                {"text": line, **result.model_dump(mode="json")}, ensure_ascii=False) + "\n")
        else:
            console.print(f"{result.category:<16} {result.kind:<10} {result.severity} "
                          f"{result.industry:<10} {line}")


def _default_pack():  # type: ignore[no-untyped-def]
    from complaints.classifier import load_default_pack

    return load_default_pack()


@app.command()
def evaluate(
    labelled: Annotated[Path | None, typer.Option("--set", help="Labelled JSONL set.")] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule pack (default: built-in).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Precision/recall/F1 per category and a confusion table on a labelled set."""
    from complaints.classifier import load_pack
    from complaints.classifier.evaluation import default_labelled_path, load_labelled, render
    from complaints.classifier.evaluation import evaluate as run_eval

    pack = load_pack(rules) if rules else _default_pack()
    report = run_eval(pack, load_labelled(labelled or default_labelled_path()))
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        console.print(render(report))


@app.command()
def lag(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    watch: Annotated[bool, typer.Option(help="Refresh every 2 seconds until Ctrl-C.")] = False,
) -> None:
    """Consumer-group lag per topic and partition (committed, end, lag)."""
    import asyncio
    import time

    from rich.live import Live
    from rich.table import Table

    from complaints.pipeline.lag import measure_lag, totals

    settings = load_settings()
    settings.bootstrap_list()

    def table() -> Table:
        rows = asyncio.run(measure_lag(settings))
        view = Table(show_edge=False)
        for column in ("group", "topic", "partition", "committed", "end", "lag"):
            view.add_column(column, justify="right" if column != "topic" else "left")
        for r in rows:
            view.add_row(r.group, r.topic, str(r.partition),
                         "-" if r.committed is None else str(r.committed), str(r.end),
                         str(r.lag))
        for name, value in totals(rows)["topics"].items():
            view.add_row("", f"total {name}", "", "", "", str(value), style="bold")
        return view

    if as_json:
        rows = asyncio.run(measure_lag(settings))
        sys.stdout.write(json.dumps({"partitions": [r.to_dict() for r in rows],
                                     **totals(rows)}, ensure_ascii=False) + "\n")
        return
    if not watch:
        console.print(table())
        return
    with Live(table(), console=console, refresh_per_second=1) as live:
        while True:
            time.sleep(2)
            live.update(table())


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="Smaller runs, within 5 minutes.")] = False,
) -> None:
    """End-to-end throughput and latency against a Faust forward baseline (embedded)."""
    from complaints_bench.e2e import run as run_bench

    run_bench(quick, console)


@schemas_app.command("export")
def schemas_export(directory: Annotated[Path, typer.Argument(help="Output directory.")]) -> None:
    """Write JSON Schema (2020-12) for every event and an AsyncAPI 3.0 document."""
    from complaints.pipeline.contracts import export
    from complaints.pipeline.topics import Topics

    for path in export(directory, Topics.for_prefix(load_settings().topic_prefix)):
        console.print(str(path))


handler_cli.register(app)  # queues, claim, renew, release, complete
case_cli.register(app)  # act, case


def main() -> None:
    """Entry point: run the command, turning known failures into one readable line."""
    import jieba
    from pydantic import ValidationError

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for users
    try:
        code = app(standalone_mode=False)  # click returns a typer.Exit's code here
        if isinstance(code, int) and code:
            sys.exit(code)
    except (UserError, ConfigurationError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _fail(f"invalid setting {where}: {first['msg']}")
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        _fail(exc.format_message().replace("\n", " "), code=exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", code=130)
    except Exception as exc:
        if _is_data_file_error(exc):
            _fail(str(exc))
        if os.environ.get("COMPLAINTS_DEBUG"):
            raise
        _fail(f"{type(exc).__name__}: {exc} (set COMPLAINTS_DEBUG=1 for a traceback)")


def _is_data_file_error(exc: Exception) -> bool:
    """A rule pack, routing table or policy file the user can fix."""
    from complaints.classifier import RulePackError
    from complaints.routing.exceptions import RoutingTableError

    return isinstance(exc, RulePackError | RoutingTableError)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
