"""The `complaints` command: one entry point for operators, handlers and upstream systems.

Errors are one line (what is wrong, how to fix it) and a non-zero exit code, never a
traceback; `COMPLAINTS_DEBUG=1` shows the traceback when you need it. Commands that talk
to Redis or Kafka give up after `COMPLAINTS_CLI_TIMEOUT_S` with such a line (`answered`).
Data is printed through `terminal_safe`: customers' and handlers' words are shown, never
interpreted as markup or terminal control sequences.
"""

import asyncio
import os
import re
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar
from urllib.parse import urlsplit

import click
import typer
from rich.console import Console

from complaints.cli import case as case_cli
from complaints.cli import desk as handler_cli
from complaints.cli.output import terminal_safe
from complaints.ops.logs import json_text, visible
from complaints.settings import ConfigurationError, load_settings

if TYPE_CHECKING:
    from complaints.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    name="complaints", add_completion=False, no_args_is_help=True,
    help="Event-driven complaint handling: intake, classification, routing, recovery.",
)
schemas_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
console = Console(emoji=False)
err = Console(stderr=True, emoji=False)


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


# --- who acts: `--actor`, `--handler`, `--approved-by` ---------------------------------
def checked_name(value: str, option: str) -> str:
    """`value` if it is a valid handler name (`HandlerAction.actor`'s pattern), else a
    `UserError` naming `option`: refused here, before anything is sent."""
    from complaints.schemas.case import ACTOR_PATTERN

    if re.fullmatch(ACTOR_PATTERN, value):
        return value
    raise UserError(f"{option} must be 1-64 letters, digits or . _ @ - "
                    f"(a login like zhang.wei), not {value!r}")


# --- talking to Redis and Kafka: an answer in time, or one clear line ------------------
Service = Literal["redis", "kafka"]


async def answered(settings: "Settings", service: Service, work: Awaitable[T]) -> T:
    """`work`, which talks to Redis or Kafka, within `COMPLAINTS_CLI_TIMEOUT_S`.

    The pipeline's Redis calls wait outages out (right for a worker, endless for a
    person at a terminal): no answer in time, a refused connection or a broken one end
    the command with one line that says where and what to check.
    """
    from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    timeout = settings.cli_timeout_s
    try:
        return await asyncio.wait_for(work, timeout)
    except (TimeoutError, RedisTimeoutError, KafkaTimeoutError):
        where, variable = _address(settings, service)
        raise UserError(f"{where} did not answer within {timeout:g} s; check {variable}"
                        ) from None
    except (RedisConnectionError, KafkaConnectionError, OSError) as exc:
        where, variable = _address(settings, service)
        detail = f" ({visible(str(exc))})" if service == "redis" and str(exc) else ""
        raise UserError(f"cannot reach {where}{detail}; check {variable}") from None
    except KafkaError as exc:
        where, _ = _address(settings, service)
        raise UserError(f"{where}: {type(exc).__name__}: {visible(str(exc))}") from None


def _address(settings: "Settings", service: Service) -> tuple[str, str]:
    """("Redis at host:port", "REDIS_URL"): where the command looked, without secrets."""
    if service == "kafka":
        return f"Kafka at {settings.kafka_bootstrap_servers}", "KAFKA_BOOTSTRAP_SERVERS"
    url = urlsplit(settings.redis_dsn())
    place = url.path if url.scheme == "unix" else f"{url.hostname}:{url.port or 6379}"
    return f"Redis at {place}", "REDIS_URL"


def talk(settings: "Settings", service: Service, work: Awaitable[T]) -> T:
    """`asyncio.run` of `answered(settings, service, work)`."""
    return asyncio.run(answered(settings, service, work))


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="Feed realistic generated traffic.")] = False,
    events: Annotated[int | None, typer.Option(min=1, help="Stop after N demo events.")] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="Publish for S seconds.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=8)] = 1,
    rate: Annotated[float, typer.Option(min=1, help="Demo events per second.")] = 500.0,
) -> None:
    """Run the whole pipeline on the embedded broker and Redis (ephemeral)."""
    from complaints.local.runner import run_pipeline

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
    from complaints.local.runner import RunReport

    assert isinstance(report, RunReport)
    console.print()
    console.print("[bold]Summary[/]")
    console.print(f"  events published : {report.published}")
    console.print(f"  events read      : {report.count('intake.read')}")
    console.print(f"  complaints       : {report.count('intake.complaints')}")
    dead_letters = (report.dead_letters if report.dead_letters is not None
                    else report.count("intake.dead_lettered"))
    console.print(f"  dead-lettered    : {dead_letters}")
    console.print(f"  duplicates       : {report.count('intake.duplicate')} dropped")
    console.print(f"  elapsed          : {report.elapsed_s:.1f}s")
    if report.tally is not None:
        tally = report.tally
        console.print(
            f"  generator made   : {tally.valid} valid, {tally.duplicates} redelivered, "
            f"{tally.malformed_total} malformed "
            f"({', '.join(f'{k} {v}' for k, v in sorted(tally.malformed.items()))})")
        ok = dead_letters == tally.malformed_total and report.count(
            "intake.complaints") == tally.valid
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

    from complaints.ops import logs
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
    process = faust.Worker(faust_app, loglevel=settings.log_level, quiet=True,
                           override_logging=False)
    process.spinner = None  # it writes cursor escapes to stdout, past the log handler
    process.execute_from_commandline()


@app.command()
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


@app.command("classify")
def classify_command(
    text: Annotated[str | None, typer.Argument(help="Complaint text.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="One text per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Full explanation as JSON.")] = False,
    rules: Annotated[Path | None, typer.Option(help="Rule pack (default: built-in).")] = None,
) -> None:
    """Classify text offline and explain the decision."""
    from complaints.classifier import classify, load_pack
    from complaints.cli.output import render_classification

    if (text is None) == (file is None):
        raise UserError("give either TEXT or --file FILE")
    pack_path = rules or load_settings().rules_path
    pack = load_pack(pack_path) if pack_path else _default_pack()
    if text is not None:
        result = classify(text, pack)
        if as_json:
            sys.stdout.write(json_text(result.model_dump(mode="json"), indent=2) + "\n")
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
            sys.stdout.write(json_text({"text": line, **result.model_dump(mode="json")}) + "\n")
        else:
            console.print(f"{result.category:<16} {result.kind:<10} {result.severity} "
                          f"{result.industry:<10} {terminal_safe(line)}", highlight=False)


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
        sys.stdout.write(json_text(report.to_dict(), indent=2) + "\n")
    else:  # plain text with the pack's version and labels in it: shown, not interpreted
        console.print("\n".join(terminal_safe(line, markup=False)
                                for line in render(report).splitlines()), markup=False)


@app.command()
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
    from complaints.schemas.contracts import export
    from complaints.schemas.topics import Topics

    for path in export(directory, Topics.for_prefix(load_settings().topic_prefix)):
        console.print(terminal_safe(path), highlight=False)


handler_cli.register(app)  # queues, claim, renew, release, complete
case_cli.register(app)  # act, case


def main() -> None:
    """Entry point: run the command, turning known failures into one readable line."""
    import logging

    import jieba
    from pydantic import ValidationError

    from complaints.ops import logs

    # Library records (aiokafka's retries, redis waits) are not for the person at the
    # terminal, who gets one line per problem; `COMPLAINTS_DEBUG=1` shows warnings too.
    logs.configure("warn" if os.environ.get("COMPLAINTS_DEBUG") else "critical", False)
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
    err.print(f"error: {visible(message)}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
