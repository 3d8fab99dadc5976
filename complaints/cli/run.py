"""`complaints run`, `worker` and `bench`: the pipeline on one machine, one production
worker, and the end-to-end benchmark."""

import signal
from typing import Annotated

import typer

from complaints.cli.errors import UserError
from complaints.cli.output import console
from complaints.settings import load_settings


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


def bench(
    quick: Annotated[bool, typer.Option(help="Smaller runs, within 5 minutes.")] = False,
) -> None:
    """End-to-end throughput and latency against a Faust forward baseline (embedded)."""
    from complaints_bench.e2e import run as run_bench

    run_bench(quick, console)




def register(app: typer.Typer) -> None:
    """Add `run`, `worker` and `bench` to the `complaints` command."""
    app.command("run")(run)
    app.command("worker")(worker)
    app.command("bench")(bench)
